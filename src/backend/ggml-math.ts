// Elementwise functions computed bit-for-bit the way llama.cpp's x86 CPU backend (its AVX-512 build, which
// it picks on AVX-512 machines) computes them. Matching these matters for quantized models: llama.cpp
// rounds every matmul input to 8-bit integers, and an activation one ulp away from a rounding boundary
// lands on a different integer, so ulp-level differences here become visible differences in the output.
//
// FMA is evaluated in f64: the product of two f32 values is exact there, so only the final addition can
// differ from a fused f32 operation (by double rounding, at a rate of about one in 2^29).

import { readFileSync } from 'node:fs';
import { expf as libmExpf, libmVariantForCpuFlags, setLibmVariant } from './libm.js';

// glibc picks its FMA or SSE2 build of expf/sinf/cosf from the CPU's flags; follow the same choice so the
// emulation matches the libm llama.cpp runs with on this machine.
try {
  const flags = /^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1];
  if (flags) setLibmVariant(libmVariantForCpuFlags(flags.trim().split(/\s+/)));
} catch {
  // not Linux: keep the default
}

const f = Math.fround;

function hex(mantissa: number, exp: number): number {
  return f(mantissa * 2 ** exp);
}

const R = hex(0x18, 19); // 0x1.8p23
const LOG2E = hex(0x1715476, -24); // 0x1.715476p+0
const LN2_HI = hex(0x162e4, -17); // 0x1.62e4p-1
const LN2_LO = hex(0x17f7d1c, -44); // 0x1.7f7d1cp-20
const C4 = hex(0x10e4020, -31); // 0x1.0e4020p-7
const C3 = hex(0x1573e2e, -29); // 0x1.573e2ep-5
const C2 = hex(0x1555e66, -27); // 0x1.555e66p-3
const C1 = hex(0x1fffdb6, -26); // 0x1.fffdb6p-2
const C0 = hex(0x1ffffec, -25); // 0x1.ffffecp-1

function fma(a: number, b: number, c: number): number {
  return f(a * b + c);
}

/** ggml_v_expf (AVX-512): exp(x) by range reduction and a degree-5 polynomial, max error ~1.5 ulp. */
export function vExpf(x: number): number {
  const z = fma(x, LOG2E, R);
  const n = f(z - R);
  const b = f(f(x - n * LN2_HI) - n * LN2_LO);
  if (Math.abs(n) > 192) return n <= 0 ? 0 : Infinity;
  const u = f(b * b);
  const j = fma(fma(fma(C4, b, C3), u, fma(C2, b, C1)), u, fma(C0, b, 1));
  return f(j * 2 ** n);
}

/** The C library's expf, as llama.cpp's scalar fallbacks call it: glibc's, which is not correctly rounded. */
export const expf = libmExpf;

/** ggml_silu_f32: the scalar form used for the elements after the last full 16-wide vector. */
export function scalarSilu(x: number): number {
  return f(x / f(1 + expf(-x)));
}

/** ggml_vec_sigmoid_f32: 1 / (1 + expf(-x)). */
export function sigmoid(x: number): number {
  return f(1 / f(1 + expf(-x)));
}
