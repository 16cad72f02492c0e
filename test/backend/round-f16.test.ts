// The vectorised f32 -> f16 -> f32 rounding of activations (kernels/quantize.ts round_to_f16) against the
// project's scalar conversion: every edge of the f16 range and 200,000 random bit patterns. (It was also
// compared with the previous scalar kernel on all 2^32 inputs, both builds, when it was written.)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { instantiateKernels } from '../../src/backend/cpu/kernels.js';
import { f16ToF32, f32ToF16 } from '../../src/gguf/quant/index.js';

test('round_to_f16 rounds like f32 -> f16 -> f32, half to even, with subnormals, overflow and NaN', () => {
  const memory = new WebAssembly.Memory({ initial: 64, maximum: 65536, shared: true });
  const k = instantiateKernels(memory);
  const edges = [0, 2 ** -25, 2 ** -25 * 1.0001, 2 ** -24, 1.5 * 2 ** -24, 2.5 * 2 ** -24, 2 ** -14, 2 ** -14 * (1 - 2 ** -12), 2 ** -14 - 2 ** -25,
    1, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 65504, 65519.99, 65520, 65536, 1e30, Infinity, NaN, 3.14159, 1 / 3];
  const bits: number[] = [];
  const f = new Float32Array(1), u = new Uint32Array(f.buffer);
  for (const e of edges) for (const s of [1, -1]) { f[0] = s * e; bits.push(u[0]!); }
  let seed = 7;
  for (let i = 0; i < 200_000; i++) { seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0; bits.push(seed); }
  // Odd length, so the scalar tail runs too.
  if (bits.length % 4 === 0) bits.push(0x3c01f000);
  const ptr = 1 << 16;
  const view = new Uint32Array(memory.buffer, ptr, bits.length);
  view.set(bits);
  k.round_to_f16(ptr, bits.length);
  const out = new Float32Array(memory.buffer, ptr, bits.length);
  for (let i = 0; i < bits.length; i++) {
    u[0] = bits[i]!;
    const want = f16ToF32(f32ToF16(f[0]!));
    if (Number.isNaN(want)) assert.ok(Number.isNaN(out[i]!), `0x${bits[i]!.toString(16)}`);
    else assert.ok(Object.is(out[i], Math.fround(want)), `0x${bits[i]!.toString(16)}: ${out[i]} vs ${want}`);
  }
});

test('round_to_bf16 rounds half to even and keeps NaN quiet, like ggml_compute_fp32_to_bf16', () => {
  const memory = new WebAssembly.Memory({ initial: 64, maximum: 65536, shared: true });
  const k = instantiateKernels(memory);
  const bits: number[] = [0, 0x80000000, 0x3f808000, 0x3f818000, 0x3f80ffff, 0x7f7fffff, 0x7f800000, 0x7f800001, 0xffc00000, 0x00008000];
  let seed = 11;
  for (let i = 0; i < 100_001; i++) { seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0; bits.push(seed); }
  const ptr = 1 << 16;
  const view = new Uint32Array(memory.buffer, ptr, bits.length);
  view.set(bits);
  k.round_to_bf16(ptr, bits.length);
  for (let i = 0; i < bits.length; i++) {
    const u = bits[i]!;
    const want = (u & 0x7fffffff) > 0x7f800000 ? (((u >>> 16) | 64) << 16) >>> 0 : (((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) << 16) >>> 0;
    assert.equal(view[i], want, `0x${u.toString(16)}`);
  }
});
