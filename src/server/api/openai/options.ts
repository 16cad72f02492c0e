// Options of the OpenAI-compatible routes. Every field has a default, so `openaiRoutes()` alone serves
// the API as clients expect it from OpenAI itself.

/**
 * Where the model's reasoning goes in responses. Clients disagree (serving-and-agents.md §5.4): DeepSeek,
 * SGLang, llama.cpp, the Vercel AI SDK and OpenCode read `reasoning_content`; vLLM >= 0.16, Ollama,
 * OpenRouter and the StepFun platform read `reasoning`. `inline` puts it in `content` between `<think>`
 * and `</think>` (llama.cpp's `reasoning_format: none`), for clients that know neither field.
 */
export type ReasoningField = 'reasoning_content' | 'reasoning' | 'both' | 'inline';

export interface OpenAIRouteOptions {
  /** Default for every request; a request overrides it with `reasoning_format` (see request-reasoning.ts). */
  readonly reasoningField?: ReasoningField;
  /** `system_fingerprint` of every response; defaults to a hash of the served model's name. */
  readonly systemFingerprint?: string;
  /**
   * Milliseconds without output after which a stream gets an SSE comment (`: keep-alive`), so proxies and
   * clients with idle timeouts do not drop a long prefill. A stream whose first event takes longer than
   * this starts (status 200) with the comment; errors after that arrive as `data: {"error": ...}`.
   */
  readonly heartbeatMs?: number;
  /**
   * Tool-call arguments are streamed as the name first (arguments "") and then the arguments text in
   * pieces of at most this many UTF-16 units, cut between code points.
   */
  readonly toolArgumentsChunkChars?: number;
  /** `max_tokens` of /v1/completions when the request gives none (OpenAI's legacy default is 16). */
  readonly completionsDefaultMaxTokens?: number;
}

export interface ResolvedOpenAIOptions {
  readonly reasoningField: ReasoningField;
  readonly systemFingerprint: string | undefined;
  readonly heartbeatMs: number;
  readonly toolArgumentsChunkChars: number;
  readonly completionsDefaultMaxTokens: number;
  /** Unix seconds at which the routes were created (`created` of /v1/models). */
  readonly startedAt: number;
}

export function resolveOptions(opts: OpenAIRouteOptions = {}): ResolvedOpenAIOptions {
  const positive = (name: string, v: number | undefined, dflt: number): number => {
    if (v === undefined) return dflt;
    if (!Number.isFinite(v) || v <= 0) throw new RangeError(`openaiRoutes: ${name} must be a positive number, got ${v}`);
    return v;
  };
  return {
    reasoningField: opts.reasoningField ?? 'reasoning_content',
    systemFingerprint: opts.systemFingerprint,
    heartbeatMs: positive('heartbeatMs', opts.heartbeatMs, 10_000),
    toolArgumentsChunkChars: Math.floor(positive('toolArgumentsChunkChars', opts.toolArgumentsChunkChars, 512)),
    completionsDefaultMaxTokens: Math.floor(positive('completionsDefaultMaxTokens', opts.completionsDefaultMaxTokens, 16)),
    startedAt: Math.floor(Date.now() / 1000),
  };
}
