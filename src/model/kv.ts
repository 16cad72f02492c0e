// What the forward pass needs from a key/value cache. The engine allocates and manages caches; the model
// only writes each new position's keys and values and attends over them.
import type { KvCacheType, Tensor } from '../backend/backend.js';

export type { KvCacheType };

export interface LayerKV {
  /** [capacity][nKv * headDim] keys; position p lives in slot p % capacity. */
  readonly k: Tensor;
  readonly v: Tensor;
  /** Storage of k and v (default f32); the tensors then hold bytes, not f32 values. */
  readonly typeK?: KvCacheType;
  readonly typeV?: KvCacheType;
  /** Slots held: the whole context on full-attention layers, window + batch on sliding layers. */
  readonly capacity: number;
}

export interface SequenceKV {
  /** One entry per trunk layer. */
  readonly layers: readonly LayerKV[];
  /** Positions already in the cache; the next token goes to this position. */
  length: number;
  /** Largest position count this sequence may reach. */
  readonly maxLength: number;
  /**
   * First position of the sequence (default 0). A sequence may start at a position offset (to evaluate
   * text as if it sat deep in a long context without computing what precedes it); nothing before exists.
   */
  readonly first?: number;
}
