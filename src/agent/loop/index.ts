// The agent loop's public face: runAgent and its types. See docs/agent.md.
export { DEFAULT_SYSTEM, isContextOverflow, runAgent } from './run.js';
export { chatCompletion, ModelCallError, type ChatReply, type ChatRequest, type CallHooks } from './client.js';
export { validate, extractJson } from './schema.js';
export { estimateTokens } from './context.js';
export type { AgentEvent, AgentResult, ChatClientOptions, ChatMessage, ContextMode, RetryOptions, RunAgentOptions, StopReason, ToolCall, Usage } from './types.js';
