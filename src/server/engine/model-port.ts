// What the batch scheduler needs from a model, and no more: the logits row length, how many tokens one pass
// may carry, a way to make a sequence cache, and one multi-sequence forward pass. Step35Model fits it
// through stepModelPort(); tests plug in a scripted model (test/helpers/scripted-model.ts) that returns
// logits forcing a chosen reply, so the real template, tokenizer, parsers and scheduler can be exercised
// with known text. A model with MTP heads also offers per-sequence drafters for speculative decoding.
import { KvCache, type KvCacheTypes } from '../../engine/kv-cache.js';
import { Drafter, type DraftOptions } from '../../engine/speculative.js';
import type { Step35Model } from '../../model/step35.js';

/** One sequence's cache: the positions it holds and how far it can be rolled back. */
export interface EngineSequence {
  /** Positions already evaluated; the next token goes to this position. */
  length: number;
  readonly maxLength: number;
  /** How many positions truncate() may drop at once (Infinity when any rollback works; see KvCache). */
  readonly maxRollback: number;
  /**
   * Forgets positions from `length` on. The scheduler calls it every time it hands the sequence to a new
   * request, with the length of the prefix it reuses (even when that drops nothing), so a model can tell a
   * new prompt from the continuation of a generation; when drafting, also to drop rejected drafts.
   */
  truncate(length: number): void;
  /**
   * Optional: the longest prefix of at most `length` positions truncate() can keep, when that is more
   * than maxRollback allows (KvCache restores sliding-window rings from checkpoints).
   */
  reusable?(length: number): number;
  /** Optional: remember the state at the current length for a later reusable()/truncate() (end of a prompt). */
  checkpoint?(): void;
}

export interface EngineBatchItem {
  readonly tokens: readonly number[];
  readonly seq: EngineSequence;
  /**
   * 'last': next-token logits after the item's last token; 'none': only fill the cache (a prompt chunk);
   * 'all': logits after each of its tokens, end to end (verifying drafts; only for a model with createDrafter).
   */
  readonly logits: 'last' | 'none' | 'all';
}

/**
 * Speculative decoding for one sequence (a slot): the MTP heads draft tokens after the one pending; the
 * scheduler verifies them (with other sequences' tokens) in its batched pass, decides which to keep, rolls
 * the sequence back, and reports here. See Drafter in src/engine/speculative.ts.
 */
export interface EngineDrafter {
  /** A new request takes the sequence; its prompt (or the part not reused) is prefilled next. */
  begin(): void;
  /** A prompt chunk, positions [start, end) of a prompt of `promptLength` tokens, was rows row0.. of the last pass. */
  prefilled(promptLength: number, start: number, end: number, row0: number): void;
  /** The whole prompt is in the sequence (call before the first draft). */
  afterPrefill(): void;
  /** Up to maxDraft drafts to follow `pending` (the last chosen token, not yet in the sequence). */
  propose(pending: number, maxDraft: number, pick?: (logits: Float32Array) => number): number[];
  /**
   * After the pass that verified [pending, ...drafts] at positions n.. (rows row0.. of the pass), with
   * `accepted` drafts kept and the sequence (and its token list) already rolled back to n + 1 + accepted.
   */
  commit(n: number, drafted: number, accepted: number, row0: number): void;
}

export interface EngineModel {
  /** Length of a logits row. */
  readonly vocabSize: number;
  /** Most tokens one forwardMany call may carry, all items together. */
  readonly maxBatch: number;
  createSequence(maxLength: number): EngineSequence;
  /**
   * Evaluates every item's tokens in one pass and returns each item's logits ([vocabSize] for 'last',
   * [tokens][vocabSize] for 'all', empty for 'none'). May return a promise (an asynchronous backend, a scripted model that stalls on purpose).
   */
  forwardMany(items: readonly EngineBatchItem[]): Float32Array[] | Promise<Float32Array[]>;
  /** Optional: the scheduler is about to yield to I/O between passes (see Backend.idle). */
  idle?(): void;
  /** MTP heads available for drafting (absent or 0: the model cannot draft). */
  readonly draftHeads?: number;
  /**
   * A drafter for `seq` (from createSequence), whose evaluated tokens are the live array `tokens`. Only when
   * draftHeads > 0.
   */
  createDrafter?(seq: EngineSequence, tokens: readonly number[], options: DraftOptions): EngineDrafter;
}

/** The real model behind the narrow interface: sequences are KvCaches sized to the model's batch. */
export function stepModelPort(model: Step35Model, cacheTypes?: KvCacheTypes): EngineModel {
  return {
    vocabSize: model.config.nVocab,
    maxBatch: model.maxBatch,
    draftHeads: model.config.nNextn,
    createDrafter: (seq, tokens, options) => {
      if (!(seq instanceof KvCache)) throw new TypeError('stepModelPort: a sequence must come from createSequence()');
      return slotDrafter(new Drafter({ model, cache: seq, tokens, contextSize: seq.maxLength }), options);
    },
    idle: () => model.backend.idle?.(),
    createSequence: (maxLength) => new KvCache(model.backend, model.config, maxLength, model.maxBatch, cacheTypes),
    forwardMany: (items) =>
      model.forwardMany(
        items.map((it) => {
          if (!(it.seq instanceof KvCache)) throw new TypeError('stepModelPort: a sequence must come from createSequence()');
          return { tokens: it.tokens, seq: it.seq, logits: it.logits };
        }),
      ),
  };
}

/** Whether `x` is an EngineModel rather than a Step35Model (which has no createSequence). */
export function isEngineModel(x: unknown): x is EngineModel {
  return typeof x === 'object' && x !== null && typeof (x as EngineModel).createSequence === 'function' && typeof (x as EngineModel).forwardMany === 'function';
}

/** The engine's Drafter behind EngineDrafter; hidden states come from the model's last pass. */
function slotDrafter(d: Drafter, options: DraftOptions): EngineDrafter {
  const model = d.session.model;
  return {
    // Greedy drafts need no random stream: the seed only matters to Drafter.step()'s speculative sampling.
    begin: () => d.begin(options, 1),
    prefilled: (promptLength, start, end, row0) => d.onPrefillChunk(promptLength, start, end, row0),
    afterPrefill: () => void d.afterPrefill(),
    propose: (pending, maxDraft, pick) => d.propose(pending, maxDraft, pick),
    commit: (n, drafted, accepted, row0) => d.commit(n, drafted, accepted, model.hiddenRows(row0, accepted + 1)),
  };
}
