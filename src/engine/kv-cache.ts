// Key/value caches for one sequence. Full-attention layers hold every position up to the context size;
// sliding-window layers hold a ring of window + batch positions, so their memory does not grow with the
// context (the extra batch slots keep keys a batch's first query still needs while later ones are written).
import type { Backend } from '../backend/backend.js';
import type { ModelConfig } from '../model/config.js';
import type { LayerKV, SequenceKV } from '../model/kv.js';

export interface KvCacheInfo {
  readonly bytes: number;
  readonly fullBytes: number;
  readonly slidingBytes: number;
}

export class KvCache implements SequenceKV {
  readonly layers: LayerKV[];
  length = 0;
  readonly info: KvCacheInfo;
  /** How far a sequence can be rolled back before a sliding ring has overwritten what it would need. */
  readonly maxRollback: number;

  constructor(backend: Backend, cfg: ModelConfig, readonly maxLength: number, maxBatch: number) {
    if (!(maxLength > 0)) throw new RangeError(`context size must be positive, got ${maxLength}`);
    let fullBytes = 0;
    let slidingBytes = 0;
    this.layers = cfg.layers.slice(0, cfg.nLayer).map((l) => {
      const capacity = l.sliding ? Math.min(maxLength, cfg.slidingWindow + maxBatch) : maxLength;
      const kRow = l.nHeadKv * cfg.headDimK;
      const vRow = l.nHeadKv * cfg.headDimV;
      const bytes = capacity * (kRow + vRow) * 4;
      if (l.sliding) slidingBytes += bytes;
      else fullBytes += bytes;
      return { k: backend.alloc(capacity * kRow), v: backend.alloc(capacity * vRow), capacity };
    });
    this.info = { bytes: fullBytes + slidingBytes, fullBytes, slidingBytes };
    this.maxRollback = cfg.layers.some((l) => l.sliding) ? maxBatch : Infinity;
  }

  /** Forgets positions from `length` on (the next token goes to position `length`). */
  truncate(length: number): void {
    if (length < 0 || length > this.length) throw new RangeError(`cannot truncate a cache of ${this.length} positions to ${length}`);
    if (this.length - length > this.maxRollback && length > 0)
      throw new RangeError(`cannot roll back ${this.length - length} positions: sliding-window layers keep only ${this.maxRollback} beyond the window`);
    this.length = length;
  }
}
