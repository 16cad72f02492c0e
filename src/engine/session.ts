// A conversation with a model: one KV cache and the tokens whose keys and values it holds. A new prompt
// that extends (or shares a prefix with) what the cache holds reuses that prefix: the cache is truncated to
// the common prefix and only the rest is evaluated. Sliding-window layers limit how far the cache can be
// rolled back (KvCache.maxRollback); past that limit the prompt is evaluated from scratch.
import type { Step35Model } from '../model/step35.js';
import { KvCache, type KvCacheTypes } from './kv-cache.js';

export interface SessionOptions {
  /** Most positions the cache holds (prompt + generated). Default: the model's training context, at most 4096. */
  readonly contextSize?: number;
  /** Key/value cache storage (default f32). */
  readonly cacheTypes?: KvCacheTypes;
}

export interface PrefillResult {
  /** Next-token logits after the prompt's last token ([vocab]). */
  readonly logits: Float32Array;
  /** Prompt tokens whose keys and values were already cached. */
  readonly reused: number;
  /** Prompt tokens evaluated now. */
  readonly evaluated: number;
  /** Time spent in the forward passes. */
  readonly ms: number;
}

export class ContextOverflowError extends RangeError {
  constructor(readonly promptTokens: number, readonly contextSize: number) {
    super(`the prompt has ${promptTokens} tokens, more than the context of ${contextSize}`);
    this.name = 'ContextOverflowError';
  }
}

/** Yields to the event loop (a macrotask), so I/O, timers and AbortSignals get to run. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => (typeof setImmediate === 'function' ? setImmediate(resolve) : setTimeout(resolve, 0)));
}

export class Session {
  readonly cache: KvCache;
  private cached: number[] = [];
  private user = 0;

  constructor(readonly model: Step35Model, options: SessionOptions = {}) {
    const ctx = options.contextSize ?? Math.min(model.config.nCtxTrain || 4096, 4096);
    this.cache = new KvCache(model.backend, model.config, ctx, model.maxBatch, options.cacheTypes);
  }

  get contextSize(): number {
    return this.cache.maxLength;
  }

  /** The tokens whose keys and values are in the cache, in order. */
  get tokens(): readonly number[] {
    return this.cached;
  }

  /** Forgets everything cached. */
  reset(): void {
    this.cache.truncate(0);
    this.cached = [];
  }

  /**
   * Takes the session for one generation; a later claim supersedes it (checkClaim then throws), so an
   * abandoned generator can never corrupt a newer one's cache.
   */
  claim(): number {
    return ++this.user;
  }

  checkClaim(claim: number): void {
    if (claim !== this.user) throw new Error('this session was taken by a newer generation; the older one cannot continue');
  }

  /** How many leading tokens of `prompt` the cache can keep (see the class comment). */
  reusablePrefix(prompt: readonly number[]): number {
    const c = this.cached;
    let common = 0;
    const lim = Math.min(c.length, prompt.length);
    while (common < lim && c[common] === prompt[common]) common++;
    // The last prompt token is always evaluated: its logits are what the caller needs.
    if (common === prompt.length) common--;
    if (common < this.cache.length && common > 0 && this.cache.length - common > this.cache.maxRollback) common = 0;
    return Math.max(0, common);
  }

  /**
   * Brings the cache to exactly `prompt` and returns the next-token logits, evaluating the part not already
   * cached in chunks of the model's batch size, yielding to the event loop between chunks. Resolves to null
   * if `signal` aborts between chunks (the cache then holds the chunks already done).
   */
  async prefill(
    prompt: readonly number[],
    options: { signal?: AbortSignal; claim?: number; /** After each chunk's pass (positions [start, end)); the MTP drafter reads hidden states here. */ onChunk?: (start: number, end: number) => void } = {},
  ): Promise<PrefillResult | null> {
    if (prompt.length === 0) throw new RangeError('the prompt is empty: at least one token (e.g. BOS) is needed');
    if (prompt.length > this.contextSize) throw new ContextOverflowError(prompt.length, this.contextSize);
    const V = this.model.config.nVocab;
    for (const id of prompt) if (!Number.isInteger(id) || id < 0 || id >= V) throw new RangeError(`prompt token ${id} is outside the vocabulary (0..${V - 1})`);
    this.resync();
    const reused = this.reusablePrefix(prompt);
    this.cache.truncate(reused);
    this.cached.length = reused;
    const B = this.model.maxBatch;
    let ms = 0;
    let logits: Float32Array | null = null;
    for (let start = reused; start < prompt.length; start += B) {
      const end = Math.min(prompt.length, start + B);
      const chunk = prompt.slice(start, end);
      const t0 = performance.now();
      logits = this.model.forward(chunk, this.cache, { logits: end === prompt.length ? 'last' : 'none' });
      ms += performance.now() - t0;
      for (const id of chunk) this.cached.push(id);
      options.onChunk?.(start, end);
      if (end < prompt.length) {
        await yieldToEventLoop();
        if (options.claim !== undefined) this.checkClaim(options.claim);
        if (options.signal?.aborted) return null;
      }
    }
    return { logits: logits!, reused, evaluated: prompt.length - reused, ms };
  }

  /** Appends one token to the cache and returns the logits that follow it. */
  decode(id: number): Float32Array {
    this.resync();
    const logits = this.model.forward([id], this.cache, { logits: 'last' });
    this.cached.push(id);
    return logits;
  }

  /**
   * Appends several tokens in one pass and returns the logits after each ([ids.length][vocab]): the
   * verification pass of speculative decoding (engine/speculative.ts), followed by rollback().
   */
  decodeMany(ids: readonly number[]): Float32Array {
    this.resync();
    const logits = this.model.forward(ids, this.cache, { logits: 'all' });
    for (const id of ids) this.cached.push(id);
    return logits;
  }

  /** Forgets cached positions from `length` on (rejected draft tokens); at most KvCache.maxRollback back. */
  rollback(length: number): void {
    this.resync();
    this.cache.truncate(length);
    this.cached.length = length;
  }

  /** Whether one more token fits in the cache. */
  get full(): boolean {
    return this.cache.length >= this.cache.maxLength;
  }

  // If a forward pass threw, or someone truncated the cache directly, keep the token list honest.
  private resync(): void {
    if (this.cached.length > this.cache.length) this.cached.length = this.cache.length;
    else if (this.cached.length < this.cache.length) this.reset();
  }
}
