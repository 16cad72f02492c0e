// Reference K-quant quantizers, mirroring llama.cpp's quantize_row_{q2,q3,q4,q5,q6}_K_ref (the
// deterministic path used without an importance matrix). Every float operation is rounded to f32 in
// the same order as the C source (ggml's reference build does not contract to FMA), so the bytes match
// llama.cpp's. nearest_int rounds half to even.

import { QK_K as QK_K_SHARED } from '../ggml-types.js';
import { nearestInt as nearestIntShared, readF16 as readF16Shared, writeF16 as writeF16Shared } from './common.js';
import { Q2_K_BYTES, Q3_K_BYTES, Q4_K_BYTES, Q5_K_BYTES, Q6_K_BYTES, getScaleMinK4, getScaleQ3K } from './k-quants.js';

// Local bindings: hot loops then call these directly rather than through the module namespace
// (transpilers such as tsx turn every use of an imported binding into a getter call).
const fround = Math.fround;
const QK_K = QK_K_SHARED;
const nearestInt = nearestIntShared;
const readF16 = readF16Shared;
const writeF16 = writeF16Shared;

const GROUP_MAX_EPS = fround(1e-15);
const F32_0_1 = fround(0.1);

// Scratch space (quantization is synchronous and non-reentrant).
const L = new Int32Array(QK_K);
const Laux = new Int32Array(32);
const weights = new Float32Array(32);
const scales = new Float32Array(QK_K / 16);
const mins = new Float32Array(QK_K / 16);

/**
 * make_qkx2_quants: asymmetric (scale, min) fit of n values x[xo..] to codes 0..nmax, minimising the
 * weighted error over a small grid of candidate scales. Writes codes to L[lo..], the (non-negative)
 * offset to mins[mi], and returns the scale.
 */
function makeQkx2Quants(
  n: number,
  nmax: number,
  x: Float32Array,
  xo: number,
  w: Float32Array,
  lo: number,
  mi: number,
  rmin: number,
  rdelta: number,
  nstep: number,
  useMad: boolean,
): number {
  let min = x[xo]!;
  let max = x[xo]!;
  let sumW = w[0]!;
  let sumX = fround(sumW * x[xo]!);
  for (let i = 1; i < n; i++) {
    const xi = x[xo + i]!;
    if (xi < min) min = xi;
    if (xi > max) max = xi;
    const wi = w[i]!;
    sumW = fround(sumW + wi);
    sumX = fround(sumX + fround(wi * xi));
  }
  if (min > 0) min = 0;
  if (max === min) {
    for (let i = 0; i < n; i++) L[lo + i] = 0;
    mins[mi] = -min;
    return 0;
  }
  let iscale = fround(nmax / fround(max - min));
  let scale = fround(1 / iscale);
  let bestError = 0;
  for (let i = 0; i < n; i++) {
    const xi = x[xo + i]!;
    let l = nearestInt(fround(iscale * fround(xi - min)));
    l = l < 0 ? 0 : l > nmax ? nmax : l;
    L[lo + i] = l;
    let diff = fround(fround(fround(scale * l) + min) - xi);
    diff = useMad ? Math.abs(diff) : fround(diff * diff);
    bestError = fround(bestError + fround(w[i]! * diff));
  }
  if (nstep < 1) {
    mins[mi] = -min;
    return scale;
  }
  for (let is = 0; is <= nstep; is++) {
    // `min` moves when a candidate wins, and later candidates scale by the new (max - min), as in C.
    iscale = fround(fround(fround(rmin + fround(rdelta * is)) + nmax) / fround(max - min));
    let sumL = 0;
    let sumL2 = 0;
    let sumXL = 0;
    for (let i = 0; i < n; i++) {
      const xi = x[xo + i]!;
      let l = nearestInt(fround(iscale * fround(xi - min)));
      l = l < 0 ? 0 : l > nmax ? nmax : l;
      Laux[i] = l;
      const wl = fround(w[i]! * l);
      sumL = fround(sumL + wl);
      sumL2 = fround(sumL2 + fround(wl * l));
      sumXL = fround(sumXL + fround(wl * xi));
    }
    const D = fround(fround(sumW * sumL2) - fround(sumL * sumL));
    if (D > 0) {
      let thisScale = fround(fround(fround(sumW * sumXL) - fround(sumX * sumL)) / D);
      let thisMin = fround(fround(fround(sumL2 * sumX) - fround(sumL * sumXL)) / D);
      if (thisMin > 0) {
        thisMin = 0;
        thisScale = fround(sumXL / sumL2);
      }
      let curError = 0;
      for (let i = 0; i < n; i++) {
        let diff = fround(fround(fround(thisScale * Laux[i]!) + thisMin) - x[xo + i]!);
        diff = useMad ? Math.abs(diff) : fround(diff * diff);
        curError = fround(curError + fround(w[i]! * diff));
      }
      if (curError < bestError) {
        for (let i = 0; i < n; i++) L[lo + i] = Laux[i]!;
        bestError = curError;
        scale = thisScale;
        min = thisMin;
      }
    }
  }
  mins[mi] = -min;
  return scale;
}

/**
 * make_qx_quants with rmse_type 1 and no importance weights (weights x^2): symmetric fit of n values to
 * codes -nmax..nmax-1, stored in L[lo..] offset by nmax. Returns the scale.
 */
function makeQxQuants(n: number, nmax: number, x: Float32Array, xo: number, lo: number): number {
  let max = 0;
  let amax = 0;
  for (let i = 0; i < n; i++) {
    const ax = Math.abs(x[xo + i]!);
    if (ax > amax) {
      amax = ax;
      max = x[xo + i]!;
    }
  }
  if (amax < GROUP_MAX_EPS) {
    for (let i = 0; i < n; i++) L[lo + i] = 0;
    return 0;
  }
  let iscale = fround(-nmax / max);
  let sumlx = 0;
  let suml2 = 0;
  for (let i = 0; i < n; i++) {
    const xi = x[xo + i]!;
    let l = nearestInt(fround(iscale * xi));
    l = l < -nmax ? -nmax : l > nmax - 1 ? nmax - 1 : l;
    L[lo + i] = l + nmax;
    const w = fround(xi * xi);
    sumlx = fround(sumlx + fround(fround(w * xi) * l));
    suml2 = fround(suml2 + fround(fround(w * l) * l));
  }
  let scale = suml2 ? fround(sumlx / suml2) : 0;
  let best = fround(scale * sumlx);
  for (let is = -9; is <= 9; is++) {
    if (is === 0) continue;
    iscale = fround(-fround(nmax + fround(F32_0_1 * is)) / max);
    sumlx = 0;
    suml2 = 0;
    for (let i = 0; i < n; i++) {
      const xi = x[xo + i]!;
      let l = nearestInt(fround(iscale * xi));
      l = l < -nmax ? -nmax : l > nmax - 1 ? nmax - 1 : l;
      const w = fround(xi * xi);
      sumlx = fround(sumlx + fround(fround(w * xi) * l));
      suml2 = fround(suml2 + fround(fround(w * l) * l));
    }
    if (suml2 > 0 && fround(sumlx * sumlx) > fround(best * suml2)) {
      for (let i = 0; i < n; i++) {
        const l = nearestInt(fround(iscale * x[xo + i]!));
        L[lo + i] = nmax + (l < -nmax ? -nmax : l > nmax - 1 ? nmax - 1 : l);
      }
      scale = fround(sumlx / suml2);
      best = fround(scale * sumlx);
    }
  }
  return scale;
}

/**
 * make_q3_quants with do_rmse: symmetric fit to codes -nmax..nmax-1 weighted by x^2, refined by a few
 * rounds of coordinate descent. Codes go to L[lo..] offset by nmax (all zero for an all-zero group).
 */
function makeQ3Quants(n: number, nmax: number, x: Float32Array, xo: number, lo: number): number {
  let max = 0;
  let amax = 0;
  for (let i = 0; i < n; i++) {
    const ax = Math.abs(x[xo + i]!);
    if (ax > amax) {
      amax = ax;
      max = x[xo + i]!;
    }
  }
  if (amax < GROUP_MAX_EPS) {
    for (let i = 0; i < n; i++) L[lo + i] = 0;
    return 0;
  }
  const iscale = fround(-nmax / max);
  let sumlx = 0;
  let suml2 = 0;
  for (let i = 0; i < n; i++) {
    const xi = x[xo + i]!;
    let l = nearestInt(fround(iscale * xi));
    l = l < -nmax ? -nmax : l > nmax - 1 ? nmax - 1 : l;
    L[lo + i] = l;
    const w = fround(xi * xi);
    sumlx = fround(sumlx + fround(fround(w * xi) * l));
    suml2 = fround(suml2 + fround(fround(w * l) * l));
  }
  for (let itry = 0; itry < 5; itry++) {
    let nChanged = 0;
    for (let i = 0; i < n; i++) {
      const xi = x[xo + i]!;
      const li = L[lo + i]!;
      const w = fround(xi * xi);
      let slx = fround(sumlx - fround(fround(w * xi) * li));
      if (slx > 0) {
        let sl2 = fround(suml2 - fround(fround(w * li) * li));
        let nl = nearestInt(fround(fround(xi * sl2) / slx));
        nl = nl < -nmax ? -nmax : nl > nmax - 1 ? nmax - 1 : nl;
        if (nl !== li) {
          slx = fround(slx + fround(fround(w * xi) * nl));
          sl2 = fround(sl2 + fround(fround(w * nl) * nl));
          if (sl2 > 0 && fround(fround(slx * slx) * suml2) > fround(fround(sumlx * sumlx) * sl2)) {
            L[lo + i] = nl;
            sumlx = slx;
            suml2 = sl2;
            nChanged++;
          }
        }
      }
    }
    if (!nChanged) break;
  }
  for (let i = 0; i < n; i++) L[lo + i] = L[lo + i]! + nmax;
  return suml2 > 0 ? fround(sumlx / suml2) : 0;
}

/** Pack 2-bit codes L[0..255] the way Q2_K/Q3_K store qs (64 bytes at dst[q..]). */
function pack2Bit(dst: Uint8Array, q: number): void {
  for (let j = 0; j < QK_K; j += 128) {
    for (let l = 0; l < 32; l++) {
      dst[q + j / 4 + l] = L[j + l]! | (L[j + l + 32]! << 2) | (L[j + l + 64]! << 4) | (L[j + l + 96]! << 6);
    }
  }
}

export function quantizeQ2_K(src: Float32Array, srcOff: number, dst: Uint8Array, dstOff: number, nb: number): void {
  const q4scale = 15;
  for (let b = 0, x = srcOff, o = dstOff; b < nb; b++, x += QK_K, o += Q2_K_BYTES) {
    let maxScale = 0;
    let maxMin = 0;
    for (let j = 0; j < QK_K / 16; j++) {
      for (let l = 0; l < 16; l++) weights[l] = Math.abs(src[x + 16 * j + l]!);
      const scale = makeQkx2Quants(16, 3, src, x + 16 * j, weights, 16 * j, j, -0.5, F32_0_1, 15, true);
      scales[j] = scale;
      if (scale > maxScale) maxScale = scale;
      const min = mins[j]!;
      if (min > maxMin) maxMin = min;
    }
    if (maxScale > 0) {
      const iscale = fround(q4scale / maxScale);
      for (let j = 0; j < QK_K / 16; j++) dst[o + j] = nearestInt(fround(iscale * scales[j]!)) & 0xff;
      writeF16(dst, o + 80, fround(maxScale / q4scale));
    } else {
      dst.fill(0, o, o + 16);
      writeF16(dst, o + 80, 0);
    }
    if (maxMin > 0) {
      const iscale = fround(q4scale / maxMin);
      for (let j = 0; j < QK_K / 16; j++) dst[o + j] = (dst[o + j]! | (nearestInt(fround(iscale * mins[j]!)) << 4)) & 0xff;
      writeF16(dst, o + 82, fround(maxMin / q4scale));
    } else {
      writeF16(dst, o + 82, 0);
    }
    const dAll = readF16(dst, o + 80);
    const mAll = readF16(dst, o + 82);
    for (let j = 0; j < QK_K / 16; j++) {
      const d = fround(dAll * (dst[o + j]! & 0x0f));
      if (!d) continue;
      const dm = fround(mAll * (dst[o + j]! >>> 4));
      for (let ii = 0; ii < 16; ii++) {
        const l = nearestInt(fround(fround(src[x + 16 * j + ii]! + dm) / d));
        L[16 * j + ii] = l < 0 ? 0 : l > 3 ? 3 : l;
      }
    }
    pack2Bit(dst, o + 16);
  }
}

export function quantizeQ3_K(src: Float32Array, srcOff: number, dst: Uint8Array, dstOff: number, nb: number): void {
  for (let b = 0, x = srcOff, o = dstOff; b < nb; b++, x += QK_K, o += Q3_K_BYTES) {
    let maxScale = 0;
    let amax = 0;
    for (let j = 0; j < QK_K / 16; j++) {
      const scale = makeQ3Quants(16, 4, src, x + 16 * j, 16 * j);
      scales[j] = scale;
      const as = Math.abs(scale);
      if (as > amax) {
        amax = as;
        maxScale = scale;
      }
    }
    const sc = o + 96;
    dst.fill(0, sc, sc + 12);
    if (maxScale) {
      const iscale = fround(-32 / maxScale);
      for (let j = 0; j < QK_K / 16; j++) {
        let l = (nearestInt(fround(iscale * scales[j]!)) << 24) >> 24; // int8_t
        l = (l < -32 ? -32 : l > 31 ? 31 : l) + 32;
        if (j < 8) dst[sc + j] = l & 0x0f;
        else dst[sc + j - 8] = dst[sc + j - 8]! | ((l & 0x0f) << 4);
        dst[sc + 8 + (j % 4)] = dst[sc + 8 + (j % 4)]! | ((l >> 4) << (2 * (j >> 2)));
      }
      writeF16(dst, o + 108, fround(1 / iscale));
    } else {
      writeF16(dst, o + 108, 0);
    }
    const dAll = readF16(dst, o + 108);
    for (let j = 0; j < QK_K / 16; j++) {
      const d = fround(dAll * getScaleQ3K(dst, sc, j));
      if (!d) continue;
      for (let ii = 0; ii < 16; ii++) {
        const l = nearestInt(fround(src[x + 16 * j + ii]! / d));
        L[16 * j + ii] = (l < -4 ? -4 : l > 3 ? 3 : l) + 4;
      }
    }
    // High bit of code j goes to bit (j / 32) of hmask[j % 32].
    dst.fill(0, o, o + 32);
    for (let j = 0; j < QK_K; j++) {
      if (L[j]! > 3) {
        dst[o + (j & 31)] = dst[o + (j & 31)]! | (1 << (j >>> 5));
        L[j] = L[j]! - 4;
      }
    }
    pack2Bit(dst, o + 32);
  }
}

/** Shared body of the Q4_K and Q5_K ref quantizers (8 groups of 32, 6-bit scales and mins). */
function quantizeK4or5(src: Float32Array, x: number, dst: Uint8Array, o: number, nmax: number, rmin: number, nstep: number): void {
  let maxScale = 0;
  let maxMin = 0;
  for (let j = 0; j < QK_K / 32; j++) {
    let sumX2 = 0;
    for (let l = 0; l < 32; l++) {
      const v = src[x + 32 * j + l]!;
      sumX2 = fround(sumX2 + fround(v * v));
    }
    const avX = fround(Math.sqrt(fround(sumX2 / 32)));
    for (let l = 0; l < 32; l++) weights[l] = avX + Math.abs(src[x + 32 * j + l]!);
    const scale = makeQkx2Quants(32, nmax, src, x + 32 * j, weights, 32 * j, j, rmin, F32_0_1, nstep, false);
    scales[j] = scale;
    if (scale > maxScale) maxScale = scale;
    const min = mins[j]!;
    if (min > maxMin) maxMin = min;
  }
  const invScale = maxScale > 0 ? fround(63 / maxScale) : 0;
  const invMin = maxMin > 0 ? fround(63 / maxMin) : 0;
  const s = o + 4;
  for (let j = 0; j < QK_K / 32; j++) {
    let ls = nearestInt(fround(invScale * scales[j]!)) & 0xff; // uint8_t
    let lm = nearestInt(fround(invMin * mins[j]!)) & 0xff;
    ls = ls < 63 ? ls : 63;
    lm = lm < 63 ? lm : 63;
    if (j < 4) {
      dst[s + j] = ls;
      dst[s + j + 4] = lm;
    } else {
      dst[s + j + 4] = (ls & 0x0f) | ((lm & 0x0f) << 4);
      dst[s + j - 4] = dst[s + j - 4]! | ((ls >>> 4) << 6);
      dst[s + j] = dst[s + j]! | ((lm >>> 4) << 6);
    }
  }
  writeF16(dst, o, fround(maxScale / 63));
  writeF16(dst, o + 2, fround(maxMin / 63));
  const dAll = readF16(dst, o);
  const mAll = readF16(dst, o + 2);
  for (let j = 0; j < QK_K / 32; j++) {
    const d = fround(dAll * getScaleMinK4(dst, s, j, 0));
    if (!d) continue;
    const dm = fround(mAll * getScaleMinK4(dst, s, j, 1));
    for (let ii = 0; ii < 32; ii++) {
      const l = nearestInt(fround(fround(src[x + 32 * j + ii]! + dm) / d));
      L[32 * j + ii] = l < 0 ? 0 : l > nmax ? nmax : l;
    }
  }
}

export function quantizeQ4_K(src: Float32Array, srcOff: number, dst: Uint8Array, dstOff: number, nb: number): void {
  for (let b = 0, x = srcOff, o = dstOff; b < nb; b++, x += QK_K, o += Q4_K_BYTES) {
    quantizeK4or5(src, x, dst, o, 15, -1, 20);
    const q = o + 16;
    for (let j = 0; j < QK_K; j += 64) {
      for (let l = 0; l < 32; l++) dst[q + j / 2 + l] = L[j + l]! | (L[j + l + 32]! << 4);
    }
  }
}

export function quantizeQ5_K(src: Float32Array, srcOff: number, dst: Uint8Array, dstOff: number, nb: number): void {
  for (let b = 0, x = srcOff, o = dstOff; b < nb; b++, x += QK_K, o += Q5_K_BYTES) {
    quantizeK4or5(src, x, dst, o, 31, -0.5, 15);
    const qh = o + 16;
    dst.fill(0, qh, qh + 32);
    for (let c = 0; c < 4; c++) {
      const ql = o + 48 + 32 * c;
      const m1 = 1 << (2 * c);
      const m2 = 2 << (2 * c);
      for (let j = 0; j < 32; j++) {
        let l1 = L[64 * c + j]!;
        let l2 = L[64 * c + j + 32]!;
        let h = dst[qh + j]!;
        if (l1 > 15) {
          l1 -= 16;
          h |= m1;
        }
        if (l2 > 15) {
          l2 -= 16;
          h |= m2;
        }
        dst[qh + j] = h;
        dst[ql + j] = l1 | (l2 << 4);
      }
    }
  }
}

export function quantizeQ6_K(src: Float32Array, srcOff: number, dst: Uint8Array, dstOff: number, nb: number): void {
  for (let b = 0, x = srcOff, o = dstOff; b < nb; b++, x += QK_K, o += Q6_K_BYTES) {
    let maxScale = 0;
    let maxAbsScale = 0;
    for (let g = 0; g < QK_K / 16; g++) {
      const scale = makeQxQuants(16, 32, src, x + 16 * g, 16 * g);
      scales[g] = scale;
      const as = Math.abs(scale);
      if (as > maxAbsScale) {
        maxAbsScale = as;
        maxScale = scale;
      }
    }
    if (maxAbsScale < GROUP_MAX_EPS) {
      dst.fill(0, o, o + Q6_K_BYTES);
      continue;
    }
    const iscale = fround(-128 / maxScale);
    writeF16(dst, o + 208, fround(1 / iscale));
    for (let g = 0; g < QK_K / 16; g++) {
      const v = nearestInt(fround(iscale * scales[g]!));
      dst[o + 192 + g] = (v < 127 ? v : 127) & 0xff;
    }
    const dAll = readF16(dst, o + 208);
    for (let g = 0; g < QK_K / 16; g++) {
      const d = fround(dAll * ((dst[o + 192 + g]! << 24) >> 24));
      if (!d) continue;
      for (let ii = 0; ii < 16; ii++) {
        const l = nearestInt(fround(src[x + 16 * g + ii]! / d));
        L[16 * g + ii] = (l < -32 ? -32 : l > 31 ? 31 : l) + 32;
      }
    }
    for (let half = 0; half < 2; half++) {
      const j = 128 * half;
      const ql = o + 64 * half;
      const qh = o + 128 + 32 * half;
      for (let l = 0; l < 32; l++) {
        const a = L[j + l]!;
        const bq = L[j + l + 32]!;
        const c = L[j + l + 64]!;
        const e = L[j + l + 96]!;
        dst[ql + l] = (a & 0x0f) | ((c & 0x0f) << 4);
        dst[ql + l + 32] = (bq & 0x0f) | ((e & 0x0f) << 4);
        dst[qh + l] = (a >>> 4) | ((bq >>> 4) << 2) | ((c >>> 4) << 4) | ((e >>> 4) << 6);
      }
    }
  }
}
