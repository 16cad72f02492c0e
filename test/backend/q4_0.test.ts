// Q4_0 products against a plain-JS emulation of llama.cpp's x86 order, bit for bit, in both kernel builds:
// the repacked q4_0_8x8 order (rows a multiple of 8: one fused multiply-add of the whole block dot per
// block, whatever the number of tokens) and ggml_vec_dot_q4_0_q8_0's eight lanes otherwise.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { CpuBackend } from '../../src/backend/cpu/cpu-backend.js';
import type { CpuMatrix, PreparedActivation } from '../../src/backend/cpu/formats/index.js';
import { q4_0Format, q4_0Repacked } from '../../src/backend/cpu/formats/q4_0.js';
import { compileKernels, instantiateKernelModule, kernelPath, type KernelBuild, type KernelExports } from '../../src/backend/cpu/kernels.js';
import { WasmMemory } from '../../src/backend/cpu/wasm-memory.js';
import { GGMLType } from '../../src/gguf/ggml-types.js';
import { f16ToF32, f32ToF16, quantizeRow, rowBytes } from '../../src/gguf/quant/index.js';
import { Rng } from '../../src/model/make/rng.js';

const f = Math.fround;
const F64 = new Float64Array(1);
const U32 = new Uint32Array(F64.buffer);

/**
 * fma(a, b, c) rounded once to f32, for a * b exact in f64 (here an integer below 2^16 times an f32): the
 * sum is rounded to odd in f64, then to f32, which is a single correct rounding.
 */
function fmaf(a: number, b: number, c: number): number {
  const p = a * b;
  const s = p + c;
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

function randn(n: number, seed: number, std = 1): Float32Array {
  const a = new Float32Array(n);
  new Rng(seed).fillNormal(a, std);
  return a;
}

/** quantize_row_q8_0 (x86): d = amax/127 kept as f16, q = round-half-even(x * 127/amax). */
function quantizeActivations(x: Float32Array): { q: Int8Array; d: Float32Array } {
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

/** Weight element e of row r (nibble - 8) and the block scales, from GGUF Q4_0 bytes. */
function weightsOf(raw: Uint8Array, rows: number, cols: number): { w: Int8Array; d: Float32Array } {
  const nb = cols / 32, rb = nb * 18;
  const w = new Int8Array(rows * cols), d = new Float32Array(rows * nb);
  for (let r = 0; r < rows; r++) {
    for (let b = 0; b < nb; b++) {
      const o = r * rb + b * 18;
      d[r * nb + b] = f16ToF32(raw[o]! | (raw[o + 1]! << 8));
      for (let i = 0; i < 16; i++) {
        w[r * cols + b * 32 + i] = (raw[o + 2 + i]! & 15) - 8;
        w[r * cols + b * 32 + 16 + i] = (raw[o + 2 + i]! >> 4) - 8;
      }
    }
  }
  return { w, d };
}

/** llama.cpp's result for y[t][r]: the repacked gemv/gemm order, or ggml_vec_dot_q4_0_q8_0's. */
function reference(raw: Uint8Array, rows: number, cols: number, X: Float32Array, nt: number): Float32Array {
  const nb = cols / 32;
  const { w, d: wd } = weightsOf(raw, rows, cols);
  const y = new Float32Array(nt * rows);
  for (let t = 0; t < nt; t++) {
    const { q, d: xd } = quantizeActivations(X.subarray(t * cols, (t + 1) * cols));
    for (let r = 0; r < rows; r++) {
      if (q4_0Repacked(rows)) {
        // acc = fma((float)isum, d_w * d_x, acc) per block.
        let acc = 0;
        for (let b = 0; b < nb; b++) {
          let s = 0;
          for (let i = 0; i < 32; i++) s += w[r * cols + b * 32 + i]! * q[b * 32 + i]!;
          acc = fmaf(s, f(wd[r * nb + b]! * xd[b]!), acc);
        }
        y[t * rows + r] = acc;
      } else {
        // Eight lanes of four-element sums, one fma per block each, then ((0+4)+(2+6))+((1+5)+(3+7)).
        const a = new Array<number>(8).fill(0);
        for (let b = 0; b < nb; b++) {
          const dd = f(wd[r * nb + b]! * xd[b]!);
          for (let l = 0; l < 8; l++) {
            let s = 0;
            for (let j = 0; j < 4; j++) s += w[r * cols + b * 32 + 4 * l + j]! * q[b * 32 + 4 * l + j]!;
            a[l] = fmaf(dd, s, a[l]!);
          }
        }
        y[t * rows + r] = f(f(f(a[0]! + a[4]!) + f(a[2]! + a[6]!)) + f(f(a[1]! + a[5]!) + f(a[3]! + a[7]!)));
      }
    }
  }
  return y;
}

function makeWeights(rows: number, cols: number, seed: number): Uint8Array {
  const W = randn(rows * cols, seed);
  const rb = rowBytes(GGMLType.Q4_0, cols);
  const raw = new Uint8Array(rows * rb);
  for (let r = 0; r < rows; r++) quantizeRow(GGMLType.Q4_0, W.subarray(r * cols, (r + 1) * cols), raw.subarray(r * rb, (r + 1) * rb), cols);
  // The f16 scales' edge cases (the repacked layout converts them in the kernel): subnormals of both signs,
  // zero, negative zero, the smallest normal and the largest finite value, one in every five blocks.
  const edges = [0x0001, 0x03ff, 0x8200, 0x0000, 0x8000, 0x0400, 0xfbff, 0x7bff];
  for (let b = 0; b < raw.length / 18; b += 5) {
    const h = edges[(b / 5) % edges.length]!;
    raw[b * 18] = h & 255;
    raw[b * 18 + 1] = h >> 8;
  }
  return raw;
}

/** Both builds where this runtime runs them (the relaxed one needs relaxed SIMD with a fused multiply-add). */
function builds(): { build: KernelBuild; module: WebAssembly.Module }[] {
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
function poolShares(rows: number, threads: number): [number, number][] {
  return Array.from({ length: threads }, (_, t) => [Math.floor((rows * t) / threads), Math.floor((rows * (t + 1)) / threads)] as [number, number]);
}

const SHAPES: { rows: number; cols: number; nt: number }[] = [
  { rows: 8, cols: 32, nt: 1 },
  { rows: 64, cols: 256, nt: 1 },
  { rows: 64, cols: 256, nt: 4 },
  { rows: 40, cols: 96, nt: 11 },
  { rows: 24, cols: 1024, nt: 7 },
  { rows: 16, cols: 4096, nt: 70 }, // more tokens than one span of corrections
  { rows: 19, cols: 512, nt: 5 }, // vec_dot order
  { rows: 12, cols: 64, nt: 3 }, // vec_dot order, rows a multiple of 4 only
  { rows: 1, cols: 128, nt: 2 },
];

describe('Q4_0 kernels match llama.cpp x86 order bit for bit', () => {
  for (const { build, module } of builds()) {
    for (const { rows, cols, nt } of SHAPES) {
      test(`${build}: ${rows}x${cols}, ${nt} token${nt > 1 ? 's' : ''} (${q4_0Repacked(rows) ? 'repacked gemv/gemm' : 'vec_dot'})`, () => {
        const mem = new WasmMemory();
        const k: KernelExports = instantiateKernelModule(module, mem.memory);
        const raw = makeWeights(rows, cols, rows * 1000 + cols);
        const rb = rowBytes(GGMLType.Q4_0, cols);
        const { ptrs, bytes } = q4_0Format.upload(mem, { name: 'w', type: GGMLType.Q4_0, rows, cols, readRows: (r0, n) => raw.subarray(r0 * rb, (r0 + n) * rb) });
        // Repacked: the file's 18 bytes per 32 weights (f16 scales); rows: scales widened to f32.
        assert.equal(bytes, q4_0Repacked(rows) ? rows * (cols / 32) * 18 : rows * (cols / 2 + cols / 8));
        const m = { rows, cols, type: GGMLType.Q4_0, bytes, format: q4_0Format, ptrs, expert: false, shard: 0 } as unknown as CpuMatrix;
        const X = randn(nt * cols, rows + cols + nt);
        // A block of zeros and a block with one large value: the scale's edge cases.
        X.fill(0, 0, 32);
        if (cols >= 64) X[40] = 1e4;
        const n = nt * cols;
        const xp = mem.allocBytes(n * 4);
        mem.f32(xp, n).set(X);
        const q = mem.allocBytes(3 * n), d = mem.allocBytes(n / 8);
        k.quantize_q8_0(xp, n, q, d);
        const act = { ptr: q, scales: d, sums: 0, bytes: 3 * n, scaleBytes: n / 8, sumBytes: 0 } as unknown as PreparedActivation;
        const want = reference(raw, rows, cols, X, nt);
        const scratch = [0, 1, 2, 3, 4].map(() => mem.allocBytes(64 << 10));
        const y = mem.allocBytes(nt * rows * 4);
        const call = q4_0Format.call(m, act, y, nt);
        // The call's work units (rows, or (row, token) pairs) cut as the thread pool cuts them, and at
        // arbitrary points.
        const units = call.rows;
        const cuts: [number, number][][] = [1, 2, 3, 5].map((T) => poolShares(units, T));
        const pts = [...new Set([0, 3, 9, 10, 13, 77, units].filter((p) => p <= units))].sort((a, b) => a - b);
        cuts.push(pts.slice(1).map((p, i) => [pts[i]!, p] as [number, number]));
        for (const ranges of cuts) {
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
              assert.fail(`${build} ${rows}x${cols} nt=${nt} split ${JSON.stringify(ranges)}: y[${Math.floor(i / rows)}][${i % rows}] = ${got[i]}, llama.cpp ${want[i]}`);
            }
          }
        }
      });
    }
  }
});

describe('Q4_0 through the backend', () => {
  test('threads, stacked experts and a mix of row counts give llama.cpp values', async () => {
    const B = new CpuBackend({ threads: 2, minParallelWork: 0 });
    try {
      for (const [rows, cols, nt, expert] of [[256, 512, 1, false], [256, 512, 9, false], [64, 1024, 6, true], [72, 256, 1, true], [30, 256, 4, false]] as const) {
        const raw = makeWeights(rows, cols, rows + cols);
        const rb = rowBytes(GGMLType.Q4_0, cols);
        const m = B.uploadMatrix({ name: 'w', type: GGMLType.Q4_0, rows, cols, readRows: (r0, n) => raw.subarray(r0 * rb, (r0 + n) * rb), expert });
        assert.ok(m.bytes <= 1.15 * rows * rb, 'memory within 1.15x of the GGUF bytes');
        const X = randn(nt * cols, 5 + nt);
        const y = B.alloc(nt * rows);
        B.matmul(y, m, B.uploadVector(X), nt);
        const want = reference(raw, rows, cols, X, nt);
        const got = B.view(y);
        for (let i = 0; i < nt * rows; i++) assert.ok(Object.is(got[i], want[i]), `${rows}x${cols} nt=${nt}: y[${i}] = ${got[i]}, llama.cpp ${want[i]}`);
        B.resetTemp();
      }
    } finally {
      await B.close();
    }
  });
});
