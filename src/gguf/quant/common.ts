// Small helpers shared by the block-format files: little-endian field access on byte buffers that may
// be unaligned (blocks are 18, 20, 22, ... bytes long), and the float32 rounding idioms used to mirror
// ggml's single-precision C arithmetic exactly.

import { F16_TO_F32 as F16_TO_F32_SHARED, f32ToF16 as f32ToF16Shared } from './f16.js';

// Local bindings so per-element calls skip module-namespace getters under transpilers such as tsx.
const F16_TO_F32 = F16_TO_F32_SHARED;
const f32ToF16 = f32ToF16Shared;


/** f16 at `src[o..o+1]` (little-endian) as a value. */
export function readF16(src: Uint8Array, o: number): number {
  return F16_TO_F32[src[o]! | (src[o + 1]! << 8)]!;
}

/** Store `x` (rounded to f32, then f16 as GGML_FP32_TO_FP16) little-endian at `dst[o..o+1]`. */
export function writeF16(dst: Uint8Array, o: number, x: number): void {
  const h = f32ToF16(x);
  dst[o] = h & 0xff;
  dst[o + 1] = h >>> 8;
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);
const i32Scratch = new Int32Array(f32Scratch.buffer);

/** Little-endian f32 at `src[o..o+3]`. */
export function readF32(src: Uint8Array, o: number): number {
  u32Scratch[0] = src[o]! | (src[o + 1]! << 8) | (src[o + 2]! << 16) | (src[o + 3]! << 24);
  return f32Scratch[0]!;
}

/** Store `x` rounded to f32 little-endian at `dst[o..o+3]`. */
export function writeF32(dst: Uint8Array, o: number, x: number): void {
  f32Scratch[0] = x;
  const b = u32Scratch[0]!;
  dst[o] = b & 0xff;
  dst[o + 1] = (b >>> 8) & 0xff;
  dst[o + 2] = (b >>> 16) & 0xff;
  dst[o + 3] = b >>> 24;
}

/**
 * ggml's nearest_int: adds 1.5 * 2^23 in single precision and reads the low mantissa bits, i.e. rounds
 * half to even for |x| <= 2^22, and returns the same garbage-but-deterministic integer as C beyond that
 * (NaN -> 0, inf -> -4194304). `x` must already be an f32 value.
 */
export function nearestInt(x: number): number {
  f32Scratch[0] = x + 12582912;
  return (i32Scratch[0]! & 0x007fffff) - 0x00400000;
}

/** C's roundf: round half away from zero. */
export function roundf(x: number): number {
  return x < 0 ? -Math.floor(-x + 0.5) : Math.floor(x + 0.5);
}

/**
 * A C float -> int8_t / uint8_t conversion as compiled for x86-64 (cvttss2si, then the low byte):
 * truncation toward zero, and NaN or anything outside the int32 range becomes INT32_MIN (low byte 0).
 * Returns the low byte (0..255). Only reachable with non-finite or denormal-scale input, but it keeps
 * the ref quantizers' bytes identical to llama.cpp's even then.
 */
export function cvtLowByte(x: number): number {
  const t = Math.trunc(x);
  return t > -2147483649 && t < 2147483648 ? t & 0xff : 0;
}

export const IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
