import { blockLanesLo, fmaLanes, reduce8 } from './matmul';
import { f16x4Scaled, TWO_112 } from './q4_0';
import { storeFolded4 } from './ggml-order';
import { f16_bits_to_f32 } from './quantize';

// Q8_0 weights with rows interleaved in groups of four (row count a multiple of 4):
//   quants: group g, block b at wq + (g * nb + b) * 128, row 4g + i's 32 quants at + 32 i;
//   scales: the file's f16 at wd + ((g * nb + b) * 4 + i) * 2.
// One block of a group is then 128 contiguous bytes and its four scales 8 bytes, so a kernel reads four
// rows as one stream, loads each block of activations once for the four, and forms the four scale
// products with one vector multiply. Keeping the scales in f16 (34 bytes per 32 weights, the file's own
// size, rather than 36 with f32 scales) matters where experts stream from memory: a random 256x1024
// expert multiplied 4-6% faster on one thread (17.2-17.6 -> 18.2-18.3 G multiply-adds/s).
//
// The thread pool splits a product into (row, token) units, so that products over different token counts
// (a prompt's experts) balance: units u0..u1 cover rows floor(u / nt), rounded up to whole groups
// (g0 = ceil(floor(u0 / nt) / 4) ..), so adjacent ranges stay disjoint and together cover every group.

const GROUP_BLOCK: usize = 128;

/** Four-element integer sums of w times (xp - xm) in i32 lanes: the relaxed dot needs a 7-bit operand. */
@inline function laneDots(w: v128, xp: v128, xm: v128): v128 {
  return i32x4.extadd_pairwise_i16x8_s(i16x8.sub(i16x8.relaxed_dot_i8x16_i7x16_s(w, xp), i16x8.relaxed_dot_i8x16_i7x16_s(w, xm)));
}

/**
 * Relaxed, in llama.cpp's order for Q8_0 on x86 (ggml_vec_dot_q8_0_q8_0: per row eight lanes of
 * four-element sums, one fused multiply-add per block and lane, the lanes reduced at the end), four rows at
 * a time so that the activations and scales are loaded once for the four.
 */
@inline function group4(wg: usize, dg: usize, xp: usize, xm: usize, xd: usize, nb: i32, yt: usize): void {
  let l0 = f32x4.splat(0), h0 = f32x4.splat(0), l1 = f32x4.splat(0), h1 = f32x4.splat(0);
  let l2 = f32x4.splat(0), h2 = f32x4.splat(0), l3 = f32x4.splat(0), h3 = f32x4.splat(0);
  for (let b = 0; b < nb; b++) {
    const o = <usize>b << 5;
    const wb = wg + <usize>b * GROUP_BLOCK;
    const p0 = v128.load(xp + o), p1 = v128.load(xp + o, 16), m0 = v128.load(xm + o), m1 = v128.load(xm + o, 16);
    // The weights' scales come out 2^112 too small (q4_0.ts f16x4Scaled) and the activation's is scaled up
    // by as much (exact: it is an f16 value); their product is the exact product of the true scales.
    const dv = f32x4.mul(f16x4Scaled(v128.load64_zero(dg + (<usize>b << 3)), false), f32x4.splat(load<f32>(xd + (<usize>b << 2)) * TWO_112));
    let d = i32x4.shuffle(dv, dv, 0, 0, 0, 0);
    l0 = f32x4.relaxed_madd(d, f32x4.convert_i32x4_s(laneDots(v128.load(wb), p0, m0)), l0);
    h0 = f32x4.relaxed_madd(d, f32x4.convert_i32x4_s(laneDots(v128.load(wb, 16), p1, m1)), h0);
    d = i32x4.shuffle(dv, dv, 1, 1, 1, 1);
    l1 = f32x4.relaxed_madd(d, f32x4.convert_i32x4_s(laneDots(v128.load(wb, 32), p0, m0)), l1);
    h1 = f32x4.relaxed_madd(d, f32x4.convert_i32x4_s(laneDots(v128.load(wb, 48), p1, m1)), h1);
    d = i32x4.shuffle(dv, dv, 2, 2, 2, 2);
    l2 = f32x4.relaxed_madd(d, f32x4.convert_i32x4_s(laneDots(v128.load(wb, 64), p0, m0)), l2);
    h2 = f32x4.relaxed_madd(d, f32x4.convert_i32x4_s(laneDots(v128.load(wb, 80), p1, m1)), h2);
    d = i32x4.shuffle(dv, dv, 3, 3, 3, 3);
    l3 = f32x4.relaxed_madd(d, f32x4.convert_i32x4_s(laneDots(v128.load(wb, 96), p0, m0)), l3);
    h3 = f32x4.relaxed_madd(d, f32x4.convert_i32x4_s(laneDots(v128.load(wb, 112), p1, m1)), h3);
  }
  // Each row's lanes reduced as reduce8 does it, ((a0+a4)+(a2+a6)) + ((a1+a5)+(a3+a7)), four rows at once.
  storeFolded4(yt, f32x4.add(l0, h0), f32x4.add(l1, h1), f32x4.add(l2, h2), f32x4.add(l3, h3));
}

/**
 * y[t][r] = W[r] . x[t] on int8 activations (quantize_q8_0's layout: quants, then in the relaxed build
 * their positive and negative parts), bit for bit what matmul_q8_0 (and llama.cpp) computes on the row
 * layout: both builds keep the per-row order, only the addressing differs. Measured on the development
 * machine, one thread, data in cache: 27 G multiply-adds/s at rows of 1024 (21.5 before the last step
 * reduced four rows at once) against 17.5 for the row layout (the relaxed build).
 */
export function matmul_q8_0x4(wq: usize, wd: usize, xq: usize, xd: usize, y: usize, k: i32, u0: i32, u1: i32, nt: i32, ldy: i32): void {
  if (nt <= 0) return;
  const nb = k >> 5;
  const g0 = (u0 / nt + 3) >> 2, g1 = (u1 / nt + 3) >> 2;
  const gq = <usize>nb * GROUP_BLOCK, gd = <usize>nb << 3;
  const n = <usize>nt * k;
  for (let g = g0; g < g1; g++) {
    const wg = wq + <usize>g * gq, dg = wd + <usize>g * gd;
    for (let t = 0; t < nt; t++) {
      const xt = xq + <usize>t * k, dt = xd + ((<usize>t * nb) << 2);
      const yt = y + ((<usize>t * ldy + (<usize>g << 2)) << 2);
      if (ASC_FEATURE_RELAXED_SIMD) {
        group4(wg, dg, xt + n, xt + (n << 1), dt, nb, yt);
      } else {
        for (let i: usize = 0; i < 4; i++) {
          let a01 = f64x2.splat(0), a23 = f64x2.splat(0), a45 = f64x2.splat(0), a67 = f64x2.splat(0);
          for (let b = 0; b < nb; b++) {
            const o = <usize>b << 5;
            const wb = wg + <usize>b * GROUP_BLOCK + (i << 5);
            const lo = blockLanesLo(v128.load(wb), v128.load(xt + o));
            const hi = blockLanesLo(v128.load(wb, 16), v128.load(xt + o, 16));
            const d = f64x2.splat(<f64>(f16_bits_to_f32(load<u16>(dg + (<usize>b << 3) + (i << 1))) * load<f32>(dt + (<usize>b << 2))));
            a01 = fmaLanes(a01, d, lo, false);
            a23 = fmaLanes(a23, d, lo, true);
            a45 = fmaLanes(a45, d, hi, false);
            a67 = fmaLanes(a67, d, hi, true);
          }
          store<f32>(yt + (i << 2), reduce8(a01, a23, a45, a67));
        }
      }
    }
  }
}
