// K-quant block layouts (super-blocks of QK_K = 256 weights) and their dequantization.
//
//   block_q2_K (84 bytes):  u8 scales[16] | u8 qs[64] | f16 d | f16 dmin
//       16 groups of 16; scales[g] = (min4 << 4) | scale4;  x = d*scale4*q - dmin*min4, q in 0..3
//   block_q3_K (110 bytes): u8 hmask[32] | u8 qs[64] | u8 scales[12] | f16 d
//       16 groups of 16 with 6-bit signed scales (stored +32); q = low2 - (hmask bit ? 0 : 4), x = d*(s-32)*q
//   block_q4_K (144 bytes): f16 d | f16 dmin | u8 scales[12] | u8 qs[128]
//       8 groups of 32 with 6-bit scale and min; x = d*sc*q - dmin*m, q in 0..15
//   block_q5_K (176 bytes): f16 d | f16 dmin | u8 scales[12] | u8 qh[32] | u8 qs[128]
//       as Q4_K with a fifth bit from qh, q in 0..31
//   block_q6_K (210 bytes): u8 ql[128] | u8 qh[64] | i8 scales[16] | f16 d
//       16 groups of 16; x = d*scale*(q - 32), q in 0..63
//
// Arithmetic is single precision in the same order as ggml's dequantize_row_* (scale products are
// rounded to f32 before multiplying by the code), so the output is bit-identical.

import { QK_K as QK_K_SHARED } from '../ggml-types.js';
import { readF16 as readF16Shared } from './common.js';

// Local bindings so hot loops call these directly (see k-quantize.ts).
const fround = Math.fround;
const QK_K = QK_K_SHARED;
const readF16 = readF16Shared;

export const Q2_K_BYTES = QK_K / 16 + QK_K / 4 + 4; // 84
export const Q3_K_BYTES = QK_K / 8 + QK_K / 4 + 12 + 2; // 110
export const Q4_K_BYTES = 4 + 12 + QK_K / 2; // 144
export const Q5_K_BYTES = 4 + 12 + QK_K / 8 + QK_K / 2; // 176
export const Q6_K_BYTES = QK_K / 2 + QK_K / 4 + QK_K / 16 + 2; // 210

/**
 * The 6-bit scale (`which` = 0) or min (`which` = 1) of group j (0..7) from the 12-byte packed
 * scales of a Q4_K / Q5_K block starting at `s` (ggml's get_scale_min_k4).
 */
export function getScaleMinK4(src: Uint8Array, s: number, j: number, which: 0 | 1): number {
  if (j < 4) return src[s + j + 4 * which]! & 63;
  return which === 0
    ? (src[s + j + 4]! & 0x0f) | ((src[s + j - 4]! >>> 6) << 4)
    : (src[s + j + 4]! >>> 4) | ((src[s + j]! >>> 6) << 4);
}

/** Signed 6-bit scale of group j (0..15) of a Q3_K block whose 12 packed scale bytes start at `s`, minus 32. */
export function getScaleQ3K(src: Uint8Array, s: number, j: number): number {
  const lo = j < 8 ? src[s + j]! & 0x0f : src[s + j - 8]! >>> 4;
  const hi = (src[s + 8 + (j & 3)]! >>> (2 * (j >>> 2))) & 3;
  return (lo | (hi << 4)) - 32;
}

export function dequantizeQ2_K(src: Uint8Array, srcOff: number, dst: Float32Array, dstOff: number, nb: number): void {
  for (let b = 0, o = srcOff, y = dstOff; b < nb; b++, o += Q2_K_BYTES) {
    const d = readF16(src, o + 80);
    const dmin = readF16(src, o + 82);
    let is = 0;
    for (let half = 0; half < 2; half++) {
      const q = o + 16 + 32 * half;
      for (let shift = 0; shift < 8; shift += 2) {
        for (let part = 0; part < 2; part++) {
          const sc = src[o + is++]!;
          const dl = fround(d * (sc & 0x0f));
          const ml = fround(dmin * (sc >>> 4));
          const qq = q + 16 * part;
          for (let l = 0; l < 16; l++) dst[y++] = fround(dl * ((src[qq + l]! >>> shift) & 3)) - ml;
        }
      }
    }
  }
}

export function dequantizeQ3_K(src: Uint8Array, srcOff: number, dst: Float32Array, dstOff: number, nb: number): void {
  for (let b = 0, o = srcOff, y = dstOff; b < nb; b++, o += Q3_K_BYTES) {
    const d = readF16(src, o + 108);
    const hm = o;
    let is = 0;
    let m = 1;
    for (let half = 0; half < 2; half++) {
      const q = o + 32 + 32 * half;
      for (let shift = 0; shift < 8; shift += 2, m <<= 1) {
        for (let part = 0; part < 2; part++) {
          const dl = fround(d * getScaleQ3K(src, o + 96, is++));
          const off = 16 * part;
          for (let l = off; l < off + 16; l++) {
            const v = ((src[q + l]! >>> shift) & 3) - (src[hm + l]! & m ? 0 : 4);
            dst[y++] = dl * v;
          }
        }
      }
    }
  }
}

export function dequantizeQ4_K(src: Uint8Array, srcOff: number, dst: Float32Array, dstOff: number, nb: number): void {
  for (let b = 0, o = srcOff, y = dstOff; b < nb; b++, o += Q4_K_BYTES) {
    const d = readF16(src, o);
    const dmin = readF16(src, o + 2);
    for (let c = 0; c < 4; c++) {
      const q = o + 16 + 32 * c;
      const d1 = fround(d * getScaleMinK4(src, o + 4, 2 * c, 0));
      const m1 = fround(dmin * getScaleMinK4(src, o + 4, 2 * c, 1));
      const d2 = fround(d * getScaleMinK4(src, o + 4, 2 * c + 1, 0));
      const m2 = fround(dmin * getScaleMinK4(src, o + 4, 2 * c + 1, 1));
      for (let l = 0; l < 32; l++) dst[y + l] = fround(d1 * (src[q + l]! & 0x0f)) - m1;
      for (let l = 0; l < 32; l++) dst[y + 32 + l] = fround(d2 * (src[q + l]! >>> 4)) - m2;
      y += 64;
    }
  }
}

export function dequantizeQ5_K(src: Uint8Array, srcOff: number, dst: Float32Array, dstOff: number, nb: number): void {
  for (let b = 0, o = srcOff, y = dstOff; b < nb; b++, o += Q5_K_BYTES) {
    const d = readF16(src, o);
    const dmin = readF16(src, o + 2);
    const qh = o + 16;
    for (let c = 0; c < 4; c++) {
      const ql = o + 48 + 32 * c;
      const u1 = 1 << (2 * c);
      const u2 = 2 << (2 * c);
      const d1 = fround(d * getScaleMinK4(src, o + 4, 2 * c, 0));
      const m1 = fround(dmin * getScaleMinK4(src, o + 4, 2 * c, 1));
      const d2 = fround(d * getScaleMinK4(src, o + 4, 2 * c + 1, 0));
      const m2 = fround(dmin * getScaleMinK4(src, o + 4, 2 * c + 1, 1));
      for (let l = 0; l < 32; l++) {
        dst[y + l] = fround(d1 * ((src[ql + l]! & 0x0f) + (src[qh + l]! & u1 ? 16 : 0))) - m1;
      }
      for (let l = 0; l < 32; l++) {
        dst[y + 32 + l] = fround(d2 * ((src[ql + l]! >>> 4) + (src[qh + l]! & u2 ? 16 : 0))) - m2;
      }
      y += 64;
    }
  }
}

export function dequantizeQ6_K(src: Uint8Array, srcOff: number, dst: Float32Array, dstOff: number, nb: number): void {
  const ds = new Float32Array(16);
  for (let b = 0, o = srcOff, y = dstOff; b < nb; b++, o += Q6_K_BYTES) {
    const d = readF16(src, o + 208);
    for (let g = 0; g < 16; g++) ds[g] = d * ((src[o + 192 + g]! << 24) >> 24);
    for (let half = 0; half < 2; half++) {
      const ql = o + 64 * half;
      const qh = o + 128 + 32 * half;
      const sc = 8 * half;
      for (let l = 0; l < 32; l++) {
        const is = sc + (l >>> 4);
        const a = src[ql + l]!;
        const c = src[ql + l + 32]!;
        const h = src[qh + l]!;
        dst[y + l] = ds[is]! * (((a & 0x0f) | ((h & 3) << 4)) - 32);
        dst[y + l + 32] = ds[is + 2]! * (((c & 0x0f) | (((h >>> 2) & 3) << 4)) - 32);
        dst[y + l + 64] = ds[is + 4]! * (((a >>> 4) | (((h >>> 4) & 3) << 4)) - 32);
        dst[y + l + 96] = ds[is + 6]! * (((c >>> 4) | (((h >>> 6) & 3) << 4)) - 32);
      }
      y += 128;
    }
  }
}
