// Activation quantization, done the way llama.cpp's CPU backend does it before every product with a
// quantized weight, so that stepflash rounds the same activations to the same integers.

// IEEE binary16, round to nearest even (what F16C's vcvtps2ph does).
@inline export function f32_to_f16_bits(f: f32): u32 {
  const x = reinterpret<u32>(f);
  const sign = (x >> 16) & 0x8000;
  const e = <i32>((x >> 23) & 0xff);
  let m = x & 0x7fffff;
  if (e == 0xff) return sign | 0x7c00 | (m != 0 ? 0x200 : 0);
  const e16 = e - 112;
  if (e16 >= 0x1f) return sign | 0x7c00;
  if (e16 <= 0) {
    if (e16 < -10) return sign;
    m |= 0x800000;
    const shift = <u32>(14 - e16);
    let half = m >> shift;
    const rem = m & ((<u32>1 << shift) - 1);
    const halfway = <u32>1 << (shift - 1);
    if (rem > halfway || (rem == halfway && (half & 1) != 0)) half++;
    return sign | half;
  }
  let h = (<u32>e16 << 10) | (m >> 13);
  const rem = m & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (h & 1) != 0)) h++;
  return sign | h;
}

@inline export function f16_bits_to_f32(h: u32): f32 {
  const sign = (h & 0x8000) << 16;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e == 0) {
    const v = <f32>m * 5.9604644775390625e-8;
    return sign != 0 ? -v : v;
  }
  if (e == 31) return reinterpret<f32>(sign | 0x7f800000 | (m << 13));
  return reinterpret<f32>(sign | ((e + 112) << 23) | (m << 13));
}

@inline function round_f16(f: f32): f32 {
  return f16_bits_to_f32(f32_to_f16_bits(f));
}

/**
 * Q8_0 activations: per 32 values, d = amax/127 (kept as f16), q = round-half-even(x * 127/amax).
 * qs needs 3n bytes: the relaxed build also stores max(q, 0) at qs + n and max(-q, 0) at qs + 2n.
 */
export function quantize_q8_0(x: usize, n: i32, qs: usize, d: usize): void {
  quantize_q8_0_blocks(x, n, qs, d, 0, n >> 5);
}

/**
 * One block of quantize_row_q8_0: the 32 values at xb to int8 quants at qb, d = amax/127 rounded to f16
 * (stored as f32) at dp. Shared by the activations and the q8_0 key/value cache.
 */
@inline export function quantizeBlockQ8_0(xb: usize, qb: usize, dp: usize): void {
  const signMask = i32x4.splat(0x7fffffff);
  let m = v128.and(v128.load(xb), signMask);
  for (let i = 16; i < 128; i += 16) m = f32x4.max(m, v128.and(v128.load(xb + i), signMask));
  const amax = max(max(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1)), max(f32x4.extract_lane(m, 2), f32x4.extract_lane(m, 3)));
  const dv: f32 = amax / 127.0;
  store<f32>(dp, round_f16(dv));
  const id: f32 = amax != 0 ? <f32>127.0 / amax : 0;
  const idv = f32x4.splat(id);
  for (let i = 0; i < 32; i += 8) {
    const a = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(xb + (<usize>i << 2)), idv)));
    const c = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(xb + (<usize>i << 2) + 16), idv)));
    const s16 = i16x8.narrow_i32x4_s(a, c);
    v128.store64_lane(qb + <usize>i, i8x16.narrow_i16x8_s(s16, s16), 0);
  }
}

/** quantize_q8_0 for blocks b0..b1 of the n values only (the thread pool splits a long input this way). */
export function quantize_q8_0_blocks(x: usize, n: i32, qs: usize, d: usize, b0: i32, b1: i32): void {
  for (let b = b0; b < b1; b++) {
    const qb = qs + (<usize>b << 5);
    quantizeBlockQ8_0(x + (<usize>b << 7), qb, d + (<usize>b << 2));
    if (ASC_FEATURE_RELAXED_SIMD) {
      // The relaxed int8 dot takes one operand as 7-bit unsigned: keep q = q+ - q- with both in 0..127.
      const zero = i8x16.splat(0);
      for (let i = 0; i < 32; i += 16) {
        const q = v128.load(qb + <usize>i);
        v128.store(qb + <usize>n + <usize>i, i8x16.max_s(q, zero));
        v128.store(qb + (<usize>n << 1) + <usize>i, i8x16.max_s(i8x16.neg(q), zero));
      }
    }
  }
}

/** x <- dequant(quant_q8_0(x)), for products computed on dequantized weights. */
export function fake_quant_q8_0(x: usize, n: i32, tmpq: usize, tmpd: usize): void {
  quantize_q8_0(x, n, tmpq, tmpd);
  const nb = n >> 5;
  for (let b = 0; b < nb; b++) {
    const dv = load<f32>(tmpd + (<usize>b << 2));
    for (let i = 0; i < 32; i++) {
      const j = (b << 5) + i;
      store<f32>(x + (<usize>j << 2), dv * <f32>load<i8>(tmpq + <usize>j));
    }
  }
}

/** x <- dequant(quant_q8_K(x)): llama.cpp's reference Q8_K (256 values, d = max/-127 as f32). */
export function fake_quant_q8_K(x: usize, n: i32): void {
  const nb = n >> 8;
  for (let b = 0; b < nb; b++) {
    const xb = x + (<usize>b << 10);
    let mx: f32 = 0;
    let amax: f32 = 0;
    for (let j = 0; j < 256; j++) {
      const v = load<f32>(xb + (<usize>j << 2));
      const ax = abs(v);
      if (ax > amax) {
        amax = ax;
        mx = v;
      }
    }
    if (amax == 0) {
      for (let j = 0; j < 256; j++) store<f32>(xb + (<usize>j << 2), 0);
      continue;
    }
    const iscale: f32 = <f32>-127.0 / mx;
    const dv: f32 = <f32>1.0 / iscale;
    for (let j = 0; j < 256; j++) {
      let q = <i32>nearest<f32>(iscale * load<f32>(xb + (<usize>j << 2)));
      if (q > 127) q = 127;
      store<f32>(xb + (<usize>j << 2), dv * <f32>q);
    }
  }
}

/**
 * Rounds values to f16 in place (the activations of a product with an F16 weight), four at a time: with a
 * the magnitude's bits, f16's normal range (|x| >= 2^-14) is a round-half-even of the mantissa to 10 bits
 * in integer arithmetic (a carry may reach the exponent, and from 65520 up gives infinity); below it the
 * f16 subnormals are the multiples of 2^-24, and |x| + 0.5 - 0.5 rounds to those (the sum has that ulp).
 * NaN becomes the quiet NaN f32 -> f16 -> f32 gives. Bit-identical to round_f16 on all 2^32 inputs.
 */
export function round_to_f16(x: usize, n: i32): void {
  const n4 = n & ~3;
  const absMask = i32x4.splat(0x7fffffff);
  for (let i = 0; i < n4; i += 4) {
    const p = x + (<usize>i << 2);
    const u = v128.load(p);
    const a = v128.and(u, absMask);
    let norm = v128.and(i32x4.add(i32x4.add(a, i32x4.splat(0xfff)), v128.and(i32x4.shr_u(a, 13), i32x4.splat(1))), i32x4.splat(0xffffe000));
    norm = v128.bitselect(i32x4.splat(0x7f800000), norm, i32x4.ge_u(norm, i32x4.splat(0x47800000)));
    const sub = f32x4.sub(f32x4.add(a, f32x4.splat(0.5)), f32x4.splat(0.5));
    let r = v128.bitselect(sub, norm, i32x4.lt_u(a, i32x4.splat(0x38800000)));
    r = v128.bitselect(i32x4.splat(0x7fc00000), r, i32x4.gt_u(a, i32x4.splat(0x7f800000)));
    v128.store(p, v128.or(r, v128.andnot(u, absMask)));
  }
  for (let i = n4; i < n; i++) {
    const p = x + (<usize>i << 2);
    store<f32>(p, round_f16(load<f32>(p)));
  }
}

/** Rounds values to bf16 in place, round to nearest even (ggml_compute_fp32_to_bf16). */
export function round_to_bf16(x: usize, n: i32): void {
  const n4 = n & ~3;
  const absMask = i32x4.splat(0x7fffffff), hiMask = i32x4.splat(0xffff0000);
  for (let i = 0; i < n4; i += 4) {
    const p = x + (<usize>i << 2);
    const u = v128.load(p);
    const r = v128.and(i32x4.add(u, i32x4.add(i32x4.splat(0x7fff), v128.and(i32x4.shr_u(u, 16), i32x4.splat(1)))), hiMask);
    const nan = v128.or(v128.and(u, hiMask), i32x4.splat(0x400000));
    v128.store(p, v128.bitselect(nan, r, i32x4.gt_u(v128.and(u, absMask), i32x4.splat(0x7f800000))));
  }
  for (let i = n4; i < n; i++) {
    const p = x + (<usize>i << 2);
    let u = load<u32>(p);
    if ((u & 0x7fffffff) > 0x7f800000) u = (u >> 16 | 64) << 16;
    else u = ((u + (0x7fff + ((u >> 16) & 1))) >> 16) << 16;
    store<u32>(p, u);
  }
}

/**
 * Q8_K activations as llama.cpp's x86 build makes them (quantize_row_q8_K, which is quantize_row_q8_K_ref,
 * and the 4-row interleaved quantize_mat_q8_K_4x8 that gives the same numbers): per 256 values, with mx
 * the first value of largest magnitude, iscale = -127/mx, q = min(127, round-half-even(iscale * x)) and
 * d = 1/iscale (f32); all zero when the block is. Per 256 values it writes 256 int8 quants at qs, d at
 * d (f32) and 48 bytes at sums: the 16 sums of 16 quants, then the 8 sums of 32 quants, as i16. qs needs
 * 2n bytes: at qs + n goes a permuted copy for the Q4_K kernel (kernels/kquants.ts): per 256 values, 16
 * vectors of 16 bytes, vector v holding values 2v, 2v+1 of each of the eight 32-value sub-blocks.
 */
export function quantize_q8_K(x: usize, n: i32, qs: usize, d: usize, sums: usize): void {
  const nb = n >> 8;
  const signMask = i32x4.splat(0x7fffffff);
  for (let b = 0; b < nb; b++) {
    const xb = x + (<usize>b << 10);
    const qb = qs + (<usize>b << 8);
    const sb = sums + <usize>b * 48;
    // pmax skips NaNs the way the reference's `ax > amax` does.
    let m = f32x4.splat(0);
    for (let i = 0; i < 1024; i += 16) m = f32x4.pmax(m, v128.and(v128.load(xb + i), signMask));
    const amax = max(max(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1)), max(f32x4.extract_lane(m, 2), f32x4.extract_lane(m, 3)));
    if (amax == 0) {
      store<f32>(d + (<usize>b << 2), 0);
      for (let i = 0; i < 256; i += 16) {
        v128.store(qb + <usize>i, i32x4.splat(0));
        v128.store(qb + <usize>n + <usize>i, i32x4.splat(0));
      }
      for (let i = 0; i < 48; i += 16) v128.store(sb + <usize>i, i32x4.splat(0));
      continue;
    }
    // The reference keeps the first value whose magnitude is the largest (its sign decides d's sign).
    const av = f32x4.splat(amax);
    let j = 0;
    while (j < 252 && !v128.any_true(f32x4.eq(v128.and(v128.load(xb + (<usize>j << 2)), signMask), av))) j += 4;
    j += ctz(i32x4.bitmask(f32x4.eq(v128.and(v128.load(xb + (<usize>j << 2)), signMask), av)) | 0x10);
    const mx = load<f32>(xb + (<usize>min(j, 255) << 2));
    const iscale: f32 = <f32>-127.0 / mx;
    store<f32>(d + (<usize>b << 2), <f32>1.0 / iscale);
    // nearest_int as the reference computes it: add 1.5 * 2^23 (rounding half to even) and read the low
    // bits; |iscale * x| <= 127 here, and the saturating narrows give min(127, q).
    const iv = f32x4.splat(iscale);
    const magic = f32x4.splat(12582912.0), bias = i32x4.splat(0x4b400000);
    for (let i = 0; i < 256; i += 16) {
      const p = xb + (<usize>i << 2);
      const a0 = i32x4.sub(f32x4.add(f32x4.mul(iv, v128.load(p)), magic), bias);
      const a1 = i32x4.sub(f32x4.add(f32x4.mul(iv, v128.load(p, 16)), magic), bias);
      const a2 = i32x4.sub(f32x4.add(f32x4.mul(iv, v128.load(p, 32)), magic), bias);
      const a3 = i32x4.sub(f32x4.add(f32x4.mul(iv, v128.load(p, 48)), magic), bias);
      v128.store(qb + <usize>i, i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(a0, a1), i16x8.narrow_i32x4_s(a2, a3)));
    }
    // Sums of 16 (vector g's bytes), by a tree of pairwise sums; then sums of 32.
    let h0 = i16x8.splat(0), h1 = h0;
    for (let half = 0; half < 2; half++) {
      const q = qb + (<usize>half << 7);
      const f0 = pairs16(i16x8.extadd_pairwise_i8x16_s(v128.load(q)), i16x8.extadd_pairwise_i8x16_s(v128.load(q, 16)));
      const f1 = pairs16(i16x8.extadd_pairwise_i8x16_s(v128.load(q, 32)), i16x8.extadd_pairwise_i8x16_s(v128.load(q, 48)));
      const f2 = pairs16(i16x8.extadd_pairwise_i8x16_s(v128.load(q, 64)), i16x8.extadd_pairwise_i8x16_s(v128.load(q, 80)));
      const f3 = pairs16(i16x8.extadd_pairwise_i8x16_s(v128.load(q, 96)), i16x8.extadd_pairwise_i8x16_s(v128.load(q, 112)));
      const h = pairs16(pairs16(f0, f1), pairs16(f2, f3));
      if (half == 0) h0 = h;
      else h1 = h;
    }
    v128.store(sb, h0);
    v128.store(sb, h1, 16);
    v128.store(sb, pairs16(h0, h1), 32);
    // The permuted copy: the 2-byte unit v of sub-block j goes to vector v, lane j. Vectors 0..7 are the
    // transposed first halves of the sub-blocks (i16 units 0..7 of each), 8..15 the second halves.
    const pb = qb + <usize>n;
    transpose8x16(qb, pb);
    transpose8x16(qb + 16, pb + 128);
  }
}

/** [a0+a1, a2+a3, a4+a5, a6+a7, b0+b1, b2+b3, b4+b5, b6+b7] (i16 lanes). */
@inline function pairs16(a: v128, b: v128): v128 {
  return i16x8.add(
    i8x16.shuffle(a, b, 0, 1, 4, 5, 8, 9, 12, 13, 16, 17, 20, 21, 24, 25, 28, 29),
    i8x16.shuffle(a, b, 2, 3, 6, 7, 10, 11, 14, 15, 18, 19, 22, 23, 26, 27, 30, 31),
  );
}

/** Transposes the 8x8 i16 matrix whose rows are the vectors at src + 32r into the vectors at dst + 16c. */
@inline function transpose8x16(src: usize, dst: usize): void {
  const r0 = v128.load(src), r1 = v128.load(src, 32), r2 = v128.load(src, 64), r3 = v128.load(src, 96);
  const r4 = v128.load(src, 128), r5 = v128.load(src, 160), r6 = v128.load(src, 192), r7 = v128.load(src, 224);
  const s0 = i8x16.shuffle(r0, r1, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23);
  const s1 = i8x16.shuffle(r0, r1, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31);
  const s2 = i8x16.shuffle(r2, r3, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23);
  const s3 = i8x16.shuffle(r2, r3, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31);
  const s4 = i8x16.shuffle(r4, r5, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23);
  const s5 = i8x16.shuffle(r4, r5, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31);
  const s6 = i8x16.shuffle(r6, r7, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23);
  const s7 = i8x16.shuffle(r6, r7, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31);
  const t0 = i32x4.shuffle(s0, s2, 0, 4, 1, 5), t1 = i32x4.shuffle(s0, s2, 2, 6, 3, 7);
  const t2 = i32x4.shuffle(s1, s3, 0, 4, 1, 5), t3 = i32x4.shuffle(s1, s3, 2, 6, 3, 7);
  const t4 = i32x4.shuffle(s4, s6, 0, 4, 1, 5), t5 = i32x4.shuffle(s4, s6, 2, 6, 3, 7);
  const t6 = i32x4.shuffle(s5, s7, 0, 4, 1, 5), t7 = i32x4.shuffle(s5, s7, 2, 6, 3, 7);
  v128.store(dst, i64x2.shuffle(t0, t4, 0, 2));
  v128.store(dst, i64x2.shuffle(t0, t4, 1, 3), 16);
  v128.store(dst, i64x2.shuffle(t1, t5, 0, 2), 32);
  v128.store(dst, i64x2.shuffle(t1, t5, 1, 3), 48);
  v128.store(dst, i64x2.shuffle(t2, t6, 0, 2), 64);
  v128.store(dst, i64x2.shuffle(t2, t6, 1, 3), 80);
  v128.store(dst, i64x2.shuffle(t3, t7, 0, 2), 96);
  v128.store(dst, i64x2.shuffle(t3, t7, 1, 3), 112);
}
