// Pieces of OpenAI's response objects shared by the chat and text completion routes, both streamed and
// not: ids, usage, finish reasons, logprobs, llama.cpp-style timings, and the `stepflash` extension that
// reports what the server decided on its own (a clamped max_tokens, a loop guard) instead of hiding it.
import { createHash, randomBytes } from 'node:crypto';
import type { ChatEvent, FinishReason, TokenLogprob } from '../../chat-service.js';

export type DoneEvent = Extract<ChatEvent, { type: 'done' }>;
export type StartEvent = Extract<ChatEvent, { type: 'start' }>;

export function newId(prefix: 'chatcmpl' | 'cmpl'): string {
  return `${prefix}-${randomBytes(16).toString('base64url').replace(/[-_]/g, 'x')}`;
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

export function fingerprintFor(modelName: string, configured: string | undefined): string {
  return configured ?? `fp_${createHash('sha256').update(modelName).digest('hex').slice(0, 10)}`;
}

export interface OpenAIUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
  completion_tokens_details: { reasoning_tokens: number };
}

export function usageOf(done: DoneEvent): OpenAIUsage {
  const u = done.usage;
  return {
    prompt_tokens: u.promptTokens,
    completion_tokens: u.completionTokens,
    total_tokens: u.promptTokens + u.completionTokens,
    prompt_tokens_details: { cached_tokens: u.cachedTokens },
    completion_tokens_details: { reasoning_tokens: u.reasoningTokens },
  };
}

/**
 * llama.cpp server's `timings` object (its web UI and others read it): prompt_n are the prompt tokens
 * actually computed (cached ones are cache_n), predicted_* the generated tokens; draft_n (drafted tokens
 * verified), draft_accepted_n and their ratio when speculative decoding drafted any.
 */
export interface Timings {
  prompt_n: number;
  prompt_ms: number;
  predicted_n: number;
  predicted_ms: number;
  predicted_per_second: number;
  cache_n: number;
  draft_n?: number;
  draft_accepted_n?: number;
  draft_acceptance?: number;
}

export function timingsOf(done: DoneEvent): Timings {
  const { usage, timings } = done;
  const t: Timings = {
    prompt_n: Math.max(0, usage.promptTokens - usage.cachedTokens),
    prompt_ms: round3(timings.prefillMs),
    predicted_n: usage.completionTokens,
    predicted_ms: round3(timings.decodeMs),
    predicted_per_second: round3(timings.decodeTokensPerSecond),
    cache_n: usage.cachedTokens,
  };
  if (timings.draftTokens !== undefined) t.draft_n = timings.draftTokens;
  if (timings.draftAcceptedTokens !== undefined) t.draft_accepted_n = timings.draftAcceptedTokens;
  if (timings.draftAcceptance !== undefined) t.draft_acceptance = round3(timings.draftAcceptance);
  return t;
}

const round3 = (x: number): number => (Number.isFinite(x) ? Math.round(x * 1000) / 1000 : 0);

/** OpenAI's finish_reason; calls returned always mean 'tool_calls' (clients branch on it). */
export function finishReasonOf(reason: FinishReason, sawToolCalls: boolean): 'stop' | 'length' | 'tool_calls' {
  if (reason === 'length') return 'length';
  if (sawToolCalls || reason === 'tool_calls') return 'tool_calls';
  return 'stop';
}

/**
 * What the server did that the client did not ask for, as `stepflash: {notes, max_tokens?}` on the
 * response (and an `x-stepflash-note` header where headers are still open). Absent when there is nothing.
 */
export interface StepflashExtension {
  notes: string[];
  max_tokens?: { requested: number | null; granted: number };
  stop_sequence?: string;
}

export class Notes {
  private readonly notes: string[] = [];
  private clamp: { requested: number | null; granted: number } | undefined;
  private stop: string | undefined;

  onStart(start: StartEvent, requested: number | undefined): void {
    if (!start.maxTokensClamped) return;
    this.clamp = { requested: requested ?? null, granted: start.maxTokens };
    this.notes.push(
      requested !== undefined
        ? `max_tokens ${requested} was reduced to ${start.maxTokens}: the prompt takes ${start.promptTokens} tokens of the context`
        : `max_tokens was set to ${start.maxTokens}: the prompt takes ${start.promptTokens} tokens of the context`,
    );
  }

  onDone(done: DoneEvent): void {
    if (done.note) this.notes.push(done.note);
    if (done.stopSequence !== undefined) this.stop = done.stopSequence;
  }

  /** The extension object, or undefined when nothing happened worth saying. */
  extension(): StepflashExtension | undefined {
    if (this.notes.length === 0 && this.stop === undefined) return undefined;
    return {
      notes: [...this.notes],
      ...(this.clamp ? { max_tokens: this.clamp } : {}),
      ...(this.stop !== undefined ? { stop_sequence: this.stop } : {}),
    };
  }

  /** The notes as one header value: printable ASCII only (headers carry no UTF-8 reliably). */
  header(): string | undefined {
    if (this.notes.length === 0) return undefined;
    return this.notes.join('; ').replace(/[^\x20-\x7e]/g, '?').slice(0, 1000);
  }
}

/** Chat logprobs: `{content: [{token, logprob, bytes, top_logprobs}], refusal: null}`. */
export function chatLogprobs(list: readonly TokenLogprob[]): { content: unknown[]; refusal: null } {
  return {
    content: list.map((t) => ({
      token: t.token,
      logprob: t.logprob,
      bytes: [...t.bytes],
      top_logprobs: t.top.map((a) => ({ token: a.token, logprob: a.logprob, bytes: [...a.bytes] })),
    })),
    refusal: null,
  };
}

/** Legacy completions logprobs: parallel arrays, top alternatives as `{token: logprob}` maps. */
export function textLogprobs(
  list: readonly TokenLogprob[],
  startOffset: number,
): { tokens: string[]; token_logprobs: number[]; top_logprobs: Record<string, number>[]; text_offset: number[] } {
  const out = { tokens: [] as string[], token_logprobs: [] as number[], top_logprobs: [] as Record<string, number>[], text_offset: [] as number[] };
  let offset = startOffset;
  for (const t of list) {
    out.tokens.push(t.token);
    out.token_logprobs.push(t.logprob);
    out.top_logprobs.push(Object.fromEntries(t.top.map((a) => [a.token, a.logprob])));
    out.text_offset.push(offset);
    offset += t.token.length;
  }
  return out;
}

/** Splits text into pieces of at most `max` UTF-16 units without cutting a surrogate pair. */
export function splitText(text: string, max: number): string[] {
  const pieces: string[] = [];
  let i = 0;
  while (i < text.length) {
    let end = Math.min(text.length, i + max);
    // Never end a piece on a high surrogate: its low half would travel alone (invalid UTF-8 for others).
    if (end < text.length && isHighSurrogate(text.charCodeAt(end - 1))) end += end - 1 > i ? -1 : 1;
    pieces.push(text.slice(i, end));
    i = end;
  }
  return pieces;
}

const isHighSurrogate = (c: number): boolean => c >= 0xd800 && c <= 0xdbff;
