// Texts shared by the Claude Code runner and its test.
export const TOOL_MARKER = 'stepflash-tool-ok';
export const GREETING = 'Hello from stepflash!';
