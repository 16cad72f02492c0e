// Q5_0 and Q5_1: 32 weights per block, 5-bit codes. The low 4 bits are packed like Q4 (element j in the
// low nibble of qs[j], element j + 16 in the high nibble); bit 4 of element j is bit j of the
// little-endian u32 qh.
//
//   block_q5_0 (22 bytes): f16 d | u32 qh | u8 qs[16]           x = d * (q - 16)
//   block_q5_1 (24 bytes): f16 d | f16 m | u32 qh | u8 qs[16]   x = d * q + m
//
// Quantizers follow quantize_row_q5_0_ref / quantize_row_q5_1_ref in single precision.

import { cvtLowByte as cvtLowByteShared, readF16 as readF16Shared, writeF16 as writeF16Shared } from './common.js';

// Local bindings so hot loops call these directly (see k-quantize.ts).
const fround = Math.fround;
const cvtLowByte = cvtLowByteShared;
const readF16 = readF16Shared;
const writeF16 = writeF16Shared;

export const QK5_0 = 32;
export const QK5_1 = 32;
export const Q5_0_BYTES = 22;
export const Q5_1_BYTES = 24;

function readU32(src: Uint8Array, o: number): number {
  return (src[o]! | (src[o + 1]! << 8) | (src[o + 2]! << 16) | (src[o + 3]! << 24)) >>> 0;
}

function writeU32(dst: Uint8Array, o: number, v: number): void {
  dst[o] = v & 0xff;
  dst[o + 1] = (v >>> 8) & 0xff;
  dst[o + 2] = (v >>> 16) & 0xff;
  dst[o + 3] = v >>> 24;
}

export function dequantizeQ5_0(src: Uint8Array, srcOff: number, dst: Float32Array, dstOff: number, nb: number): void {
  for (let b = 0, o = srcOff, y = dstOff; b < nb; b++, o += Q5_0_BYTES, y += QK5_0) {
    const d = readF16(src, o);
    const qh = readU32(src, o + 2);
    for (let j = 0; j < 16; j++) {
      const q = src[o + 6 + j]!;
      const h0 = ((qh >>> j) << 4) & 0x10;
      const h1 = (qh >>> (j + 12)) & 0x10;
      dst[y + j] = (((q & 0x0f) | h0) - 16) * d;
      dst[y + j + 16] = (((q >>> 4) | h1) - 16) * d;
    }
  }
}

export function dequantizeQ5_1(src: Uint8Array, srcOff: number, dst: Float32Array, dstOff: number, nb: number): void {
  for (let b = 0, o = srcOff, y = dstOff; b < nb; b++, o += Q5_1_BYTES, y += QK5_1) {
    const d = readF16(src, o);
    const m = readF16(src, o + 2);
    const qh = readU32(src, o + 4);
    for (let j = 0; j < 16; j++) {
      const q = src[o + 8 + j]!;
      const h0 = ((qh >>> j) << 4) & 0x10;
      const h1 = (qh >>> (j + 12)) & 0x10;
      dst[y + j] = fround(((q & 0x0f) | h0) * d) + m;
      dst[y + j + 16] = fround(((q >>> 4) | h1) * d) + m;
    }
  }
}

export function quantizeQ5_0(src: Float32Array, srcOff: number, dst: Uint8Array, dstOff: number, nb: number): void {
  for (let b = 0, x = srcOff, o = dstOff; b < nb; b++, x += QK5_0, o += Q5_0_BYTES) {
    let amax = 0;
    let max = 0;
    for (let j = 0; j < QK5_0; j++) {
      const v = src[x + j]!;
      const av = Math.abs(v);
      if (amax < av) {
        amax = av;
        max = v;
      }
    }
    const d = fround(max / -16);
    const id = d ? fround(1 / d) : 0;
    writeF16(dst, o, d);
    let qh = 0;
    for (let j = 0; j < 16; j++) {
      // (int8_t)(x + 16.5f), then MIN(31, .) stored as uint8.
      let q0 = (cvtLowByte(fround(fround(src[x + j]! * id) + 16.5)) << 24) >> 24;
      let q1 = (cvtLowByte(fround(fround(src[x + 16 + j]! * id) + 16.5)) << 24) >> 24;
      q0 = (q0 < 31 ? q0 : 31) & 0xff;
      q1 = (q1 < 31 ? q1 : 31) & 0xff;
      dst[o + 6 + j] = (q0 & 0x0f) | ((q1 & 0x0f) << 4);
      qh |= ((q0 & 0x10) >>> 4) << j;
      qh |= ((q1 & 0x10) >>> 4) << (j + 16);
    }
    writeU32(dst, o + 2, qh >>> 0);
  }
}

export function quantizeQ5_1(src: Float32Array, srcOff: number, dst: Uint8Array, dstOff: number, nb: number): void {
  for (let b = 0, x = srcOff, o = dstOff; b < nb; b++, x += QK5_1, o += Q5_1_BYTES) {
    let min = 3.4028234663852886e38;
    let max = -3.4028234663852886e38;
    for (let j = 0; j < QK5_1; j++) {
      const v = src[x + j]!;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    const d = fround(fround(max - min) / 31);
    const id = d ? fround(1 / d) : 0;
    writeF16(dst, o, d);
    writeF16(dst, o + 2, min);
    let qh = 0;
    for (let j = 0; j < 16; j++) {
      // (uint8_t)(x + 0.5f), unclamped as in C: finite input cannot exceed 31, and with a denormal
      // range (id = inf) C and gguf-py both produce code 0, which the x86 conversion rule gives us.
      const q0 = cvtLowByte(fround(fround(fround(src[x + j]! - min) * id) + 0.5));
      const q1 = cvtLowByte(fround(fround(fround(src[x + 16 + j]! - min) * id) + 0.5));
      dst[o + 8 + j] = (q0 & 0x0f) | ((q1 & 0x0f) << 4);
      qh |= ((q0 & 0x10) >>> 4) << j;
      qh |= ((q1 & 0x10) >>> 4) << (j + 16);
    }
    writeU32(dst, o + 4, qh >>> 0);
  }
}
