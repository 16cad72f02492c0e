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

/** lanes[l] = the sum over i = l mod 16 of fma(w[i], x[i], .), as tinyBLAS's 16-lane f32 GEMM does. */
@inline export function fmaRow16(w: usize, x: usize, k: i32, lanes: usize): void {
  for (let l = 0; l < 16; l += 4) v128.store(lanes + (<usize>l << 2), f32x4.splat(0));
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  for (let i = 0; i < k; i += 16) {
    const o = <usize>i << 2;
    a0 = fma4(v128.load(w + o), v128.load(x + o), a0);
    a1 = fma4(v128.load(w + o, 16), v128.load(x + o, 16), a1);
    a2 = fma4(v128.load(w + o, 32), v128.load(x + o, 32), a2);
    a3 = fma4(v128.load(w + o, 48), v128.load(x + o, 48), a3);
  }
  v128.store(lanes, a0);
  v128.store(lanes, a1, 16);
  v128.store(lanes, a2, 32);
  v128.store(lanes, a3, 48);
}

/** _mm512_reduce_add_ps over 16 floats at p: halves, then quarters, then (0+2)+(1+3). */
@inline export function reduce16(p: usize): f32 {
  const lo = f32x4.add(v128.load(p, 32), v128.load(p));
  const hi = f32x4.add(v128.load(p, 48), v128.load(p, 16));
  const t6 = f32x4.add(hi, lo);
  return (f32x4.extract_lane(t6, 0) + f32x4.extract_lane(t6, 2)) + (f32x4.extract_lane(t6, 1) + f32x4.extract_lane(t6, 3));
}

/** ggml_vec_dot_f32 (AVX-512): 4x16 FMA lanes over 64-element steps, reduced, then a scalar tail. */
@inline export function vec_dot_f32(x: usize, y: usize, n: i32, lanes: usize): f32 {
  const np = n & ~63;
  let sumf: f32 = 0;
  if (np > 0) {
    for (let i = 0; i < 64; i += 4) v128.store(lanes + (<usize>i << 2), f32x4.splat(0));
    for (let i = 0; i < np; i += 64) {
      for (let j = 0; j < 64; j += 4) {
        const o = <usize>(i + j) << 2;
        const lp = lanes + (<usize>j << 2);
        v128.store(lp, fma4(v128.load(x + o), v128.load(y + o), v128.load(lp)));
      }
    }
    for (let l = 0; l < 16; l += 4) {
      const o = <usize>l << 2;
      const s02 = f32x4.add(v128.load(lanes + o), v128.load(lanes + o + 128));
      const s13 = f32x4.add(v128.load(lanes + o + 64), v128.load(lanes + o + 192));
      v128.store(lanes + o, f32x4.add(s02, s13));
    }
    sumf = reduce16(lanes);
  }
  for (let i = np; i < n; i++) sumf += load<f32>(x + (<usize>i << 2)) * load<f32>(y + (<usize>i << 2));
  return sumf;
}

/** ggml_vec_dot_f16 (AVX-512), on values already widened to f32: as vec_dot_f32, but the tail sums in f64. */
@inline export function vec_dot_f16(x: usize, y: usize, n: i32, lanes: usize): f32 {
  const np = n & ~63;
  let sumf: f64 = 0;
  if (np > 0) {
    for (let i = 0; i < 64; i += 4) v128.store(lanes + (<usize>i << 2), f32x4.splat(0));
    for (let i = 0; i < np; i += 64) {
      for (let j = 0; j < 64; j += 4) {
        const o = <usize>(i + j) << 2;
        const lp = lanes + (<usize>j << 2);
        v128.store(lp, fma4(v128.load(x + o), v128.load(y + o), v128.load(lp)));
      }
    }
    for (let l = 0; l < 16; l += 4) {
      const o = <usize>l << 2;
      const s02 = f32x4.add(v128.load(lanes + o), v128.load(lanes + o + 128));
      const s13 = f32x4.add(v128.load(lanes + o + 64), v128.load(lanes + o + 192));
      v128.store(lanes + o, f32x4.add(s02, s13));
    }
    sumf = <f64>reduce16(lanes);
  }
  for (let i = np; i < n; i++) sumf += <f64>(load<f32>(x + (<usize>i << 2)) * load<f32>(y + (<usize>i << 2)));
  return <f32>sumf;
}
