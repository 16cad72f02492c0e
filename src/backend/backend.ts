// The narrow interface between the model and its compute backend. The model's forward pass is written
// against these operations only; a backend owns where tensors live (wasm memory on the CPU, GPU buffers
// with WebGPU) and how each operation is computed.
import type { GGMLType } from '../gguf/ggml-types.js';

/** A run of f32 values in backend memory. */
export interface Tensor {
  readonly ptr: number;
  readonly size: number;
  /**
   * Which of the backend's memories holds it, when not the main one: only key/value caches (allocCaches)
   * live elsewhere, and only kvWrite, copy and attention accept such tensors.
   */
  readonly mem?: number;
}

/** A weight matrix [rows (outputs)][cols (inputs)] held in the backend's own layout. */
export interface Matrix {
  readonly rows: number;
  readonly cols: number;
  /** The GGUF type it was loaded from. */
  readonly type: GGMLType;
  /** Bytes it occupies in backend memory. */
  readonly bytes: number;
}

/** Where a matrix's GGUF bytes come from: rows are read in pieces so no whole tensor is ever buffered. */
export interface MatrixSource {
  readonly name: string;
  readonly type: GGMLType;
  readonly rows: number;
  readonly cols: number;
  /** GGUF bytes of rows [r0, r0 + n), into `dst` when it is given and large enough (to reuse one buffer). */
  readRows(r0: number, n: number, dst?: Uint8Array): Uint8Array;
  /** One expert of a stacked expert tensor (backends may multiply those differently). */
  readonly expert?: boolean;
}

export interface MatmulOp {
  readonly y: Tensor;
  readonly w: Matrix;
  readonly x: Tensor;
  readonly nt: number;
  /**
   * The product's nt inputs are these rows of x (x.size / w.cols rows), in this order: a token's
   * activations are then encoded once for every product that reads them (an MoE layer's experts), not
   * once per gathered copy.
   */
  readonly rows?: readonly number[];
}

/**
 * How a key/value cache stores its rows: f32; f16 or bf16; or q8_0, llama.cpp's block_q8_0 (an f16 scale
 * then 32 int8 values: 34 bytes per 32 values). Rows of one position are laid back to back in that format.
 */
/** A position in a backend's scratch (opaque to callers). */
export type TempMark = readonly number[];

export type KvCacheType = 'f32' | 'f16' | 'bf16' | 'q8_0';

/**
 * Bytes one cache row of `n` values takes in `type`. q8_0 needs whole blocks: a row (one position's keys
 * or values of one layer: KV heads × head dimension) that is not a multiple of 32 cannot be stored in it.
 */
export function kvRowBytes(type: KvCacheType, n: number): number {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`a cache row of ${n} values is not valid`);
  switch (type) {
    case 'f32':
      return n * 4;
    case 'f16':
    case 'bf16':
      return n * 2;
    case 'q8_0':
      if (n % 32 !== 0) throw new RangeError(`q8_0 caches need rows of whole 32-value blocks; this model's rows have ${n} values`);
      return (n / 32) * 34;
    default:
      throw new RangeError(`unknown KV cache type "${String(type)}"`);
  }
}

/** One sequence's part of an attention step (see Backend.attention). */
export interface AttentionJob {
  readonly o: Tensor;
  readonly q: Tensor;
  readonly kCache: Tensor;
  readonly vCache: Tensor;
  readonly nt: number;
  readonly pos0: number;
  readonly cap: number;
  /** The sequence's first position (default 0): keys before it do not exist. */
  readonly first?: number;
  /** Cache storage types (default f32). */
  readonly typeK?: KvCacheType;
  readonly typeV?: KvCacheType;
}

export interface Backend {
  readonly name: string;

  uploadMatrix(src: MatrixSource): Matrix;
  uploadVector(data: Float32Array): Tensor;
  /** Persistent allocation (weights, caches), zero-filled. */
  alloc(size: number): Tensor;
  /**
   * Persistent allocations for key/value caches, zero-filled, all in one memory (a layer's keys and values
   * are read together): the backend may place them outside its main memory when that is full, so that a
   * long context is not limited by one wasm memory.
   */
  allocCaches(sizes: readonly number[]): Tensor[];
  /** Scratch allocation valid until the next resetTemp(). */
  temp(size: number): Tensor;
  resetTemp(): void;
  /** The scratch in use now; tempRelease(mark) frees every temp() allocated after it. */
  tempMark(): TempMark;
  tempRelease(mark: TempMark): void;
  /** A view of a tensor's values; valid until the next allocation. */
  view(t: Tensor): Float32Array;
  /** Bytes of backend memory in use. */
  memoryBytes(): number;
  /** Releases threads and memory; the backend is unusable afterwards. */
  close(): Promise<void>;
  /**
   * Optional hint: no kernels will run for a while (the caller yields to I/O between passes), so helper
   * threads may sleep instead of spinning; the next kernel call wakes them.
   */
  idle?(): void;

  /** y[t] = W x[t] for nt tokens: x is [nt][W.cols], y is [nt][W.rows]. */
  matmul(y: Tensor, w: Matrix, x: Tensor, nt: number): void;
  /** Several independent products at once (one parallel dispatch); the same as calling matmul for each. */
  matmuls(ops: readonly MatmulOp[]): void;
  /** Row-wise RMS normalisation over rows of `dim`, times w when given. */
  rmsNorm(y: Tensor, x: Tensor, w: Tensor | null, nrows: number, dim: number, eps: number): void;
  /** Rotary embedding in place; cs holds (cos, sin) per token and rotated pair. */
  rope(x: Tensor, nt: number, nHeads: number, headDim: number, nRot: number, neox: boolean, cs: Float32Array): void;
  /**
   * Causal attention of nt queries at positions pos0.. over a ring cache of `cap` positions (position p at
   * slot p % cap) holding nKv heads per position; window > 0 limits each query to its last `window` keys.
   */
  attention(o: Tensor, q: Tensor, kCache: Tensor, vCache: Tensor, nt: number, pos0: number, nHead: number, nKv: number, headDim: number, cap: number, window: number, scale: number): void;
  /** Several sequences' attention with the same head layout, in one dispatch. */
  attentions(jobs: readonly AttentionJob[], nHead: number, nKv: number, headDim: number, window: number, scale: number): void;
  /**
   * Stores nRows rows of rowLen f32 values from src into slots slot.. of a cache of `type`, converting
   * them (f16/bf16 rounding, q8_0 blocks).
   */
  kvWrite(cache: Tensor, type: KvCacheType, slot: number, rowLen: number, src: Tensor, nRows: number): void;
  /** Copies n values. */
  copy(dst: Tensor, src: Tensor, n: number): void;
  /** y = a + b over n values. */
  add(y: Tensor, a: Tensor, b: Tensor, n: number): void;
  /** y = s * x over n values. */
  scale(y: Tensor, x: Tensor, s: number, n: number): void;
  /**
   * y = silu(g) * u over rows x cols values. With limit > 0, Step 3.5's clamped form ("SwigluStep"):
   * min(silu(g), limit) * clamp(u, -limit, limit).
   */
  swiglu(y: Tensor, g: Tensor, u: Tensor, rows: number, cols: number, limit?: number): void;
  /**
   * y[t] = Σ_j weights[t*k+j] * src[rowIndex[t*k+j]] (each product rounded, added in j order), plus
   * extra[t] when given: the weighted sum of a token's expert outputs.
   */
  weightedRowSum(y: Tensor, src: Tensor, rowIndex: Int32Array, weights: Float32Array, nt: number, k: number, dim: number, extra: Tensor | null): void;
  /** Multiplies each head's block of `headDim` values by sigmoid(gate[h]); x is [nt][nHead*headDim], gate [nt][nHead]. */
  headGate(x: Tensor, gate: Tensor, nt: number, nHead: number, headDim: number): void;
}

/** A sub-range of a tensor, in f32 elements. */
export function slice(t: Tensor, offset: number, size: number): Tensor {
  if (offset < 0 || size < 0 || offset + size > t.size) throw new RangeError(`slice ${offset}+${size} outside tensor of ${t.size}`);
  return t.mem ? { ptr: t.ptr + offset * 4, size, mem: t.mem } : { ptr: t.ptr + offset * 4, size };
}
