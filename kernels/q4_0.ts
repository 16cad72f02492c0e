import { fma4 } from './ggml-order';

// Q4_0 weights times Q8_0 activations, in the two orders llama.cpp's x86 CPU backend uses.
//
// llama.cpp repacks a Q4_0 matrix whose row count is a multiple of 8 into its q4_0_8x8 layout
// (ggml-cpu/repack.cpp; with AVX2, stacked experts included) and multiplies it with
// ggml_gemv_q4_0_8x8_q8_0 (fewer than 4 tokens, and always for experts) or ggml_gemm_q4_0_8x8_q8_0. Both
// compute, for each output, the block's whole integer dot product and add it with one fused multiply-add:
//   acc = fma((float)isum_b, d_w[b] * d_x[b], acc)   for b = 0, 1, ..., starting from acc = 0,
// so the number of tokens does not change the result. Other matrices go through ggml_vec_dot_q4_0_q8_0
// (or tinyBLAS, same arithmetic), which accumulates eight lanes of four-element sums per block and reduces
// them at the end, exactly like the Q8_0 product.
//
// Activations are llama.cpp's Q8_0 (int8 quants xq[t][k], f32 scales xd[t][k/32]); row r of the output for
// token t goes to y[t * ldy + r]. The thread pool splits a product by the range arguments: rows r0..r1 for
// matmul_q4_0, (row, token) units u0..u1 for matmul_q4_0x8.

// ---- vec_dot order: qs u8[rows][k/2] (GGUF nibble order per block), d f32[rows][k/32] -------------------

@inline function reduce8(lo: v128, hi: v128): f32 {
  const s = f32x4.add(lo, hi);
  return (f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 2)) + (f32x4.extract_lane(s, 1) + f32x4.extract_lane(s, 3));
}

/** Four-element integer sums of nibbles (0..15, minus 8) times 16 int8 activations: i32 lanes 0..3. */
@inline function laneSums(nib: v128, x: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    // The relaxed dot takes the nibbles as its 7-bit operand; subtract 8 * (sum of the four activations).
    const d = i32x4.extadd_pairwise_i16x8_s(i16x8.relaxed_dot_i8x16_i7x16_s(x, nib));
    return i32x4.sub(d, i32x4.shl(i32x4.extadd_pairwise_i16x8_s(i16x8.extadd_pairwise_i8x16_s(x)), 3));
  } else {
    const w = i8x16.sub(nib, i8x16.splat(8));
    const d0 = i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(w), i16x8.extend_low_i8x16_s(x));
    const d1 = i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(w), i16x8.extend_high_i8x16_s(x));
    return i32x4.add(i32x4.shuffle(d0, d1, 0, 2, 4, 6), i32x4.shuffle(d0, d1, 1, 3, 5, 7));
  }
}

export function matmul_q4_0(wq: usize, wd: usize, xq: usize, xd: usize, y: usize, k: i32, r0: i32, r1: i32, nt: i32, ldy: i32): void {
  const nb = k >> 5;
  const m = i8x16.splat(0x0f);
  for (let r = r0; r < r1; r++) {
    const wqr = wq + ((<usize>r * k) >> 1);
    const wdr = wd + ((<usize>r * nb) << 2);
    for (let t = 0; t < nt; t++) {
      const xqt = xq + <usize>t * k;
      const xdt = xd + ((<usize>t * nb) << 2);
      let alo = f32x4.splat(0), ahi = f32x4.splat(0);
      for (let b = 0; b < nb; b++) {
        const p = v128.load(wqr + (<usize>b << 4));
        const xb = xqt + (<usize>b << 5);
        // Low nibbles are elements 0..15 (lanes 0..3), high nibbles 16..31 (lanes 4..7).
        const lo = laneSums(v128.and(p, m), v128.load(xb));
        const hi = laneSums(v128.and(i16x8.shr_u(p, 4), m), v128.load(xb, 16));
        const d = f32x4.splat(load<f32>(wdr + (<usize>b << 2)) * load<f32>(xdt + (<usize>b << 2)));
        alo = fma4(d, f32x4.convert_i32x4_s(lo), alo);
        ahi = fma4(d, f32x4.convert_i32x4_s(hi), ahi);
      }
      store<f32>(y + ((<usize>t * ldy + r) << 2), reduce8(alo, ahi));
    }
  }
}

// ---- repacked order: groups of 8 rows ------------------------------------------------------------------
//
// Layout (rows a multiple of 8): group g = rows 8g..8g+7, block b at w + (g * nb + b) * 160:
//   bytes 32j + 16h + 4i + c (j, i, c < 4; h < 2), for row 8g + 4h + i:
//     low nibble = element 8j + c, high nibble = element 8j + 4 + c (values nibble - 8);
//   bytes 128..143: the eight rows' scales as f16, as in the GGUF file (144 bytes per 8 x 32 weights, the
//   file's own size: f32 scales would make the weights 11% larger than the file).
// So one 16-byte load holds four rows' four consecutive elements, each row in its own 32-bit lane, and the
// activations are broadcast four at a time: the integer sums land in per-row lanes with no reduction.

const GROUP_BLOCK = 144;

/**
 * Four f16 values (bytes 8i..8i+7 of v, i = 0 low, 1 high) as f32 values 2^112 times too small, exactly for
 * every finite value: the f16 bits moved to the top of each lane and shifted right by 3 put sign, exponent
 * and mantissa in f32's fields with the exponent 112 too small (the sign's copies cleared). The relaxed
 * build multiplies the activation scales by 2^112 instead (see corrections()); f16x4 mends it itself.
 * (Infinities and NaN, which no Q4_0 scale holds, would come out finite.)
 */
@inline export function f16x4Scaled(v: v128, high: bool): v128 {
  const z = i32x4.splat(0);
  // Interleaving 16-bit lanes with zeros (one unpack instruction on x86).
  const h = high
    ? i8x16.shuffle(z, v, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31)
    : i8x16.shuffle(z, v, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23);
  return v128.and(i32x4.shr_s(h, 3), i32x4.splat(0x8fffe000));
}

export const TWO_112: f32 = 5.192296858534828e33;

@inline function f16x4(v: v128, high: bool): v128 {
  return f32x4.mul(f16x4Scaled(v, high), f32x4.splat(TWO_112));
}
/**
 * Scratch bytes for the per-block activation corrections, and as many again for the scaled activation
 * scales after them (the pool guarantees 64 KiB per thread).
 */
const CORR_BYTES = 32768;

/**
 * In the relaxed build: corr[t][b] = 8 * (sum of token t's activations in block b), the nibbles' offset of
 * 8, and at corr + CORR_BYTES the activation scales times 2^112 for f16x4Scaled's weight scales: the
 * product of the two is the exact product of the true scales (2^112 times a scale, at most f16's 65504,
 * stays below f32's largest value), so every result is bit for bit the same.
 */
function corrections(xq: usize, xd: usize, k: i32, nt: i32, corr: usize): void {
  const nb = k >> 5;
  const n = nt * nb;
  for (let i = 0; i < n; i++) {
    store<f32>(corr + CORR_BYTES + (<usize>i << 2), load<f32>(xd + (<usize>i << 2)) * TWO_112);
    const xb = xq + (<usize>i << 5);
    const s16 = i16x8.add(i16x8.extadd_pairwise_i8x16_s(v128.load(xb)), i16x8.extadd_pairwise_i8x16_s(v128.load(xb, 16)));
    const s = i32x4.extadd_pairwise_i16x8_s(s16);
    store<i32>(corr + (<usize>i << 2), (i32x4.extract_lane(s, 0) + i32x4.extract_lane(s, 1) + i32x4.extract_lane(s, 2) + i32x4.extract_lane(s, 3)) << 3);
  }
}

/** Relaxed: eight rows, one token. xt, dt, ct: the token's quants, scales, corrections; yt its output (8 floats). */
function tile81(wg: usize, xt: usize, dt: usize, ct: usize, yt: usize, nb: i32): void {
  const m = i8x16.splat(0x0f);
  let acc0 = f32x4.splat(0), acc1 = f32x4.splat(0);
  for (let b = 0; b < nb; b++) {
    const wb = wg + <usize>b * GROUP_BLOCK;
    const xb = xt + (<usize>b << 5);
    let s0 = i16x8.splat(0), s1 = i16x8.splat(0);
    for (let j: usize = 0; j < 4; j++) {
      const xa = v128.load32_splat(xb + (j << 3)), xc = v128.load32_splat(xb + (j << 3) + 4);
      const p = v128.load(wb + (j << 5)), q = v128.load(wb + (j << 5), 16);
      // Pairwise i16 sums stay below 2 * 15 * 127, eight of them below 32767: no overflow.
      s0 = i16x8.add(s0, i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(xa, v128.and(p, m)), i16x8.relaxed_dot_i8x16_i7x16_s(xc, v128.and(i16x8.shr_u(p, 4), m))));
      s1 = i16x8.add(s1, i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(xa, v128.and(q, m)), i16x8.relaxed_dot_i8x16_i7x16_s(xc, v128.and(i16x8.shr_u(q, 4), m))));
    }
    const cv = v128.load32_splat(ct + (<usize>b << 2));
    const dv = v128.load32_splat(dt + (<usize>b << 2));
    const sw = v128.load(wb, 128);
    acc0 = f32x4.relaxed_madd(f32x4.convert_i32x4_s(i32x4.sub(i32x4.extadd_pairwise_i16x8_s(s0), cv)), f32x4.mul(f16x4Scaled(sw, false), dv), acc0);
    acc1 = f32x4.relaxed_madd(f32x4.convert_i32x4_s(i32x4.sub(i32x4.extadd_pairwise_i16x8_s(s1), cv)), f32x4.mul(f16x4Scaled(sw, true), dv), acc1);
  }
  v128.store(yt, acc0);
  v128.store(yt, acc1, 16);
}

/**
 * Relaxed: eight rows, four tokens (token stride kk bytes of quants, nbb bytes of scales and corrections;
 * output stride ld bytes). Each weight vector is loaded once for the four tokens.
 */
function tile84(wg: usize, xt: usize, dt: usize, ct: usize, yt: usize, nb: i32, kk: usize, nbb: usize, ld: usize): void {
  const m = i8x16.splat(0x0f);
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let b0 = f32x4.splat(0), b1 = f32x4.splat(0), b2 = f32x4.splat(0), b3 = f32x4.splat(0);
  for (let b = 0; b < nb; b++) {
    const wb = wg + <usize>b * GROUP_BLOCK;
    const xb = xt + (<usize>b << 5);
    let s0 = i16x8.splat(0), s1 = i16x8.splat(0), s2 = i16x8.splat(0), s3 = i16x8.splat(0);
    let u0 = i16x8.splat(0), u1 = i16x8.splat(0), u2 = i16x8.splat(0), u3 = i16x8.splat(0);
    for (let j: usize = 0; j < 8; j++) {
      const p = v128.load(wb + ((j >> 1) << 5)), q = v128.load(wb + ((j >> 1) << 5), 16);
      const pw = (j & 1) != 0 ? v128.and(i16x8.shr_u(p, 4), m) : v128.and(p, m);
      const qw = (j & 1) != 0 ? v128.and(i16x8.shr_u(q, 4), m) : v128.and(q, m);
      const o = xb + (j << 2);
      const x0 = v128.load32_splat(o), x1 = v128.load32_splat(o + kk), x2 = v128.load32_splat(o + 2 * kk), x3 = v128.load32_splat(o + 3 * kk);
      s0 = i16x8.add(s0, i16x8.relaxed_dot_i8x16_i7x16_s(x0, pw));
      u0 = i16x8.add(u0, i16x8.relaxed_dot_i8x16_i7x16_s(x0, qw));
      s1 = i16x8.add(s1, i16x8.relaxed_dot_i8x16_i7x16_s(x1, pw));
      u1 = i16x8.add(u1, i16x8.relaxed_dot_i8x16_i7x16_s(x1, qw));
      s2 = i16x8.add(s2, i16x8.relaxed_dot_i8x16_i7x16_s(x2, pw));
      u2 = i16x8.add(u2, i16x8.relaxed_dot_i8x16_i7x16_s(x2, qw));
      s3 = i16x8.add(s3, i16x8.relaxed_dot_i8x16_i7x16_s(x3, pw));
      u3 = i16x8.add(u3, i16x8.relaxed_dot_i8x16_i7x16_s(x3, qw));
    }
    const cb = ct + (<usize>b << 2), db = dt + (<usize>b << 2);
    const sw = v128.load(wb, 128);
    const sp = f16x4Scaled(sw, false), sq = f16x4Scaled(sw, true);
    let c = v128.load32_splat(cb), d = v128.load32_splat(db);
    a0 = f32x4.relaxed_madd(f32x4.convert_i32x4_s(i32x4.sub(i32x4.extadd_pairwise_i16x8_s(s0), c)), f32x4.mul(sp, d), a0);
    b0 = f32x4.relaxed_madd(f32x4.convert_i32x4_s(i32x4.sub(i32x4.extadd_pairwise_i16x8_s(u0), c)), f32x4.mul(sq, d), b0);
    c = v128.load32_splat(cb + nbb);
    d = v128.load32_splat(db + nbb);
    a1 = f32x4.relaxed_madd(f32x4.convert_i32x4_s(i32x4.sub(i32x4.extadd_pairwise_i16x8_s(s1), c)), f32x4.mul(sp, d), a1);
    b1 = f32x4.relaxed_madd(f32x4.convert_i32x4_s(i32x4.sub(i32x4.extadd_pairwise_i16x8_s(u1), c)), f32x4.mul(sq, d), b1);
    c = v128.load32_splat(cb + 2 * nbb);
    d = v128.load32_splat(db + 2 * nbb);
    a2 = f32x4.relaxed_madd(f32x4.convert_i32x4_s(i32x4.sub(i32x4.extadd_pairwise_i16x8_s(s2), c)), f32x4.mul(sp, d), a2);
    b2 = f32x4.relaxed_madd(f32x4.convert_i32x4_s(i32x4.sub(i32x4.extadd_pairwise_i16x8_s(u2), c)), f32x4.mul(sq, d), b2);
    c = v128.load32_splat(cb + 3 * nbb);
    d = v128.load32_splat(db + 3 * nbb);
    a3 = f32x4.relaxed_madd(f32x4.convert_i32x4_s(i32x4.sub(i32x4.extadd_pairwise_i16x8_s(s3), c)), f32x4.mul(sp, d), a3);
    b3 = f32x4.relaxed_madd(f32x4.convert_i32x4_s(i32x4.sub(i32x4.extadd_pairwise_i16x8_s(u3), c)), f32x4.mul(sq, d), b3);
  }
  v128.store(yt, a0);
  v128.store(yt, b0, 16);
  v128.store(yt + ld, a1);
  v128.store(yt + ld, b1, 16);
  v128.store(yt + 2 * ld, a2);
  v128.store(yt + 2 * ld, b2, 16);
  v128.store(yt + 3 * ld, a3);
  v128.store(yt + 3 * ld, b3, 16);
}

/** Plain SIMD: eight rows, one token, the multiply-adds evaluated exactly in f64. */
function tile81_plain(wg: usize, xt: usize, dt: usize, yt: usize, nb: i32): void {
  const m = i8x16.splat(0x0f), eight = i8x16.splat(8);
  let acc0 = f32x4.splat(0), acc1 = f32x4.splat(0);
  for (let b = 0; b < nb; b++) {
    const wb = wg + <usize>b * GROUP_BLOCK;
    const xb = xt + (<usize>b << 5);
    // Widened to i16: a holds rows 0 and 1 as [r0 e01, r0 e23, r1 e01, r1 e23], bb rows 2 and 3, c and d
    // the same for rows 4..7.
    let a = i32x4.splat(0), bb = i32x4.splat(0), c = i32x4.splat(0), d = i32x4.splat(0);
    for (let j: usize = 0; j < 8; j++) {
      const p = v128.load(wb + ((j >> 1) << 5)), q = v128.load(wb + ((j >> 1) << 5), 16);
      const pw = i8x16.sub((j & 1) != 0 ? v128.and(i16x8.shr_u(p, 4), m) : v128.and(p, m), eight);
      const qw = i8x16.sub((j & 1) != 0 ? v128.and(i16x8.shr_u(q, 4), m) : v128.and(q, m), eight);
      const x = i16x8.extend_low_i8x16_s(v128.load32_splat(xb + (j << 2)));
      a = i32x4.add(a, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(pw), x));
      bb = i32x4.add(bb, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(pw), x));
      c = i32x4.add(c, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(qw), x));
      d = i32x4.add(d, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(qw), x));
    }
    const i0 = i32x4.add(i32x4.shuffle(a, bb, 0, 2, 4, 6), i32x4.shuffle(a, bb, 1, 3, 5, 7));
    const i1 = i32x4.add(i32x4.shuffle(c, d, 0, 2, 4, 6), i32x4.shuffle(c, d, 1, 3, 5, 7));
    const dv = v128.load32_splat(dt + (<usize>b << 2));
    const sw = v128.load(wb, 128);
    acc0 = fma4(f32x4.convert_i32x4_s(i0), f32x4.mul(f16x4(sw, false), dv), acc0);
    acc1 = fma4(f32x4.convert_i32x4_s(i1), f32x4.mul(f16x4(sw, true), dv), acc1);
  }
  v128.store(yt, acc0);
  v128.store(yt, acc1, 16);
}

/**
 * The repacked product. The work is counted in (row, token) units, so that the thread pool, which cuts a
 * job's units into equal shares, balances products with different token counts (the experts of a batch):
 * units u0..u1 cover rows floor(u / nt), rounded up to multiples of 8 (adjacent ranges stay disjoint and
 * together cover every group). scratch: at least CORR_BYTES bytes of this thread's scratch memory.
 */
export function matmul_q4_0x8(w: usize, xq: usize, xd: usize, y: usize, k: i32, u0: i32, u1: i32, nt: i32, ldy: i32, scratch: usize): void {
  if (nt <= 0) return;
  const nb = k >> 5;
  const g0 = (u0 / nt + 7) >> 3, g1 = (u1 / nt + 7) >> 3;
  if (g0 >= g1) return;
  const gs = <usize>nb * GROUP_BLOCK;
  const kk = <usize>k, nbb = <usize>nb << 2, ld = <usize>ldy << 2;
  if (!ASC_FEATURE_RELAXED_SIMD) {
    for (let g = g0; g < g1; g++) {
      for (let t = 0; t < nt; t++) {
        tile81_plain(w + <usize>g * gs, xq + <usize>t * kk, xd + <usize>t * nbb, y + <usize>t * ld + (<usize>g << 5), nb);
      }
    }
    return;
  }
  // Tokens in spans whose corrections fit the scratch; within a span, each group of rows meets the tokens
  // four at a time.
  const span = max(1, min(nt, CORR_BYTES / (nb << 2)));
  for (let t0 = 0; t0 < nt; t0 += span) {
    const n = min(span, nt - t0);
    const x0 = xq + <usize>t0 * kk, d0 = xd + <usize>t0 * nbb, y0 = y + <usize>t0 * ld;
    corrections(x0, d0, k, n, scratch);
    for (let g = g0; g < g1; g++) {
      const wg = w + <usize>g * gs;
      const yg = y0 + (<usize>g << 5);
      let t = 0;
      for (; t + 4 <= n; t += 4) {
        const tu = <usize>t;
        tile84(wg, x0 + tu * kk, scratch + CORR_BYTES + tu * nbb, scratch + tu * nbb, yg + tu * ld, nb, kk, nbb, ld);
      }
      for (; t < n; t++) {
        const tu = <usize>t;
        tile81(wg, x0 + tu * kk, scratch + CORR_BYTES + tu * nbb, scratch + tu * nbb, yg + tu * ld, nb);
      }
    }
  }
}
