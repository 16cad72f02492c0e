// Key/value caches for one sequence, stored as f32 (default), f16, bf16 or q8_0 (kernels/kv.ts).
// Full-attention layers hold every position up to the context size;
// sliding-window layers hold a ring of window + batch positions, so their memory does not grow with the
// context (the extra batch slots keep keys a batch's first query still needs while later ones are written).
import { kvRowBytes, type Backend, type Tensor } from '../backend/backend.js';
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
  /**
   * Snapshots of the sliding-window rings kept for prompt-prefix reuse (default 4, the most recent; 0 turns
   * them off). Each costs info.slidingBytes of memory and one copy of the rings to take or restore.
   */
  readonly checkpoints?: number;
}

interface Checkpoint {
  position: number;
  /** Per sliding layer (in layer order): copies of its key and value rings. */
  readonly rings: { readonly k: Tensor; readonly v: Tensor }[];
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
  private readonly checkpointSlots: number;
  private readonly checkpointsHeld: Checkpoint[] = [];
  /** Snapshot buffers no longer valid, kept for reuse (backend allocations are never freed). */
  private readonly checkpointsFree: Checkpoint[] = [];
  private readonly slidingLayers: LayerKV[];

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
      // Tensors count f32 elements: byte-sized caches round up to whole words. A layer's keys and values
      // share a memory, which may be one the backend opened for caches (long contexts exceed one).
      const [k, v] = backend.allocCaches([Math.ceil(kBytes / 4), Math.ceil(vBytes / 4)]);
      return { k: k!, v: v!, capacity, typeK, typeV };
    });
    this.info = { bytes: fullBytes + slidingBytes, fullBytes, slidingBytes };
    this.maxRollback = cfg.layers.some((l) => l.sliding) ? maxBatch : Infinity;
    this.slidingLayers = this.layers.filter((_, i) => cfg.layers[i]!.sliding);
    this.checkpointSlots = this.slidingLayers.length > 0 ? types.checkpoints ?? 4 : 0;
    this.backend = backend;
  }

  private readonly backend: Backend;

  /**
   * Remembers the sliding-window rings at the current length, so that a later request sharing this
   * prefix can come back here although the rings have moved on (full layers keep every position anyway).
   * The oldest snapshot is reused when all are taken; buffers are allocated on first use.
   */
  checkpoint(): void {
    if (this.checkpointSlots === 0 || this.length === this.first) return;
    if (this.checkpointsHeld.some((c) => c.position === this.length)) return;
    let cp: Checkpoint;
    if (this.checkpointsFree.length > 0) {
      cp = this.checkpointsFree.pop()!;
    } else if (this.checkpointsHeld.length < this.checkpointSlots) {
      cp = {
        position: 0,
        rings: this.slidingLayers.map((l) => {
          const [k, v] = this.backend.allocCaches([l.k.size, l.v.size]);
          return { k: k!, v: v! };
        }),
      };
    } else {
      cp = this.checkpointsHeld.shift()!;
    }
    cp.position = this.length;
    this.slidingLayers.forEach((l, i) => {
      this.backend.copy(cp.rings[i]!.k, l.k, l.k.size);
      this.backend.copy(cp.rings[i]!.v, l.v, l.v.size);
    });
    this.checkpointsHeld.push(cp);
  }

  /** Positions held by checkpoints, oldest first. */
  get checkpointPositions(): number[] {
    return this.checkpointsHeld.map((c) => c.position);
  }

  /**
   * The longest prefix of at most `length` positions that truncate() can keep: `length` itself within
   * the rollback limit, else the latest checkpoint at or before it, else nothing (the first position).
   */
  reusable(length: number): number {
    if (length >= this.length || this.length - length <= this.maxRollback) return Math.max(length, this.first);
    let best = this.first;
    for (const c of this.checkpointsHeld) if (c.position <= length && c.position > best) best = c.position;
    return best;
  }

  /** Forgets positions from `length` on (the next token goes to position `length`). */
  truncate(length: number): void {
    if (length < this.first || length > this.length) throw new RangeError(`cannot truncate a cache of ${this.length} positions to ${length}`);
    if (this.length - length > this.maxRollback && length > this.first) {
      const cp = this.checkpointsHeld.find((c) => c.position === length);
      if (!cp) throw new RangeError(`cannot roll back ${this.length - length} positions: sliding-window layers keep only ${this.maxRollback} beyond the window`);
      this.slidingLayers.forEach((l, i) => {
        this.backend.copy(l.k, cp.rings[i]!.k, l.k.size);
        this.backend.copy(l.v, cp.rings[i]!.v, l.v.size);
      });
    }
    // Snapshots past the new end describe positions that are about to be overwritten.
    for (let i = this.checkpointsHeld.length - 1; i >= 0; i--)
      if (this.checkpointsHeld[i]!.position > length) this.checkpointsFree.push(...this.checkpointsHeld.splice(i, 1));
    this.length = length;
  }
}
