// Q8_0 and Q8_K: 8-bit codes.
//
//   block_q8_0 (34 bytes, 32 weights):   f16 d | i8 qs[32]                      x = d * q
//   block_q8_K (292 bytes, 256 weights): f32 d | i8 qs[256] | i16 bsums[16]     x = d * q
//
// Q8_K's bsums (sums of each 16 codes) are only used by dot-product kernels; dequantization ignores
// them. quantize_row_q8_0_ref rounds with roundf (half away from zero) while quantize_row_q8_K_ref uses
// nearest_int (half to even) with scale -127/max; both are mirrored here. For an all-zero Q8_K block
// the C ref leaves bsums untouched; we write zeros.

import { QK_K as QK_K_SHARED } from '../ggml-types.js';
import { cvtLowByte as cvtLowByteShared, nearestInt as nearestIntShared, readF16 as readF16Shared, readF32 as readF32Shared, roundf as roundfShared, writeF16 as writeF16Shared, writeF32 as writeF32Shared } from './common.js';

// Local bindings: hot loops then call these directly rather than through the module namespace
// (transpilers such as tsx turn every use of an imported binding into a getter call).
const fround = Math.fround;
const QK_K = QK_K_SHARED;
const cvtLowByte = cvtLowByteShared;
const nearestInt = nearestIntShared;
const readF16 = readF16Shared;
const readF32 = readF32Shared;
const roundf = roundfShared;
const writeF16 = writeF16Shared;
const writeF32 = writeF32Shared;

export const QK8_0 = 32;
export const Q8_0_BYTES = 34;
export const Q8_K_BYTES = 4 + QK_K + (QK_K / 16) * 2;

export function dequantizeQ8_0(src: Uint8Array, srcOff: number, dst: Float32Array, dstOff: number, nb: number): void {
  for (let b = 0, o = srcOff, y = dstOff; b < nb; b++, o += Q8_0_BYTES, y += QK8_0) {
    const d = readF16(src, o);
    for (let j = 0; j < QK8_0; j++) dst[y + j] = ((src[o + 2 + j]! << 24) >> 24) * d;
  }
}

export function quantizeQ8_0(src: Float32Array, srcOff: number, dst: Uint8Array, dstOff: number, nb: number): void {
  for (let b = 0, x = srcOff, o = dstOff; b < nb; b++, x += QK8_0, o += Q8_0_BYTES) {
    let amax = 0;
    for (let j = 0; j < QK8_0; j++) {
      const av = Math.abs(src[x + j]!);
      amax = amax > av ? amax : av; // MAX(amax, fabsf(v))
    }
    const d = fround(amax / 127);
    const id = d ? fround(1 / d) : 0;
    writeF16(dst, o, d);
    for (let j = 0; j < QK8_0; j++) dst[o + 2 + j] = cvtLowByte(roundf(fround(src[x + j]! * id)));
  }
}

export function dequantizeQ8_K(src: Uint8Array, srcOff: number, dst: Float32Array, dstOff: number, nb: number): void {
  for (let b = 0, o = srcOff, y = dstOff; b < nb; b++, o += Q8_K_BYTES, y += QK_K) {
    const d = readF32(src, o);
    for (let j = 0; j < QK_K; j++) dst[y + j] = d * ((src[o + 4 + j]! << 24) >> 24);
  }
}

export function quantizeQ8_K(src: Float32Array, srcOff: number, dst: Uint8Array, dstOff: number, nb: number): void {
  for (let b = 0, x = srcOff, o = dstOff; b < nb; b++, x += QK_K, o += Q8_K_BYTES) {
    let max = 0;
    let amax = 0;
    for (let j = 0; j < QK_K; j++) {
      const v = src[x + j]!;
      const av = Math.abs(v);
      if (av > amax) {
        amax = av;
        max = v;
      }
    }
    if (!amax) {
      dst.fill(0, o, o + Q8_K_BYTES);
      continue;
    }
    const iscale = fround(-127 / max);
    for (let j = 0; j < QK_K; j++) {
      const v = nearestInt(fround(iscale * src[x + j]!));
      dst[o + 4 + j] = (v < 127 ? v : 127) & 0xff;
    }
    for (let g = 0; g < QK_K / 16; g++) {
      let sum = 0;
      for (let i = 0; i < 16; i++) sum += (dst[o + 4 + g * 16 + i]! << 24) >> 24;
      dst[o + 4 + QK_K + 2 * g] = sum & 0xff;
      dst[o + 4 + QK_K + 2 * g + 1] = (sum >> 8) & 0xff;
    }
    writeF32(dst, o, fround(1 / iscale));
  }
}
