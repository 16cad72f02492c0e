// The contract between the agent loop and everything that acts for it: built-in tools (shell, python,
// files, web, todo), MCP servers' tools, and sub-agents exposed as tools. The loop only sees this shape,
// so a tool source can be added without touching the loop.

/** A JSON Schema object describing a tool's arguments (OpenAI `function.parameters`). */
export type JsonSchema = Record<string, unknown>;

/** What a tool gets besides its arguments. */
export interface ToolContext {
  /** Aborted when the run is cancelled or the tool's time is up; a tool must stop promptly. */
  readonly signal: AbortSignal;
  /** The agent's workspace directory (absolute); file-touching tools stay inside it. */
  readonly workspace: string;
  /** The id of the model's call, for traces. */
  readonly callId: string;
}

/**
 * What a tool returns. `content` goes back to the model as the tool message; `isError` marks a failure
 * the model should see and may recover from (never thrown at the loop). `data` is structured output for
 * traces and callers, not sent to the model.
 */
export interface ToolResult {
  readonly content: string;
  readonly isError?: boolean;
  readonly data?: unknown;
}

export interface AgentTool {
  /** Unique among the tools offered to one model call; `[a-zA-Z0-9_-]{1,64}` (OpenAI's rule). */
  readonly name: string;
  readonly description: string;
  readonly parameters: JsonSchema;
  /** Run with already-parsed arguments. May throw: the loop turns a throw into an error result. */
  run(args: Record<string, unknown>, ctx: ToolContext): Promise<ToolResult>;
}

/**
 * A set of tools that may change while the agent runs (an MCP server that restarts, a tool-search tool
 * that loads schemas on demand). The loop asks for the current list before every model call.
 */
export interface ToolSource {
  tools(): readonly AgentTool[];
  close?(): Promise<void>;
}

/** A name that satisfies OpenAI's function-name rule, derived from any string. */
export function toolName(raw: string): string {
  const cleaned = raw.replace(/[^a-zA-Z0-9_-]/g, '_').slice(0, 64);
  return cleaned.length > 0 ? cleaned : 'tool';
}
