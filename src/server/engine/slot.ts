// One of the scheduler's `parallel` sequence slots: a KV cache that outlives the requests it serves, the
// tokens it holds (for prompt-prefix reuse by the next request), and the request it is serving now.
import type { DraftOptions } from '../../engine/speculative.js';
import type { EngineDrafter, EngineModel, EngineSequence } from './model-port.js';

/** What the scheduler runs: one request's prompt, then one token at a time until it says it is done. */
export interface SchedulerJob {
  readonly prompt: readonly number[];
  readonly signal: AbortSignal;
  /** The job has a slot; `cachedTokens` of its prompt were already in the slot's cache. */
  started(cachedTokens: number): void;
  /**
   * Next-token logits after the whole prompt (first call) or after the token returned last. Returns the
   * next token to evaluate, or null when the job has finished (it has then reported its own end).
   */
  next(logits: Float32Array): number | null;
  /** Dropped before finishing: its signal aborted. */
  cancelled(): void;
  /** A forward pass it was part of failed, or its own next() threw. */
  failed(error: unknown): void;
  /**
   * Optional, speculative decoding: how many drafts may follow the pending token (the tokens the job may
   * still produce after it, less one: a step yields drafts + 1 tokens). Default: no limit.
   */
  draftRoom?(): number;
  /** Optional: the draft a head's logits propose (default argmax), e.g. after the job's logit bias and penalties. */
  draftPick?(logits: Float32Array): number;
  /** Optional: `drafted` more tokens were drafted for the job and `accepted` more kept (called as it happens). */
  countDrafts?(drafted: number, accepted: number): void;
}

export class Slot {
  private seq: EngineSequence | null = null;
  /** The tokens whose keys and values the sequence holds, in order. */
  readonly tokens: number[] = [];
  job: SchedulerJob | null = null;
  /** Tokens to evaluate for the job: the rest of its prompt, then each sampled token. */
  pending: readonly number[] = [];
  /** Still evaluating the prompt (the pending tokens are a prompt remainder). */
  prefilling = false;
  /** When the job was admitted (prefill chunks go oldest first) and when the slot was last used. */
  admittedAt = 0;
  lastUsed = -1;

  private draftState: EngineDrafter | null = null;

  constructor(
    readonly index: number,
    private readonly model: EngineModel,
    private readonly contextSize: number,
    /** Speculative decoding (n > 0), or null. */
    private readonly draft: DraftOptions | null = null,
  ) {}

  get sequence(): EngineSequence {
    return (this.seq ??= this.model.createSequence(this.contextSize));
  }

  /** The slot's drafter (its MTP caches live as long as the slot), or null when not drafting. */
  get drafter(): EngineDrafter | null {
    if (!this.draft) return null;
    return (this.draftState ??= this.model.createDrafter!(this.sequence, this.tokens, this.draft));
  }

  get busy(): boolean {
    return this.job !== null;
  }

  /**
   * How many leading tokens of `prompt` this slot's cache can keep. The last prompt token is always
   * evaluated (its logits start the generation), and sliding-window layers limit how far a cache can be
   * rolled back: past that, nothing is reused.
   */
  reusablePrefix(prompt: readonly number[]): number {
    if (!this.seq) return 0;
    const c = this.tokens;
    const lim = Math.min(c.length, prompt.length - 1);
    let common = 0;
    while (common < lim && c[common] === prompt[common]) common++;
    // Beyond the rollback limit a sequence may still return to a checkpoint (sliding-window rings saved at
    // the end of an earlier prompt); otherwise nothing is reused.
    if (common > 0 && this.seq.length - common > this.seq.maxRollback) return this.seq.reusable ? this.seq.reusable(common) : 0;
    return common;
  }

  /** Gives the slot to `job`, reusing `reused` cached prompt tokens. */
  assign(job: SchedulerJob, reused: number, order: number): void {
    const seq = this.sequence;
    seq.truncate(reused);
    this.tokens.length = reused;
    this.job = job;
    this.pending = job.prompt.slice(reused);
    this.prefilling = true;
    this.admittedAt = order;
    this.lastUsed = order;
    this.drafter?.begin();
  }

  /** The job is over; the cache keeps what it holds for the next request's prefix. */
  release(): void {
    this.job = null;
    this.pending = [];
    this.prefilling = false;
  }

  /** After a failed pass the cache contents are unknown: forget them. */
  reset(): void {
    this.release();
    this.tokens.length = 0;
    if (this.seq) this.seq.truncate(0);
  }
}
