// Floating-point building blocks in llama.cpp's x86 (AVX-512 build) evaluation order, shared by the
// matmul and attention kernels. llama.cpp's sums are fused multiply-adds. The relaxed-SIMD build uses
// f32x4.relaxed_madd, which is fused on x86 with FMA (the loader checks, and falls back to the plain build
// where it is not); the plain build evaluates an FMA in f64, where the product of two f32 values is exact,
// and rounds once to f32.

@inline export function fma32(a: f32, b: f32, c: f32): f32 {
  return <f32>(<f64>a * <f64>b + <f64>c);
}

/** a * b + c on four f32 lanes, rounded once. */
@inline export function fma4(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    return f32x4.relaxed_madd(a, b, c);
  } else {
    const lo = f64x2.add(f64x2.mul(f64x2.promote_low_f32x4(a), f64x2.promote_low_f32x4(b)), f64x2.promote_low_f32x4(c));
    const ah = i32x4.shuffle(a, a, 2, 3, 2, 3), bh = i32x4.shuffle(b, b, 2, 3, 2, 3), ch = i32x4.shuffle(c, c, 2, 3, 2, 3);
    const hi = f64x2.add(f64x2.mul(f64x2.promote_low_f32x4(ah), f64x2.promote_low_f32x4(bh)), f64x2.promote_low_f32x4(ch));
    return i32x4.shuffle(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5);
  }
}

/**
 * tinyBLAS's 16-lane f32 product (16 FMA lanes over the row, lane l summing i = l mod 16, then
 * _mm512_reduce_add_ps), in registers.
 */
@inline export function dotRow16(w: usize, x: usize, k: i32): f32 {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  for (let i = 0; i < k; i += 16) {
    const o = <usize>i << 2;
    a0 = fma4(v128.load(w + o), v128.load(x + o), a0);
    a1 = fma4(v128.load(w + o, 16), v128.load(x + o, 16), a1);
    a2 = fma4(v128.load(w + o, 32), v128.load(x + o, 32), a2);
    a3 = fma4(v128.load(w + o, 48), v128.load(x + o, 48), a3);
  }
  return reduce16v(a0, a1, a2, a3);
}

/** _mm512_reduce_add_ps over 16 floats held as four quads: halves, then quarters, then (0+2)+(1+3). */
@inline export function reduce16v(q0: v128, q1: v128, q2: v128, q3: v128): f32 {
  const t6 = f32x4.add(f32x4.add(q3, q1), f32x4.add(q2, q0));
  return (f32x4.extract_lane(t6, 0) + f32x4.extract_lane(t6, 2)) + (f32x4.extract_lane(t6, 1) + f32x4.extract_lane(t6, 3));
}

/**
 * The last step of reduce16v (and of the Q8_0 lane reduction), (s[0] + s[2]) + (s[1] + s[3]), for four
 * dots at once, stored as four adjacent floats: the quads are transposed so that lane j of every dot shares
 * a vector, and the same additions in the same order run as vector adds. Reducing each dot with scalar
 * extracts and its own store measured 18-24% slower over whole Q8_0 products (rows of 256 and 1024, one
 * thread, data in cache); for tinyBLAS's f32 order it measured no faster, and slower for vec_dot's.
 */
@inline export function storeFolded4(y: usize, s0: v128, s1: v128, s2: v128, s3: v128): void {
  const a = i32x4.shuffle(s0, s1, 0, 4, 1, 5), b = i32x4.shuffle(s2, s3, 0, 4, 1, 5);
  const c = i32x4.shuffle(s0, s1, 2, 6, 3, 7), d = i32x4.shuffle(s2, s3, 2, 6, 3, 7);
  const l0 = i32x4.shuffle(a, b, 0, 1, 4, 5), l1 = i32x4.shuffle(a, b, 2, 3, 6, 7);
  const l2 = i32x4.shuffle(c, d, 0, 1, 4, 5), l3 = i32x4.shuffle(c, d, 2, 3, 6, 7);
  v128.store(y, f32x4.add(f32x4.add(l0, l2), f32x4.add(l1, l3)));
}

/** _mm512_reduce_add_ps over 16 floats at p. */
@inline export function reduce16(p: usize): f32 {
  return reduce16v(v128.load(p), v128.load(p, 16), v128.load(p, 32), v128.load(p, 48));
}

// ggml_vec_dot_f32 (AVX-512) keeps 64 lanes (four registers of 16) over steps of 64 elements, adds the
// registers as (r0 + r2) + (r1 + r3) and reduces the 16 lanes left with _mm512_reduce_add_ps. Lane quad q
// (floats 4q..4q+3) only ever meets quads q, q + 4, q + 8 and q + 12 in that sum, so the 16 quads are
// computed four at a time in registers: F[m] = (Q[m] + Q[m+8]) + (Q[m+4] + Q[m+12]), then reduced.

/** F[m] for the quad at byte offset o = 16 m. */
@inline function laneQuads(x: usize, y: usize, np: i32, o: usize): v128 {
  let a = f32x4.splat(0), b = f32x4.splat(0), c = f32x4.splat(0), d = f32x4.splat(0);
  for (let i = 0; i < np; i += 64) {
    const p = (<usize>i << 2) + o;
    a = fma4(v128.load(x + p), v128.load(y + p), a);
    c = fma4(v128.load(x + p, 64), v128.load(y + p, 64), c);
    b = fma4(v128.load(x + p, 128), v128.load(y + p, 128), b);
    d = fma4(v128.load(x + p, 192), v128.load(y + p, 192), d);
  }
  return f32x4.add(f32x4.add(a, b), f32x4.add(c, d));
}

/** The 64-lane part of ggml_vec_dot_f32 over the first np elements (a multiple of 64, at least 64). */
@inline function dot64(x: usize, y: usize, np: i32): f32 {
  return reduce16v(laneQuads(x, y, np, 0), laneQuads(x, y, np, 16), laneQuads(x, y, np, 32), laneQuads(x, y, np, 48));
}

/** ggml_vec_dot_f32 (AVX-512): 64 FMA lanes over 64-element steps, reduced, then a scalar tail. */
@inline export function vec_dot_f32(x: usize, y: usize, n: i32): f32 {
  const np = n & ~63;
  let sumf: f32 = np > 0 ? dot64(x, y, np) : 0;
  for (let i = np; i < n; i++) sumf += load<f32>(x + (<usize>i << 2)) * load<f32>(y + (<usize>i << 2));
  return sumf;
}

/** ggml_vec_dot_f16 (AVX-512), on values already widened to f32: as vec_dot_f32, but the tail sums in f64. */
@inline export function vec_dot_f16(x: usize, y: usize, n: i32): f32 {
  const np = n & ~63;
  let sumf: f64 = np > 0 ? <f64>dot64(x, y, np) : 0;
  for (let i = np; i < n; i++) sumf += <f64>(load<f32>(x + (<usize>i << 2)) * load<f32>(y + (<usize>i << 2)));
  return <f32>sumf;
}
