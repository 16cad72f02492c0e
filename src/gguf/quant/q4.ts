// Q4_0 and Q4_1: 32 weights per block, 4-bit codes. Element j of a block is the low nibble of qs[j]
// for j < 16 and the high nibble of qs[j - 16] otherwise.
//
//   block_q4_0 (18 bytes): f16 d | u8 qs[16]            x = d * (q - 8)
//   block_q4_1 (20 bytes): f16 d | f16 m | u8 qs[16]    x = d * q + m
//
// Quantizers follow quantize_row_q4_0_ref / quantize_row_q4_1_ref (no importance matrix), evaluated
// in single precision step by step so the bytes match llama.cpp's.

import { cvtLowByte as cvtLowByteShared, readF16 as readF16Shared, writeF16 as writeF16Shared } from './common.js';

// Local bindings so hot loops call these directly (see k-quantize.ts).
const fround = Math.fround;
const cvtLowByte = cvtLowByteShared;
const readF16 = readF16Shared;
const writeF16 = writeF16Shared;

export const QK4_0 = 32;
export const QK4_1 = 32;
export const Q4_0_BYTES = 18;
export const Q4_1_BYTES = 20;

export function dequantizeQ4_0(src: Uint8Array, srcOff: number, dst: Float32Array, dstOff: number, nb: number): void {
  for (let b = 0, o = srcOff, y = dstOff; b < nb; b++, o += Q4_0_BYTES, y += QK4_0) {
    const d = readF16(src, o);
    for (let j = 0; j < 16; j++) {
      const q = src[o + 2 + j]!;
      dst[y + j] = ((q & 0x0f) - 8) * d;
      dst[y + j + 16] = ((q >>> 4) - 8) * d;
    }
  }
}

export function dequantizeQ4_1(src: Uint8Array, srcOff: number, dst: Float32Array, dstOff: number, nb: number): void {
  for (let b = 0, o = srcOff, y = dstOff; b < nb; b++, o += Q4_1_BYTES, y += QK4_1) {
    const d = readF16(src, o);
    const m = readF16(src, o + 2);
    for (let j = 0; j < 16; j++) {
      const q = src[o + 4 + j]!;
      // f32 product, then f32 sum (the store rounds the exact-in-double sum of two f32 values).
      dst[y + j] = fround((q & 0x0f) * d) + m;
      dst[y + j + 16] = fround((q >>> 4) * d) + m;
    }
  }
}

/** C `MIN(15, (int8_t)(float))` stored as uint8. */
function code4(v: number): number {
  const t = (cvtLowByte(v) << 24) >> 24;
  return (t < 15 ? t : 15) & 0xff;
}

export function quantizeQ4_0(src: Float32Array, srcOff: number, dst: Uint8Array, dstOff: number, nb: number): void {
  for (let b = 0, x = srcOff, o = dstOff; b < nb; b++, x += QK4_0, o += Q4_0_BYTES) {
    let amax = 0;
    let max = 0;
    for (let j = 0; j < QK4_0; j++) {
      const v = src[x + j]!;
      const av = Math.abs(v);
      if (amax < av) {
        amax = av;
        max = v;
      }
    }
    const d = fround(max / -8);
    const id = d ? fround(1 / d) : 0;
    writeF16(dst, o, d);
    for (let j = 0; j < 16; j++) {
      const x0 = fround(src[x + j]! * id);
      const x1 = fround(src[x + 16 + j]! * id);
      dst[o + 2 + j] = (code4(fround(x0 + 8.5)) | (code4(fround(x1 + 8.5)) << 4)) & 0xff;
    }
  }
}

export function quantizeQ4_1(src: Float32Array, srcOff: number, dst: Uint8Array, dstOff: number, nb: number): void {
  for (let b = 0, x = srcOff, o = dstOff; b < nb; b++, x += QK4_1, o += Q4_1_BYTES) {
    let min = 3.4028234663852886e38;
    let max = -3.4028234663852886e38;
    for (let j = 0; j < QK4_1; j++) {
      const v = src[x + j]!;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    const d = fround(fround(max - min) / 15);
    const id = d ? fround(1 / d) : 0;
    writeF16(dst, o, d);
    writeF16(dst, o + 2, min);
    for (let j = 0; j < 16; j++) {
      const x0 = fround(fround(src[x + j]! - min) * id);
      const x1 = fround(fround(src[x + 16 + j]! - min) * id);
      dst[o + 4 + j] = (code4(fround(x0 + 0.5)) | (code4(fround(x1 + 0.5)) << 4)) & 0xff;
    }
  }
}
