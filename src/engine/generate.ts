// Text generation: evaluate the prompt, then sample and evaluate one token at a time until an
// end-of-generation token, a stop string, the token limit, a full context, or cancellation.
//
// generate() is an async generator of events:
//
//   { type: 'prefill' }   once, after the prompt is in the cache
//   { type: 'token' }     per generated token (not for the end-of-generation token), with the text this
//                         token released: valid UTF-8, possibly "" (an incomplete character, or text held
//                         back because it could be the start of a stop string)
//   { type: 'done' }      last, with any text released at the end and the full result
//
// The `text` of all token events followed by the done event's `text` is exactly `result.text`. The
// generator's return value is the result too (for callers that drive it with next()).
import type { Tokenizer } from '../tokenizer/index.js';
import { Sampler, tokenLogprobs, type SamplerOptions, type TokenLogprobs, type TokenSampler } from './sampler.js';
import { ContextOverflowError, yieldToEventLoop, type Session } from './session.js';
import { drafterFor, type DraftOptions, type DraftStats } from './speculative.js';
import { StopMatcher } from './stop.js';

export interface GenerateOptions {
  /** Most tokens to generate (the end-of-generation token included). Default: until the context is full. */
  readonly maxTokens?: number;
  /** Stop strings, matched on the decoded text; the matched text is not part of the output. */
  readonly stop?: readonly string[];
  /** Tokens that end generation. Default: the tokenizer's end-of-generation set; [] never stops on a token. */
  readonly eogTokens?: Iterable<number>;
  /** Sampler settings (used when `sampler` is not given). */
  readonly sampling?: SamplerOptions;
  /** A sampler to use as is (it is reset with the prompt first). */
  readonly sampler?: TokenSampler;
  /** Per-token log-probabilities: the chosen token's and this many alternatives' (0..). Absent: none. */
  readonly logprobs?: number;
  /** Render control tokens (e.g. `<|im_end|>` used as text) into the output text. Default false. */
  readonly special?: boolean;
  /** Cancels generation (finish reason 'cancelled'); checked between prompt chunks and between tokens. */
  readonly signal?: AbortSignal;
  /** Speculative decoding with the model's MTP heads (engine/speculative.ts); the output is unchanged. */
  readonly draft?: DraftOptions;
}

export type FinishReason = 'stop' | 'length' | 'cancelled';
/** Why generation stopped, in more detail than FinishReason. */
export type FinishDetail = 'eog' | 'stop-string' | 'max-tokens' | 'context-full' | 'cancelled';

export interface GenerateTimings {
  readonly promptTokens: number;
  /** Prompt tokens reused from the session's cache. */
  readonly cachedTokens: number;
  /** Prompt tokens evaluated for this request. */
  readonly prefillTokens: number;
  readonly prefillMs: number;
  readonly prefillTokensPerSecond: number;
  /** Tokens sampled, the end-of-generation token included. */
  readonly generatedTokens: number;
  /** Time spent sampling and evaluating generated tokens (not the consumer's time between events). */
  readonly decodeMs: number;
  readonly decodeTokensPerSecond: number;
  /** Wall time from the call to the end, consumer time included. */
  readonly totalMs: number;
}

export interface GenerateResult {
  /** The generated text (stop string and end-of-generation token excluded). */
  readonly text: string;
  /** Generated token ids (the end-of-generation token excluded; the tokens of a matched stop string included). */
  readonly tokens: readonly number[];
  readonly finishReason: FinishReason;
  readonly finishDetail: FinishDetail;
  /** The end-of-generation token that stopped generation (finishDetail 'eog'). */
  readonly stopToken?: number;
  /** The stop string that matched (finishDetail 'stop-string'). */
  readonly stopString?: string;
  /** Prompt and completion token counts, OpenAI style (completion includes the end-of-generation token). */
  readonly usage: { readonly promptTokens: number; readonly completionTokens: number };
  readonly timings: GenerateTimings;
  /** The seed of the built-in sampler (absent with a custom sampler). */
  readonly seed?: number;
  /** Drafting statistics, when `draft` was on. */
  readonly draft?: DraftStats;
}

export interface PrefillEvent {
  readonly type: 'prefill';
  readonly promptTokens: number;
  readonly cachedTokens: number;
  readonly ms: number;
}

export interface TokenEvent {
  readonly type: 'token';
  /** 0-based position among the generated tokens. */
  readonly index: number;
  readonly id: number;
  /** Text released with this token (may be ""; may include held-back text of earlier tokens). */
  readonly text: string;
  /** When `logprobs` was requested: over the raw logits this token was sampled from. */
  readonly logprobs?: TokenLogprobs;
}

export interface DoneEvent {
  readonly type: 'done';
  /** Text released at the end (held-back text and any incomplete character), possibly "". */
  readonly text: string;
  readonly result: GenerateResult;
}

export type GenerateEvent = PrefillEvent | TokenEvent | DoneEvent;

/**
 * Generates a continuation of `prompt` (token ids, BOS and chat template already applied) in `session`,
 * reusing the session's cached prefix. Starting another generation on the same session ends this one
 * (its next step throws). Throws ContextOverflowError when the prompt alone exceeds the context.
 */
export async function* generate(
  session: Session,
  tokenizer: Tokenizer,
  prompt: readonly number[],
  options: GenerateOptions = {},
): AsyncGenerator<GenerateEvent, GenerateResult, undefined> {
  const claim = session.claim();
  const tStart = performance.now();
  const ctx = session.contextSize;
  const maxTokens = options.maxTokens ?? Infinity;
  if (!(maxTokens >= 0)) throw new RangeError(`maxTokens must be >= 0, got ${maxTokens}`);
  const topN = options.logprobs;
  if (topN !== undefined && !(Number.isInteger(topN) && topN >= 0)) throw new RangeError(`logprobs must be a non-negative integer, got ${topN}`);
  if (prompt.length > ctx) throw new ContextOverflowError(prompt.length, ctx);
  const eog = new Set(options.eogTokens ?? tokenizer.eogIds);
  const signal = options.signal;
  const builtin = options.sampler ? undefined : new Sampler(session.model.config.nVocab, options.sampling);
  const sampler: TokenSampler = options.sampler ?? builtin!;
  const decoder = tokenizer.createStreamDecoder({ skipSpecial: !(options.special ?? false) });
  const tokVocab = tokenizer.vocabSize;
  const stopper = new StopMatcher(options.stop ?? []);
  const drafter = options.draft && options.draft.n > 0 ? drafterFor(session) : undefined;
  drafter?.begin(options.draft!, builtin?.seed ?? 1);

  const tokens: number[] = [];
  let text = '';
  let sampled = 0;
  let prefillMs = 0;
  let cachedTokens = 0;
  let prefillTokens = 0;
  let decodeMs = 0;

  const finish = (reason: FinishReason, detail: FinishDetail, extra: { stopToken?: number; stopString?: string } = {}): DoneEvent => {
    let tail = '';
    if (detail !== 'stop-string') {
      const r = stopper.push(decoder.flush());
      tail = r.text + (r.stop === undefined ? stopper.flush() : '');
    }
    text += tail;
    const secs = (ms: number) => ms / 1000;
    const result: GenerateResult = {
      text,
      tokens,
      finishReason: reason,
      finishDetail: detail,
      ...extra,
      usage: { promptTokens: prompt.length, completionTokens: sampled },
      timings: {
        promptTokens: prompt.length,
        cachedTokens,
        prefillTokens,
        prefillMs,
        prefillTokensPerSecond: prefillMs > 0 ? prefillTokens / secs(prefillMs) : 0,
        generatedTokens: sampled,
        decodeMs,
        decodeTokensPerSecond: decodeMs > 0 ? sampled / secs(decodeMs) : 0,
        totalMs: performance.now() - tStart,
      },
      ...(builtin ? { seed: builtin.seed } : {}),
      ...(drafter ? { draft: drafter.stats() } : {}),
    };
    return { type: 'done', text: tail, result };
  };

  if (signal?.aborted) return yield* done(finish('cancelled', 'cancelled'));
  if (prompt.length >= ctx || maxTokens === 0) {
    // Nothing can be generated; do not spend a prefill on it.
    return yield* done(finish('length', prompt.length >= ctx ? 'context-full' : 'max-tokens'));
  }

  const onChunk = drafter ? (start: number, end: number) => drafter.onPrefillChunk(prompt.length, start, end) : undefined;
  const pre = await session.prefill(prompt, { signal, claim, onChunk });
  const headsMs = drafter?.afterPrefill() ?? 0; // the MTP heads' share of the prompt
  session.checkClaim(claim);
  if (pre === null) return yield* done(finish('cancelled', 'cancelled'));
  prefillMs = pre.ms + headsMs;
  cachedTokens = pre.reused;
  prefillTokens = pre.evaluated;
  yield { type: 'prefill', promptTokens: prompt.length, cachedTokens, ms: prefillMs };
  session.checkClaim(claim);
  if (signal?.aborted) return yield* done(finish('cancelled', 'cancelled'));

  sampler.reset(prompt);
  let logits = pre.logits;
  // With drafting, one step yields several tokens (kept drafts and the trunk's own); they wait here.
  const queue: { id: number; logits: Float32Array }[] = [];
  for (;;) {
    if (sampled >= maxTokens) return yield* done(finish('length', 'max-tokens'));
    if (prompt.length + tokens.length >= ctx) return yield* done(finish('length', 'context-full'));
    const t0 = performance.now();
    let id: number;
    if (drafter && tokens.length > 0) {
      if (queue.length === 0) {
        // Draft no further than the token limit and the context allow (the step adds drafts + 1 positions).
        const maxDraft = Math.min(maxTokens - sampled - 1, ctx - prompt.length - tokens.length);
        const r = drafter.step(tokens[tokens.length - 1]!, sampler, maxDraft);
        r.tokens.forEach((t, i) => queue.push({ id: t, logits: r.logits[i]! }));
      }
      const next = queue.shift()!;
      id = next.id;
      logits = next.logits;
    } else {
      if (tokens.length > 0) logits = session.decode(tokens[tokens.length - 1]!);
      id = sampler.sample(logits);
      sampler.accept(id);
    }
    sampled++;
    const lp = topN !== undefined ? tokenLogprobs(logits, id, topN) : undefined;
    decodeMs += performance.now() - t0;

    if (eog.has(id)) return yield* done(finish('stop', 'eog', { stopToken: id }));
    tokens.push(id);
    const piece = id < tokVocab ? decoder.push(id) : '';
    const r = stopper.push(piece);
    text += r.text;
    const ev: TokenEvent = lp ? { type: 'token', index: tokens.length - 1, id, text: r.text, logprobs: lp } : { type: 'token', index: tokens.length - 1, id, text: r.text };
    yield ev;
    session.checkClaim(claim);
    if (r.stop !== undefined) return yield* done(finish('stop', 'stop-string', { stopString: r.stop }));
    await yieldToEventLoop();
    session.checkClaim(claim);
    if (signal?.aborted) return yield* done(finish('cancelled', 'cancelled'));
  }
}

async function* done(ev: DoneEvent): AsyncGenerator<DoneEvent, GenerateResult, undefined> {
  yield ev;
  return ev.result;
}

/** Runs generate() to the end and returns its result, calling `onEvent` for each event on the way. */
export async function complete(
  session: Session,
  tokenizer: Tokenizer,
  prompt: readonly number[],
  options: GenerateOptions & { readonly onEvent?: (ev: GenerateEvent) => void } = {},
): Promise<GenerateResult> {
  const it = generate(session, tokenizer, prompt, options);
  for (;;) {
    const r = await it.next();
    if (r.done) return r.value;
    options.onEvent?.(r.value);
  }
}
