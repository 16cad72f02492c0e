// Plain-JS emulation of llama.cpp's x86 integer products (activations quantized to Q8_0, eight lanes of
// four-element sums, fused multiply-adds) and what the kernel tests around it share: both kernel builds,
// the thread pool's cuts, random inputs.
import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import type { KernelCall } from '../../src/backend/cpu/thread-pool.js';
import type { CpuMatrix, PreparedActivation, WeightFormat } from '../../src/backend/cpu/formats/index.js';
import { compileKernels, instantiateKernelModule, kernelPath, type KernelBuild, type KernelExports } from '../../src/backend/cpu/kernels.js';
import { WasmMemory } from '../../src/backend/cpu/wasm-memory.js';
import type { GGMLType } from '../../src/gguf/ggml-types.js';
import { f16ToF32, f32ToF16, quantizeRow, rowBytes } from '../../src/gguf/quant/index.js';
import { Rng } from '../../src/model/make/rng.js';

export const f = Math.fround;
const F64 = new Float64Array(1);
const U32 = new Uint32Array(F64.buffer);

/**
 * fma(a, b, c) rounded once to f32, for a * b exact in f64 (here an integer below 2^16 times an f32): the
 * sum is rounded to odd in f64, then to f32, which is a single correct rounding.
 */
export function fmaf(a: number, b: number, c: number): number {
  const p = a * b;
  const s = p + c;
  if (!Number.isFinite(s)) return f(s);
  const sb = s - p;
  const t = p - (s - sb) + (c - sb);
  if (t === 0 || s === 0) return f(s);
  F64[0] = s;
  if ((U32[0]! & 1) === 0) {
    // Step one ulp towards the exact value (s is even, so the low word never wraps past zero here).
    if (t > 0 === s > 0) U32[0] = U32[0]! + 1;
    else if (U32[0] === 0) {
      U32[0] = 0xffffffff;
      U32[1] = U32[1]! - 1;
    } else U32[0] = U32[0]! - 1;
  }
  return f(F64[0]!);
}

export function randn(n: number, seed: number, std = 1): Float32Array {
  const a = new Float32Array(n);
  new Rng(seed).fillNormal(a, std);
  return a;
}

/** quantize_row_q8_0 (x86): d = amax/127 kept as f16, q = round-half-even(x * 127/amax). */
export function quantizeActivations(x: Float32Array): { q: Int8Array; d: Float32Array } {
  const nb = x.length / 32;
  const q = new Int8Array(x.length), d = new Float32Array(nb);
  for (let b = 0; b < nb; b++) {
    let amax = 0;
    for (let i = 0; i < 32; i++) amax = Math.max(amax, Math.abs(x[b * 32 + i]!));
    d[b] = f16ToF32(f32ToF16(f(amax / 127)));
    const id = amax ? f(127 / amax) : 0;
    for (let i = 0; i < 32; i++) {
      const v = f(x[b * 32 + i]! * id);
      let r = Math.round(v);
      if (Math.abs(v % 1) === 0.5) r = 2 * Math.round(v / 2);
      q[b * 32 + i] = r;
    }
  }
  return { q, d };
}

/**
 * One row of ggml_vec_dot_q8_0_q8_0 / ggml_vec_dot_q4_0_q8_0 on x86: eight lanes of four-element integer
 * sums, each block added as fma(d_w * d_x, lane, acc), then ((0+4)+(2+6))+((1+5)+(3+7)). `w` and `wd` are
 * the row's weights and block scales, `q` and `xd` the token's quantized activations.
 */
export function laneDot8(w: ArrayLike<number>, wd: ArrayLike<number>, q: ArrayLike<number>, xd: ArrayLike<number>, nb: number): number {
  const a = new Array<number>(8).fill(0);
  for (let b = 0; b < nb; b++) {
    const dd = f(wd[b]! * xd[b]!);
    for (let l = 0; l < 8; l++) {
      let s = 0;
      for (let j = 0; j < 4; j++) s += w[b * 32 + 4 * l + j]! * q[b * 32 + 4 * l + j]!;
      a[l] = fmaf(dd, s, a[l]!);
    }
  }
  return f(f(f(a[0]! + a[4]!) + f(a[2]! + a[6]!)) + f(f(a[1]! + a[5]!) + f(a[3]! + a[7]!)));
}

/** Both kernel builds where this runtime runs them (the relaxed one needs relaxed SIMD with a fused multiply-add). */
export function kernelBuilds(): { build: KernelBuild; module: WebAssembly.Module }[] {
  compileKernels(); // sets the V8 flags relaxed SIMD needs
  const out: { build: KernelBuild; module: WebAssembly.Module }[] = [];
  for (const build of ['relaxed', 'simd'] as const) {
    const bytes = new Uint8Array(readFileSync(kernelPath(build)));
    if (!WebAssembly.validate(bytes)) continue;
    const module = new WebAssembly.Module(bytes);
    if (build === 'relaxed') {
      const k = instantiateKernelModule(module, new WebAssembly.Memory({ initial: 16, maximum: 65536, shared: true }));
      const a = 1 + 2 ** -12;
      if (k.fma_probe(a, a, -1) !== 2 ** -11 + 2 ** -24) continue;
    }
    out.push({ build, module });
  }
  return out;
}

/** The thread pool's cuts of `units` into `threads` shares. */
export function poolShares(rows: number, threads: number): [number, number][] {
  return Array.from({ length: threads }, (_, t) => [Math.floor((rows * t) / threads), Math.floor((rows * (t + 1)) / threads)] as [number, number]);
}

/** A call's work units cut as the thread pool cuts them for 1, 2, 3 and 5 threads, and at arbitrary points. */
export function unitCuts(units: number): [number, number][][] {
  const cuts: [number, number][][] = [1, 2, 3, 5].map((T) => poolShares(units, T));
  const pts = [...new Set([0, 3, 9, 10, 13, 77, units].filter((p) => p <= units))].sort((a, b) => a - b);
  cuts.push(pts.slice(1).map((p, i) => [pts[i]!, p] as [number, number]));
  return cuts;
}

/** f16 scales worth testing: subnormals of both signs, zero, negative zero, the smallest normal, the largest finite. */
export const F16_SCALE_EDGES = [0x0001, 0x03ff, 0x8200, 0x0000, 0x8000, 0x0400, 0xfbff, 0x7bff];

/**
 * GGUF bytes of a random rows x cols matrix of a block type whose blocks start with an f16 scale (Q4_0,
 * Q8_0), one block in five given an edge-case scale (F16_SCALE_EDGES), which kernels that widen f16 scales
 * themselves must handle.
 */
export function weightsWithScaleEdges(type: GGMLType, rows: number, cols: number, seed: number): Uint8Array {
  const W = randn(rows * cols, seed);
  const rb = rowBytes(type, cols);
  const raw = new Uint8Array(rows * rb);
  for (let r = 0; r < rows; r++) quantizeRow(type, W.subarray(r * cols, (r + 1) * cols), raw.subarray(r * rb, (r + 1) * rb), cols);
  const blockBytes = rb / (cols / 32);
  for (let b = 0; b < raw.length / blockBytes; b += 5) {
    const h = F16_SCALE_EDGES[(b / 5) % F16_SCALE_EDGES.length]!;
    raw[b * blockBytes] = h & 255;
    raw[b * blockBytes + 1] = h >> 8;
  }
  return raw;
}

/**
 * X (nt rows of cols values, in wasm memory) quantized by the kernels' quantize_q8_0 as the backend does
 * before a product with Q8_0 or Q4_0 weights.
 */
export function quantizedInput(k: KernelExports, mem: WasmMemory, X: Float32Array): PreparedActivation {
  const n = X.length;
  const xp = mem.allocBytes(n * 4);
  mem.f32(xp, n).set(X);
  const q = mem.allocBytes(3 * n), d = mem.allocBytes(n / 8);
  k.quantize_q8_0(xp, n, q, d);
  return { ptr: q, scales: d, sums: 0, bytes: 3 * n, scaleBytes: n / 8, sumBytes: 0 } as unknown as PreparedActivation;
}

/**
 * Runs a product's kernel call cut as the pool cuts it (unitCuts), each piece with its own scratch, and
 * checks every output bit for bit against `want` ([nt][rows]).
 */
export function checkCuts(label: string, k: KernelExports, mem: WasmMemory, call: KernelCall, y: number, rows: number, nt: number, want: Float32Array): void {
  const scratch = [0, 1, 2, 3, 4].map(() => mem.allocBytes(64 << 10));
  for (const ranges of unitCuts(call.rows)) {
    mem.f32(y, nt * rows).fill(NaN);
    ranges.forEach(([r0, r1], tid) => {
      const args = [...call.args];
      args[call.r0Arg] = r0;
      args[call.r0Arg + 1] = r1;
      if (call.scratchArg !== undefined) args[call.scratchArg] = scratch[tid % scratch.length]!;
      (k[call.kernel as keyof KernelExports] as (...a: number[]) => void)(...args);
    });
    const got = mem.f32(y, nt * rows);
    for (let i = 0; i < nt * rows; i++) {
      if (!Object.is(got[i], want[i])) {
        assert.fail(`${label} split ${JSON.stringify(ranges)}: y[${Math.floor(i / rows)}][${i % rows}] = ${got[i]}, llama.cpp ${want[i]}`);
      }
    }
  }
}

/**
 * A kernel instance over a fresh memory, with raw GGUF rows uploaded through `format` as the backend
 * uploads them (the matrix a kernel test calls `format.call` on).
 */
export function uploadedMatrix(module: WebAssembly.Module, format: WeightFormat, type: GGMLType, raw: Uint8Array, rows: number, cols: number): { mem: WasmMemory; k: KernelExports; m: CpuMatrix; bytes: number } {
  const mem = new WasmMemory();
  const k = instantiateKernelModule(module, mem.memory);
  const rb = rowBytes(type, cols);
  const { ptrs, bytes } = format.upload(mem, { name: 'w', type, rows, cols, readRows: (r0, n) => raw.subarray(r0 * rb, (r0 + n) * rb) });
  const m = { rows, cols, type, bytes, format, ptrs, expert: false, shard: 0 } as unknown as CpuMatrix;
  return { mem, k, m, bytes };
}

/** nt rows of random activations with a block of zeros and (cols >= 64) one `large` value: the activation scale's edge cases. */
export function edgeActivations(nt: number, cols: number, seed: number, large: number): Float32Array {
  const X = randn(nt * cols, seed);
  X.fill(0, 0, 32);
  if (cols >= 64) X[40] = large;
  return X;
}
