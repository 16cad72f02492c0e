// f16 / bf16 conversions, checked exhaustively over all 65536 half-width bit patterns against value
// formulas computed independently in double precision, and against ggml's outputs in the goldens.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';

import { GGMLType } from '../../src/gguf/ggml-types.js';
import {
  F16_TO_F32,
  F16_TO_F32_BITS,
  bf16BitsToF32Bits,
  bf16ToF32,
  bitsToF32,
  dequantizeRow,
  f16BitsToF32Bits,
  f16ToF32,
  f32BitsToBf16Bits,
  f32BitsToF16Bits,
  f32ToBf16,
  f32ToBits,
  f32ToF16,
  quantizeRow,
} from '../../src/gguf/quant/index.js';
import { loadGoldens, u16Of, u32Of } from './quant-fixtures.js';

const hex = (x: number, w = 8) => '0x' + (x >>> 0).toString(16).padStart(w, '0');

/** Value of an f16 bit pattern from the IEEE definition (NaN for NaNs). */
function f16Value(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 31) return m ? NaN : s * Infinity;
  if (e === 0) return s * m * 2 ** -24;
  return s * (1024 + m) * 2 ** (e - 25);
}

/** Value of a bf16 bit pattern from the definition (1 sign, 8 exponent, 7 mantissa bits). */
function bf16Value(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >>> 7) & 0xff;
  const m = h & 0x7f;
  if (e === 255) return m ? NaN : s * Infinity;
  if (e === 0) return s * m * 2 ** -133;
  return s * (128 + m) * 2 ** (e - 134);
}

/** Largest power of two not above a (a > 0), computed without log2 rounding trouble. */
function floorPow2(a: number): number {
  let p = 2 ** Math.floor(Math.log2(a));
  while (p > a) p /= 2;
  while (p * 2 <= a) p *= 2;
  return p;
}

/** Round-to-nearest-even of a non-negative double to a multiple of `unit` (a power of two). */
function rne(a: number, unit: number): number {
  const q = a / unit;
  let r = Math.floor(q);
  const frac = q - r;
  if (frac > 0.5 || (frac === 0.5 && r % 2 === 1)) r++;
  return r * unit;
}

/** f16 encoding of an f32 value by value arithmetic: IEEE round to nearest even with gradual underflow. */
function f16Reference(x: number): number {
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a >= 65520) return sign | 0x7c00; // 65520 = midpoint between 65504 and 2^16, ties to "even" inf
  const unit = a < 2 ** -14 ? 2 ** -24 : floorPow2(a) * 2 ** -10;
  const v = rne(a, unit);
  if (v < 2 ** -14) return sign | (v / 2 ** -24);
  const p = floorPow2(v);
  const e = Math.log2(p);
  return sign | ((e + 15) << 10) | (v / p * 1024 - 1024);
}

/** bf16 encoding of a non-NaN f32 value by value arithmetic (overflow past the rounding point goes to inf). */
function bf16Reference(x: number): number {
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a === Infinity) return sign | 0x7f80;
  const unit = a < 2 ** -126 ? 2 ** -133 : floorPow2(a) * 2 ** -7;
  const v = rne(a, unit);
  if (v >= 2 ** 128) return sign | 0x7f80;
  if (v < 2 ** -126) return sign | (v / 2 ** -133);
  const p = floorPow2(v);
  return sign | ((Math.log2(p) + 127) << 7) | (v / p * 128 - 128);
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

test('f16 -> f32: all 65536 patterns match the IEEE value; NaNs keep sign and payload and come out quiet', () => {
  for (let h = 0; h < 65536; h++) {
    const got = f16BitsToF32Bits(h);
    assert.equal(F16_TO_F32_BITS[h], got);
    const v = f16Value(h);
    if (Number.isNaN(v)) {
      const want = ((h & 0x8000) << 16) | 0x7fc00000 | ((h & 0x3ff) << 13);
      assert.equal(got, want >>> 0, `f16 ${hex(h, 4)}`);
      assert.ok(Number.isNaN(f16ToF32(h)));
    } else {
      assert.equal(got, f32ToBits(v), `f16 ${hex(h, 4)}: got ${hex(got)} want ${v}`);
      assert.ok(Object.is(f16ToF32(h), v));
    }
  }
});

test('f16 -> f32 table equals ggml ggml_fp16_to_fp32_row (sha256 from the goldens)', () => {
  const g = loadGoldens();
  const bytes = Buffer.from(F16_TO_F32_BITS.buffer, F16_TO_F32_BITS.byteOffset, F16_TO_F32_BITS.byteLength);
  assert.equal(createHash('sha256').update(bytes).digest('hex'), g.tables.f16_to_f32_sha256);
  assert.equal(F16_TO_F32.buffer, F16_TO_F32_BITS.buffer);
});

test('f32 -> f16: every f16 value round-trips, ties between neighbours go to even, one ulp off goes to the nearer', () => {
  for (let h = 0; h < 65536; h++) {
    if (Number.isNaN(f16Value(h))) continue;
    assert.equal(f32ToF16(f16Value(h)), h, `round trip ${hex(h, 4)}`);
  }
  for (const sign of [0, 0x8000]) {
    for (let h = 0; h < 0x7c00; h++) {
      const a = Math.abs(f16Value(h));
      const b = h + 1 === 0x7c00 ? 65536 : Math.abs(f16Value(h + 1)); // rounding point above max is 2^16
      const mid = f32ToBits((a + b) / 2);
      assert.equal(bitsToF32(mid), (a + b) / 2, 'midpoint must be exact in f32');
      const even = h % 2 === 0 ? h : h + 1;
      assert.equal(f32BitsToF16Bits(mid | (sign << 16)), even | sign, `tie after ${hex(h, 4)}`);
      assert.equal(f32BitsToF16Bits((mid - 1) | (sign << 16)), h | sign, `below tie after ${hex(h, 4)}`);
      assert.equal(f32BitsToF16Bits((mid + 1) | (sign << 16)), (h + 1) | sign, `above tie after ${hex(h, 4)}`);
    }
  }
});

test('f32 -> f16: NaN gives sign|0x7E00, infinities and overflow give inf, f32 subnormals give signed zero', () => {
  const next = mulberry32(1);
  for (let i = 0; i < 20000; i++) {
    const bits = (0x7f800001 + (next() % 0x7fffff)) | (i & 1 ? 0x80000000 : 0);
    assert.equal(f32BitsToF16Bits(bits >>> 0), i & 1 ? 0xfe00 : 0x7e00);
  }
  assert.equal(f32ToF16(Infinity), 0x7c00);
  assert.equal(f32ToF16(-Infinity), 0xfc00);
  assert.equal(f32ToF16(1e30), 0x7c00);
  assert.equal(f32ToF16(65519.99), 0x7bff);
  assert.equal(f32ToF16(65520), 0x7c00);
  assert.equal(f32BitsToF16Bits(0x00000001), 0);
  assert.equal(f32BitsToF16Bits(0x80000001), 0x8000);
  assert.equal(f32ToF16(2 ** -25), 0); // tie with 0 and the smallest subnormal: even is 0
  assert.equal(f32ToF16(2 ** -25 * 1.0000001), 1);
  assert.equal(f32ToF16(3 * 2 ** -25), 2);
});

test('f32 -> f16: 300k random f32 patterns match the value-arithmetic reference', () => {
  const next = mulberry32(7);
  for (let i = 0; i < 300000; i++) {
    // Half the samples uniform over all bit patterns, half concentrated on the f16 range.
    let bits = next();
    if (i & 1) bits = ((bits & 0x807fffff) | ((0x66 + (next() % 0x2c)) << 23)) >>> 0;
    const x = bitsToF32(bits);
    if (Number.isNaN(x)) continue;
    assert.equal(f32BitsToF16Bits(bits), f16Reference(x), `f32 ${hex(bits)} (${x})`);
  }
});

test('bf16 -> f32: all 65536 patterns are the high half of the f32, matching the value definition', () => {
  for (let h = 0; h < 65536; h++) {
    const got = bf16BitsToF32Bits(h);
    assert.equal(got, (h << 16) >>> 0);
    const v = bf16Value(h);
    if (Number.isNaN(v)) assert.ok(Number.isNaN(bf16ToF32(h)));
    else {
      assert.equal(got, f32ToBits(v), `bf16 ${hex(h, 4)}`);
      assert.ok(Object.is(bf16ToF32(h), v));
    }
  }
});

test('bf16 -> f32 table equals gguf-py / ggml (sha256 from the goldens)', () => {
  const tab = new Uint32Array(65536);
  for (let h = 0; h < 65536; h++) tab[h] = bf16BitsToF32Bits(h);
  assert.equal(createHash('sha256').update(Buffer.from(tab.buffer)).digest('hex'), loadGoldens().tables.bf16_to_f32_sha256);
});

test('f32 -> bf16: round trip, ties to even, neighbours, NaN forced quiet with truncated payload', () => {
  for (let h = 0; h < 65536; h++) {
    const v = bf16Value(h);
    if (Number.isNaN(v)) {
      const nanBits = (h << 16) | 0x1234;
      assert.equal(f32BitsToBf16Bits(nanBits >>> 0), h | 0x40, `NaN ${hex(nanBits)}`);
      continue;
    }
    assert.equal(f32ToBf16(v), h);
    if ((h & 0x7fff) >= 0x7f80) continue;
    const base = (h << 16) >>> 0;
    const even = h % 2 === 0 ? h : h + 1;
    assert.equal(f32BitsToBf16Bits(base + 0x8000), even, `tie above ${hex(h, 4)}`);
    assert.equal(f32BitsToBf16Bits(base + 0x7fff), h);
    assert.equal(f32BitsToBf16Bits(base + 0x8001), h + 1);
  }
  const next = mulberry32(11);
  for (let i = 0; i < 300000; i++) {
    const bits = next();
    const x = bitsToF32(bits);
    if (Number.isNaN(x)) continue;
    assert.equal(f32BitsToBf16Bits(bits), bf16Reference(x), `f32 ${hex(bits)}`);
  }
});

test('f32 -> f16 / bf16 match ggml on the golden conversion set (specials, NaN payloads, boundaries, random)', () => {
  const c = loadGoldens().conversions;
  const f32 = u32Of(c.f32);
  const f16 = u16Of(c.f16);
  const bf16 = u16Of(c.bf16);
  assert.ok(f32.length > 5000);
  for (let i = 0; i < f32.length; i++) {
    assert.equal(f32BitsToF16Bits(f32[i]!), f16[i], `f16 of ${hex(f32[i]!)}`);
    assert.equal(f32BitsToBf16Bits(f32[i]!), bf16[i], `bf16 of ${hex(f32[i]!)}`);
  }
});

test('F16 / BF16 rows: unaligned byte offsets, NaN payloads preserved through the row paths', () => {
  const n = 1000;
  const next = mulberry32(3);
  for (const type of [GGMLType.F16, GGMLType.BF16]) {
    const backing = new Uint8Array(2 * n + 1);
    const src = backing.subarray(1); // odd byte offset
    for (let i = 0; i < src.length; i++) src[i] = next() & 0xff;
    const out = new Float32Array(n + 1).subarray(1);
    dequantizeRow(type, src, out, n);
    const bits = new Uint32Array(out.buffer, out.byteOffset, n);
    for (let i = 0; i < n; i++) {
      const h = src[2 * i]! | (src[2 * i + 1]! << 8);
      assert.equal(bits[i], type === GGMLType.F16 ? f16BitsToF32Bits(h) : bf16BitsToF32Bits(h));
    }
    const back = new Uint8Array(2 * n + 3);
    quantizeRow(type, out, back.subarray(3), n);
    for (let i = 0; i < n; i++) {
      const h = src[2 * i]! | (src[2 * i + 1]! << 8);
      const r = back[3 + 2 * i]! | (back[4 + 2 * i]! << 8);
      const want = type === GGMLType.F16 ? f32BitsToF16Bits(f16BitsToF32Bits(h)) : f32BitsToBf16Bits(bf16BitsToF32Bits(h));
      assert.equal(r, want);
      // Non-NaN values survive the round trip exactly.
      if (type === GGMLType.BF16 && (h & 0x7fff) <= 0x7f80) assert.equal(r, h);
      if (type === GGMLType.F16 && (h & 0x7c00) !== 0x7c00) assert.equal(r, h);
    }
  }
});
