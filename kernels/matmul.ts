import { dotRow16, vec_dot_f16, vec_dot_f32 } from './ggml-order';
import { dotRow16Block } from './f32-blocked';

// Matrix products y[t][r] = dot(W[r], x[t]) for weight rows r in [r0, r1) and tokens t in [0, nt).
// W is stored row-major in the layout the loader repacks it into; x rows are contiguous (stride k);
// y has a row stride of ldy floats. Row ranges exist so that a thread pool can split the work.
// Each weight row meets every token while it is in the first-level cache.

// ---- f32 weights -------------------------------------------------------------------------------
//

// Rows streamed into the cache at a time, and the matrix size from which they are (see matmul_f32).
const PANEL = 16;
const STREAM_MIN_BYTES: usize = 1 << 20;

// llama.cpp multiplies f32 weights with its tinyBLAS GEMM (16 FMA lanes over the row, then
// _mm512_reduce_add_ps) or with ggml_vec_dot_f32; both orders are reproduced, with the FMA evaluated
// exactly in f64 and rounded once.
export function matmul_f32(w: usize, x: usize, y: usize, k: i32, rows: i32, order: i32, r0: i32, r1: i32, nt: i32, ldy: i32, scratch: usize): void {
  const rowBytes = <usize>k << 2;
  // llama.cpp's tinyBLAS takes the product only when the row length is a multiple of 16 and the number of
  // rows a multiple of 4; otherwise, and always for stacked experts (mul_mat_id), ggml's own loop over
  // ggml_vec_dot_f32 (f32 weights) or ggml_vec_dot_f16 (f16 weights) does.
  // order: bit 0 = always row by row (experts), bit 1 = f16 weights.
  const gemm = (order & 1) == 0 && (k & 15) == 0 && (rows & 3) == 0;
  const f16 = (order & 2) != 0;
  if (gemm) {
    // four rows by two tokens at a time (f32-blocked.ts); a last odd token (and a lone one) row by row
    let r = r0;
    const pairs = nt & ~1;
    if (pairs > 0) {
      // A matrix larger than the second-level cache comes from memory. Read in four-row blocks, its first
      // pass over each block waits on memory and the block's other passes on arithmetic, one after the
      // other; reading a panel of rows line by line first, a plain stream that the hardware keeps many
      // lines of in flight, brings them into the cache faster (one thread, 32000 x 768 rows: 8 tokens
      // 15 -> 19 G multiply-adds/s, 2 tokens 7 -> 10; within 5% either way when the matrix is cached).
      // Wasm has no prefetch instruction; the loads' values are kept so that they are not optimized away.
      const stream = <usize>rows * rowBytes >= STREAM_MIN_BYTES;
      let touched: i32 = 0;
      for (; r + 4 <= r1; r += 4) {
        const wr = w + <usize>r * rowBytes;
        if (stream && ((r - r0) & (PANEL - 1)) == 0) {
          const pe = min(r + PANEL, r1);
          const e = w + <usize>pe * rowBytes;
          for (let p = wr; p < e; p += 64) touched |= load<u8>(p);
        }
        for (let t = 0; t < pairs; t += 2) dotRow16Block(wr, rowBytes, x + <usize>t * rowBytes, rowBytes, k, y, r, t, ldy, scratch);
      }
      store<i32>(scratch, touched);
      for (let rr = r; rr < r1; rr++) {
        const wr = w + <usize>rr * rowBytes;
        for (let t = 0; t < pairs; t++) store<f32>(y + ((<usize>t * ldy + rr) << 2), dotRow16(wr, x + <usize>t * rowBytes, k));
      }
    }
    if (pairs < nt) {
      const xt = x + <usize>pairs * rowBytes;
      for (let rr = r0; rr < r1; rr++) store<f32>(y + ((<usize>pairs * ldy + rr) << 2), dotRow16(w + <usize>rr * rowBytes, xt, k));
    }
    return;
  }
  for (let r = r0; r < r1; r++) {
    const wr = w + <usize>r * rowBytes;
    for (let t = 0; t < nt; t++) {
      const xt = x + <usize>t * rowBytes;
      store<f32>(y + ((<usize>t * ldy + r) << 2), f16 ? vec_dot_f16(wr, xt, k) : vec_dot_f32(wr, xt, k));
    }
  }
}

// ---- Q8_0 weights: qs int8[rows][k], d f32[rows][k/32]; activations xq int8[nt][k], xd f32[nt][k/32] ----
//
// The sum is accumulated exactly the way llama.cpp's x86 ggml_vec_dot_q8_0_q8_0 does it, so that both
// engines produce the same float for the same integers: eight lanes, lane l holding the integer dot of
// elements 4l..4l+3 of every block, each block added as fma(d_w*d_x, lane, acc) with a single rounding,
// then the lanes reduced as ((a0+a4)+(a2+a6)) + ((a1+a5)+(a3+a7)). The FMA is computed in f64, where the
// product of an f32 scale and a 17-bit integer is exact, and rounded once to f32.

// Integer dot of one 32-element block into lanes [0..3] (lo) and [4..7] (hi) of 4-element sums.
@inline export function blockLanesLo(a0: v128, b0: v128): v128 {
  const d0 = i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(a0), i16x8.extend_low_i8x16_s(b0));
  const d1 = i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(a0), i16x8.extend_high_i8x16_s(b0));
  return i32x4.add(i32x4.shuffle(d0, d1, 0, 2, 4, 6), i32x4.shuffle(d0, d1, 1, 3, 5, 7));
}

// acc (f32 lanes held in f64x2 pairs) = fma(d, lanes, acc), rounded to f32.
@inline export function fmaLanes(acc: v128, d: v128, lanes: v128, hi: bool): v128 {
  const q = hi ? f64x2.convert_low_i32x4_s(i32x4.shuffle(lanes, lanes, 2, 3, 0, 1)) : f64x2.convert_low_i32x4_s(lanes);
  return f64x2.promote_low_f32x4(f32x4.demote_f64x2_zero(f64x2.add(f64x2.mul(d, q), acc)));
}

@inline function reduce8f(lo: v128, hi: v128): f32 {
  const s = f32x4.add(lo, hi);
  return (f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 2)) + (f32x4.extract_lane(s, 1) + f32x4.extract_lane(s, 3));
}

@inline export function reduce8(a01: v128, a23: v128, a45: v128, a67: v128): f32 {
  const a0 = <f32>f64x2.extract_lane(a01, 0), a1 = <f32>f64x2.extract_lane(a01, 1);
  const a2 = <f32>f64x2.extract_lane(a23, 0), a3 = <f32>f64x2.extract_lane(a23, 1);
  const a4 = <f32>f64x2.extract_lane(a45, 0), a5 = <f32>f64x2.extract_lane(a45, 1);
  const a6 = <f32>f64x2.extract_lane(a67, 0), a7 = <f32>f64x2.extract_lane(a67, 1);
  return ((a0 + a4) + (a2 + a6)) + ((a1 + a5) + (a3 + a7));
}

export function matmul_q8_0(wq: usize, wd: usize, xq: usize, xd: usize, y: usize, k: i32, r0: i32, r1: i32, nt: i32, ldy: i32): void {
  if (ASC_FEATURE_RELAXED_SIMD) {
    matmul_q8_0_relaxed(wq, wd, xq, xd, y, k, r0, r1, nt, ldy);
    return;
  }
  const nb = k >> 5;
  for (let r = r0; r < r1; r++) {
    const wqr = wq + <usize>r * k;
    const wdr = wd + ((<usize>r * nb) << 2);
    for (let t = 0; t < nt; t++) {
      const xqt = xq + <usize>t * k;
      const xdt = xd + ((<usize>t * nb) << 2);
      let a01 = f64x2.splat(0), a23 = f64x2.splat(0), a45 = f64x2.splat(0), a67 = f64x2.splat(0);
      for (let b = 0; b < nb; b++) {
        const o = <usize>b << 5;
        const lo = blockLanesLo(v128.load(wqr + o), v128.load(xqt + o));
        const hi = blockLanesLo(v128.load(wqr + o, 16), v128.load(xqt + o, 16));
        const d = f64x2.splat(<f64>(load<f32>(wdr + (<usize>b << 2)) * load<f32>(xdt + (<usize>b << 2))));
        a01 = fmaLanes(a01, d, lo, false);
        a23 = fmaLanes(a23, d, lo, true);
        a45 = fmaLanes(a45, d, hi, false);
        a67 = fmaLanes(a67, d, hi, true);
      }
      store<f32>(y + ((<usize>t * ldy + r) << 2), reduce8(a01, a23, a45, a67));
    }
  }
}

// Relaxed-SIMD Q8_0: the same lanes and fused multiply-adds, from the relaxed int8 dot (q = q+ - q-, both
// 7-bit).
// Pair sums of w*q+ and w*q- each fit in i16, and so does their difference (the true pair sum of w*q), so
// subtracting in wrapping i16 is exact. (The accumulating form of the relaxed dot is avoided: V8 reuses a
// hoisted zero accumulator's register for its result.)
@inline function laneDots(w: v128, xp: v128, xm: v128): v128 {
  const pairs = i16x8.sub(i16x8.relaxed_dot_i8x16_i7x16_s(w, xp), i16x8.relaxed_dot_i8x16_i7x16_s(w, xm));
  return i32x4.extadd_pairwise_i16x8_s(pairs);
}

function matmul_q8_0_relaxed(wq: usize, wd: usize, xq: usize, xd: usize, y: usize, k: i32, r0: i32, r1: i32, nt: i32, ldy: i32): void {
  const nb = k >> 5;
  const n = <usize>nt * k;
  // One weight row at a time: more rows per pass run out of registers and stream slower.
  for (let r = r0; r < r1; r++) {
    const wa = wq + <usize>r * k;
    const da = wd + ((<usize>r * nb) << 2);
    for (let t = 0; t < nt; t++) {
      const xp = xq + n + <usize>t * k, xm = xp + n;
      const xdt = xd + ((<usize>t * nb) << 2);
      let alo = f32x4.splat(0), ahi = f32x4.splat(0);
      for (let b = 0; b < nb; b++) {
        const o = <usize>b << 5;
        const dva = f32x4.splat(load<f32>(da + (<usize>b << 2)) * load<f32>(xdt + (<usize>b << 2)));
        alo = f32x4.relaxed_madd(dva, f32x4.convert_i32x4_s(laneDots(v128.load(wa + o), v128.load(xp + o), v128.load(xm + o))), alo);
        ahi = f32x4.relaxed_madd(dva, f32x4.convert_i32x4_s(laneDots(v128.load(wa + o, 16), v128.load(xp + o, 16), v128.load(xm + o, 16))), ahi);
      }
      store<f32>(y + ((<usize>t * ldy + r) << 2), reduce8f(alo, ahi));
    }
  }
}
