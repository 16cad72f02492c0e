// ggml block formats: row/tensor (de)quantization dispatch over the per-family implementations.
//
// These are the reference definitions (bit-exact with llama.cpp's dequantize_row_* and
// quantize_row_*_ref); the fast inference kernels live elsewhere and are tested against these.
// Multi-byte fields are little-endian, as in GGUF files, whatever the host byte order.

import { GGMLType, bytesFor, typeName, typeTraits } from '../ggml-types.js';
import { IS_LITTLE_ENDIAN } from './common.js';
import { bf16RowToF32, f16RowToF32, f32RowToBf16, f32RowToF16 } from './f16.js';
import {
  dequantizeQ2_K,
  dequantizeQ3_K,
  dequantizeQ4_K,
  dequantizeQ5_K,
  dequantizeQ6_K,
} from './k-quants.js';
import { quantizeQ2_K, quantizeQ3_K, quantizeQ4_K, quantizeQ5_K, quantizeQ6_K } from './k-quantize.js';
import { dequantizeQ4_0, dequantizeQ4_1, quantizeQ4_0, quantizeQ4_1 } from './q4.js';
import { dequantizeQ5_0, dequantizeQ5_1, quantizeQ5_0, quantizeQ5_1 } from './q5.js';
import { dequantizeQ8_0, dequantizeQ8_K, quantizeQ8_0, quantizeQ8_K } from './q8.js';

export * from './f16.js';
export { getScaleMinK4, getScaleQ3K } from './k-quants.js';

/** Decodes `nb` consecutive blocks from src[srcOff..] into dst[dstOff..]. */
export type BlockDequantizer = (src: Uint8Array, srcOff: number, dst: Float32Array, dstOff: number, nb: number) => void;
/** Encodes `nb` consecutive blocks of values from src[srcOff..] into dst[dstOff..]. */
export type BlockQuantizer = (src: Float32Array, srcOff: number, dst: Uint8Array, dstOff: number, nb: number) => void;

function dequantizeF32(src: Uint8Array, srcOff: number, dst: Float32Array, dstOff: number, n: number): void {
  if (IS_LITTLE_ENDIAN) {
    new Uint8Array(dst.buffer, dst.byteOffset + 4 * dstOff, 4 * n).set(src.subarray(srcOff, srcOff + 4 * n));
    return;
  }
  const out = new Uint32Array(dst.buffer, dst.byteOffset, dst.length);
  for (let i = 0, o = srcOff; i < n; i++, o += 4) {
    out[dstOff + i] = (src[o]! | (src[o + 1]! << 8) | (src[o + 2]! << 16) | (src[o + 3]! << 24)) >>> 0;
  }
}

function quantizeF32(src: Float32Array, srcOff: number, dst: Uint8Array, dstOff: number, n: number): void {
  if (IS_LITTLE_ENDIAN) {
    dst.set(new Uint8Array(src.buffer, src.byteOffset + 4 * srcOff, 4 * n), dstOff);
    return;
  }
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0, o = dstOff; i < n; i++, o += 4) {
    const b = bits[srcOff + i]!;
    dst[o] = b & 0xff;
    dst[o + 1] = (b >>> 8) & 0xff;
    dst[o + 2] = (b >>> 16) & 0xff;
    dst[o + 3] = b >>> 24;
  }
}

const DEQUANTIZERS: ReadonlyMap<GGMLType, BlockDequantizer> = new Map<GGMLType, BlockDequantizer>([
  [GGMLType.F32, dequantizeF32],
  [GGMLType.F16, f16RowToF32],
  [GGMLType.BF16, bf16RowToF32],
  [GGMLType.Q4_0, dequantizeQ4_0],
  [GGMLType.Q4_1, dequantizeQ4_1],
  [GGMLType.Q5_0, dequantizeQ5_0],
  [GGMLType.Q5_1, dequantizeQ5_1],
  [GGMLType.Q8_0, dequantizeQ8_0],
  [GGMLType.Q2_K, dequantizeQ2_K],
  [GGMLType.Q3_K, dequantizeQ3_K],
  [GGMLType.Q4_K, dequantizeQ4_K],
  [GGMLType.Q5_K, dequantizeQ5_K],
  [GGMLType.Q6_K, dequantizeQ6_K],
  [GGMLType.Q8_K, dequantizeQ8_K],
]);

const QUANTIZERS: ReadonlyMap<GGMLType, BlockQuantizer> = new Map<GGMLType, BlockQuantizer>([
  [GGMLType.F32, quantizeF32],
  [GGMLType.F16, f32RowToF16],
  [GGMLType.BF16, f32RowToBf16],
  [GGMLType.Q4_0, quantizeQ4_0],
  [GGMLType.Q4_1, quantizeQ4_1],
  [GGMLType.Q5_0, quantizeQ5_0],
  [GGMLType.Q5_1, quantizeQ5_1],
  [GGMLType.Q8_0, quantizeQ8_0],
  [GGMLType.Q2_K, quantizeQ2_K],
  [GGMLType.Q3_K, quantizeQ3_K],
  [GGMLType.Q4_K, quantizeQ4_K],
  [GGMLType.Q5_K, quantizeQ5_K],
  [GGMLType.Q6_K, quantizeQ6_K],
  [GGMLType.Q8_K, quantizeQ8_K],
]);

/** Types dequantizeRow accepts. */
export const DEQUANTIZABLE_TYPES: readonly GGMLType[] = [...DEQUANTIZERS.keys()];
/** Types quantizeRow accepts. */
export const QUANTIZABLE_TYPES: readonly GGMLType[] = [...QUANTIZERS.keys()];

export function canDequantize(type: number): boolean {
  return DEQUANTIZERS.has(type);
}

export function canQuantize(type: number): boolean {
  return QUANTIZERS.has(type);
}

/** Elements per block of `type` (1 for the float types). Throws for types without known geometry. */
export function blockSize(type: number): number {
  const t = typeTraits(type);
  if (!t) throw new Error(`ggml type ${typeName(type)} has no known block layout`);
  return t.blockSize;
}

/** Bytes taken by `n` elements of `type`; throws when the type is unknown or `n` is not a whole number of blocks. */
export function rowBytes(type: number, n: number): number {
  const bytes = bytesFor(type, n);
  if (bytes === undefined) {
    const t = typeTraits(type);
    if (!t) throw new Error(`ggml type ${typeName(type)} has no known block layout`);
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`element count must be a non-negative integer, got ${n}`);
    throw new Error(`${t.name}: element count ${n} is not a multiple of the block size ${t.blockSize}`);
  }
  return bytes;
}

/**
 * The block-level decoder for `type` (offsets in bytes / elements, count in blocks), for callers that
 * stream through a large buffer without making subarrays; undefined when the type is not supported.
 */
export function getBlockDequantizer(type: number): BlockDequantizer | undefined {
  return DEQUANTIZERS.get(type);
}

/** The block-level reference quantizer for `type`; undefined when the type is not supported. */
export function getBlockQuantizer(type: number): BlockQuantizer | undefined {
  return QUANTIZERS.get(type);
}

function check(type: GGMLType, what: string, n: number, bytesHave: number, floatsHave: number, supported: boolean): number {
  if (!supported) throw new Error(`${what} is not implemented for ggml type ${typeName(type)}`);
  const bytes = rowBytes(type, n);
  if (bytesHave < bytes) throw new Error(`${typeName(type)}: ${n} elements need ${bytes} bytes, buffer has ${bytesHave}`);
  if (floatsHave < n) throw new Error(`${typeName(type)}: ${n} elements need a Float32Array of ${n}, got ${floatsHave}`);
  return n / typeTraits(type)!.blockSize;
}

/**
 * Decodes the first `n` elements encoded in `src` (rowBytes(type, n) bytes from its start) into
 * dst[0..n). `n` must be a multiple of the type's block size; blocks never straddle rows, so any run of
 * whole blocks (one row or many) can be decoded in one call.
 */
export function dequantizeRow(type: GGMLType, src: Uint8Array, dst: Float32Array, n: number): void {
  const nb = check(type, 'dequantization', n, src.length, dst.length, DEQUANTIZERS.has(type));
  DEQUANTIZERS.get(type)!(src, 0, dst, 0, nb);
}

/**
 * Encodes src[0..n) into the first rowBytes(type, n) bytes of `dst` with llama.cpp's reference
 * quantizer for `type` (no importance matrix).
 */
export function quantizeRow(type: GGMLType, src: Float32Array, dst: Uint8Array, n: number): void {
  const nb = check(type, 'quantization', n, dst.length, src.length, QUANTIZERS.has(type));
  QUANTIZERS.get(type)!(src, 0, dst, 0, nb);
}

function checkShape(type: GGMLType, nRows: number, rowLength: number): void {
  if (!Number.isSafeInteger(nRows) || nRows < 0) throw new Error(`row count must be a non-negative integer, got ${nRows}`);
  rowBytes(type, rowLength); // validates the row length against the block size
  if (!Number.isSafeInteger(nRows * rowLength)) throw new Error(`tensor of ${nRows} x ${rowLength} elements is too large`);
}

/**
 * Dequantizes `nRows` rows of `rowLength` elements stored contiguously in `src` into `dst` (allocated
 * when omitted) and returns it.
 */
export function dequantizeTensor(
  type: GGMLType,
  src: Uint8Array,
  nRows: number,
  rowLength: number,
  dst?: Float32Array,
): Float32Array {
  checkShape(type, nRows, rowLength);
  const n = nRows * rowLength;
  const out = dst ?? new Float32Array(n);
  dequantizeRow(type, src, out, n);
  return out;
}

/**
 * Quantizes `nRows` rows of `rowLength` values from `src` into `dst` (allocated when omitted; needs
 * nRows * rowBytes(type, rowLength) bytes) and returns it.
 */
export function quantizeTensor(
  type: GGMLType,
  src: Float32Array,
  nRows: number,
  rowLength: number,
  dst?: Uint8Array,
): Uint8Array {
  checkShape(type, nRows, rowLength);
  const out = dst ?? new Uint8Array(nRows * rowBytes(type, rowLength));
  quantizeRow(type, src, out, nRows * rowLength);
  return out;
}
