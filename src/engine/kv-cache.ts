// Key/value caches for one sequence, stored as f32 (default), f16, bf16 or q8_0 (kernels/kv.ts).
// Full-attention layers hold every position up to the context size;
// sliding-window layers hold a ring of window + batch positions, so their memory does not grow with the
// context (the extra batch slots keep keys a batch's first query still needs while later ones are written).
import { kvRowBytes, type Backend } from '../backend/backend.js';
import type { ModelConfig } from '../model/config.js';
import type { KvCacheType, LayerKV, SequenceKV } from '../model/kv.js';

/** Storage of keys and values (default f32: exact, and what the llama.cpp fidelity tests compare). */
export interface KvCacheTypes {
  readonly k?: KvCacheType;
  readonly v?: KvCacheType;
}

export interface KvCacheOptions extends KvCacheTypes {
  /**
   * First position (default 0): the sequence starts there, as if it sat deep in a long context whose
   * earlier part is absent. Full layers then hold only maxLength - first positions.
   */
  readonly first?: number;
}

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

  readonly typeK: KvCacheType;
  readonly typeV: KvCacheType;

  readonly first: number;

  constructor(backend: Backend, cfg: ModelConfig, readonly maxLength: number, maxBatch: number, types: KvCacheOptions = {}) {
    if (!(maxLength > 0)) throw new RangeError(`context size must be positive, got ${maxLength}`);
    const first = (this.first = types.first ?? 0);
    if (!Number.isSafeInteger(first) || first < 0 || first >= maxLength) throw new RangeError(`first position ${first} must be a whole number below the context size ${maxLength}`);
    this.length = first;
    const held = maxLength - first;
    const typeK = (this.typeK = types.k ?? 'f32');
    const typeV = (this.typeV = types.v ?? 'f32');
    // q8_0 blocks must not straddle heads: the attention kernel reads one head's row at a time.
    for (const [t, d, what] of [[typeK, cfg.headDimK, 'key'], [typeV, cfg.headDimV, 'value']] as const)
      if (t === 'q8_0' && d % 32 !== 0) throw new RangeError(`a q8_0 ${what} cache needs a head dimension that is a multiple of 32; this model's is ${d}`);
    let fullBytes = 0;
    let slidingBytes = 0;
    this.layers = cfg.layers.slice(0, cfg.nLayer).map((l) => {
      const capacity = l.sliding ? Math.min(held, cfg.slidingWindow + maxBatch) : held;
      const kBytes = capacity * kvRowBytes(typeK, l.nHeadKv * cfg.headDimK);
      const vBytes = capacity * kvRowBytes(typeV, l.nHeadKv * cfg.headDimV);
      if (l.sliding) slidingBytes += kBytes + vBytes;
      else fullBytes += kBytes + vBytes;
      // Tensors count f32 elements: byte-sized caches round up to whole words.
      return { k: backend.alloc(Math.ceil(kBytes / 4)), v: backend.alloc(Math.ceil(vBytes / 4)), capacity, typeK, typeV };
    });
    this.info = { bytes: fullBytes + slidingBytes, fullBytes, slidingBytes };
    this.maxRollback = cfg.layers.some((l) => l.sliding) ? maxBatch : Infinity;
  }

  /** Forgets positions from `length` on (the next token goes to position `length`). */
  truncate(length: number): void {
    if (length < this.first || length > this.length) throw new RangeError(`cannot truncate a cache of ${this.length} positions to ${length}`);
    if (this.length - length > this.maxRollback && length > this.first)
      throw new RangeError(`cannot roll back ${this.length - length} positions: sliding-window layers keep only ${this.maxRollback} beyond the window`);
    this.length = length;
  }
}
