// The compute engine under the autograd: where tensors are allocated and how the heavy primitives (the
// products, attention, SwiGLU, softmax cross-entropy) are computed. Ops are written once against this
// interface; the wasm engine runs them in f32 on the SIMD kernels and the thread pool, the reference
// engine in plain JS at f64 (or f32), which is what the finite-difference tests differentiate.
import type { DType, FloatArray } from './tensor.js';

/** C[m][n] (+)= Σ_p A[m][p] · B[n][p]: A is [m][k], B is [n][k], C is [m][n], all dense row-major. */
export interface MatmulNT {
  readonly a: FloatArray;
  readonly b: FloatArray;
  readonly c: FloatArray;
  readonly m: number;
  readonly n: number;
  readonly k: number;
  /** Add to C instead of overwriting it. */
  readonly accumulate?: boolean;
}

/** dst[j][i] = src[i][j]: src is [rows][cols], dst [cols][rows]. */
export interface Transpose {
  readonly src: FloatArray;
  readonly dst: FloatArray;
  readonly rows: number;
  readonly cols: number;
}

/**
 * Attention over nSeq sequences of T tokens: q and o are [nSeq*T][nHead*hd], k and v [nSeq*T][nKv*hd],
 * lse [nSeq*T][nHead]. Query t sees keys j <= t, and with window > 0 only those with t - j < window.
 */
export interface AttentionShape {
  readonly nSeq: number;
  readonly T: number;
  readonly nHead: number;
  readonly nKv: number;
  readonly hd: number;
  readonly window: number;
  readonly scale: number;
}

/** Rotary embedding of rows of nHead heads of hd values. */
export interface RopeShape {
  readonly nHead: number;
  readonly hd: number;
  readonly nRot: number;
  /** Pairs (i, i + nRot/2) (NeoX, Step 3.5) or (2i, 2i + 1). */
  readonly neox: boolean;
  /** (cos, sin) per position and pair: cs[(p * nRot/2 + i) * 2 + {0, 1}]. */
  readonly cs: Float32Array;
  /** Positions per sequence. */
  readonly T: number;
}

export interface Engine {
  readonly dtype: DType;
  readonly threads: number;
  /** n values, zero-filled, valid until reset(). */
  zeros(n: number): FloatArray;
  /** n values whose contents are undefined until written, valid until reset(). */
  scratch(n: number): FloatArray;
  /** n integers (zero-filled), valid until reset(). */
  ints(n: number): Int32Array;
  /** n values that are never reset (parameters, gradients, optimizer state), zero-filled. */
  persistent(n: number): FloatArray;
  /** Frees all scratch at once: every array from zeros/scratch/ints is invalid afterwards. */
  reset(): void;

  /** y = a + b over n values. */
  add(a: FloatArray, b: FloatArray, y: FloatArray, n: number): void;
  /** d += g over n values. */
  accumulate(d: FloatArray, g: FloatArray, n: number): void;
  /**
   * Per row of dim values: inv[r] = 1/sqrt(mean(x²) + eps), y = x · inv · (w + offset) (w null: gain 1;
   * offset 1 for a zero-centred weight).
   */
  rmsNormForward(x: FloatArray, w: FloatArray | null, y: FloatArray, inv: FloatArray, rows: number, dim: number, eps: number, offset: number): void;
  /** dx += ∂/∂x and dw += ∂/∂w of Σ dy ⊙ y (either may be null). */
  rmsNormBackward(x: FloatArray, w: FloatArray | null, dy: FloatArray, inv: FloatArray, dx: FloatArray | null, dw: FloatArray | null, rows: number, dim: number, offset: number): void;
  /**
   * dst (+)= src with the first nRot dims of every head rotated by sign · angle (sign -1: the inverse, for
   * the backward pass). Row r is at position r mod T; cs holds (cos, sin) per position and rotated pair.
   */
  rope(src: FloatArray, dst: FloatArray, rows: number, r: RopeShape, sign: 1 | -1, accumulate: boolean): void;
  /** y = x · sigmoid(g) per head, sig = the sigmoids; x and y [rows][nHead*hd], g and sig [rows][nHead]. */
  headGateForward(x: FloatArray, g: FloatArray, y: FloatArray, sig: FloatArray, rows: number, nHead: number, hd: number): void;
  /** dx += dy · sig, dg += (dy·x) · sig (1 - sig) (either may be null). */
  headGateBackward(x: FloatArray, sig: FloatArray, dy: FloatArray, dx: FloatArray | null, dg: FloatArray | null, rows: number, nHead: number, hd: number): void;

  /** Several independent products, run as one parallel job. */
  matmulNT(calls: readonly MatmulNT[]): void;
  transpose(calls: readonly Transpose[]): void;
  attentionForward(s: AttentionShape, q: FloatArray, k: FloatArray, v: FloatArray, o: FloatArray, lse: FloatArray): void;
  /** dq, dk, dv are accumulated into. */
  attentionBackward(s: AttentionShape, q: FloatArray, k: FloatArray, v: FloatArray, o: FloatArray, dO: FloatArray, lse: FloatArray, dq: FloatArray, dk: FloatArray, dv: FloatArray): void;
  /** h = silu(g)·u, or min(silu(g), L)·clamp(u, -L, L) when limit L > 0; rows × cols values. */
  swigluForward(g: FloatArray, u: FloatArray, h: FloatArray, rows: number, cols: number, limit: number): void;
  /** dg, du are accumulated into; zero where a clamp binds. */
  swigluBackward(g: FloatArray, u: FloatArray, dh: FloatArray, dg: FloatArray, du: FloatArray, rows: number, cols: number, limit: number): void;
  /**
   * Per row of V logits z and its target: loss = logsumexp(z) - z[target], inv = 1 / Σ exp(z - max),
   * hit = 1 when the (first) argmax is the target. z is overwritten with exp(z - max).
   */
  crossEntropyForward(z: FloatArray, rows: number, V: number, targets: Int32Array, loss: FloatArray, inv: FloatArray, hit: FloatArray): void;
  /** z (as left by the forward) becomes scale[r] · (softmax(z) - onehot(target)), in place. */
  crossEntropyBackward(z: FloatArray, rows: number, V: number, targets: Int32Array, inv: FloatArray, scale: FloatArray): void;
  close(): Promise<void>;
}
