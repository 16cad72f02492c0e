// f32 products over several weight rows and tokens at once, in exactly the orders of ggml-order.ts.
//
// A dot in llama.cpp's orders is a set of independent FMA lanes, each summing its elements in row order,
// reduced at the end. Every lane quad can therefore be computed on its own, and doing so for four rows and
// two tokens together loads each weight quad once for two tokens and each activation quad once for four
// rows: 6 loads and 8 independent FMA chains per 32 multiply-adds, where one dot at a time has 16 loads
// and 4 chains (measured on one thread, 384x128 f32 rows by 8 tokens: 23-25 against 13-14 G
// multiply-adds/s). The lanes' partial sums wait in the thread's scratch until the reduction, which is the
// single dots' own. Only tinyBLAS's order gains: blocks in ggml_vec_dot's 64-lane order, and two dots of
// one token at a time, measured no faster (or slower) at the 128-wide rows of the nano model, so those
// stay one dot at a time.
import { fma4, reduce16 } from './ggml-order';

/**
 * tinyBLAS's 16-lane product (dotRow16) of rows w0..w0+3 (stride `rs` bytes) with tokens x0 and x0 + xs,
 * into y[t * ldy + r .. + 3] and y[(t + 1) * ldy + r .. + 3]. `scratch`: 512 bytes.
 */
@inline export function dotRow16Block(w0: usize, rs: usize, x0: usize, xs: usize, k: i32, y: usize, r: i32, t: i32, ldy: i32, scratch: usize): void {
  const w1 = w0 + rs, w2 = w1 + rs, w3 = w2 + rs;
  const x1 = x0 + xs;
  const end = <usize>k << 2;
  for (let q: usize = 0; q < 64; q += 16) {
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    let b0 = f32x4.splat(0), b1 = f32x4.splat(0), b2 = f32x4.splat(0), b3 = f32x4.splat(0);
    for (let o = q; o < end; o += 64) {
      const u = v128.load(x0 + o), v = v128.load(x1 + o);
      const p0 = v128.load(w0 + o), p1 = v128.load(w1 + o), p2 = v128.load(w2 + o), p3 = v128.load(w3 + o);
      a0 = fma4(p0, u, a0); a1 = fma4(p1, u, a1); a2 = fma4(p2, u, a2); a3 = fma4(p3, u, a3);
      b0 = fma4(p0, v, b0); b1 = fma4(p1, v, b1); b2 = fma4(p2, v, b2); b3 = fma4(p3, v, b3);
    }
    // quad q of (row i, token j) at scratch + (j * 4 + i) * 64 + q
    v128.store(scratch + q, a0); v128.store(scratch + 64 + q, a1); v128.store(scratch + 128 + q, a2); v128.store(scratch + 192 + q, a3);
    v128.store(scratch + 256 + q, b0); v128.store(scratch + 320 + q, b1); v128.store(scratch + 384 + q, b2); v128.store(scratch + 448 + q, b3);
  }
  const ya = y + ((<usize>t * ldy + r) << 2), yb = ya + (<usize>ldy << 2);
  for (let i: usize = 0; i < 4; i++) {
    store<f32>(ya + (i << 2), reduce16(scratch + (i << 6)));
    store<f32>(yb + (i << 2), reduce16(scratch + 256 + (i << 6)));
  }
}
