// A weight format of the CPU backend: how a GGUF type's rows are laid out in wasm memory, which activation
// encoding its kernel reads, and how a product is expressed as a pool job. One file per format under
// formats/; cpu-backend.ts picks the format by GGUF type and knows nothing else about layouts.
import type { GGMLType } from '../../../gguf/ggml-types.js';
import type { Matrix, MatrixSource } from '../../backend.js';
import type { KernelCall } from '../thread-pool.js';
import type { WasmMemory } from '../wasm-memory.js';

/**
 * The activation encodings kernels read, each computed once per input per matmuls() call:
 * - f32, f16, bf16: the activations as f32 values, rounded to that type first (llama.cpp's vec_dot_type);
 * - q8_0: per 32 values an f32 scale (from f16) and int8 quants, followed (relaxed build) by q+ and q-;
 * - q8_0-fake, q8_K-fake: f32 values of the dequantized Q8_0/Q8_K activations, for products on weights
 *   dequantized to f32.
 */
export type ActivationKind = 'f32' | 'f16' | 'bf16' | 'q8_0' | 'q8_0-fake' | 'q8_K-fake' | 'q8_K';

export interface PreparedActivation {
  /** f32 values (float kinds), or int8 quants (q8_0). */
  readonly ptr: number;
  /** q8_0: f32 block scales; q8_K: f32 scales per 256. */
  readonly scales: number;
  /** q8_K: i16 block sums per 16 values. */
  readonly sums: number;
  /** Sizes in bytes of the regions at ptr, scales and sums (for copying into another memory). */
  readonly bytes: number;
  readonly scaleBytes: number;
  readonly sumBytes: number;
}

export interface CpuMatrix extends Matrix {
  readonly format: WeightFormat;
  /** Pointers into wasm memory, meaning defined by the format. */
  readonly ptrs: readonly number[];
  /** One expert of a stacked tensor (llama.cpp multiplies those row by row, never with its GEMM). */
  readonly expert: boolean;
  /** The wasm memory holding the weights (0 = the backend's main memory). */
  readonly shard: number;
}

export interface WeightFormat {
  readonly name: string;
  readonly types: readonly GGMLType[];
  activation(type: GGMLType): ActivationKind;
  /** Copies and repacks the rows of `src` into memory; returns the pointers and the bytes used. */
  upload(mem: WasmMemory, src: MatrixSource): { ptrs: number[]; bytes: number };
  /** The job computing y[t] = W x[t] for nt tokens (rows of y have stride W.rows). */
  call(m: CpuMatrix, x: PreparedActivation, y: number, nt: number): KernelCall;
}

export const READ_CHUNK = 8 << 20;

/**
 * Reads a matrix's GGUF rows in chunks of about READ_CHUNK bytes into the memory's scratch, so that the
 * read buffer is the same bytes the first prefill's scratch reuses (a buffer of its own would stay
 * resident beside the weights, and a fresh one per chunk would leave hundreds of megabytes of garbage
 * behind a large model's load).
 */
export function forEachRowChunk(mem: WasmMemory, src: MatrixSource, rowBytes: number, fn: (r0: number, n: number, raw: Uint8Array) => void, multiple = 1): void {
  // Chunks start at multiples of `multiple` rows (formats that interleave groups of rows need whole groups).
  const chunkRows = Math.max(multiple, Math.floor(READ_CHUNK / rowBytes / multiple) * multiple);
  const need = Math.min(chunkRows, src.rows) * rowBytes;
  const mark = mem.tempMark();
  // No larger than needed: a small model's weights should not come with megabytes of scratch.
  const buffer = mem.u8(mem.tempBytes(need, 0), need);
  try {
    for (let r0 = 0; r0 < src.rows; r0 += chunkRows) {
      const n = Math.min(chunkRows, src.rows - r0);
      fn(r0, n, src.readRows(r0, n, buffer));
    }
  } finally {
    mem.tempRelease(mark);
  }
}
