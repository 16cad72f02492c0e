// Matrix products y[t][r] = dot(W[r], x[t]) for weight rows r in [r0, r1) and tokens t in [0, nt).
// W is stored row-major in the layout the loader repacks it into; x rows are contiguous (stride k);
// y has a row stride of ldy floats. Row ranges exist so that a thread pool can split the work.
// Tokens are processed four at a time so that each weight row is loaded once per four tokens.

// ---- f32 weights -------------------------------------------------------------------------------

@inline function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

export function matmul_f32(w: usize, x: usize, y: usize, k: i32, r0: i32, r1: i32, nt: i32, ldy: i32): void {
  const kv = k & ~3;
  const rowBytes = <usize>k << 2;
  for (let r = r0; r < r1; r++) {
    const wr = w + <usize>r * rowBytes;
    let t = 0;
    for (; t + 4 <= nt; t += 4) {
      const x0 = x + <usize>t * rowBytes;
      const x1 = x0 + rowBytes;
      const x2 = x1 + rowBytes;
      const x3 = x2 + rowBytes;
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
      for (let i = 0; i < kv; i += 4) {
        const o = <usize>i << 2;
        const wv = v128.load(wr + o);
        a0 = f32x4.add(a0, f32x4.mul(wv, v128.load(x0 + o)));
        a1 = f32x4.add(a1, f32x4.mul(wv, v128.load(x1 + o)));
        a2 = f32x4.add(a2, f32x4.mul(wv, v128.load(x2 + o)));
        a3 = f32x4.add(a3, f32x4.mul(wv, v128.load(x3 + o)));
      }
      let s0 = hsum(a0), s1 = hsum(a1), s2 = hsum(a2), s3 = hsum(a3);
      for (let i = kv; i < k; i++) {
        const o = <usize>i << 2;
        const wv = load<f32>(wr + o);
        s0 += wv * load<f32>(x0 + o);
        s1 += wv * load<f32>(x1 + o);
        s2 += wv * load<f32>(x2 + o);
        s3 += wv * load<f32>(x3 + o);
      }
      store<f32>(y + ((<usize>t * ldy + r) << 2), s0);
      store<f32>(y + ((<usize>(t + 1) * ldy + r) << 2), s1);
      store<f32>(y + ((<usize>(t + 2) * ldy + r) << 2), s2);
      store<f32>(y + ((<usize>(t + 3) * ldy + r) << 2), s3);
    }
    for (; t < nt; t++) {
      const x0 = x + <usize>t * rowBytes;
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0);
      let i = 0;
      for (; i + 8 <= kv; i += 8) {
        const o = <usize>i << 2;
        a0 = f32x4.add(a0, f32x4.mul(v128.load(wr + o), v128.load(x0 + o)));
        a1 = f32x4.add(a1, f32x4.mul(v128.load(wr + o + 16), v128.load(x0 + o + 16)));
      }
      for (; i < kv; i += 4) {
        const o = <usize>i << 2;
        a0 = f32x4.add(a0, f32x4.mul(v128.load(wr + o), v128.load(x0 + o)));
      }
      let s = hsum(f32x4.add(a0, a1));
      for (let j = kv; j < k; j++) s += load<f32>(wr + (<usize>j << 2)) * load<f32>(x0 + (<usize>j << 2));
      store<f32>(y + ((<usize>t * ldy + r) << 2), s);
    }
  }
}

// ---- int8 dot of one 32-element block -----------------------------------------------------------

// Sum of the products of 32 signed bytes at a and b, as four i32 lanes (not yet reduced).
@inline function dot32_i8(a: usize, b: usize): v128 {
  const a0 = v128.load(a);
  const a1 = v128.load(a, 16);
  const b0 = v128.load(b);
  const b1 = v128.load(b, 16);
  let s = i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(a0), i16x8.extend_low_i8x16_s(b0));
  s = i32x4.add(s, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(a0), i16x8.extend_high_i8x16_s(b0)));
  s = i32x4.add(s, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(a1), i16x8.extend_low_i8x16_s(b1)));
  s = i32x4.add(s, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(a1), i16x8.extend_high_i8x16_s(b1)));
  return s;
}

// Q4_0 block (16 bytes of nibbles: low nibble = element j, high nibble = element j+16; value = nibble-8)
// times 32 int8 activations.
@inline function dot32_q4(wq: usize, xq: usize): v128 {
  const packed = v128.load(wq);
  const eight = i8x16.splat(8);
  const lo = i8x16.sub(v128.and(packed, i8x16.splat(0x0f)), eight);
  const hi = i8x16.sub(i8x16.shr_u(packed, 4), eight);
  const x0 = v128.load(xq);
  const x1 = v128.load(xq, 16);
  let s = i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(lo), i16x8.extend_low_i8x16_s(x0));
  s = i32x4.add(s, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(lo), i16x8.extend_high_i8x16_s(x0)));
  s = i32x4.add(s, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(hi), i16x8.extend_low_i8x16_s(x1)));
  s = i32x4.add(s, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(hi), i16x8.extend_high_i8x16_s(x1)));
  return s;
}

// ---- Q8_0 weights: qs int8[rows][k], d f32[rows][k/32]; activations xq int8[nt][k], xd f32[nt][k/32] ----

export function matmul_q8_0(wq: usize, wd: usize, xq: usize, xd: usize, y: usize, k: i32, r0: i32, r1: i32, nt: i32, ldy: i32): void {
  const nb = k >> 5;
  for (let r = r0; r < r1; r++) {
    const wqr = wq + <usize>r * k;
    const wdr = wd + ((<usize>r * nb) << 2);
    for (let t = 0; t < nt; t++) {
      const xqt = xq + <usize>t * k;
      const xdt = xd + ((<usize>t * nb) << 2);
      let acc = f32x4.splat(0);
      for (let b = 0; b < nb; b++) {
        const s = dot32_i8(wqr + (<usize>b << 5), xqt + (<usize>b << 5));
        const scale = load<f32>(wdr + (<usize>b << 2)) * load<f32>(xdt + (<usize>b << 2));
        acc = f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(s), f32x4.splat(scale)));
      }
      store<f32>(y + ((<usize>t * ldy + r) << 2), hsum(acc));
    }
  }
}

// ---- Q4_0 weights: qs u8[rows][k/2] (GGUF nibble order per block), d f32[rows][k/32] -------------

export function matmul_q4_0(wq: usize, wd: usize, xq: usize, xd: usize, y: usize, k: i32, r0: i32, r1: i32, nt: i32, ldy: i32): void {
  const nb = k >> 5;
  for (let r = r0; r < r1; r++) {
    const wqr = wq + ((<usize>r * k) >> 1);
    const wdr = wd + ((<usize>r * nb) << 2);
    for (let t = 0; t < nt; t++) {
      const xqt = xq + <usize>t * k;
      const xdt = xd + ((<usize>t * nb) << 2);
      let acc = f32x4.splat(0);
      for (let b = 0; b < nb; b++) {
        const s = dot32_q4(wqr + (<usize>b << 4), xqt + (<usize>b << 5));
        const scale = load<f32>(wdr + (<usize>b << 2)) * load<f32>(xdt + (<usize>b << 2));
        acc = f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(s), f32x4.splat(scale)));
      }
      store<f32>(y + ((<usize>t * ldy + r) << 2), hsum(acc));
    }
  }
}
