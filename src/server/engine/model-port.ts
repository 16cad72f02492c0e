// What the batch scheduler needs from a model, and no more: the logits row length, how many tokens one pass
// may carry, a way to make a sequence cache, and one multi-sequence forward pass. Step35Model fits it
// through stepModelPort(); tests plug in a scripted model (test/helpers/scripted-model.ts) that returns
// logits forcing a chosen reply, so the real template, tokenizer, parsers and scheduler can be exercised
// with known text.
import { KvCache, type KvCacheTypes } from '../../engine/kv-cache.js';
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
   * new prompt from the continuation of a generation.
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
  /** 'last': next-token logits after the item's last token; 'none': only fill the cache (a prompt chunk). */
  readonly logits: 'last' | 'none';
}

export interface EngineModel {
  /** Length of a logits row. */
  readonly vocabSize: number;
  /** Most tokens one forwardMany call may carry, all items together. */
  readonly maxBatch: number;
  createSequence(maxLength: number): EngineSequence;
  /**
   * Evaluates every item's tokens in one pass and returns each item's logits ([vocabSize] for 'last', empty
   * for 'none'). May return a promise (an asynchronous backend, a scripted model that stalls on purpose).
   */
  forwardMany(items: readonly EngineBatchItem[]): Float32Array[] | Promise<Float32Array[]>;
}

/** The real model behind the narrow interface: sequences are KvCaches sized to the model's batch. */
export function stepModelPort(model: Step35Model, cacheTypes?: KvCacheTypes): EngineModel {
  return {
    vocabSize: model.config.nVocab,
    maxBatch: model.maxBatch,
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
