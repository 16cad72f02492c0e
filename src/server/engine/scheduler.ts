// Continuous batching. Up to `parallel` requests hold a slot each (its own KV cache); every step runs ONE
// forward pass carrying one token for each decoding slot plus chunks of the prompts being prefilled, within
// a token budget, so a long prompt is spread over several steps instead of stalling everyone. Between steps
// the loop yields to the event loop (a forward pass is synchronous), which is when HTTP I/O, new requests,
// aborts and /health get to run; new requests join at the next step, and a request whose signal aborted is
// dropped (its slot freed) before the next step starts. Requests beyond the slots wait in a bounded queue.
//
// A new request takes the free slot whose cache shares the longest prefix with its prompt, so a
// conversation's next turn (or a repeated system prompt) evaluates only what is new.
//
// Speculative decoding (`draft`): before each step, every decoding slot's MTP heads draft up to N tokens
// after its pending one, and the step's single pass carries [pending, d_1..d_k] for each of them (all
// logits rows) next to the prompt chunks: the drafts of all active sequences are verified together, in the
// same batched pass that plain decoding would run. The job then chooses a token from each row in turn,
// exactly as without drafting, and a draft is kept while it is the token the job chose; the first
// disagreement (or the row after the last draft) gives the step's last token. The sequence, its token
// list and the slot's MTP caches are rolled back past the first rejected draft. Drafts only take the
// budget left after one token per decoding slot, so drafting never delays another sequence's token.
import { ChatError } from '../chat-service.js';
import { yieldToEventLoop } from '../../engine/session.js';
import { resolveDraft, type DraftOptions } from '../../engine/speculative.js';
import type { EngineBatchItem, EngineModel } from './model-port.js';
import { Slot, type SchedulerJob } from './slot.js';

export interface SchedulerOptions {
  /** Sequences decoded together (slots). */
  readonly parallel: number;
  /** Requests that may wait for a slot; one more is refused with ChatError 'overloaded'. */
  readonly queueSize: number;
  /** Positions each slot's cache holds. */
  readonly contextSize: number;
  /** Most tokens per forward pass (decode tokens plus prompt chunks). Default: the model's maxBatch. */
  readonly stepTokens?: number;
  /** A step running longer than this, or pending work with no step finished for this long, is a wedged engine. */
  readonly stallMs?: number;
  /** Called after every step (for metrics). */
  readonly onStep?: (info: StepInfo) => void;
  /** Speculative decoding with the model's MTP heads (n 1..3; absent or n 0: off). */
  readonly draft?: DraftOptions;
}

/** One sequence's share of a step: its tokens, where they start in the sequence and in the pass, its drafts. */
interface BatchEntry {
  readonly slot: Slot;
  readonly item: EngineBatchItem;
  /** The sequence's length before the pass. */
  readonly pos0: number;
  /** The item's first row in the pass. */
  row0: number;
  /** Drafted tokens after the pending one (decode items of a drafting scheduler), else empty. */
  readonly drafts: readonly number[];
}

export interface StepInfo {
  readonly ms: number;
  readonly tokens: number;
  readonly sequences: number;
  readonly promptTokens: number;
  /** Draft tokens verified in the pass, and how many were kept. */
  readonly drafted: number;
  readonly accepted: number;
}

export interface SchedulerStats {
  readonly parallel: number;
  readonly activeSlots: number;
  readonly queued: number;
  readonly steps: number;
}

export class BatchScheduler {
  readonly parallel: number;
  readonly queueSize: number;
  readonly stepTokens: number;
  readonly stallMs: number;
  /** Drafts per step (0: off). */
  readonly draftN: number;
  private readonly slots: Slot[];
  private readonly queue: SchedulerJob[] = [];
  /** The abort listener of each queued job, removed when it leaves the queue. */
  private readonly waiting = new Map<SchedulerJob, () => void>();
  private order = 0;
  private steps = 0;
  private loopRunning = false;
  private closed = false;
  private wakeLoop: (() => void) | null = null;
  /** When the running forward pass started (null between passes). */
  private stepStartedAt: number | null = null;
  /** Last time the loop made progress (finished a step, or found work after being idle). */
  private lastProgress = performance.now();
  private loopDone: Promise<void> = Promise.resolve();

  constructor(private readonly model: EngineModel, private readonly opts: SchedulerOptions) {
    const { parallel, queueSize, contextSize } = opts;
    if (!Number.isInteger(parallel) || parallel < 1) throw new RangeError(`parallel must be a positive integer, got ${parallel}`);
    if (!Number.isInteger(queueSize) || queueSize < 0) throw new RangeError(`queueSize must be a non-negative integer, got ${queueSize}`);
    if (!Number.isInteger(contextSize) || contextSize < 2) throw new RangeError(`contextSize must be an integer >= 2, got ${contextSize}`);
    this.stepTokens = opts.stepTokens ?? model.maxBatch;
    if (!Number.isInteger(this.stepTokens) || this.stepTokens < 1 || this.stepTokens > model.maxBatch)
      throw new RangeError(`stepTokens must be an integer in 1..${model.maxBatch} (the model's batch size), got ${this.stepTokens}`);
    if (parallel > this.stepTokens)
      throw new RangeError(`parallel (${parallel}) cannot exceed the tokens of one step (${this.stepTokens}): every slot decodes one token per step`);
    this.parallel = parallel;
    this.queueSize = queueSize;
    this.stallMs = opts.stallMs ?? 120_000;
    let draft: DraftOptions | null = null;
    if (opts.draft && opts.draft.n !== 0) {
      if (!model.createDrafter || !(model.draftHeads! > 0)) throw new Error(`this model has no MTP (nextn) heads, so it cannot draft tokens: use draft 0`);
      resolveDraft(model.draftHeads!, opts.draft); // a clear error for an impossible n or mode
      draft = opts.draft;
    }
    this.draftN = draft?.n ?? 0;
    this.slots = Array.from({ length: parallel }, (_, i) => new Slot(i, model, contextSize, draft));
  }

  get stats(): SchedulerStats {
    return { parallel: this.parallel, activeSlots: this.slots.filter((s) => s.busy).length, queued: this.queue.length, steps: this.steps };
  }

  /** Whether submit() would take another job now. */
  canAccept(): boolean {
    const free = this.slots.filter((s) => !s.busy).length;
    return !this.closed && this.queue.length < this.queueSize + free;
  }

  /** The error for a job that cannot be taken. */
  refuse(): never {
    if (this.closed) throw new ChatError('overloaded', 'the server is shutting down');
    throw new ChatError('overloaded', `the server is busy: all ${this.parallel} slots are generating and ${this.queue.length} requests are waiting; retry later`);
  }

  /** Queues a job; throws ChatError 'overloaded' when the wait queue is full. */
  submit(job: SchedulerJob): void {
    if (!this.canAccept()) this.refuse();
    if (job.prompt.length === 0) throw new ChatError('invalid_request', 'the prompt is empty');
    if (job.signal.aborted) {
      job.cancelled();
      return;
    }
    this.queue.push(job);
    // A request that gives up while waiting leaves the queue at once, making room for another. The listener
    // goes when the job leaves the queue: Node keeps a signal with listeners (an AbortSignal.any one
    // included) alive, and with it the job, so a listener left behind leaked every finished request.
    const onAbort = () => {
      this.waiting.delete(job);
      const i = this.queue.indexOf(job);
      if (i >= 0) {
        this.queue.splice(i, 1);
        job.cancelled();
      }
      this.kick();
    };
    this.waiting.set(job, onAbort);
    job.signal.addEventListener('abort', onAbort, { once: true });
    this.kick();
  }

  /**
   * Not ok when the engine is wedged: a forward pass has been running longer than stallMs, or work is
   * pending and no step has finished for that long. (A synchronous pass blocks the event loop, so while one
   * runs /health cannot answer at all; an asynchronous backend's stalled pass is caught here.)
   */
  health(): { ok: boolean; detail: string } {
    if (this.closed) return { ok: false, detail: 'the engine is shut down' };
    const now = performance.now();
    const s = this.stats;
    const secs = (ms: number) => (ms / 1000).toFixed(1);
    if (this.stepStartedAt !== null && now - this.stepStartedAt > this.stallMs)
      return { ok: false, detail: `engine wedged: a forward pass has been running for ${secs(now - this.stepStartedAt)} s (limit ${secs(this.stallMs)} s)` };
    const pending = s.activeSlots + s.queued > 0;
    if (pending && now - this.lastProgress > this.stallMs)
      return { ok: false, detail: `engine wedged: ${s.activeSlots} active and ${s.queued} queued requests, but no step has finished for ${secs(now - this.lastProgress)} s` };
    return { ok: true, detail: pending ? `${s.activeSlots}/${s.parallel} slots busy, ${s.queued} queued` : `idle, ${s.parallel} slots` };
  }

  /** Stops taking work, cancels what is queued and running, and waits for the loop to finish its step. */
  async close(): Promise<void> {
    if (this.closed) return this.loopDone;
    this.closed = true;
    for (const job of this.queue.splice(0)) {
      this.unlisten(job);
      job.cancelled();
    }
    for (const slot of this.slots) {
      if (slot.job) {
        const job = slot.job;
        slot.release();
        job.cancelled();
      }
    }
    this.kick();
    await this.loopDone;
  }

  private kick(): void {
    if (!this.loopRunning && !this.closed) {
      this.loopRunning = true;
      this.lastProgress = performance.now();
      this.loopDone = this.loop().finally(() => (this.loopRunning = false));
      return;
    }
    const w = this.wakeLoop;
    this.wakeLoop = null;
    w?.();
  }

  private async loop(): Promise<void> {
    while (!this.closed) {
      this.reap();
      this.admit();
      const batch = this.buildBatch();
      if (batch.length === 0) {
        if (this.queue.length === 0 && !this.slots.some((s) => s.busy)) {
          await new Promise<void>((resolve) => (this.wakeLoop = resolve));
          this.lastProgress = performance.now();
        }
        continue;
      }
      await this.runStep(batch);
      this.model.idle?.();
      await yieldToEventLoop();
    }
  }

  private unlisten(job: SchedulerJob): void {
    const l = this.waiting.get(job);
    if (l) {
      this.waiting.delete(job);
      job.signal.removeEventListener('abort', l);
    }
  }

  /** Drops jobs whose signal aborted: their slots are free for the next step. */
  private reap(): void {
    for (const slot of this.slots) {
      const job = slot.job;
      if (job && job.signal.aborted) {
        slot.release();
        job.cancelled();
      }
    }
  }

  /** Moves waiting jobs into free slots, each to the slot whose cache shares the longest prefix with it. */
  private admit(): void {
    while (this.queue.length > 0) {
      const free = this.slots.filter((s) => !s.busy);
      if (free.length === 0) return;
      const job = this.queue.shift()!;
      this.unlisten(job);
      // A trivial common prefix (the BOS and `<|im_start|>` every chat prompt starts with) is not worth
      // another conversation's cache: such requests, and ties, go to the least recently used slot.
      const worthwhile = Math.min(32, Math.ceil(job.prompt.length / 2));
      const score = (r: number) => (r >= worthwhile ? r : 0);
      let best = free[0]!;
      let bestReuse = best.reusablePrefix(job.prompt);
      for (const slot of free.slice(1)) {
        const r = slot.reusablePrefix(job.prompt);
        const a = score(r);
        const b = score(bestReuse);
        if (a > b || (a === b && slot.lastUsed < best.lastUsed)) {
          best = slot;
          bestReuse = r;
        }
      }
      best.assign(job, bestReuse, ++this.order);
      try {
        job.started(bestReuse);
      } catch (e) {
        best.release();
        job.failed(e);
      }
    }
  }

  /**
   * One token per decoding slot, then its drafts (when drafting) in what is left of the budget, then prompt
   * chunks (oldest request first) in what is left after that.
   */
  private buildBatch(): BatchEntry[] {
    const out: BatchEntry[] = [];
    const decoding: Slot[] = [];
    for (const slot of this.slots) {
      if (!slot.job || slot.prefilling || slot.pending.length === 0) continue;
      if (slot.sequence.length + slot.pending.length > slot.sequence.maxLength) {
        const job = slot.job;
        slot.release();
        job.failed(new Error('the sequence is full (the request should have ended at its token limit)'));
        continue;
      }
      decoding.push(slot);
    }
    let budget = this.stepTokens - decoding.reduce((a, s) => a + s.pending.length, 0);
    for (const slot of decoding) {
      const seq = slot.sequence;
      let drafts: number[] = [];
      const drafter = slot.pending.length === 1 ? slot.drafter : null;
      if (drafter) {
        const job = slot.job!;
        // Only what the budget, the sequence and the job's token limit leave room for.
        const room = Math.min(this.draftN, budget, seq.maxLength - seq.length - 1, job.draftRoom?.() ?? Infinity);
        if (room > 0) drafts = drafter.propose(slot.pending[0]!, room, job.draftPick ? (l) => job.draftPick!(l) : undefined);
        budget -= drafts.length;
      }
      const tokens = drafts.length > 0 ? [...slot.pending, ...drafts] : slot.pending;
      out.push({ slot, item: { tokens, seq, logits: drafts.length > 0 ? 'all' : 'last' }, pos0: seq.length, row0: 0, drafts });
    }
    const prefilling = this.slots.filter((s) => s.job && s.prefilling).sort((a, b) => a.admittedAt - b.admittedAt);
    for (const slot of prefilling) {
      if (budget <= 0) break;
      const n = Math.min(budget, slot.pending.length);
      const last = n === slot.pending.length;
      out.push({ slot, item: { tokens: slot.pending.slice(0, n), seq: slot.sequence, logits: last ? 'last' : 'none' }, pos0: slot.sequence.length, row0: 0, drafts: [] });
      budget -= n;
    }
    let row = 0;
    for (const e of out) {
      e.row0 = row;
      row += e.item.tokens.length;
    }
    return out;
  }

  private async runStep(batch: BatchEntry[]): Promise<void> {
    const t0 = performance.now();
    this.stepStartedAt = t0;
    let results: Float32Array[];
    try {
      const r = this.model.forwardMany(batch.map((b) => b.item));
      results = r instanceof Promise ? await r : r;
      if (results.length !== batch.length) throw new Error(`the model returned ${results.length} logits rows for ${batch.length} sequences`);
    } catch (e) {
      this.stepStartedAt = null;
      this.lastProgress = performance.now();
      for (const { slot } of batch) {
        const job = slot.job;
        slot.reset();
        job?.failed(e);
      }
      return;
    }
    const ms = performance.now() - t0;
    this.stepStartedAt = null;
    this.steps++;
    let tokens = 0;
    let promptTokens = 0;
    let drafted = 0;
    let accepted = 0;
    batch.forEach((entry, i) => {
      const { slot, item } = entry;
      tokens += item.tokens.length;
      if (slot.prefilling) promptTokens += item.tokens.length;
      for (const t of item.tokens) slot.tokens.push(t);
      // Keep the sliding-window state at the end of each prompt chunk and of the prompt, so that a later
      // request sharing a prefix can return there although the rings have moved on (KvCache checkpoints).
      if (slot.prefilling) slot.sequence.checkpoint?.();
      const job = slot.job;
      if (!job) return; // closed while the pass ran
      if (slot.prefilling) {
        slot.drafter?.prefilled(job.prompt.length, entry.pos0, entry.pos0 + item.tokens.length, entry.row0);
        if (item.logits === 'none') {
          slot.pending = slot.pending.slice(item.tokens.length);
          return;
        }
        slot.prefilling = false;
        try {
          slot.drafter?.afterPrefill();
        } catch (e) {
          slot.release();
          job.failed(e);
          return;
        }
        this.advance(slot, job, [results[i]!], []);
        return;
      }
      const D = entry.drafts.length;
      const rows = D === 0 ? [results[i]!] : Array.from({ length: D + 1 }, (_, r) => results[i]!.subarray(r * this.model.vocabSize, (r + 1) * this.model.vocabSize));
      const kept = this.advance(slot, job, rows, entry.drafts);
      drafted += D;
      accepted += kept;
      // Roll the sequence back past the first rejected draft: it holds the pending token and the kept drafts.
      const keep = entry.pos0 + item.tokens.length - D + kept;
      if (slot.sequence.length > keep) {
        slot.sequence.truncate(keep);
        slot.tokens.length = keep;
      }
      try {
        slot.drafter?.commit(entry.pos0, D, kept, entry.row0);
      } catch (e) {
        const j = slot.job;
        slot.reset();
        j?.failed(e);
      }
    });
    this.lastProgress = performance.now();
    this.opts.onStep?.({ ms, tokens, sequences: batch.length, promptTokens, drafted, accepted });
  }

  /**
   * Lets the job choose a token from each logits row in turn (rows after the pending token and after each
   * draft) while its choice is the draft already evaluated; the first other choice (or the choice after
   * the last draft) becomes the slot's pending token. Returns the drafts kept. Ends the job's slot when it
   * finishes, is cancelled or throws.
   */
  private advance(slot: Slot, job: SchedulerJob, rows: readonly Float32Array[], drafts: readonly number[]): number {
    if (drafts.length > 0) job.countDrafts?.(drafts.length, 0);
    let kept = 0;
    let next: number | null = null;
    try {
      for (let r = 0; r < rows.length; r++) {
        next = job.signal.aborted ? null : job.next(rows[r]!);
        if (next === null || r >= drafts.length || next !== drafts[r]) break;
        kept++;
        job.countDrafts?.(0, 1);
      }
    } catch (e) {
      slot.release();
      job.failed(e);
      return kept;
    }
    if (job.signal.aborted && next === null) {
      slot.release();
      job.cancelled();
    } else if (next === null) {
      slot.release();
    } else {
      slot.pending = [next];
    }
    return kept;
  }
}
