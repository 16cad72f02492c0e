import { fma4 } from './ggml-order';

// K-quant weights (Q4_K, Q5_K, Q6_K) kept quantized, times Q8_K activations, in the order llama.cpp's x86
// CPU build (its AVX-512 "zen4" variant) computes each product:
//
// - Q4_K matrices with a multiple of 8 rows are repacked by llama.cpp (q4_K_8x8) and multiplied by
//   ggml_gemv_q4_K_8x8_q8_K (one token; stacked experts always) or ggml_gemm_q4_K_8x8_q8_K (groups of four
//   tokens when a product has more than three; the last nt % 4 go through the gemv). Both keep two
//   accumulators per output, acc (scales) and accm (mins), each updated with a fused multiply-add of an
//   exact integer sum converted to f32 times (d_w * d_x): the gemv once per 256 values, the gemm once per
//   64 values. The output is acc - accm.
// - Q4_K with other row counts, Q5_K and Q6_K go through ggml_vec_dot_qN_K_q8_K (AVX2 code): eight f32
//   lanes, lane l summing, per 256 values, sc * (4-product dot of values 4l..4l+3 of every 32) over the
//   whole block as one integer, added with one FMA of d = d_x * d_w; then ((a0+a4)+(a2+a6))+((a1+a5)+(a3+a7)).
//   The mins go into four more lanes (Q4_K) or one scalar FMA (Q5_K); Q6_K subtracts 32 * sc * bsum in the
//   integer lanes.
//
// All integer sums are exact (the products fit i16 pairs as in pmaddubsw), so only the float steps need
// care: the relaxed build uses relaxed_madd (fused on x86) and the relaxed int8 dot with the weights'
// 0..63 codes as its 7-bit operand; the plain build widens to i16 and emulates the FMA exactly in f64.
//
// Weight layouts (per row, super-blocks of 256 values one after another):
//   Q4_K, 152 bytes: f32 d | f32 dmin | u8 sc[8] | u8 m[8] | qs[128] (GGUF nibble order)
//   Q5_K, 184 bytes: f32 d | f32 dmin | u8 sc[8] | u8 m[8] | qh[32] | qs[128] (GGUF order)
//   Q6_K, 212 bytes: f32 d | i8 sc[16] | qh[64] | ql[128] (GGUF order)
// Activations (Q8_K, from quantize_q8_K): int8 quants [nt][k], f32 d [nt][k/256], and per 256 values 48
// bytes of i16 sums (16 sums of 16 quants, then 8 sums of 32).

export const Q4K_BYTES: i32 = 152;
export const Q5K_BYTES: i32 = 184;
export const Q6K_BYTES: i32 = 212;

// ---- integer building blocks ---------------------------------------------------------------------

/** Pairwise dot of 16 int8 activations with 16 weight codes in 0..127: i16 lanes (x0w0 + x1w1, ...). */
@inline function dot16(x: v128, w: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    return i16x8.relaxed_dot_i8x16_i7x16_s(x, w);
  } else {
    const lo = i16x8.extmul_low_i8x16_s(x, w);
    const hi = i16x8.extmul_high_i8x16_s(x, w);
    return i16x8.add(
      i8x16.shuffle(lo, hi, 0, 1, 4, 5, 8, 9, 12, 13, 16, 17, 20, 21, 24, 25, 28, 29),
      i8x16.shuffle(lo, hi, 2, 3, 6, 7, 10, 11, 14, 15, 18, 19, 22, 23, 26, 27, 30, 31),
    );
  }
}

/** Low nibbles of 16 bytes. */
@inline function lo4(w: v128): v128 {
  return v128.and(w, i8x16.splat(15));
}

/** High nibbles of 16 bytes (a 16-bit shift, then the mask). */
@inline function hi4(w: v128): v128 {
  return v128.and(i16x8.shr_u(w, 4), i8x16.splat(15));
}

/**
 * sc_a * dot(sub-block a) + sc_b * dot(sub-block b) for two sub-blocks of 32 given as four 16-code vectors
 * (a0, a1, b0, b1) against 64 activations at x, as an i32x4 whose lanes add up to it. sc holds
 * [sc_a x4, sc_b x4] as i16. Each i16 lane of the folded sums holds 8 products (at most 8*31*128).
 */
@inline function pairSum(x: usize, a0: v128, a1: v128, b0: v128, b1: v128, sc: v128): v128 {
  const pa = i16x8.add(dot16(v128.load(x), a0), dot16(v128.load(x, 16), a1));
  const pb = i16x8.add(dot16(v128.load(x, 32), b0), dot16(v128.load(x, 48), b1));
  const r = i16x8.add(
    i8x16.shuffle(pa, pb, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23),
    i8x16.shuffle(pa, pb, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31),
  );
  return i32x4.dot_i16x8_s(r, sc);
}

/** [sc_2p x4, sc_2p+1 x4] from the eight i16 scales s. */
@inline function pairScales(s: v128, p: i32): v128 {
  if (p == 0) return i8x16.shuffle(s, s, 0, 1, 0, 1, 0, 1, 0, 1, 2, 3, 2, 3, 2, 3, 2, 3);
  if (p == 1) return i8x16.shuffle(s, s, 4, 5, 4, 5, 4, 5, 4, 5, 6, 7, 6, 7, 6, 7, 6, 7);
  if (p == 2) return i8x16.shuffle(s, s, 8, 9, 8, 9, 8, 9, 8, 9, 10, 11, 10, 11, 10, 11, 10, 11);
  return i8x16.shuffle(s, s, 12, 13, 12, 13, 12, 13, 12, 13, 14, 15, 14, 15, 14, 15, 14, 15);
}

/** i16 lane j of s in all lanes. */
@inline function splat16(s: v128, j: i32): v128 {
  switch (j) {
    case 0: return i8x16.shuffle(s, s, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1);
    case 1: return i8x16.shuffle(s, s, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3);
    case 2: return i8x16.shuffle(s, s, 4, 5, 4, 5, 4, 5, 4, 5, 4, 5, 4, 5, 4, 5, 4, 5);
    case 3: return i8x16.shuffle(s, s, 6, 7, 6, 7, 6, 7, 6, 7, 6, 7, 6, 7, 6, 7, 6, 7);
    case 4: return i8x16.shuffle(s, s, 8, 9, 8, 9, 8, 9, 8, 9, 8, 9, 8, 9, 8, 9, 8, 9);
    case 5: return i8x16.shuffle(s, s, 10, 11, 10, 11, 10, 11, 10, 11, 10, 11, 10, 11, 10, 11, 10, 11);
    case 6: return i8x16.shuffle(s, s, 12, 13, 12, 13, 12, 13, 12, 13, 12, 13, 12, 13, 12, 13, 12, 13);
    default: return i8x16.shuffle(s, s, 14, 15, 14, 15, 14, 15, 14, 15, 14, 15, 14, 15, 14, 15, 14, 15);
  }
}

/** Lane sums of a and b: [sum(a), sum(b), sum(a), sum(b)]. */
@inline function hsum2(a: v128, b: v128): v128 {
  const t = i32x4.add(i32x4.shuffle(a, b, 0, 4, 1, 5), i32x4.shuffle(a, b, 2, 6, 3, 7));
  return i32x4.add(t, i32x4.shuffle(t, t, 2, 3, 0, 1));
}

/** Lane sums of four vectors: [sum(a), sum(b), sum(c), sum(d)]. */
@inline function hsum4(a: v128, b: v128, c: v128, d: v128): v128 {
  const ab = i32x4.add(i32x4.shuffle(a, b, 0, 4, 1, 5), i32x4.shuffle(a, b, 2, 6, 3, 7)); // a02 b02 a13 b13
  const cd = i32x4.add(i32x4.shuffle(c, d, 0, 4, 1, 5), i32x4.shuffle(c, d, 2, 6, 3, 7));
  return i32x4.add(i32x4.shuffle(ab, cd, 0, 1, 4, 5), i32x4.shuffle(ab, cd, 2, 3, 6, 7));
}

/** hsum_float_8: ((a0+a4)+(a2+a6)) + ((a1+a5)+(a3+a7)). */
@inline function reduce8(lo: v128, hi: v128): f32 {
  const s = f32x4.add(hi, lo);
  return (f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 2)) + (f32x4.extract_lane(s, 1) + f32x4.extract_lane(s, 3));
}

// ---- Q4_K ------------------------------------------------------------------------------------------

/** The integer scale sum of one Q4_K super-block against 256 activations at x, in lanes. */
@inline function q4kSums(blk: usize, x: usize): v128 {
  const s = v128.load8x8_u(blk, 8);
  const q = blk + 24;
  let w0 = v128.load(q), w1 = v128.load(q, 16);
  let acc = pairSum(x, lo4(w0), lo4(w1), hi4(w0), hi4(w1), pairScales(s, 0));
  w0 = v128.load(q, 32); w1 = v128.load(q, 48);
  acc = i32x4.add(acc, pairSum(x + 64, lo4(w0), lo4(w1), hi4(w0), hi4(w1), pairScales(s, 1)));
  w0 = v128.load(q, 64); w1 = v128.load(q, 80);
  acc = i32x4.add(acc, pairSum(x + 128, lo4(w0), lo4(w1), hi4(w0), hi4(w1), pairScales(s, 2)));
  w0 = v128.load(q, 96); w1 = v128.load(q, 112);
  return i32x4.add(acc, pairSum(x + 192, lo4(w0), lo4(w1), hi4(w0), hi4(w1), pairScales(s, 3)));
}

/** ggml_gemv_q4_K_8x8_q8_K for one row and one token. */
@inline function q4kGemv(wr: usize, xq: usize, xd: usize, xs: usize, nb: i32): f32 {
  let acc = f32x4.splat(0); // lane 0: scales, lane 1: mins
  for (let b = 0; b < nb; b++) {
    const blk = wr + <usize>b * Q4K_BYTES;
    const s = q4kSums(blk, xq + (<usize>b << 8));
    const m = i32x4.dot_i16x8_s(v128.load8x8_u(blk, 16), v128.load(xs + <usize>b * 48, 32));
    const dd = f32x4.mul(v128.load64_zero(blk), f32x4.splat(load<f32>(xd + (<usize>b << 2))));
    acc = fma4(f32x4.convert_i32x4_s(hsum2(s, m)), dd, acc);
  }
  return f32x4.extract_lane(acc, 0) - f32x4.extract_lane(acc, 1);
}

/**
 * ggml_gemm_q4_K_8x8_q8_K for one row and four tokens (lanes): per 64 values acc += f32(sum) * (d_w d_x),
 * per 64 values accm += f32(m_a bsum_a + m_b bsum_b) * (dmin_w d_x). Writes the four outputs.
 */
@inline function q4kGemm4(wr: usize, xq: usize, xd: usize, xs: usize, nb: i32, k: i32, y: usize, ldy: i32): void {
  let acc = f32x4.splat(0), accm = f32x4.splat(0);
  const xstride = <usize>k;
  const dstride = <usize>nb << 2;
  const sstride = <usize>nb * 48;
  for (let b = 0; b < nb; b++) {
    const blk = wr + <usize>b * Q4K_BYTES;
    const sc = v128.load8x8_u(blk, 8);
    const x0 = xq + (<usize>b << 8), x1 = x0 + xstride, x2 = x1 + xstride, x3 = x2 + xstride;
    const dp = xd + (<usize>b << 2);
    let dx = v128.load32_zero(dp);
    dx = v128.load32_lane(dp + dstride, dx, 1);
    dx = v128.load32_lane(dp + 2 * dstride, dx, 2);
    dx = v128.load32_lane(dp + 3 * dstride, dx, 3);
    const dd = f32x4.mul(f32x4.splat(load<f32>(blk)), dx);
    const dm = f32x4.mul(f32x4.splat(load<f32>(blk, 4)), dx);
    const q = blk + 24;
    for (let p = 0; p < 4; p++) {
      const w0 = v128.load(q + (<usize>p << 5)), w1 = v128.load(q + (<usize>p << 5), 16);
      const a0 = lo4(w0), a1 = lo4(w1), b0 = hi4(w0), b1 = hi4(w1);
      const s = pairScales(sc, p);
      const o = <usize>p << 6;
      const t = hsum4(pairSum(x0 + o, a0, a1, b0, b1, s), pairSum(x1 + o, a0, a1, b0, b1, s), pairSum(x2 + o, a0, a1, b0, b1, s), pairSum(x3 + o, a0, a1, b0, b1, s));
      acc = fma4(f32x4.convert_i32x4_s(t), dd, acc);
    }
    // The mins: lane p of each token's vector is m_2p bsum_2p + m_2p+1 bsum_2p+1; transpose to tokens.
    const mins = v128.load8x8_u(blk, 16);
    const sp = xs + <usize>b * 48 + 32;
    const m0 = i32x4.dot_i16x8_s(mins, v128.load(sp));
    const m1 = i32x4.dot_i16x8_s(mins, v128.load(sp + sstride));
    const m2 = i32x4.dot_i16x8_s(mins, v128.load(sp + 2 * sstride));
    const m3 = i32x4.dot_i16x8_s(mins, v128.load(sp + 3 * sstride));
    const t01l = i32x4.shuffle(m0, m1, 0, 4, 1, 5), t01h = i32x4.shuffle(m0, m1, 2, 6, 3, 7);
    const t23l = i32x4.shuffle(m2, m3, 0, 4, 1, 5), t23h = i32x4.shuffle(m2, m3, 2, 6, 3, 7);
    accm = fma4(f32x4.convert_i32x4_s(i32x4.shuffle(t01l, t23l, 0, 1, 4, 5)), dm, accm);
    accm = fma4(f32x4.convert_i32x4_s(i32x4.shuffle(t01l, t23l, 2, 3, 6, 7)), dm, accm);
    accm = fma4(f32x4.convert_i32x4_s(i32x4.shuffle(t01h, t23h, 0, 1, 4, 5)), dm, accm);
    accm = fma4(f32x4.convert_i32x4_s(i32x4.shuffle(t01h, t23h, 2, 3, 6, 7)), dm, accm);
  }
  const r = f32x4.sub(acc, accm);
  const ys = <usize>ldy << 2;
  store<f32>(y, f32x4.extract_lane(r, 0));
  store<f32>(y + ys, f32x4.extract_lane(r, 1));
  store<f32>(y + 2 * ys, f32x4.extract_lane(r, 2));
  store<f32>(y + 3 * ys, f32x4.extract_lane(r, 3));
}

/** ggml_vec_dot_q4_K_q8_K (AVX2) for one row and one token. */
@inline function q4kVecDot(wr: usize, xq: usize, xd: usize, xs: usize, nb: i32): f32 {
  let alo = f32x4.splat(0), ahi = f32x4.splat(0), am = f32x4.splat(0);
  for (let b = 0; b < nb; b++) {
    const blk = wr + <usize>b * Q4K_BYTES;
    const x = xq + (<usize>b << 8);
    const sc = v128.load8x8_u(blk, 8);
    const q = blk + 24;
    let slo = i32x4.splat(0), shi = i32x4.splat(0);
    for (let p = 0; p < 4; p++) {
      const w0 = v128.load(q + (<usize>p << 5)), w1 = v128.load(q + (<usize>p << 5), 16);
      const xp = x + (<usize>p << 6);
      const sa = splat16(sc, 2 * p), sb = splat16(sc, 2 * p + 1);
      slo = i32x4.add(slo, i32x4.dot_i16x8_s(dot16(v128.load(xp), lo4(w0)), sa));
      shi = i32x4.add(shi, i32x4.dot_i16x8_s(dot16(v128.load(xp, 16), lo4(w1)), sa));
      slo = i32x4.add(slo, i32x4.dot_i16x8_s(dot16(v128.load(xp, 32), hi4(w0)), sb));
      shi = i32x4.add(shi, i32x4.dot_i16x8_s(dot16(v128.load(xp, 48), hi4(w1)), sb));
    }
    const dxs = load<f32>(xd + (<usize>b << 2));
    const d = f32x4.splat(dxs * load<f32>(blk));
    const dmin = f32x4.splat(-dxs * load<f32>(blk, 4));
    const prod = i32x4.dot_i16x8_s(v128.load8x8_u(blk, 16), v128.load(xs + <usize>b * 48, 32));
    am = fma4(dmin, f32x4.convert_i32x4_s(prod), am);
    alo = fma4(d, f32x4.convert_i32x4_s(slo), alo);
    ahi = fma4(d, f32x4.convert_i32x4_s(shi), ahi);
  }
  const m = (f32x4.extract_lane(am, 0) + f32x4.extract_lane(am, 2)) + (f32x4.extract_lane(am, 1) + f32x4.extract_lane(am, 3));
  return reduce8(alo, ahi) + m;
}

/**
 * y[t][r] = W[r] . x[t] for rows [r0, r1) of a Q4_K matrix and nt tokens. order: 0 = ggml_vec_dot
 * (matrices llama.cpp does not repack), 1 = gemv for every token (stacked experts, or a repacked matrix
 * with at most three tokens), 2 = repacked: gemm for the first nt - nt % 4 tokens when nt > 3, gemv for
 * the rest.
 */
export function matmul_q4_K(w: usize, xq: usize, xd: usize, xs: usize, y: usize, k: i32, r0: i32, r1: i32, nt: i32, ldy: i32, order: i32): void {
  const nb = k >> 8;
  const rowBytes = <usize>nb * Q4K_BYTES;
  const ntg = order == 2 && nt > 3 ? nt & ~3 : 0;
  for (let r = r0; r < r1; r++) {
    const wr = w + <usize>r * rowBytes;
    for (let t = 0; t < ntg; t += 4) {
      q4kGemm4(wr, xq + <usize>t * k, xd + ((<usize>t * nb) << 2), xs + <usize>t * nb * 48, nb, k, y + ((<usize>t * ldy + r) << 2), ldy);
    }
    for (let t = ntg; t < nt; t++) {
      const xqt = xq + <usize>t * k, xdt = xd + ((<usize>t * nb) << 2), xst = xs + <usize>t * nb * 48;
      const v = order == 0 ? q4kVecDot(wr, xqt, xdt, xst, nb) : q4kGemv(wr, xqt, xdt, xst, nb);
      store<f32>(y + ((<usize>t * ldy + r) << 2), v);
    }
  }
}

// ---- Q5_K ------------------------------------------------------------------------------------------

/** Bit j of each qh byte moved to bit 4 (a 16-bit shift cannot carry a neighbour's bit into bit 4). */
@inline function hbit(qh: v128, j: i32): v128 {
  const m = i8x16.splat(16);
  if (j < 4) return v128.and(i16x8.shl(qh, 4 - j), m);
  if (j == 4) return v128.and(qh, m);
  return v128.and(i16x8.shr_u(qh, j - 4), m);
}

/** ggml_vec_dot_q5_K_q8_K (AVX2) for one row and one token. */
@inline function q5kVecDot(wr: usize, xq: usize, xd: usize, xs: usize, nb: i32): f32 {
  let alo = f32x4.splat(0), ahi = f32x4.splat(0);
  let summs: f32 = 0;
  for (let b = 0; b < nb; b++) {
    const blk = wr + <usize>b * Q5K_BYTES;
    const x = xq + (<usize>b << 8);
    const sc = v128.load8x8_u(blk, 8);
    const h0 = v128.load(blk, 24), h1 = v128.load(blk, 40);
    const q = blk + 56;
    let slo = i32x4.splat(0), shi = i32x4.splat(0);
    for (let p = 0; p < 4; p++) {
      const w0 = v128.load(q + (<usize>p << 5)), w1 = v128.load(q + (<usize>p << 5), 16);
      const xp = x + (<usize>p << 6);
      const sa = splat16(sc, 2 * p), sb = splat16(sc, 2 * p + 1);
      slo = i32x4.add(slo, i32x4.dot_i16x8_s(dot16(v128.load(xp), v128.or(lo4(w0), hbit(h0, 2 * p))), sa));
      shi = i32x4.add(shi, i32x4.dot_i16x8_s(dot16(v128.load(xp, 16), v128.or(lo4(w1), hbit(h1, 2 * p))), sa));
      slo = i32x4.add(slo, i32x4.dot_i16x8_s(dot16(v128.load(xp, 32), v128.or(hi4(w0), hbit(h0, 2 * p + 1))), sb));
      shi = i32x4.add(shi, i32x4.dot_i16x8_s(dot16(v128.load(xp, 48), v128.or(hi4(w1), hbit(h1, 2 * p + 1))), sb));
    }
    const dxs = load<f32>(xd + (<usize>b << 2));
    const d = f32x4.splat(dxs * load<f32>(blk));
    const dmin: f32 = -dxs * load<f32>(blk, 4);
    const prod = i32x4.dot_i16x8_s(v128.load8x8_u(blk, 16), v128.load(xs + <usize>b * 48, 32));
    const hs = (i32x4.extract_lane(prod, 0) + i32x4.extract_lane(prod, 1)) + (i32x4.extract_lane(prod, 2) + i32x4.extract_lane(prod, 3));
    summs = f32x4.extract_lane(fma4(f32x4.splat(dmin), f32x4.splat(<f32>hs), f32x4.splat(summs)), 0);
    alo = fma4(d, f32x4.convert_i32x4_s(slo), alo);
    ahi = fma4(d, f32x4.convert_i32x4_s(shi), ahi);
  }
  return reduce8(alo, ahi) + summs;
}

export function matmul_q5_K(w: usize, xq: usize, xd: usize, xs: usize, y: usize, k: i32, r0: i32, r1: i32, nt: i32, ldy: i32): void {
  const nb = k >> 8;
  const rowBytes = <usize>nb * Q5K_BYTES;
  for (let r = r0; r < r1; r++) {
    const wr = w + <usize>r * rowBytes;
    for (let t = 0; t < nt; t++) {
      const v = q5kVecDot(wr, xq + <usize>t * k, xd + ((<usize>t * nb) << 2), xs + <usize>t * nb * 48, nb);
      store<f32>(y + ((<usize>t * ldy + r) << 2), v);
    }
  }
}

// ---- Q6_K ------------------------------------------------------------------------------------------

/** ggml_vec_dot_q6_K_q8_K (AVX2) for one row and one token. */
@inline function q6kVecDot(wr: usize, xq: usize, xd: usize, xs: usize, nb: i32): f32 {
  let alo = f32x4.splat(0), ahi = f32x4.splat(0);
  const m15 = i8x16.splat(15), m48 = i8x16.splat(48);
  for (let b = 0; b < nb; b++) {
    const blk = wr + <usize>b * Q6K_BYTES;
    const x = xq + (<usize>b << 8);
    const sc8 = v128.load(blk, 4);
    const sl = i16x8.extend_low_i8x16_s(sc8), sh = i16x8.extend_high_i8x16_s(sc8);
    const sp = xs + <usize>b * 48;
    // 32 * (bsum_2l sc_2l + bsum_2l+1 sc_2l+1), subtracted from lane l.
    let slo = i32x4.neg(i32x4.shl(i32x4.dot_i16x8_s(v128.load(sp), sl), 5));
    let shi = i32x4.neg(i32x4.shl(i32x4.dot_i16x8_s(v128.load(sp, 16), sh), 5));
    for (let h = 0; h < 2; h++) {
      const ql = blk + 84 + (<usize>h << 6), qh = blk + 20 + (<usize>h << 5), xh = x + (<usize>h << 7);
      const s = h == 0 ? sl : sh;
      for (let g = 0; g < 2; g++) {
        const la = v128.load(ql + (<usize>g << 4)), lb = v128.load(ql + (<usize>g << 4), 32), hb = v128.load(qh + (<usize>g << 4));
        const v0 = v128.or(v128.and(la, m15), v128.and(i16x8.shl(hb, 4), m48));
        const v1 = v128.or(v128.and(lb, m15), v128.and(i16x8.shl(hb, 2), m48));
        const v2 = v128.or(hi4(la), v128.and(hb, m48));
        const v3 = v128.or(hi4(lb), v128.and(i16x8.shr_u(hb, 2), m48));
        const xg = xh + (<usize>g << 4);
        const d0 = i32x4.dot_i16x8_s(dot16(v128.load(xg), v0), splat16(s, g));
        const d1 = i32x4.dot_i16x8_s(dot16(v128.load(xg, 32), v1), splat16(s, 2 + g));
        const d2 = i32x4.dot_i16x8_s(dot16(v128.load(xg, 64), v2), splat16(s, 4 + g));
        const d3 = i32x4.dot_i16x8_s(dot16(v128.load(xg, 96), v3), splat16(s, 6 + g));
        const sum = i32x4.add(i32x4.add(d0, d1), i32x4.add(d2, d3));
        if (g == 0) slo = i32x4.add(slo, sum);
        else shi = i32x4.add(shi, sum);
      }
    }
    const d = f32x4.splat(load<f32>(xd + (<usize>b << 2)) * load<f32>(blk));
    alo = fma4(d, f32x4.convert_i32x4_s(slo), alo);
    ahi = fma4(d, f32x4.convert_i32x4_s(shi), ahi);
  }
  return reduce8(alo, ahi);
}

export function matmul_q6_K(w: usize, xq: usize, xd: usize, xs: usize, y: usize, k: i32, r0: i32, r1: i32, nt: i32, ldy: i32): void {
  const nb = k >> 8;
  const rowBytes = <usize>nb * Q6K_BYTES;
  for (let r = r0; r < r1; r++) {
    const wr = w + <usize>r * rowBytes;
    for (let t = 0; t < nt; t++) {
      const v = q6kVecDot(wr, xq + <usize>t * k, xd + ((<usize>t * nb) << 2), xs + <usize>t * nb * 48, nb);
      store<f32>(y + ((<usize>t * ldy + r) << 2), v);
    }
  }
}
