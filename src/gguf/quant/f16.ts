// IEEE binary16 (f16) and bfloat16 (bf16) <-> binary32 conversions with ggml's exact semantics.
//
// f32 -> f16 (ggml_compute_fp32_to_fp16): round to nearest, ties to even, gradual underflow into f16
//   subnormals, overflow to +-inf (everything >= 65520 in magnitude), every NaN becomes sign|0x7E00.
// f16 -> f32 (ggml_compute_fp16_to_fp32): exact; a NaN keeps sign and payload and comes out quiet
//   (bit 22 set), as ggml's float multiply does on x86 and ARM. numpy instead keeps signalling NaNs
//   signalling, which is the one place where ggml and gguf-py disagree.
// f32 -> bf16 (ggml_compute_fp32_to_bf16): NaN -> (bits >> 16) | 64 (forced quiet, payload truncated),
//   everything else rounds to nearest even on the dropped 16 bits (so large finite values may round
//   to inf, and subnormals are kept, not flushed).
// bf16 -> f32: bits << 16, bit-exact including NaN payloads.
//
// Functions taking or returning "bits" work on unsigned integers so NaN payloads survive; the number
// variants go through a JS number and so are only exact for non-NaN values.

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/** Bit pattern of `x` rounded to f32 (as an unsigned 32-bit integer). */
export function f32ToBits(x: number): number {
  scratchF32[0] = x;
  return scratchU32[0]!;
}

/** The f32 value whose bit pattern is `bits`. */
export function bitsToF32(bits: number): number {
  scratchU32[0] = bits >>> 0;
  return scratchF32[0]!;
}

function f16BitsToF32BitsCompute(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0x1f) {
    // inf stays inf; NaN keeps its payload and is made quiet.
    return (sign | 0x7f800000 | (mant !== 0 ? 0x400000 : 0) | (mant << 13)) >>> 0;
  }
  if (exp !== 0) return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0;
  if (mant === 0) return sign >>> 0;
  // Subnormal f16: mant * 2^-24, renormalised.
  let e = 113;
  let m = mant;
  while ((m & 0x400) === 0) {
    m <<= 1;
    e--;
  }
  return (sign | (e << 23) | ((m & 0x3ff) << 13)) >>> 0;
}

/** f16 bit pattern -> f32 bit pattern, for all 65536 inputs. */
export const F16_TO_F32_BITS: Uint32Array = new Uint32Array(65536);
/** f16 bit pattern -> f32 value (same storage as F16_TO_F32_BITS). */
export const F16_TO_F32: Float32Array = new Float32Array(F16_TO_F32_BITS.buffer);
for (let h = 0; h < 65536; h++) F16_TO_F32_BITS[h] = f16BitsToF32BitsCompute(h);

/** f16 bit pattern -> f32 bit pattern. */
export function f16BitsToF32Bits(h: number): number {
  return F16_TO_F32_BITS[h & 0xffff]!;
}

/** f16 bit pattern -> value (NaN payloads are not observable through a JS number). */
export function f16ToF32(h: number): number {
  return F16_TO_F32[h & 0xffff]!;
}

/** f32 bit pattern -> f16 bit pattern, exactly as ggml_compute_fp32_to_fp16. */
export function f32BitsToF16Bits(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const abs = bits & 0x7fffffff;
  if (abs > 0x7f800000) return sign | 0x7e00; // NaN
  if (abs >= 0x477ff000) return sign | 0x7c00; // >= 65520 (or inf) -> inf
  if (abs >= 0x38800000) {
    // Normal f16 range: rebias the exponent (127 -> 15) and round the 13 dropped bits to nearest even;
    // a carry out of the mantissa correctly bumps the exponent (up to inf at exactly 65520).
    const m = abs - 0x38000000;
    return sign | ((m + 0xfff + ((m >>> 13) & 1)) >>> 13);
  }
  const e = abs >>> 23;
  if (e < 102) return sign; // below 2^-25 (f32 subnormals included): rounds to zero
  // f16 subnormal: value / 2^-24 = mant24 * 2^(e - 126), rounded to nearest even.
  const mant = (abs & 0x7fffff) | 0x800000;
  const shift = 126 - e; // 14..24
  let q = mant >>> shift;
  const rem = mant & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  if (rem > half || (rem === half && (q & 1) !== 0)) q++;
  return sign | q; // q may reach 0x400, the smallest normal, which is the right encoding
}

/** Value (rounded to f32 first, as a C float argument would be) -> f16 bit pattern. */
export function f32ToF16(x: number): number {
  return f32BitsToF16Bits(f32ToBits(x));
}

/** bf16 bit pattern -> f32 bit pattern. */
export function bf16BitsToF32Bits(h: number): number {
  return ((h & 0xffff) << 16) >>> 0;
}

/** bf16 bit pattern -> value. */
export function bf16ToF32(h: number): number {
  return bitsToF32((h & 0xffff) << 16);
}

/** f32 bit pattern -> bf16 bit pattern, exactly as ggml_compute_fp32_to_bf16. */
export function f32BitsToBf16Bits(bits: number): number {
  const u = bits >>> 0;
  if ((u & 0x7fffffff) > 0x7f800000) return ((u >>> 16) | 64) & 0xffff;
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

/** Value (rounded to f32 first) -> bf16 bit pattern. */
export function f32ToBf16(x: number): number {
  return f32BitsToBf16Bits(f32ToBits(x));
}

/** A Uint32Array over the same memory as a Float32Array (typed-array storage is always 4-aligned). */
export function u32View(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}

/** Decode `n` little-endian f16 values from `src[srcOff..]` into `dst[dstOff..]`, bit-exact. */
export function f16RowToF32(src: Uint8Array, srcOff: number, dst: Float32Array, dstOff: number, n: number): void {
  const out = u32View(dst);
  const tab = F16_TO_F32_BITS;
  for (let i = 0, o = srcOff; i < n; i++, o += 2) out[dstOff + i] = tab[src[o]! | (src[o + 1]! << 8)]!;
}

/** Encode `n` f32 values as little-endian f16 into `dst[dstOff..]`. */
export function f32RowToF16(src: Float32Array, srcOff: number, dst: Uint8Array, dstOff: number, n: number): void {
  const bits = u32View(src);
  for (let i = 0, o = dstOff; i < n; i++, o += 2) {
    const h = f32BitsToF16Bits(bits[srcOff + i]!);
    dst[o] = h & 0xff;
    dst[o + 1] = h >>> 8;
  }
}

/** Decode `n` little-endian bf16 values into f32, bit-exact. */
export function bf16RowToF32(src: Uint8Array, srcOff: number, dst: Float32Array, dstOff: number, n: number): void {
  const out = u32View(dst);
  for (let i = 0, o = srcOff; i < n; i++, o += 2) out[dstOff + i] = ((src[o]! << 16) | (src[o + 1]! << 24)) >>> 0;
}

/** Encode `n` f32 values as little-endian bf16. */
export function f32RowToBf16(src: Float32Array, srcOff: number, dst: Uint8Array, dstOff: number, n: number): void {
  const bits = u32View(src);
  for (let i = 0, o = dstOff; i < n; i++, o += 2) {
    const h = f32BitsToBf16Bits(bits[srcOff + i]!);
    dst[o] = h & 0xff;
    dst[o + 1] = h >>> 8;
  }
}
