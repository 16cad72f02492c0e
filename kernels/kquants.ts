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
// All integer sums are exact (every i16 intermediate stays within range), so only the float steps need
// care: the relaxed build uses relaxed_madd (fused on x86) and the relaxed int8 dot (pmaddubsw) with the
// weights' 0..63 codes as its 7-bit operand; the plain build widens to i16 and emulates the FMA in f64.
// How the integers are grouped is free, so the codes are rearranged at load for the kernels, and
// quantize_q8_K writes a copy of the activations permuted the same way.
//
// Weight layouts (super-blocks of 256 values; the sections below give the code layouts):
//   Q4_K, 152 bytes: f32 d | f32 dmin | u8 sc[8] | u8 m[8] | codes[128]; rows in pairs, interleaved by block
//   Q5_K, 184 bytes: f32 d | f32 dmin | u8 sc[8] | u8 m[8] | H0[16] H1[16] | codes[128]
//   Q6_K, 212 bytes: f32 d | i8 sc[16] | H[64] | codes[128]
// Activations (Q8_K, from quantize_q8_K): int8 quants [nt][k], then the permuted copy [nt][k], f32 d
// [nt][k/256], and per 256 values 48 bytes of i16 sums (16 sums of 16 quants, then 8 sums of 32). The
// kernels read the permuted copy (at xq + nt * k) and the sums.
//
// V8 (Node 20) keeps at most 16 vector registers: kernels that process more rows or tokens at once than
// here spill, and fully unrolled loops get their loads hoisted and spill too.

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

/** hsum_float_8: ((a0+a4)+(a2+a6)) + ((a1+a5)+(a3+a7)). */
@inline function reduce8(lo: v128, hi: v128): f32 {
  const s = f32x4.add(hi, lo);
  return (f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 2)) + (f32x4.extract_lane(s, 1) + f32x4.extract_lane(s, 3));
}

// ---- Q4_K ------------------------------------------------------------------------------------------
//
// Layout of a super-block (152 bytes): f32 d | f32 dmin | u8 sc[8] | u8 m[8] | codes[128]. The codes are
// stored so that the i16 lane j of every vector belongs to sub-block j: byte-vector u (0..7) holds in
// bytes 2j, 2j+1 values 2u, 2u+1 of sub-block j (low nibbles) and values 16+2u, 17+2u (high nibbles).
// The activations get a copy permuted the same way (quantize_q8_K), X_v holding values 2v, 2v+1 of every
// sub-block (v = 0..15). The relaxed dots of the eight low-nibble vectors then add up in i16 (16 products
// of at most 15*128 per lane) to half of each sub-block's sum, the high ones to the other half, and one
// i16 dot with the scales [s0..s7] of each gives, in i32 lane p, s_2p D_2p + s_2p+1 D_2p+1: the sum of
// pair p, which is the gemm's unit. ggml_vec_dot's lane n (values 4n..4n+3) is vectors 2n and 2n+1.
// Rows are stored in pairs interleaved block by block (an odd last row alone), so that the two-row gemv
// reads one stream.

/** [P0 P1 P2 P3]: the scaled sums of the four sub-block pairs of the super-block at blk against x. */
@inline function q4kPairs(blk: usize, x: usize): v128 {
  const c = blk + 24;
  let w = v128.load(c);
  let a = dot16(v128.load(x), lo4(w));
  let b = dot16(v128.load(x, 128), hi4(w));
  w = v128.load(c, 16);
  a = i16x8.add(a, dot16(v128.load(x, 16), lo4(w)));
  b = i16x8.add(b, dot16(v128.load(x, 144), hi4(w)));
  w = v128.load(c, 32);
  a = i16x8.add(a, dot16(v128.load(x, 32), lo4(w)));
  b = i16x8.add(b, dot16(v128.load(x, 160), hi4(w)));
  w = v128.load(c, 48);
  a = i16x8.add(a, dot16(v128.load(x, 48), lo4(w)));
  b = i16x8.add(b, dot16(v128.load(x, 176), hi4(w)));
  w = v128.load(c, 64);
  a = i16x8.add(a, dot16(v128.load(x, 64), lo4(w)));
  b = i16x8.add(b, dot16(v128.load(x, 192), hi4(w)));
  w = v128.load(c, 80);
  a = i16x8.add(a, dot16(v128.load(x, 80), lo4(w)));
  b = i16x8.add(b, dot16(v128.load(x, 208), hi4(w)));
  w = v128.load(c, 96);
  a = i16x8.add(a, dot16(v128.load(x, 96), lo4(w)));
  b = i16x8.add(b, dot16(v128.load(x, 224), hi4(w)));
  w = v128.load(c, 112);
  a = i16x8.add(a, dot16(v128.load(x, 112), lo4(w)));
  b = i16x8.add(b, dot16(v128.load(x, 240), hi4(w)));
  const sc = v128.load8x8_u(blk, 8);
  return i32x4.add(i32x4.dot_i16x8_s(a, sc), i32x4.dot_i16x8_s(b, sc));
}

/** (a0+a2, b0+b2, a1+a3, b1+b3): half of a horizontal sum of two vectors. */
@inline function pairsum(a: v128, b: v128): v128 {
  return i32x4.add(i32x4.shuffle(a, b, 0, 4, 1, 5), i32x4.shuffle(a, b, 2, 6, 3, 7));
}

/** The other half: lanes (sum a, sum b, sum c, sum d) from pairsum(a, b) and pairsum(c, d). */
@inline function pairsum2(ab: v128, cd: v128): v128 {
  return i32x4.add(i32x4.shuffle(ab, cd, 0, 1, 4, 5), i32x4.shuffle(ab, cd, 2, 3, 6, 7));
}

/** [sum(a), sum(b), sum(a), sum(b)]. */
@inline function hsum2(a: v128, b: v128): v128 {
  const t = i32x4.add(i32x4.shuffle(a, b, 0, 4, 1, 5), i32x4.shuffle(a, b, 2, 6, 3, 7));
  return i32x4.add(t, i32x4.shuffle(t, t, 2, 3, 0, 1));
}

/** [sum(a), sum(b), sum(c), sum(d)]. */
@inline function hsum4(a: v128, b: v128, c: v128, d: v128): v128 {
  const ab = i32x4.add(i32x4.shuffle(a, b, 0, 4, 1, 5), i32x4.shuffle(a, b, 2, 6, 3, 7)); // a02 b02 a13 b13
  const cd = i32x4.add(i32x4.shuffle(c, d, 0, 4, 1, 5), i32x4.shuffle(c, d, 2, 6, 3, 7));
  return i32x4.add(i32x4.shuffle(ab, cd, 0, 1, 4, 5), i32x4.shuffle(ab, cd, 2, 3, 6, 7));
}

/**
 * acc after four fused multiply-adds of the columns of the 4x4 matrix with rows a, b, c, d (as f32), each
 * times dd, in column order: per-pair accumulation with tokens in lanes.
 */
@inline function fmaColumns(a: v128, b: v128, c: v128, d: v128, dd: v128, acc: v128): v128 {
  const abl = i32x4.shuffle(a, b, 0, 4, 1, 5), abh = i32x4.shuffle(a, b, 2, 6, 3, 7);
  const cdl = i32x4.shuffle(c, d, 0, 4, 1, 5), cdh = i32x4.shuffle(c, d, 2, 6, 3, 7);
  acc = fma4(f32x4.convert_i32x4_s(i32x4.shuffle(abl, cdl, 0, 1, 4, 5)), dd, acc);
  acc = fma4(f32x4.convert_i32x4_s(i32x4.shuffle(abl, cdl, 2, 3, 6, 7)), dd, acc);
  acc = fma4(f32x4.convert_i32x4_s(i32x4.shuffle(abh, cdh, 0, 1, 4, 5)), dd, acc);
  return fma4(f32x4.convert_i32x4_s(i32x4.shuffle(abh, cdh, 2, 3, 6, 7)), dd, acc);
}

/** f32 d_x of four tokens (stride in bytes). */
@inline function load4(p: usize, stride: usize): v128 {
  let v = v128.load32_zero(p);
  v = v128.load32_lane(p + stride, v, 1);
  v = v128.load32_lane(p + 2 * stride, v, 2);
  return v128.load32_lane(p + 3 * stride, v, 3);
}

@inline function store4(r: v128, y: usize, ldy: i32): void {
  const ys = <usize>ldy << 2;
  store<f32>(y, f32x4.extract_lane(r, 0));
  store<f32>(y + ys, f32x4.extract_lane(r, 1));
  store<f32>(y + 2 * ys, f32x4.extract_lane(r, 2));
  store<f32>(y + 3 * ys, f32x4.extract_lane(r, 3));
}

/** ggml_gemv_q4_K_8x8_q8_K for one row and one token: one FMA per 256 values for the scales, one for the mins. */
@inline function q4kGemv(wr: usize, bs: usize, xp: usize, xd: usize, xs: usize, nb: i32): f32 {
  let acc = f32x4.splat(0); // lane 0: scales, lane 1: mins
  for (let b = 0; b < nb; b++) {
    const blk = wr + <usize>b * bs;
    const s = q4kPairs(blk, xp + (<usize>b << 8));
    const m = i32x4.dot_i16x8_s(v128.load8x8_u(blk, 16), v128.load(xs + <usize>b * 48, 32));
    const dd = f32x4.mul(v128.load64_zero(blk), f32x4.splat(load<f32>(xd + (<usize>b << 2))));
    acc = fma4(f32x4.convert_i32x4_s(hsum2(s, m)), dd, acc);
  }
  return f32x4.extract_lane(acc, 0) - f32x4.extract_lane(acc, 1);
}

/** ggml_gemv_q4_K_8x8_q8_K for a pair of rows (interleaved by block at wr) and one token: the activations are loaded once. */
@inline function q4kGemvRows2(wr: usize, xp: usize, xd: usize, xs: usize, nb: i32, y: usize): void {
  let acc = f32x4.splat(0); // lanes: row 0 scales, row 0 mins, row 1 scales, row 1 mins
  for (let b = 0; b < nb; b++) {
    const k0 = wr + <usize>b * (2 * Q4K_BYTES), k1 = k0 + Q4K_BYTES;
    const c0 = k0 + 24, c1 = k1 + 24, x = xp + (<usize>b << 8);
    let a0 = i16x8.splat(0), b0 = a0, a1 = a0, b1 = a0;
    // (A loop: fully unrolled, V8 hoists every load and runs out of registers.)
    for (let v = 0; v < 8; v++) {
      const o = <usize>v << 4;
      const xa = v128.load(x + o), xb = v128.load(x + o, 128);
      const w0 = v128.load(c0 + o), w1 = v128.load(c1 + o);
      a0 = i16x8.add(a0, dot16(xa, lo4(w0)));
      b0 = i16x8.add(b0, dot16(xb, hi4(w0)));
      a1 = i16x8.add(a1, dot16(xa, lo4(w1)));
      b1 = i16x8.add(b1, dot16(xb, hi4(w1)));
    }
    const sc0 = v128.load8x8_u(k0, 8), sc1 = v128.load8x8_u(k1, 8);
    const s0 = i32x4.add(i32x4.dot_i16x8_s(a0, sc0), i32x4.dot_i16x8_s(b0, sc0));
    const s1 = i32x4.add(i32x4.dot_i16x8_s(a1, sc1), i32x4.dot_i16x8_s(b1, sc1));
    const bs = v128.load(xs + <usize>b * 48, 32);
    const m0 = i32x4.dot_i16x8_s(v128.load8x8_u(k0, 16), bs);
    const m1 = i32x4.dot_i16x8_s(v128.load8x8_u(k1, 16), bs);
    const dd = f32x4.mul(i32x4.shuffle(v128.load64_zero(k0), v128.load64_zero(k1), 0, 1, 4, 5), f32x4.splat(load<f32>(xd + (<usize>b << 2))));
    acc = fma4(f32x4.convert_i32x4_s(hsum4(s0, m0, s1, m1)), dd, acc);
  }
  store<f32>(y, f32x4.extract_lane(acc, 0) - f32x4.extract_lane(acc, 1));
  store<f32>(y, f32x4.extract_lane(acc, 2) - f32x4.extract_lane(acc, 3), 4);
}

// q4kTwo's result for its second token (a function returns one value; inlined, this is a register or a
// slot of the instance).
let second: v128 = i32x4.splat(0);

/**
 * [P0 P1 P2 P3] of the super-block at blk for two tokens (permuted quants at xa and xb): returned for the
 * first, left in \`second\` for the second. Each extracted code vector is used twice; two tokens keep all
 * the accumulators in registers.
 */
@inline function q4kTwo(blk: usize, xa: usize, xb: usize): v128 {
  const c = blk + 24;
  let a0 = i16x8.splat(0), b0 = a0, a1 = a0, b1 = a0;
  for (let v = 0; v < 8; v++) {
    const o = <usize>v << 4;
    const w = v128.load(c + o);
    const l = lo4(w), h = hi4(w);
    a0 = i16x8.add(a0, dot16(v128.load(xa + o), l));
    b0 = i16x8.add(b0, dot16(v128.load(xa + o, 128), h));
    a1 = i16x8.add(a1, dot16(v128.load(xb + o), l));
    b1 = i16x8.add(b1, dot16(v128.load(xb + o, 128), h));
  }
  const sc = v128.load8x8_u(blk, 8);
  second = i32x4.add(i32x4.dot_i16x8_s(a1, sc), i32x4.dot_i16x8_s(b1, sc));
  return i32x4.add(i32x4.dot_i16x8_s(a0, sc), i32x4.dot_i16x8_s(b0, sc));
}

/**
 * Four tokens against the super-block at blk (tokens' permuted quants at x0 + t * xs). gemm: returns acc
 * after the four per-pair FMAs with dd (tokens in lanes); else the per-token totals (tokens in lanes).
 */
@inline function q4kBlock4(blk: usize, x0: usize, xs: usize, gemm: bool, dd: v128, acc: v128): v128 {
  const p0 = q4kTwo(blk, x0, x0 + xs);
  const p1 = second;
  const p2 = q4kTwo(blk, x0 + 2 * xs, x0 + 3 * xs);
  const p3 = second;
  if (!gemm) return hsum4(p0, p1, p2, p3);
  return fmaColumns(p0, p1, p2, p3, dd, acc);
}

/** ggml_gemv_q4_K_8x8_q8_K for one row and four tokens (lanes of the accumulators), writing the four outputs. */
@inline function q4kGemv4(wr: usize, bs: usize, xp: usize, xd: usize, xs: usize, nb: i32, k: i32, y: usize, ldy: i32): void {
  let acc = f32x4.splat(0), accm = f32x4.splat(0);
  const dstride = <usize>nb << 2, sstride = <usize>nb * 48;
  for (let b = 0; b < nb; b++) {
    const blk = wr + <usize>b * bs;
    const s = q4kBlock4(blk, xp + (<usize>b << 8), <usize>k, false, acc, acc);
    const mins = v128.load8x8_u(blk, 16);
    const sp = xs + <usize>b * 48 + 32;
    const m = hsum4(i32x4.dot_i16x8_s(mins, v128.load(sp)), i32x4.dot_i16x8_s(mins, v128.load(sp + sstride)),
      i32x4.dot_i16x8_s(mins, v128.load(sp + 2 * sstride)), i32x4.dot_i16x8_s(mins, v128.load(sp + 3 * sstride)));
    const dx = load4(xd + (<usize>b << 2), dstride);
    acc = fma4(f32x4.convert_i32x4_s(s), f32x4.mul(f32x4.splat(load<f32>(blk)), dx), acc);
    accm = fma4(f32x4.convert_i32x4_s(m), f32x4.mul(f32x4.splat(load<f32>(blk, 4)), dx), accm);
  }
  store4(f32x4.sub(acc, accm), y, ldy);
}

/**
 * ggml_gemm_q4_K_8x8_q8_K for one row and four tokens (lanes): per 64 values acc += f32(sum) * (d_w d_x),
 * per 64 values accm += f32(m_a bsum_a + m_b bsum_b) * (dmin_w d_x). Writes the four outputs.
 */
@inline function q4kGemm4(wr: usize, bs: usize, xp: usize, xd: usize, xs: usize, nb: i32, k: i32, y: usize, ldy: i32): void {
  let acc = f32x4.splat(0), accm = f32x4.splat(0);
  const dstride = <usize>nb << 2, sstride = <usize>nb * 48;
  for (let b = 0; b < nb; b++) {
    const blk = wr + <usize>b * bs;
    const dx = load4(xd + (<usize>b << 2), dstride);
    acc = q4kBlock4(blk, xp + (<usize>b << 8), <usize>k, true, f32x4.mul(f32x4.splat(load<f32>(blk)), dx), acc);
    // The mins: lane p of each token's vector is m_2p bsum_2p + m_2p+1 bsum_2p+1.
    const mins = v128.load8x8_u(blk, 16);
    const sp = xs + <usize>b * 48 + 32;
    accm = fmaColumns(i32x4.dot_i16x8_s(mins, v128.load(sp)), i32x4.dot_i16x8_s(mins, v128.load(sp + sstride)),
      i32x4.dot_i16x8_s(mins, v128.load(sp + 2 * sstride)), i32x4.dot_i16x8_s(mins, v128.load(sp + 3 * sstride)),
      f32x4.mul(f32x4.splat(load<f32>(blk, 4)), dx), accm);
  }
  store4(f32x4.sub(acc, accm), y, ldy);
}

/** Code vector pair n (code vectors 2n, 2n+1 of one half) scaled: ggml_vec_dot lane n, spread over i32 lanes. */
@inline function q4lane(c: usize, x: usize, sc: v128, u: i32, hi: bool): v128 {
  const w0 = v128.load(c + (<usize>u << 4)), w1 = v128.load(c + (<usize>u << 4), 16);
  const xo = x + (hi ? 128 : 0) + (<usize>u << 4);
  return i32x4.dot_i16x8_s(i16x8.add(dot16(v128.load(xo), hi ? hi4(w0) : lo4(w0)), dot16(v128.load(xo, 16), hi ? hi4(w1) : lo4(w1))), sc);
}

/** Lanes 0..3 (hi = false) or 4..7 of ggml_vec_dot_q4_K's integer sums for the super-block at blk. */
@inline function q4half(blk: usize, x: usize, sc: v128, hi: bool): v128 {
  const c = blk + 24;
  const ab = pairsum(q4lane(c, x, sc, 0, hi), q4lane(c, x, sc, 2, hi));
  return pairsum2(ab, pairsum(q4lane(c, x, sc, 4, hi), q4lane(c, x, sc, 6, hi)));
}

/**
 * ggml_vec_dot_q4_K_q8_K (AVX2) for one row and one token. Its lane n sums, over the eight sub-blocks j,
 * sc_j times the dot of values 4n..4n+3 of sub-block j: code vectors 2n and 2n+1, scaled, added up.
 */
@inline function q4kVecDot(wr: usize, bs: usize, xp: usize, xd: usize, xs: usize, nb: i32): f32 {
  let alo = f32x4.splat(0), ahi = f32x4.splat(0), am = f32x4.splat(0);
  for (let b = 0; b < nb; b++) {
    const blk = wr + <usize>b * bs;
    const x = xp + (<usize>b << 8);
    const sc = v128.load8x8_u(blk, 8);
    const dxs = load<f32>(xd + (<usize>b << 2));
    const d = f32x4.splat(dxs * load<f32>(blk));
    alo = fma4(d, f32x4.convert_i32x4_s(q4half(blk, x, sc, false)), alo);
    ahi = fma4(d, f32x4.convert_i32x4_s(q4half(blk, x, sc, true)), ahi);
    const dmin = f32x4.splat(-dxs * load<f32>(blk, 4));
    const prod = i32x4.dot_i16x8_s(v128.load8x8_u(blk, 16), v128.load(xs + <usize>b * 48, 32));
    am = fma4(dmin, f32x4.convert_i32x4_s(prod), am);
  }
  const m = (f32x4.extract_lane(am, 0) + f32x4.extract_lane(am, 2)) + (f32x4.extract_lane(am, 1) + f32x4.extract_lane(am, 3));
  return reduce8(alo, ahi) + m;
}

/**
 * y[t][r] = W[r] . x[t] for rows [r0, r1) of a Q4_K matrix of `rows` rows and nt tokens. order: 0 =
 * ggml_vec_dot (matrices llama.cpp does not repack), 1 = gemv for every token (stacked experts, or a
 * repacked matrix with at most three tokens), 2 = repacked: gemm for the first nt - nt % 4 tokens when
 * nt > 3, gemv for the rest. Rows are stored in pairs interleaved block by block (an odd last row alone),
 * so that the two-row gemv reads one stream. Reads the permuted copy of the quants (at xq + nt * k).
 */
export function matmul_q4_K(w: usize, xq: usize, xd: usize, xs: usize, y: usize, k: i32, r0: i32, r1: i32, nt: i32, ldy: i32, order: i32, rows: i32): void {
  const nb = k >> 8;
  const rowBytes = <usize>nb * Q4K_BYTES;
  const paired = rows & ~1;
  const xp = xq + <usize>nt * k;
  const n4 = order == 0 ? 0 : nt & ~3;
  const gemm = order == 2 && nt > 3;
  let r = r0;
  if (nt == 1 && order != 0) {
    if ((r & 1) != 0 && r < r1) {
      store<f32>(y + (<usize>r << 2), q4kGemv(w + <usize>(r - 1) * rowBytes + Q4K_BYTES, 2 * Q4K_BYTES, xp, xd, xs, nb));
      r++;
    }
    const pairEnd = min(r1, paired) & ~1;
    for (; r < pairEnd; r += 2) q4kGemvRows2(w + <usize>r * rowBytes, xp, xd, xs, nb, y + (<usize>r << 2));
  }
  for (; r < r1; r++) {
    // Row r's first block and the stride between its blocks.
    const lone = r >= paired;
    const wr = lone ? w + <usize>r * rowBytes : w + <usize>(r & ~1) * rowBytes + <usize>(r & 1 ? Q4K_BYTES : 0);
    const bs = <usize>(lone ? Q4K_BYTES : 2 * Q4K_BYTES);
    for (let t = 0; t < n4; t += 4) {
      const xpt = xp + <usize>t * k, xdt = xd + ((<usize>t * nb) << 2), xst = xs + <usize>t * nb * 48, yt = y + ((<usize>t * ldy + r) << 2);
      if (gemm) q4kGemm4(wr, bs, xpt, xdt, xst, nb, k, yt, ldy);
      else q4kGemv4(wr, bs, xpt, xdt, xst, nb, k, yt, ldy);
    }
    for (let t = n4; t < nt; t++) {
      const xpt = xp + <usize>t * k, xdt = xd + ((<usize>t * nb) << 2), xst = xs + <usize>t * nb * 48;
      const v = order == 0 ? q4kVecDot(wr, bs, xpt, xdt, xst, nb) : q4kGemv(wr, bs, xpt, xdt, xst, nb);
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

// Q5_K super-blocks (184 bytes): f32 d | f32 dmin | u8 sc[8] | u8 m[8] | H0[16] | H1[16] | codes[128]: the low
// four bits of the codes laid out as Q4_K's, and bit u of byte 2j + i of H0 (H1) is the fifth bit of
// value 2u + i (16 + 2u + i) of sub-block j. ggml_vec_dot's lane n is code vectors 2n and 2n+1.

/** Code vector u (0..7) of the low (hi = false) or high half of a Q5_K super-block at blk: 16 codes 0..31. */
@inline function q5code(blk: usize, u: i32, hi: bool): v128 {
  const w = v128.load(blk + 56 + (<usize>u << 4));
  if (hi) return v128.or(hi4(w), hbit(v128.load(blk, 40), u));
  return v128.or(lo4(w), hbit(v128.load(blk, 24), u));
}


/** ggml_vec_dot lane n = code vectors 2n, 2n+1 of one half, scaled: an i32x4 whose lanes add up to it. */
@inline function q5lane(blk: usize, x: usize, sc: v128, u: i32, hi: bool): v128 {
  const xo = x + (hi ? 128 : 0) + (<usize>u << 4);
  return i32x4.dot_i16x8_s(i16x8.add(dot16(v128.load(xo), q5code(blk, u, hi)), dot16(v128.load(xo, 16), q5code(blk, u + 1, hi))), sc);
}

/** Lanes 0..3 (hi = false) or 4..7 of ggml_vec_dot_q5_K's integer sums for the super-block at blk. */
@inline function q5half(blk: usize, x: usize, sc: v128, hi: bool): v128 {
  const ab = pairsum(q5lane(blk, x, sc, 0, hi), q5lane(blk, x, sc, 2, hi));
  return pairsum2(ab, pairsum(q5lane(blk, x, sc, 4, hi), q5lane(blk, x, sc, 6, hi)));
}

/**
 * ggml_vec_dot_q5_K_q8_K (AVX2) for one row and one or two tokens (permuted quants at x0 and x0 + xs),
 * writing the results to y and y + ys.
 */
@inline function q5kVecDot(wr: usize, xp: usize, xd: usize, xs: usize, nb: i32, two: bool, xstride: usize, dstride: usize, sstride: usize, y: usize, ys: usize): void {
  let alo = f32x4.splat(0), ahi = alo, blo = alo, bhi = alo, summs = alo; // summs: lane t
  for (let b = 0; b < nb; b++) {
    const blk = wr + <usize>b * Q5K_BYTES;
    const x = xp + (<usize>b << 8), x1 = x + xstride;
    const sc = v128.load8x8_u(blk, 8);
    // Lanes 0..3 (low halves of the sub-blocks) and 4..7 (high halves), for one or two tokens.
    const lo = q5half(blk, x, sc, false), hiv = q5half(blk, x, sc, true);
    let lo1 = lo, hi1 = hiv;
    if (two) { lo1 = q5half(blk, x1, sc, false); hi1 = q5half(blk, x1, sc, true); }
    const dxs = load<f32>(xd + (<usize>b << 2));
    let dv = f32x4.splat(dxs);
    if (two) dv = f32x4.replace_lane(dv, 1, load<f32>(xd + (<usize>b << 2) + dstride));
    const dd = f32x4.mul(dv, f32x4.splat(load<f32>(blk)));
    const dm = f32x4.mul(f32x4.neg(dv), f32x4.splat(load<f32>(blk, 4)));
    const mins = v128.load8x8_u(blk, 16);
    const m0 = i32x4.dot_i16x8_s(mins, v128.load(xs + <usize>b * 48, 32));
    const m1 = two ? i32x4.dot_i16x8_s(mins, v128.load(xs + <usize>b * 48 + sstride, 32)) : m0;
    // (p0+p1)+(p2+p3) per token, in lanes 0 and 1.
    const h = pairsum(m0, m1);
    summs = fma4(dm, f32x4.convert_i32x4_s(i32x4.add(h, i32x4.shuffle(h, h, 2, 3, 0, 1))), summs);
    alo = fma4(f32x4.splat(f32x4.extract_lane(dd, 0)), f32x4.convert_i32x4_s(lo), alo);
    ahi = fma4(f32x4.splat(f32x4.extract_lane(dd, 0)), f32x4.convert_i32x4_s(hiv), ahi);
    if (two) {
      blo = fma4(f32x4.splat(f32x4.extract_lane(dd, 1)), f32x4.convert_i32x4_s(lo1), blo);
      bhi = fma4(f32x4.splat(f32x4.extract_lane(dd, 1)), f32x4.convert_i32x4_s(hi1), bhi);
    }
  }
  store<f32>(y, reduce8(alo, ahi) + f32x4.extract_lane(summs, 0));
  if (two) store<f32>(y + ys, reduce8(blo, bhi) + f32x4.extract_lane(summs, 1));
}

export function matmul_q5_K(w: usize, xq: usize, xd: usize, xs: usize, y: usize, k: i32, r0: i32, r1: i32, nt: i32, ldy: i32): void {
  const nb = k >> 8;
  const rowBytes = <usize>nb * Q5K_BYTES;
  const xp = xq + <usize>nt * k;
  const ys = <usize>ldy << 2;
  for (let r = r0; r < r1; r++) {
    const wr = w + <usize>r * rowBytes;
    let t = 0;
    for (; t + 1 < nt; t += 2) {
      q5kVecDot(wr, xp + <usize>t * k, xd + ((<usize>t * nb) << 2), xs + <usize>t * nb * 48, nb, true, <usize>k, <usize>nb << 2, <usize>nb * 48, y + ((<usize>t * ldy + r) << 2), ys);
    }
    if (t < nt) q5kVecDot(wr, xp + <usize>t * k, xd + ((<usize>t * nb) << 2), xs + <usize>t * nb * 48, nb, false, 0, 0, 0, y + ((<usize>t * ldy + r) << 2), ys);
  }
}

// ---- Q6_K ------------------------------------------------------------------------------------------

// Q6_K super-blocks (212 bytes): f32 d | i8 sc[16] | H[64] | codes[128]: the low four bits of the codes
// laid out as Q4_K's (code vector v < 8: low nibbles of byte-vector v, values 2v, 2v+1 of each 32-value
// chunk; v >= 8: high nibbles of byte-vector v - 8, values 16 + ...), and bits 2m, 2m+1 of byte 2j + i of
// the 16-byte H_k holding the top two bits of code vector 4k + m. ggml_vec_dot's lane n is code vectors
// 2n and 2n+1, scaled by sc[2c] (n < 4) or sc[2c+1] for chunk c: i16 lane c of the even or odd scales.

/** Code vector v (0..15) of the Q6_K super-block at blk: 16 codes 0..63. */
@inline function q6code(blk: usize, v: i32): v128 {
  const w = v128.load(blk + 84 + (<usize>(v & 7) << 4));
  const h = v128.load(blk + 20 + (<usize>(v >> 2) << 4));
  const m = v & 3;
  const top = m == 0 ? i16x8.shl(h, 4) : m == 1 ? i16x8.shl(h, 2) : m == 2 ? h : i16x8.shr_u(h, 2);
  return v128.or(v < 8 ? lo4(w) : hi4(w), v128.and(top, i8x16.splat(48)));
}

/** ggml_vec_dot lane n of a Q6_K super-block: code vectors 2n, 2n+1 scaled, an i32x4 adding up to it. */
@inline function q6lane(blk: usize, x: usize, sc: v128, n: i32): v128 {
  const xo = x + (<usize>n << 5);
  return i32x4.dot_i16x8_s(i16x8.add(dot16(v128.load(xo), q6code(blk, 2 * n)), dot16(v128.load(xo, 16), q6code(blk, 2 * n + 1))), sc);
}

/** Lanes 0..3 (hi = false) or 4..7 of ggml_vec_dot_q6_K's integer sums, before the bsum term. */
@inline function q6half(blk: usize, x: usize, sc: v128, hi: bool): v128 {
  const n = hi ? 4 : 0;
  const ab = pairsum(q6lane(blk, x, sc, n), q6lane(blk, x, sc, n + 1));
  return pairsum2(ab, pairsum(q6lane(blk, x, sc, n + 2), q6lane(blk, x, sc, n + 3)));
}

/**
 * ggml_vec_dot_q6_K_q8_K (AVX2) for one row and one or two tokens (permuted quants at xp and xp + xstride),
 * writing the results to y and y + ys.
 */
@inline function q6kVecDot(wr: usize, xp: usize, xd: usize, xs: usize, nb: i32, two: bool, xstride: usize, dstride: usize, sstride: usize, y: usize, ys: usize): void {
  let alo = f32x4.splat(0), ahi = alo, blo = alo, bhi = alo;
  for (let b = 0; b < nb; b++) {
    const blk = wr + <usize>b * Q6K_BYTES;
    const x = xp + (<usize>b << 8);
    const sc8 = v128.load(blk, 4);
    const sl = i16x8.extend_low_i8x16_s(sc8), sh = i16x8.extend_high_i8x16_s(sc8);
    const even = i16x8.extend_low_i8x16_s(i8x16.shuffle(sc8, sc8, 0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15));
    const odd = i16x8.extend_high_i8x16_s(i8x16.shuffle(sc8, sc8, 0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15));
    // 32 * (bsum_2l sc_2l + bsum_2l+1 sc_2l+1) is subtracted from lane l.
    const sp = xs + <usize>b * 48;
    let lo = i32x4.sub(q6half(blk, x, even, false), i32x4.shl(i32x4.dot_i16x8_s(v128.load(sp), sl), 5));
    let hi = i32x4.sub(q6half(blk, x, odd, true), i32x4.shl(i32x4.dot_i16x8_s(v128.load(sp, 16), sh), 5));
    const d = f32x4.splat(load<f32>(xd + (<usize>b << 2)) * load<f32>(blk));
    alo = fma4(d, f32x4.convert_i32x4_s(lo), alo);
    ahi = fma4(d, f32x4.convert_i32x4_s(hi), ahi);
    if (two) {
      const x1 = x + xstride, sp1 = sp + sstride;
      lo = i32x4.sub(q6half(blk, x1, even, false), i32x4.shl(i32x4.dot_i16x8_s(v128.load(sp1), sl), 5));
      hi = i32x4.sub(q6half(blk, x1, odd, true), i32x4.shl(i32x4.dot_i16x8_s(v128.load(sp1, 16), sh), 5));
      const d1 = f32x4.splat(load<f32>(xd + (<usize>b << 2) + dstride) * load<f32>(blk));
      blo = fma4(d1, f32x4.convert_i32x4_s(lo), blo);
      bhi = fma4(d1, f32x4.convert_i32x4_s(hi), bhi);
    }
  }
  store<f32>(y, reduce8(alo, ahi));
  if (two) store<f32>(y + ys, reduce8(blo, bhi));
}

export function matmul_q6_K(w: usize, xq: usize, xd: usize, xs: usize, y: usize, k: i32, r0: i32, r1: i32, nt: i32, ldy: i32): void {
  const nb = k >> 8;
  const rowBytes = <usize>nb * Q6K_BYTES;
  const xp = xq + <usize>nt * k;
  const ys = <usize>ldy << 2;
  for (let r = r0; r < r1; r++) {
    const wr = w + <usize>r * rowBytes;
    let t = 0;
    for (; t + 1 < nt; t += 2) {
      q6kVecDot(wr, xp + <usize>t * k, xd + ((<usize>t * nb) << 2), xs + <usize>t * nb * 48, nb, true, <usize>k, <usize>nb << 2, <usize>nb * 48, y + ((<usize>t * ldy + r) << 2), ys);
    }
    if (t < nt) q6kVecDot(wr, xp + <usize>t * k, xd + ((<usize>t * nb) << 2), xs + <usize>t * nb * 48, nb, false, 0, 0, 0, y + ((<usize>t * ldy + r) << 2), ys);
  }
}
