// Key/value caches stored as f16, bf16 or q8_0 (llama.cpp's block_q8_0: an f16 scale then 32 int8 values,
// 34 bytes per 32 values), and attention that reads them. Type codes: 0 f32, 1 f16, 2 bf16, 3 q8_0.
// A cache row (one position of one layer) holds nKv heads of hd values; q8_0 needs hd % 32 == 0 so that
// every head starts on a block.
import { f16_bits_to_f32, f32_to_f16_bits, quantizeBlockQ8_0 } from './quantize';

import { fma4, vec_dot_f32 } from './ggml-order';
import { expChunks, reduceRows16 } from './ops';
import { blockLanesLo, fmaLanes, reduce8 } from './matmul';

@inline function rowBytes(type: i32, n: i32): usize {
  if (type == 0) return <usize>n << 2;
  if (type == 3) return <usize>(n >> 5) * 34;
  return <usize>n << 1;
}

/**
 * Writes nRows rows of n f32 values from src into dst, converted to `type`, rows back to back. q8_0 is
 * quantized as llama.cpp's x86 quantize_row_q8_0 does when it copies into a cache: d = amax/127 stored as
 * f16, q = round-half-even(x · 127/amax).
 */
export function kv_store(src: usize, dst: usize, nRows: i32, n: i32, type: i32): void {
  const total = nRows * n;
  if (type == 0) {
    memory.copy(dst, src, <usize>total << 2);
    return;
  }
  if (type == 1) {
    for (let i = 0; i < total; i++) store<u16>(dst + (<usize>i << 1), <u16>f32_to_f16_bits(load<f32>(src + (<usize>i << 2))));
    return;
  }
  if (type == 2) {
    for (let i = 0; i < total; i++) {
      // Round to nearest even; NaN stays a (quiet) NaN.
      const x = reinterpret<u32>(load<f32>(src + (<usize>i << 2)));
      const h = (x & 0x7fffffff) > 0x7f800000 ? (x >> 16) | 64 : (x + (0x7fff + ((x >> 16) & 1))) >> 16;
      store<u16>(dst + (<usize>i << 1), <u16>h);
    }
    return;
  }
  const signMask = i32x4.splat(0x7fffffff);
  const nb = total >> 5;
  for (let b = 0; b < nb; b++) {
    const xb = src + (<usize>b << 7);
    const yb = dst + <usize>b * 34;
    let m = v128.and(v128.load(xb), signMask);
    for (let i = 16; i < 128; i += 16) m = f32x4.max(m, v128.and(v128.load(xb + i), signMask));
    const amax = max(max(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1)), max(f32x4.extract_lane(m, 2), f32x4.extract_lane(m, 3)));
    store<u16>(yb, <u16>f32_to_f16_bits(amax / 127.0));
    const idv = f32x4.splat(amax != 0 ? <f32>127.0 / amax : 0);
    for (let i = 0; i < 32; i += 8) {
      const a = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(xb + (<usize>i << 2)), idv)));
      const c = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(xb + (<usize>i << 2) + 16), idv)));
      const s16 = i16x8.narrow_i32x4_s(a, c);
      v128.store64_lane(yb + 2 + <usize>i, i8x16.narrow_i16x8_s(s16, s16), 0);
    }
  }
}

/** Converts n values of `type` at p to f32 at out (n a multiple of 32 for q8_0, of 4 otherwise). */
@inline function load_row(p: usize, type: i32, n: i32, out: usize): void {
  if (type == 1) {
    // Four halves at a time: the exponent and mantissa bits shifted into f32 position and scaled by 2^112
    // give every finite value exactly (subnormals included); infinities and NaNs get the f32 exponent.
    const mag = i32x4.splat(0x7fff);
    const scale = f32x4.splat(reinterpret<f32>(0x77800000)); // 2^112
    const infHalf = i32x4.splat(0x7c00 - 1);
    const infBits = i32x4.splat(0x7f800000);
    for (let i = 0; i < n; i += 4) {
      const h = i32x4.extend_low_i16x8_u(v128.load64_zero(p + (<usize>i << 1)));
      const em = v128.and(h, mag);
      const sign = i32x4.shl(v128.andnot(h, mag), 16);
      const fin = f32x4.mul(i32x4.shl(em, 13), scale);
      const special = v128.or(i32x4.shl(em, 13), infBits);
      const v = v128.bitselect(special, fin, i32x4.gt_s(em, infHalf));
      v128.store(out + (<usize>i << 2), v128.or(v, sign));
    }
  } else if (type == 2) {
    for (let i = 0; i < n; i += 4) {
      const h = v128.load64_zero(p + (<usize>i << 1));
      v128.store(out + (<usize>i << 2), i32x4.shl(i32x4.extend_low_i16x8_u(h), 16));
    }
  } else {
    // block_q8_0: x = d · q, d the block's f16 scale (dequantize_row_q8_0).
    for (let b = 0; b < n >> 5; b++) {
      const blk = p + <usize>b * 34;
      const d = f32x4.splat(f16_bits_to_f32(<u32>load<u16>(blk)));
      const ob = out + (<usize>b << 7);
      for (let i = 0; i < 32; i += 8) {
        const q16 = i16x8.extend_low_i8x16_s(v128.load64_zero(blk + 2 + <usize>i));
        v128.store(ob + (<usize>i << 2), f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(q16)), d));
        v128.store(ob + (<usize>i << 2) + 16, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(q16)), d));
      }
    }
  }
}

/**
 * Widens the cache rows of positions p0..p1 (ring slot p % cap, rows of n values of `type`) to f32 rows at
 * dst, position p at slot p % capDst: an f32 cache of those positions, for attention() to read.
 */
export function kv_widen(src: usize, type: i32, n: i32, cap: i32, p0: i32, p1: i32, dst: usize, capDst: i32): void {
  const rb = rowBytes(type, n);
  const db = <usize>n << 2;
  for (let p = p0; p <= p1; p++) {
    const from = src + <usize>(p % cap) * rb, to = dst + <usize>(p % capDst) * db;
    if (type == 0) memory.copy(to, from, db);
    else load_row(from, type, n, to);
  }
}

/** quantize_row_q8_0 of n values into int8 quants at qs and f32 (f16-rounded) block scales at d. */
@inline function quantize_q8_0_row(x: usize, n: i32, qs: usize, d: usize): void {
  for (let b = 0; b < n >> 5; b++) quantizeBlockQ8_0(x + (<usize>b << 7), qs + (<usize>b << 5), d + (<usize>b << 2));
}

/** ggml_vec_dot_q8_0_q8_0 of a block_q8_0 key row (nb blocks) with a quantized query (int8 qs, f32 d). */
@inline function dot_q8_0(k: usize, qs: usize, qd: usize, nb: i32): f32 {
  let a01 = f64x2.splat(0), a23 = f64x2.splat(0), a45 = f64x2.splat(0), a67 = f64x2.splat(0);
  for (let b = 0; b < nb; b++) {
    const blk = k + <usize>b * 34;
    const o = <usize>b << 5;
    const lo = blockLanesLo(v128.load(blk + 2), v128.load(qs + o));
    const hi = blockLanesLo(v128.load(blk + 18), v128.load(qs + o, 16));
    const d = f64x2.splat(<f64>(f16_bits_to_f32(<u32>load<u16>(blk)) * load<f32>(qd + (<usize>b << 2))));
    a01 = fmaLanes(a01, d, lo, false);
    a23 = fmaLanes(a23, d, lo, true);
    a45 = fmaLanes(a45, d, hi, false);
    a67 = fmaLanes(a67, d, hi, true);
  }
  return reduce8(a01, a23, a45, a67);
}

/**
 * dot_q8_0 from the relaxed int8 dot, for the relaxed build: the same four-value lane sums (the query split
 * as qp - qm, both 7-bit, since one operand of the relaxed dot must be; pair sums fit in i16 and so does their
 * difference), each block added as one fused multiply-add of its scale product, the same lane reduction.
 */
@inline function dot_q8_0_relaxed(k: usize, qp: usize, qm: usize, qd: usize, nb: i32): f32 {
  let alo = f32x4.splat(0), ahi = f32x4.splat(0);
  for (let b = 0; b < nb; b++) {
    const blk = k + <usize>b * 34;
    const o = <usize>b << 5;
    const d = f32x4.splat(f16_bits_to_f32(<u32>load<u16>(blk)) * load<f32>(qd + (<usize>b << 2)));
    const w0 = v128.load(blk + 2), w1 = v128.load(blk + 18);
    const lo = i32x4.extadd_pairwise_i16x8_s(i16x8.sub(i16x8.relaxed_dot_i8x16_i7x16_s(w0, v128.load(qp + o)), i16x8.relaxed_dot_i8x16_i7x16_s(w0, v128.load(qm + o))));
    const hi = i32x4.extadd_pairwise_i16x8_s(i16x8.sub(i16x8.relaxed_dot_i8x16_i7x16_s(w1, v128.load(qp + o, 16)), i16x8.relaxed_dot_i8x16_i7x16_s(w1, v128.load(qm + o, 16))));
    alo = f32x4.relaxed_madd(d, f32x4.convert_i32x4_s(lo), alo);
    ahi = f32x4.relaxed_madd(d, f32x4.convert_i32x4_s(hi), ahi);
  }
  const sum = f32x4.add(alo, ahi);
  return (f32x4.extract_lane(sum, 0) + f32x4.extract_lane(sum, 2)) + (f32x4.extract_lane(sum, 1) + f32x4.extract_lane(sum, 3));
}

/** Splits n int8 values at q into their positive parts at qp and their negated negative parts at qm. */
@inline function split_q8(q: usize, n: i32, qp: usize, qm: usize): void {
  const zero = i8x16.splat(0);
  for (let i = 0; i < n; i += 16) {
    const v = v128.load(q + <usize>i);
    v128.store(qp + <usize>i, i8x16.max_s(v, zero));
    v128.store(qm + <usize>i, i8x16.max_s(i8x16.neg(v), zero));
  }
}

/**
 * attention() of kernels/ops.ts over caches of any type: the same visibility rules, score order, softmax
 * and 16-lane value sums per query head, so an f32 cache gives exactly what attention() gives. Each unit
 * is a tile of tb consecutive tokens by gs query heads sharing one KV head (a subgroup): every key and
 * value row is converted to f32 once and used by all the tile's rows, instead of once per row. A row's
 * cells outside its own keys hold -inf (its softmax adds exact zeros) and its value sums skip them, so
 * every row comes out as computed alone. layout = typeK | typeV << 4 | gs << 8 | tb << 16. A q8_0 key cache is not converted: as
 * in llama.cpp's flash attention, each query head is rounded to q8_0 once and every score is the integer
 * block dot of ggml_vec_dot_q8_0_q8_0, in its order. Units r0..r1 run over ceil(nt / tb) * nKv *
 * (nHead / nKv / gs) tiles. Scratch needs 64 + 2*hd + rows * (cells + 18*hd + 5) floats, rows = tb*gs and
 * cells = the most keys a tile sees plus 31.
 */
export function attention_kv(q: usize, kc: usize, vc: usize, o: usize, nt: i32, pos0: i32, nHead: i32, nKv: i32, hd: i32, cap: i32, window: i32, scale: f32, first: i32, layout: i32, r0: i32, r1: i32, scratch: usize): void {
  const typeK = layout & 15;
  const typeV = (layout >> 4) & 15;
  const gs = (layout >> 8) & 255;
  const tb = layout >> 16;
  const group = nHead / nKv;
  const subs = group / gs;
  const perBlock = nKv * subs;
  const nTiles = ((nt + tb - 1) / tb) * perBlock;
  const kRow = rowBytes(typeK, nKv * hd);
  const vRow = rowBytes(typeV, nKv * hd);
  const kHead = rowBytes(typeK, hd);
  const vHead = rowBytes(typeV, hd);
  const kbuf = scratch + 256; // 64 floats before it, unused since vec_dot_f32 keeps its lanes in registers
  const vbuf = kbuf + (<usize>hd << 2);
  const stats = vbuf + (<usize>hd << 2); // per row: max, then 1/sum
  const R = tb * gs;
  const nb = hd >> 5;
  const qq = stats + (<usize>(R << 1) << 2); // q8_0 queries: R rows of hd int8, then their block scales
  const qd = qq + <usize>R * hd;
  const qsplit = qd + ((<usize>R * nb) << 2); // relaxed build: per row, the query's positive then negated negative parts
  const bounds = qsplit + ((<usize>R * hd) << 1); // per row: first and last visible position
  const qRows = bounds + ((<usize>R) << 3);
  const perRow = qRows + ((<usize>R) << 2);
  // Units run over the tiles zigzag (first, last, second, second to last, ...): with causal masking a
  // later token's tiles have more keys, so any contiguous range of units the thread pool hands out holds
  // light and heavy tiles alike and the threads finish together.
  for (let u = r0; u < r1; u++) {
    const tile = (u & 1) == 0 ? u >> 1 : nTiles - 1 - (u >> 1);
    const t0 = (tile / perBlock) * tb;
    const t1 = min(t0 + tb, nt);
    const kvh = (tile % perBlock) / subs;
    const h0 = kvh * group + ((tile % perBlock) % subs) * gs;
    const G = (t1 - t0) * gs; // rows g: token t0 + g / gs, head h0 + g % gs
    const lo = kvStart(pos0 + t0, window, first);
    const hi = pos0 + t1 - 1;
    const base = lo & ~15;
    const nChunks = (hi >> 4) - (base >> 4) + 1;
    // Row g's scores at perRow + g*rowBytes, its 16 accumulator rows right after them.
    const scoreBytes = <usize>(nChunks << 4) << 2;
    const rowBytesG = scoreBytes + (<usize>(hd << 4) << 2);
    // Per row: its first and last visible positions and its query's byte offset from q, worked out once (a
    // division per key and row would cost more than a small head's score).
    for (let g = 0; g < G; g++) {
      const P = pos0 + t0 + g / gs;
      store<i32>(bounds + (<usize>g << 3), kvStart(P, window, first));
      store<i32>(bounds + (<usize>g << 3) + 4, P);
      store<u32>(qRows + (<usize>g << 2), <u32>((<usize>((t0 + g / gs) * nHead + h0 + g % gs) * hd) << 2));
      store<f32>(stats + (<usize>g << 2), -Infinity);
    }
    if (typeK == 3) {
      for (let g = 0; g < G; g++) {
        const qh = q + load<u32>(qRows + (<usize>g << 2));
        quantize_q8_0_row(qh, hd, qq + <usize>g * hd, qd + ((<usize>(g * nb)) << 2));
        if (ASC_FEATURE_RELAXED_SIMD) split_q8(qq + <usize>g * hd, hd, qsplit + ((<usize>g * hd) << 1), qsplit + ((<usize>g * hd) << 1) + <usize>hd);
      }
    }
    for (let j = base; j < (nChunks << 4) + base; j++) {
      const any = j >= lo && j <= hi;
      let kp: usize = 0;
      if (any) {
        kp = kc + <usize>(j % cap) * kRow + <usize>kvh * kHead;
        if (typeK != 0 && typeK != 3) {
          load_row(kp, typeK, hd, kbuf);
          kp = kbuf;
        }
      }
      for (let g = 0; g < G; g++) {
        let s: f32 = -Infinity;
        if (any && j <= load<i32>(bounds + (<usize>g << 3) + 4) && j >= load<i32>(bounds + (<usize>g << 3))) {
          const qh = q + load<u32>(qRows + (<usize>g << 2));
          if (typeK == 3) {
            const qdg = qd + ((<usize>(g * nb)) << 2);
            const qs = qsplit + ((<usize>g * hd) << 1);
            s = ASC_FEATURE_RELAXED_SIMD ? dot_q8_0_relaxed(kp, qs, qs + <usize>hd, qdg, nb) : dot_q8_0(kp, qq + <usize>g * hd, qdg, nb);
          } else {
            s = vec_dot_f32(kp, qh, hd);
          }
          s *= scale;
          const mp = stats + (<usize>g << 2);
          if (s > load<f32>(mp)) store<f32>(mp, s);
        }
        store<f32>(perRow + <usize>g * rowBytesG + (<usize>(j - base) << 2), s);
      }
    }
    for (let g = 0; g < G; g++) {
      const scores = perRow + <usize>g * rowBytesG;
      const sum = expChunks(scores, nChunks, f32x4.splat(load<f32>(stats + (<usize>g << 2))));
      store<f32>(stats + (<usize>(R + g) << 2), <f32>(1.0 / sum));
      const acc = scores + scoreBytes;
      for (let i = 0; i < hd << 4; i += 4) v128.store(acc + (<usize>i << 2), f32x4.splat(0));
    }
    for (let j = lo; j <= hi; j++) {
      let vp = vc + <usize>(j % cap) * vRow + <usize>kvh * vHead;
      if (typeV != 0) {
        load_row(vp, typeV, hd, vbuf);
        vp = vbuf;
      }
      for (let g = 0; g < G; g++) {
        if (j > load<i32>(bounds + (<usize>g << 3) + 4) || j < load<i32>(bounds + (<usize>g << 3))) continue;
        const scores = perRow + <usize>g * rowBytesG;
        const pj: f32 = load<f32>(scores + (<usize>(j - base) << 2)) * load<f32>(stats + (<usize>(R + g) << 2));
        const ar = scores + scoreBytes + ((<usize>(j & 15) * hd) << 2);
        const pv = f32x4.splat(pj);
        for (let d = 0; d < hd; d += 4) {
          const ap = ar + (<usize>d << 2);
          v128.store(ap, fma4(v128.load(vp + (<usize>d << 2)), pv, v128.load(ap)));
        }
      }
    }
    for (let g = 0; g < G; g++) {
      reduceRows16(perRow + <usize>g * rowBytesG + scoreBytes, hd, o + load<u32>(qRows + (<usize>g << 2)));
    }
  }
}

/** The first position a query at P sees. */
@inline function kvStart(P: i32, window: i32, first: i32): i32 {
  return max(window > 0 && P - window + 1 > 0 ? P - window + 1 : 0, first);
}
