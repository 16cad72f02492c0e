// The public shapes of the agent loop: options, result, events and the OpenAI chat messages it keeps.
import type { AgentTool, JsonSchema, ToolSource } from '../tool.js';

export interface ToolCall {
  readonly id: string;
  readonly type: 'function';
  readonly function: { readonly name: string; readonly arguments: string };
}

/** OpenAI chat messages, as sent to and received from the endpoint. */
export type ChatMessage =
  | { role: 'system'; content: string }
  | { role: 'user'; content: string }
  | { role: 'assistant'; content: string | null; tool_calls?: ToolCall[]; reasoning_content?: string }
  | { role: 'tool'; tool_call_id: string; content: string };

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  /** Model calls made (retries not counted). */
  calls: number;
}

export interface RetryOptions {
  /** Retries after the first attempt (default 4). */
  readonly maxRetries?: number;
  /** First backoff in ms (default 500); doubles each retry, with full jitter. */
  readonly baseDelayMs?: number;
  /** Cap on one backoff (default 30000). A server's retry-after is honoured up to 60 s. */
  readonly maxDelayMs?: number;
}

/** An OpenAI-compatible chat endpoint. */
export interface ChatClientOptions {
  /** e.g. http://127.0.0.1:8080/v1 (the part before /chat/completions). */
  readonly baseURL: string;
  readonly apiKey?: string;
  readonly model: string;
  readonly temperature?: number;
  readonly maxTokens?: number;
  /** Stream responses (default true); false sends one JSON request per call. */
  readonly stream?: boolean;
  /** Send the model's reasoning back on assistant turns as `reasoning_content` (default true). */
  readonly sendReasoning?: boolean;
  /** Time allowed for one HTTP attempt, in ms (default 600000). */
  readonly timeoutMs?: number;
  readonly retry?: RetryOptions;
  readonly headers?: Record<string, string>;
  /** Extra request body fields (e.g. seed, reasoning_effort). */
  readonly extraBody?: Record<string, unknown>;
}

export type ContextMode = 'reset' | 'discard' | 'summarize';

export type StopReason = 'final' | 'max_steps' | 'token_budget' | 'cancelled' | 'error';

export interface RunAgentOptions {
  readonly client: ChatClientOptions;
  readonly task: string;
  readonly system?: string;
  readonly tools?: readonly (AgentTool | ToolSource)[];
  /** Model calls allowed (default 20). Schema repairs and context summaries count too. */
  readonly maxSteps?: number;
  /** Stop once prompt + completion tokens over all calls (from the endpoint's usage) pass this. */
  readonly tokenBudget?: number;
  /** What to do when the context passes `contextThreshold` tokens (default: nothing). */
  readonly context?: ContextMode;
  /** Context size in tokens that triggers `context` (default 24000). */
  readonly contextThreshold?: number;
  /** discard/summarize keep this many most recent tool results untouched (default 2). */
  readonly keepRecent?: number;
  /** The final answer must be JSON satisfying this schema; the model is asked to fix it otherwise. */
  readonly finalSchema?: JsonSchema;
  /** Attempts to fix a final answer that fails the schema (default 2). */
  readonly maxRepairs?: number;
  readonly signal?: AbortSignal;
  readonly onEvent?: (event: AgentEvent) => void;
  /** Append a JSONL trace of every model call and tool call here. */
  readonly trace?: string;
  /** Directory the tools work in (default the current directory). */
  readonly workspace?: string;
  /** Time allowed for one tool call, in ms (default 120000). */
  readonly toolTimeoutMs?: number;
  /** The same call (name and arguments) after it returned the same result this many times less one is refused as a loop (default 3). */
  readonly repeatLimit?: number;
}

export interface AgentResult {
  /** The final answer text ('' when the run stopped without one). */
  readonly final: string;
  /** The parsed final answer, when `finalSchema` was given and it validated. */
  readonly json?: unknown;
  readonly stopReason: StopReason;
  /** Model calls made. */
  readonly steps: number;
  readonly usage: Usage;
  /** The conversation as last sent to the model, plus its last reply. */
  readonly messages: ChatMessage[];
  /** Context resets / discards / summaries applied. */
  readonly contextEvents: number;
  /** What went wrong, for stopReason 'error' (and 'cancelled'). */
  readonly error?: string;
  /** The last model call's finish reason: 'length' with stopReason 'final' means the answer was cut by max tokens. */
  readonly finishReason?: string;
}

export type AgentEvent =
  | { type: 'step'; step: number }
  | { type: 'delta'; step: number; kind: 'content' | 'reasoning'; text: string }
  | { type: 'model_end'; step: number; finishReason: string; usage?: { prompt: number; completion: number }; toolCalls: number; ms: number }
  | { type: 'retry'; step: number; attempt: number; delayMs: number; reason: string }
  | { type: 'tool_start'; step: number; callId: string; name: string; args: unknown }
  | { type: 'tool_end'; step: number; callId: string; name: string; isError: boolean; content: string; ms: number }
  | { type: 'context'; mode: ContextMode; beforeTokens: number; afterTokens: number }
  | { type: 'repair'; step: number; problem: string }
  | { type: 'final'; text: string; json?: unknown }
  | { type: 'stop'; reason: StopReason; error?: string };
