// The Step 3.5 chat format: conversation types, the prompt renderer, and the output parsers.
export * from './messages.js';
export { renderChat, renderContent, ChatTemplateError, GENERATION_PROMPT, type RenderChatOptions } from './chat-template.js';
export { ReasoningParser, type ReasoningPiece, type ReasoningParserOptions } from './reasoning-parser.js';
export { ToolCallParser, randomCallId, type ParsedToolCall, type ToolParserEvent, type ToolCallParserOptions } from './tool-call-parser.js';
export { OutputParser, parseModelOutput, type OutputEvent, type ParsedOutput, type OutputParserOptions } from './output-parser.js';
export { coerceParameter, buildArguments, schemaTypes } from './tool-arguments.js';
export { PyFloat, parseJsonKeepFloats, pyJsonDumps, pyStr, pyFloatRepr } from './python-json.js';
export { parsePythonLiteral } from './python-literal.js';
