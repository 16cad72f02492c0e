// The protocol-independent chat engine behind every HTTP API (OpenAI, Anthropic, the web chat). An API
// module translates its wire format into a ChatRequest, consumes the ChatEvent stream and translates back;
// it never touches the model, the tokenizer or the scheduler directly.
import type { ChatMessageInput, ToolDefinition } from '../format/index.js';

export type ToolChoice = 'auto' | 'none' | 'required' | { readonly name: string };

export type ResponseFormat =
  | { readonly type: 'text' }
  | { readonly type: 'json_object' }
  | { readonly type: 'json_schema'; readonly schema: unknown; readonly name?: string };

export interface ChatRequest {
  readonly messages: readonly ChatMessageInput[];
  readonly tools?: readonly ToolDefinition[];
  readonly toolChoice?: ToolChoice;
  readonly parallelToolCalls?: boolean;
  /** Most tokens to generate (reasoning included); clamped to the context left, see ChatEvent 'start'. */
  readonly maxTokens?: number;
  readonly temperature?: number;
  readonly topP?: number;
  readonly topK?: number;
  readonly minP?: number;
  readonly presencePenalty?: number;
  readonly frequencyPenalty?: number;
  readonly repetitionPenalty?: number;
  readonly seed?: number;
  readonly stop?: readonly string[];
  readonly responseFormat?: ResponseFormat;
  /** Per-token log-probabilities of content tokens: this many alternatives (0 = only the chosen token). */
  readonly logprobs?: number;
  /** Most reasoning tokens before the server closes the reasoning itself. */
  readonly reasoningBudget?: number;
  readonly signal: AbortSignal;
}

export interface TokenLogprob {
  readonly token: string;
  readonly logprob: number;
  readonly bytes: readonly number[];
  readonly top: readonly { readonly token: string; readonly logprob: number; readonly bytes: readonly number[] }[];
}

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'cancelled';

export type ChatEvent =
  /** First event: the prompt is accepted (counted, fits) and generation has started. */
  | { readonly type: 'start'; readonly promptTokens: number; readonly cachedTokens: number; readonly maxTokens: number; readonly maxTokensClamped: boolean }
  | { readonly type: 'reasoning'; readonly text: string }
  | { readonly type: 'content'; readonly text: string; readonly logprobs?: readonly TokenLogprob[] }
  /** A complete tool call; arguments is a JSON object text. */
  | { readonly type: 'tool_call'; readonly index: number; readonly id: string; readonly name: string; readonly arguments: string }
  | {
      readonly type: 'done';
      readonly finishReason: FinishReason;
      /** The stop string that ended generation, if one did. */
      readonly stopSequence?: string;
      readonly usage: { readonly promptTokens: number; readonly completionTokens: number; readonly reasoningTokens: number; readonly cachedTokens: number };
      readonly timings: {
        readonly prefillMs: number;
        readonly decodeMs: number;
        readonly decodeTokensPerSecond: number;
        /** Speculative decoding, when drafts were made: drafted tokens verified, those kept, and their ratio. */
        readonly draftTokens?: number;
        readonly draftAcceptedTokens?: number;
        readonly draftAcceptance?: number;
      };
      /** Why the server ended generation itself (reasoning budget, repetition guard), if it did. */
      readonly note?: string;
    };

export class ChatError extends Error {
  constructor(
    readonly kind: 'invalid_request' | 'context_length' | 'overloaded' | 'not_found' | 'internal',
    message: string,
    readonly details: { readonly promptTokens?: number; readonly maxContext?: number } = {},
  ) {
    super(message);
    this.name = 'ChatError';
  }
}

/** The served model's tokenizer, for POST /tokenize and /detokenize (llama.cpp server's shapes). */
export interface TokenCodec {
  /** Token ids are 0..vocabSize-1. */
  readonly vocabSize: number;
  /** `addSpecial`: BOS/EOS as the model adds them; `parseSpecial`: control-token text becomes those tokens. */
  encode(text: string, options: { readonly addSpecial: boolean; readonly parseSpecial: boolean }): number[];
  /** The bytes one token stands for (control tokens as their text). */
  piece(id: number): Uint8Array;
  /** The text of a token sequence, control tokens as their text. */
  decode(ids: readonly number[]): string;
}

export interface ChatService {
  /** The served model's name (any requested model name maps to it). */
  readonly modelName: string;
  readonly contextSize: number;
  /** The tokenizer, when the service has one (the routes answer 404 otherwise). */
  readonly tokens?: TokenCodec;
  /** Prompt tokens the request would take (chat template applied), for count_tokens endpoints. */
  countTokens(req: Pick<ChatRequest, 'messages' | 'tools'>): number;
  /**
   * Runs a request. Throws ChatError (before any event) when it cannot start: invalid, prompt too long
   * (kind 'context_length', with promptTokens and maxContext), queue full ('overloaded').
   */
  chat(req: ChatRequest): AsyncIterable<ChatEvent>;
  /** Plain-text completion without the chat template (for /v1/completions). */
  complete(req: Omit<ChatRequest, 'messages' | 'tools' | 'toolChoice' | 'responseFormat'> & { readonly prompt: string }): AsyncIterable<ChatEvent>;
  health(): { readonly ok: boolean; readonly detail: string };
  /** Prometheus text exposition of the service's counters. */
  metrics(): string;
  close(): Promise<void>;
}
