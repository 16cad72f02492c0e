// glibc's single-precision cosf, sinf and expf, reproduced bit for bit.
//
// llama.cpp's CPU build computes RoPE angles with the C library's cosf/sinf and sigmoids/softmax tails with
// expf. glibc's versions (from Arm's optimized-routines) are not correctly rounded: they evaluate a short
// polynomial in double and round the result to float, so they differ from the correctly rounded value
// (Math.fround(Math.cos(x))) on about 1% of RoPE angles and 0.07% of exp arguments. For quantized models
// a one-ulp difference in an activation can flip an 8-bit rounding, so we reproduce glibc's algorithm and
// its exact sequence of double operations here.
//
// On x86-64, glibc picks one of two builds of each function at load time (ifunc): with FMA and AVX2 usable
// it runs a build compiled with -mfma -mavx2, where GCC contracted most `a * b + c` into fused
// multiply-adds; otherwise an SSE2 build where every operation rounds separately. The two builds round
// differently on some inputs. `setLibmVariant` chooses which one these functions reproduce ('fma' by
// default, which is what every x86-64 CPU since Haswell / Zen gets). The contractions were read off the
// disassembly of glibc 2.36 (Debian 12) libm and confirmed against it on all 2^32 float inputs:
//
//   expf:  kd = fma(InvLn2N, x, SHIFT) - SHIFT   r = fma(InvLn2N, x, -kd)
//          z = fma(C0, r, C1)   y = fma(C2, r, 1)   y = fma(z, r*r, y)   result = float(y * s)
//   sin polynomial:  s1 = fma(x2, S3, S2)   s = fma(x3, S1, x)   result = float(fma(s1, x5, s))
//   cos polynomial:  c1 = fma(x2, C1, C0)   c2 = fma(x2, C4, C3)   c = fma(x4, C2, c1)
//                    result = float(fma(c2, x6, c))
//   sin/cos reduction for |x| < 120:  r = fma(-n, pi/2, x)   (the 4/pi table path for larger |x| is integer)
//
// Only two of these change any result: expf's r = fma(InvLn2N, x, -kd) (2 of the 2^32 inputs, e.g.
// 0x4202422f) and the sin/cos reduction (12 sinf inputs, 22 cosf inputs, all in 17 < |x| < 120). Turning
// any single polynomial contraction off changes no output on any float input (checked exhaustively
// against a C model of the algorithm); they are reproduced anyway.
//
// A fused multiply-add is emulated exactly, but that is slowish, so each function first evaluates its
// polynomial with ordinary double operations (exactly the SSE2 build) and keeps that result when a
// generous bound on the fused/unfused difference cannot change the final rounding to float. Only about
// one input in a million takes the exact path. Reductions are always computed exactly (cheaply: the
// operands have few enough bits that a split makes every product exact).
//
// Inputs are rounded to float first (Math.fround), outputs are float values. NaN in gives NaN out (the
// NaN's payload is not reproduced: JavaScript numbers do not carry one reliably).

const fround = Math.fround;

// ---------------------------------------------------------------------------------------------------------
// Bit access and an exact fused multiply-add.

const F64 = new Float64Array(1);
const W64 = new Uint32Array(F64.buffer);
const LITTLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const LO = LITTLE ? 0 : 1;
const HI = LITTLE ? 1 : 0;
const F32 = new Float32Array(1);
const W32 = new Uint32Array(F32.buffer);

const SPLIT = 134217729; // 2^27 + 1, Veltkamp's splitter for 53-bit doubles

/**
 * fma(a, b, c) = a * b + c rounded once to the nearest double (ties to even), as the hardware instruction
 * computes it. Exact for operands whose product and sum neither overflow nor fall into the subnormal
 * range (|a * b| and |c| above about 2^-968, unless zero), which covers every use here.
 *
 * Dekker's product gives a * b = p + e exactly; TwoSum gives p + c = s + t exactly; then
 * fma = RN(s + RO(t + e)) where RO rounds to odd (Boldo & Melquiond, "Emulation of FMA and correctly rounded
 * sums: proved algorithms using rounding to odd", IEEE Trans. Computers 57(4), 2008).
 */
export function fma(a: number, b: number, c: number): number {
  const p = a * b;
  if (p !== p || p === Infinity || p === -Infinity || c === Infinity || c === -Infinity) return p + c;
  let u = SPLIT * a;
  const ah = u - (u - a);
  const al = a - ah;
  u = SPLIT * b;
  const bh = u - (u - b);
  const bl = b - bh;
  const e = ah * bh - p + ah * bl + al * bh + al * bl; // a * b - p, exactly
  const s = p + c;
  if (s === 0) return e === 0 ? s : e; // p + c == 0 exactly, so the result is e (or a signed zero)
  const sb = s - p;
  const t = p - (s - sb) + (c - sb); // p + c - s, exactly
  let v = t + e;
  const vb = v - t;
  const ve = t - (v - vb) + (e - vb); // t + e - v, exactly
  if (ve !== 0) {
    // Round v to odd: if its last bit is even, step one ulp towards the exact value t + e.
    F64[0] = v;
    const lo = W64[LO]!;
    if ((lo & 1) === 0) {
      if (ve > 0 === v > 0) {
        W64[LO] = lo + 1; // away from zero; lo is even so this cannot carry
      } else if (lo === 0) {
        W64[LO] = 0xffffffff; // towards zero with a borrow from the high word
        W64[HI] = W64[HI]! - 1;
      } else {
        W64[LO] = lo - 1;
      }
      v = F64[0]!;
    }
  }
  return s + v;
}

// ---------------------------------------------------------------------------------------------------------
// Variant selection.

/** Which glibc build to reproduce: 'fma' (the -mfma -mavx2 ifunc variants) or 'sse2' (no contraction). */
export type LibmVariant = 'fma' | 'sse2';

let fused = true;

/** Choose the glibc build that cosf/sinf/expf reproduce (see the header comment). Default 'fma'. */
export function setLibmVariant(v: LibmVariant): void {
  if (v !== 'fma' && v !== 'sse2') throw new Error(`unknown libm variant ${String(v)}`);
  fused = v === 'fma';
}

export function getLibmVariant(): LibmVariant {
  return fused ? 'fma' : 'sse2';
}

/**
 * The variant glibc's x86-64 ifunc resolver would pick for a CPU with these /proc/cpuinfo flags: 'fma'
 * when both FMA and AVX2 are present (glibc also requires the OS to enable AVX state, which any kernel
 * reporting avx2 does), else 'sse2'.
 */
export function libmVariantForCpuFlags(flags: Iterable<string>): LibmVariant {
  const set = new Set(flags);
  return set.has('fma') && set.has('avx2') ? 'fma' : 'sse2';
}

// Relative slack around a polynomial result inside which the unfused evaluation may round differently
// from the fused one. The true difference is below about 2^-50 relative (a few double ulps); 2^-45 leaves
// a wide margin and still sends only about one input in 2^20 to the exact path.
let SLACK_LO = 1 - 2 ** -45;
let SLACK_HI = 1 + 2 ** -45;

/** For tests: send every polynomial through the exact fused evaluation (true), or restore the fast path. */
export function _forceExactPath(on: boolean): void {
  SLACK_LO = on ? -1 : 1 - 2 ** -45;
  SLACK_HI = on ? 3 : 1 + 2 ** -45;
}

// ---------------------------------------------------------------------------------------------------------
// expf

const INVLN2N = 0x171547652b82fe * 2 ** -47; // 0x1.71547652b82fep+5 = 32 / ln 2
// InvLn2N split so that each part times a float (24 bits) is exact: 29 + 24 bits.
const INVLN2N_HI = 0x171547652b82fe - (0x171547652b82fe % 2 ** 24);
const IH = INVLN2N_HI * 2 ** -47;
const IL = (0x171547652b82fe - INVLN2N_HI) * 2 ** -47;
const EC0 = 0x1c6af84b912394 * 2 ** -72; // 0x1.c6af84b912394p-20
const EC1 = 0x1ebfce50fac4f3 * 2 ** -65; // 0x1.ebfce50fac4f3p-13
const EC2 = 0x162e42ff0c52d6 * 2 ** -58; // 0x1.62e42ff0c52d6p-6
const SHIFT = 0x18 * 2 ** 48; // 0x1.8p52

// 2^(i/32) rounded to double, as 53-bit integer significands.
const EXP2_MANT = [
  0x10000000000000, 0x1059b0d3158574, 0x10b5586cf9890f, 0x111301d0125b51, 0x1172b83c7d517b, 0x11d4873168b9aa,
  0x12387a6e756238, 0x129e9df51fdee1, 0x1306fe0a31b715, 0x1371a7373aa9cb, 0x13dea64c123422, 0x144e086061892d,
  0x14bfdad5362a27, 0x15342b569d4f82, 0x15ab07dd485429, 0x16247eb03a5585, 0x16a09e667f3bcd, 0x171f75e8ec5f74,
  0x17a11473eb0187, 0x182589994cce13, 0x18ace5422aa0db, 0x193737b0cdc5e5, 0x19c49182a3f090, 0x1a5503b23e255d,
  0x1ae89f995ad3ad, 0x1b7f76f2fb5e47, 0x1c199bdd85529c, 0x1cb720dcef9069, 0x1d5818dcfba487, 0x1dfc97337b9b5f,
  0x1ea4afa2a490da, 0x1f50765b6e4540,
];
/** The 32 significands of 2^(i/32) (exported for tests). */
export const EXP2_TABLE_SIGNIFICANDS: readonly number[] = EXP2_MANT;
const EXP2 = new Float64Array(32);
for (let i = 0; i < 32; i++) EXP2[i] = EXP2_MANT[i]! * 2 ** -52;
// 2^e for e = k >> 5 with k = round(x * 32 / ln 2) in [-150 * 32, 128 * 32]: e in [-151, 128].
const POW2_BIAS = 160;
const POW2 = new Float64Array(2 * POW2_BIAS);
for (let i = 0; i < POW2.length; i++) POW2[i] = 2 ** (i - POW2_BIAS);

const EXP_OFLOW = 0xb17217 * 2 ** -17; // 0x1.62e42ep6f: above, exp overflows float
const EXP_UFLOW = -0x19fe368 * 2 ** -18; // -0x1.9fe368p6f: below, exp rounds to zero
const EXP_MAY_UFLOW = -0x19d1d9e * 2 ** -18; // -0x1.9d1d9ep6f: below, glibc returns 0x1.4p-75f^2 = 2^-149
const DENORM_MIN = 2 ** -149;

function expPolyFused(r: number, s: number): number {
  const z = fma(EC0, r, EC1);
  const y = fma(r, EC2, 1);
  return fround(fma(z, r * r, y) * s);
}

/** glibc expf(x), bit for bit (x is rounded to float first). */
export function expf(x: number): number {
  x = fround(x);
  if (!(x < 88 && x > -88)) {
    // |x| >= 88 or NaN (glibc tests the top 12 bits against those of 88.0f)
    if (x !== x) return x;
    if (x === -Infinity) return 0;
    if (x === Infinity) return x;
    if (x > EXP_OFLOW) return Infinity;
    if (x < EXP_UFLOW) return 0;
    if (x < EXP_MAY_UFLOW) return DENORM_MIN;
  }
  let kd: number, r: number;
  if (fused) {
    // z = InvLn2N * x exactly as p + e; kd = round(z) ties to even; r = z - kd rounded once.
    const a = IH * x;
    const b = IL * x;
    const p = a + b;
    const e = b - (p - a);
    kd = p + SHIFT - SHIFT;
    const d = p - kd;
    if (d === 0.5 && e > 0) kd += 1;
    else if (d === -0.5 && e < 0) kd -= 1;
    r = p - kd + e;
  } else {
    const z = INVLN2N * x;
    kd = z + SHIFT - SHIFT;
    r = z - kd;
  }
  const k = kd | 0;
  const s = EXP2[k & 31]! * POW2[(k >> 5) + POW2_BIAS]!;
  const y = (EC0 * r + EC1) * (r * r) + (EC2 * r + 1);
  const v = y * s;
  if (!fused) return fround(v);
  const out = fround(v);
  if (fround(v * SLACK_LO) === fround(v * SLACK_HI)) return out;
  return expPolyFused(r, s);
}

// ---------------------------------------------------------------------------------------------------------
// sinf / cosf

const HPI_INV = 0x145f306dc9c883 * 2 ** -29; // 0x1.45f306dc9c883p+23 = 2/pi * 2^24
const HPI = 0x1921fb54442d18 * 2 ** -52; // 0x1.921fb54442d18p0 = pi/2
// pi/2 split so that n * HPI_HI (|n| <= 77) and n * HPI_LO are exact: 45 + 2 significant bits.
const HPI_HI = 0x1921fb54442d00 * 2 ** -52;
const HPI_LO = 0x18 * 2 ** -52;
const PI63 = 0x1921fb54442d18 * 2 ** -114; // pi * 2^-62
const C0 = 1;
const C1 = -0x1ffffffd0c621c * 2 ** -54; // -0x1.ffffffd0c621cp-2
const C2 = 0x155553e1068f19 * 2 ** -57; // 0x1.55553e1068f19p-5
const C3 = -0x16c087e89a359d * 2 ** -62; // -0x1.6c087e89a359dp-10
const C4 = 0x199343027bf8c3 * 2 ** -68; // 0x1.99343027bf8c3p-16
const S1 = -0x1555545995a603 * 2 ** -55; // -0x1.555545995a603p-3
const S2 = 0x11107605230bc4 * 2 ** -59; // 0x1.1107605230bc4p-7
const S3 = -0x1994eb3774cf24 * 2 ** -65; // -0x1.994eb3774cf24p-13

// 4/pi to 192 bits; entry k holds bits [8k - 24, 8k + 8) (zeros before the binary point), so that any
// 96-bit window starting on a byte boundary is three aligned words INV_PIO4[k], [k + 4], [k + 8].
const FOUR_OVER_PI_HEX = 'a2f9836e4e441529fc2757d1f534ddc0db6295993c439041';
const INV_PIO4 = new Uint32Array(24);
for (let k = 0; k < 24; k++) {
  let w = 0;
  for (let j = k - 3; j <= k; j++) w = w * 256 + (j >= 0 ? parseInt(FOUR_OVER_PI_HEX.slice(2 * j, 2 * j + 2), 16) : 0);
  INV_PIO4[k] = w;
}
/** The 4/pi table as 32-bit words (exported for tests). */
export const INV_PIO4_WORDS: readonly number[] = Array.from(INV_PIO4);

const TWO32 = 4294967296;
const TWO_M32 = 1 / TWO32;

/**
 * sin or cos (cos = 1) of |y| for |y| >= 120, y's float bits xi. glibc's reduce_large: |y| = n * pi/2 + r,
 * r in [-pi/4, pi/4], from a 32 x 96 bit product of the significand with the 4/pi table in 2.62 fixed
 * point; then the quadrant and y's sign (which the reduction ignores) pick the polynomial and the sign.
 *
 * The 64-bit integer arithmetic is done on 32-bit words. The high word of a product m * a (m < 2^31,
 * a < 2^32) is (m * a - low word) / 2^32, an integer; computing it in double is off by less than 2^-21,
 * so Math.round recovers it exactly.
 */
function sinCosLarge(xi: number, cos: number): number {
  const idx = (xi >>> 26) & 15;
  const m = ((xi & 0x7fffff) | 0x800000) << ((xi >>> 23) & 7); // < 2^31
  const a4 = INV_PIO4[idx + 4]!;
  const a8 = INV_PIO4[idx + 8]!;
  // res0 = (lo32(m * a0) << 32 | hi32(m * a8)) + m * a4, as a high and a low word (mod 2^64)
  const hi0 = Math.imul(m, INV_PIO4[idx]!) >>> 0;
  const lo0 = Math.round((m * a8 - (Math.imul(m, a8) >>> 0)) * TWO_M32);
  const lo1 = Math.imul(m, a4) >>> 0;
  const hi1 = Math.round((m * a4 - lo1) * TWO_M32);
  let lo = lo0 + lo1;
  let hi = hi0 + hi1;
  if (lo >= TWO32) {
    lo -= TWO32;
    hi += 1;
  }
  hi = hi >>> 0;
  const n = (hi + 0x20000000) >>> 30; // (res0 + 2^61) >> 62
  const hs = (hi - n * 0x40000000) | 0; // res0 - (n << 62) as a signed 64-bit value: its high word
  const r = (hs * TWO32 + lo) * PI63; // (double)(int64) rounds once, as cvtsi2sd does
  return quadrantResult(r, n ^ cos, (n + (xi >>> 31)) & 3);
}

/**
 * The polynomial and sign for reduced argument r: glibc evaluates sin when k is even, cos when odd; the
 * sine gets sign[q] = {1, -1, -1, 1}[q], the cosine is negated when q & 2 (its second coefficient table).
 */
function quadrantResult(r: number, k: number, q: number): number {
  if ((k & 1) === 0) {
    const v = sinPoly(r);
    return q === 1 || q === 2 ? -v : v;
  }
  const v = cosPoly(r);
  return (q & 2) !== 0 ? -v : v;
}

/** Sine polynomial on x (|x| <= pi/4): fused evaluation, rounded to float. */
function sinPolyFused(x: number): number {
  const x2 = x * x;
  const x3 = x2 * x;
  const s1 = fma(x2, S3, S2);
  const s = fma(x3, S1, x);
  return fround(fma(s1, x3 * x2, s));
}

/** Cosine polynomial on x (|x| <= pi/4): fused evaluation, rounded to float. */
function cosPolyFused(x: number): number {
  const x2 = x * x;
  const x4 = x2 * x2;
  const c1 = fma(x2, C1, C0);
  const c2 = fma(x2, C4, C3);
  const c = fma(x4, C2, c1);
  return fround(fma(c2, x4 * x2, c));
}

/** sin(x) for |x| <= pi/4 as glibc's polynomial computes it, rounded to float. */
function sinPoly(x: number): number {
  const x2 = x * x;
  const x3 = x2 * x;
  const v = x + x3 * S1 + x3 * x2 * (S2 + x2 * S3);
  if (!fused) return fround(v);
  const out = fround(v);
  if (fround(v * SLACK_LO) === fround(v * SLACK_HI)) return out;
  return sinPolyFused(x);
}

/** cos(x) for |x| <= pi/4 as glibc's polynomial computes it, rounded to float. */
function cosPoly(x: number): number {
  const x2 = x * x;
  const x4 = x2 * x2;
  const v = C0 + x2 * C1 + x4 * C2 + x4 * x2 * (C3 + x2 * C4);
  if (!fused) return fround(v);
  const out = fround(v);
  if (fround(v * SLACK_LO) === fround(v * SLACK_HI)) return out;
  return cosPolyFused(x);
}

/**
 * sin or cos (cos = 1) of x for 0.75 <= |x| < 120: glibc's reduce_fast, r = x - n * pi/2 with n the
 * nearest quadrant (from a truncating conversion of x * 2/pi * 2^24). In the fma build r is
 * fma(-n, pi/2, x): with pi/2 split in two, both products and the first difference are exact, so only
 * the last subtraction rounds.
 */
function sinCosMedium(x: number, cos: number): number {
  const n = (((x * HPI_INV) | 0) + 0x800000) >> 24;
  const r = fused ? x - n * HPI_HI - n * HPI_LO : x - n * HPI;
  return quadrantResult(r, n ^ cos, n & 3);
}

/** glibc sinf(x), bit for bit (x is rounded to float first). */
export function sinf(x: number): number {
  x = fround(x);
  const ax = Math.abs(x);
  if (ax < 0.75) return ax < 2 ** -12 ? x : sinPoly(x);
  if (ax < 120) return sinCosMedium(x, 0);
  if (ax === Infinity || ax !== ax) return NaN;
  F32[0] = x;
  return sinCosLarge(W32[0]!, 0);
}

/** glibc cosf(x), bit for bit (x is rounded to float first). */
export function cosf(x: number): number {
  x = fround(x);
  const ax = Math.abs(x);
  if (ax < 0.75) return ax < 2 ** -12 ? 1 : cosPoly(x);
  if (ax < 120) return sinCosMedium(x, 1);
  if (ax === Infinity || ax !== ax) return NaN;
  F32[0] = x;
  return sinCosLarge(W32[0]!, 1);
}
