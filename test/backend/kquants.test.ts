// K-quant weights kept quantized (kernels/kquants.ts, formats/kquants.ts): bit-exact against a plain-JS
// emulation of llama.cpp's x86 arithmetic (its Q8_K activations, the repacked Q4_K gemv/gemm and the
// ggml_vec_dot_q{4,5,6}_K_q8_K lanes), in both kernel builds and for any split of the rows; and the memory
// a loaded K-quant model takes.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Matrix } from '../../src/backend/backend.js';
import { CpuBackend } from '../../src/backend/cpu/cpu-backend.js';
import { kquantRowBytes, packKQuantRows, q4kOrder } from '../../src/backend/cpu/formats/kquants.js';
import { instantiateKernelModule, kernelBuild, kernelPath, type KernelBuild, type KernelExports } from '../../src/backend/cpu/kernels.js';
import { WasmMemory } from '../../src/backend/cpu/wasm-memory.js';
import { Rng } from '../../src/common/rng.js';
import { bytesFor, GGMLType, typeName } from '../../src/gguf/ggml-types.js';
import { f16ToF32, f32ToBits, getScaleMinK4, quantizeRow, rowBytes } from '../../src/gguf/quant/index.js';
import { loadModel } from '../../src/model/load.js';
import { makeModel } from '../../src/model/make/random-model.js';
import { fmaf } from '../helpers/q8-reference.js';

const f = Math.fround;

// ---- exact f32 arithmetic ----------------------------------------------------------------------------

/** fma(a, b, c) rounded once to f32 (a, b, c f32). */
const fma32 = fmaf;

/** hsum_float_8. */
function hsum8(a: readonly number[]): number {
  const r = [0, 1, 2, 3].map((i) => f(a[i + 4]! + a[i]!));
  return f(f(r[0]! + r[2]!) + f(r[1]! + r[3]!));
}

// ---- Q8_K activations (quantize_row_q8_K_ref) --------------------------------------------------------

interface Q8K {
  readonly q: Int8Array;
  readonly d: Float32Array;
  /** Sums of 16 quants. */
  readonly bs: Int16Array;
}

function nearestInt(v: number): number {
  const bits = f32ToBits(f(v + 12582912));
  return (bits & 0x7fffff) - 0x400000;
}

function quantizeQ8K(x: Float32Array): Q8K {
  const nb = x.length / 256;
  const q = new Int8Array(x.length), d = new Float32Array(nb), bs = new Int16Array(nb * 16);
  for (let b = 0; b < nb; b++) {
    let amax = 0, mx = 0;
    for (let j = 0; j < 256; j++) {
      const ax = Math.abs(x[b * 256 + j]!);
      if (ax > amax) {
        amax = ax;
        mx = x[b * 256 + j]!;
      }
    }
    if (amax === 0) continue;
    const iscale = f(-127 / mx);
    for (let j = 0; j < 256; j++) q[b * 256 + j] = Math.min(127, nearestInt(f(iscale * x[b * 256 + j]!)));
    for (let g = 0; g < 16; g++) {
      let s = 0;
      for (let i = 0; i < 16; i++) s += q[b * 256 + g * 16 + i]!;
      bs[b * 16 + g] = s;
    }
    d[b] = f(1 / iscale);
  }
  return { q, d, bs };
}

// ---- llama.cpp's products, from GGUF bytes --------------------------------------------------------

/** The 4- or 5-bit code of value i (0..31) of sub-block j of the Q4_K/Q5_K block at o. */
function codeK45(raw: Uint8Array, o: number, type: GGMLType, j: number, i: number): number {
  const qs = type === GGMLType.Q4_K ? o + 16 : o + 48;
  const byte = raw[qs + 32 * (j >> 1) + i]!;
  let q = j & 1 ? byte >> 4 : byte & 15;
  if (type === GGMLType.Q5_K) q |= ((raw[o + 16 + i]! >> j) & 1) << 4;
  return q;
}

/** Sub-block dot products sc_j * sum_i q x over values [lo, hi) of each sub-block j, per j. */
function subDots(raw: Uint8Array, o: number, type: GGMLType, xq: Int8Array, xo: number, lo = 0, hi = 32): number[] {
  const out: number[] = [];
  for (let j = 0; j < 8; j++) {
    let s = 0;
    for (let i = lo; i < hi; i++) s += codeK45(raw, o, type, j, i) * xq[xo + 32 * j + i]!;
    out.push(getScaleMinK4(raw, o + 4, j, 0) * s);
  }
  return out;
}

/** ggml_gemv_q4_K_8x8_q8_K (gemm = false) or ggml_gemm_q4_K_8x8_q8_K (gemm = true), one row, one token. */
function q4kRepacked(raw: Uint8Array, row: number, nb: number, x: Q8K, t: number, gemm: boolean): number {
  let acc = 0, accm = 0;
  for (let b = 0; b < nb; b++) {
    const o = row + b * 144;
    const dx = x.d[t * nb + b]!;
    const dd = f(f16ToF32(raw[o]! | (raw[o + 1]! << 8)) * dx);
    const dm = f(f16ToF32(raw[o + 2]! | (raw[o + 3]! << 8)) * dx);
    const dots = subDots(raw, o, GGMLType.Q4_K, x.q, (t * nb + b) * 256);
    const mins = [0, 1, 2, 3, 4, 5, 6, 7].map((j) => getScaleMinK4(raw, o + 4, j, 1) * (x.bs[(t * nb + b) * 16 + 2 * j]! + x.bs[(t * nb + b) * 16 + 2 * j + 1]!));
    if (gemm) {
      for (let p = 0; p < 4; p++) {
        acc = fma32(f(dots[2 * p]! + dots[2 * p + 1]!), dd, acc);
        accm = fma32(f(mins[2 * p]! + mins[2 * p + 1]!), dm, accm);
      }
    } else {
      acc = fma32(f(dots.reduce((a, v) => a + v, 0)), dd, acc);
      accm = fma32(f(mins.reduce((a, v) => a + v, 0)), dm, accm);
    }
  }
  return f(acc - accm);
}

/** ggml_vec_dot_q4_K_q8_K / ggml_vec_dot_q5_K_q8_K (AVX2), one row, one token. */
function q45kVecDot(type: GGMLType, raw: Uint8Array, row: number, nb: number, x: Q8K, t: number): number {
  const bytes = type === GGMLType.Q4_K ? 144 : 176;
  const acc = new Array<number>(8).fill(0), am = new Array<number>(4).fill(0);
  let summs = 0;
  for (let b = 0; b < nb; b++) {
    const o = row + b * bytes;
    const dx = x.d[t * nb + b]!;
    const d = f(dx * f16ToF32(raw[o]! | (raw[o + 1]! << 8)));
    const dmin = f(-dx * f16ToF32(raw[o + 2]! | (raw[o + 3]! << 8)));
    const xo = (t * nb + b) * 256;
    const prod = [0, 1, 2, 3].map((l) => {
      let s = 0;
      for (const j of [2 * l, 2 * l + 1]) s += getScaleMinK4(raw, o + 4, j, 1) * (x.bs[(t * nb + b) * 16 + 2 * j]! + x.bs[(t * nb + b) * 16 + 2 * j + 1]!);
      return s;
    });
    if (type === GGMLType.Q4_K) for (let l = 0; l < 4; l++) am[l] = fma32(dmin, f(prod[l]!), am[l]!);
    else summs = fma32(dmin, f(prod[0]! + prod[1]! + prod[2]! + prod[3]!), summs);
    for (let l = 0; l < 8; l++) {
      const s = subDots(raw, o, type, x.q, xo, 4 * l, 4 * l + 4).reduce((a, v) => a + v, 0);
      acc[l] = fma32(d, f(s), acc[l]!);
    }
  }
  if (type === GGMLType.Q4_K) return f(hsum8(acc) + f(f(am[0]! + am[2]!) + f(am[1]! + am[3]!)));
  return f(hsum8(acc) + summs);
}

/** ggml_vec_dot_q6_K_q8_K (AVX2), one row, one token. */
function q6kVecDot(raw: Uint8Array, row: number, nb: number, x: Q8K, t: number): number {
  const acc = new Array<number>(8).fill(0);
  for (let b = 0; b < nb; b++) {
    const o = row + b * 210;
    const d = f(x.d[t * nb + b]! * f16ToF32(raw[o + 208]! | (raw[o + 209]! << 8)));
    const sc = (g: number) => (raw[o + 192 + g]! << 24) >> 24;
    const code = (e: number) => {
      const h = e >> 7, r = e & 127, quarter = r >> 5, l = r & 31;
      const byte = raw[o + 64 * h + l + (quarter & 1 ? 32 : 0)]!;
      return (quarter < 2 ? byte & 15 : byte >> 4) | (((raw[o + 128 + 32 * h + l]! >> (2 * quarter)) & 3) << 4);
    };
    const xo = (t * nb + b) * 256, bo = (t * nb + b) * 16;
    for (let l = 0; l < 8; l++) {
      let s = 0;
      for (let c = 0; c < 8; c++) {
        let dot = 0;
        for (let i = 0; i < 4; i++) dot += code(32 * c + 4 * l + i) * x.q[xo + 32 * c + 4 * l + i]!;
        s += sc(2 * c + (l >> 2)) * dot;
      }
      s -= 32 * (x.bs[bo + 2 * l]! * sc(2 * l) + x.bs[bo + 2 * l + 1]! * sc(2 * l + 1));
      acc[l] = fma32(d, f(s), acc[l]!);
    }
  }
  return hsum8(acc);
}

/** y[t][r] as llama.cpp computes it for a matrix of `rows` rows (expert: one of a stacked tensor). */
function reference(type: GGMLType, raw: Uint8Array, rows: number, cols: number, x: Q8K, nt: number, expert: boolean): Float32Array {
  const nb = cols / 256, rb = rowBytes(type, cols);
  const y = new Float32Array(nt * rows);
  const order = type === GGMLType.Q4_K ? q4kOrder(rows, expert) : 0;
  const ntg = order === 2 && nt > 3 ? nt - (nt % 4) : 0;
  for (let t = 0; t < nt; t++) {
    for (let r = 0; r < rows; r++) {
      let v: number;
      if (type === GGMLType.Q6_K) v = q6kVecDot(raw, r * rb, nb, x, t);
      else if (order === 0) v = q45kVecDot(type, raw, r * rb, nb, x, t);
      else v = q4kRepacked(raw, r * rb, nb, x, t, t < ntg);
      y[t * rows + r] = v;
    }
  }
  return y;
}

// ---- test data ----------------------------------------------------------------------------------------

function randn(n: number, seed: number, std = 1): Float32Array {
  const a = new Float32Array(n);
  new Rng(seed).fillNormal(a, std);
  return a;
}

/** Quantized weights with varied row scales (some rows tiny, some large). */
function weights(type: GGMLType, rows: number, cols: number, seed: number): Uint8Array {
  const w = randn(rows * cols, seed);
  const rb = rowBytes(type, cols);
  const raw = new Uint8Array(rows * rb);
  for (let r = 0; r < rows; r++) {
    const row = w.subarray(r * cols, (r + 1) * cols);
    const scale = [1, 0.01, 30, 1e-4][r % 4]!;
    for (let i = 0; i < cols; i++) row[i] = row[i]! * scale + (i % 7 === 0 ? 0.3 * scale : 0);
    quantizeRow(type, row, raw.subarray(r * rb, (r + 1) * rb), cols);
  }
  return raw;
}

/** Activations with an all-zero block, a spike, and differing magnitudes per token. */
function activations(nt: number, cols: number, seed: number): Float32Array {
  const x = randn(nt * cols, seed);
  for (let t = 0; t < nt; t++) {
    const s = [1, 3e-3, 50][t % 3]!;
    for (let i = 0; i < cols; i++) x[t * cols + i] = x[t * cols + i]! * s;
  }
  if (nt > 1) x.fill(0, cols, cols + 256);
  x[7] = 40;
  return x;
}

// ---- both kernel builds, instantiated directly -----------------------------------------------------

const builds: KernelBuild[] = kernelBuild() === 'relaxed' ? ['relaxed', 'simd'] : ['simd'];

function instance(build: KernelBuild): { mem: WasmMemory; k: KernelExports } {
  const mem = new WasmMemory();
  const k = instantiateKernelModule(new WebAssembly.Module(readFileSync(kernelPath(build))), mem.memory);
  return { mem, k };
}

const cases: { type: GGMLType; rows: number; cols: number; nt: number; expert?: boolean }[] = [
  { type: GGMLType.Q4_K, rows: 16, cols: 256, nt: 1 },
  { type: GGMLType.Q4_K, rows: 24, cols: 512, nt: 3 },
  { type: GGMLType.Q4_K, rows: 16, cols: 768, nt: 9 }, // gemm for 8 tokens, gemv for the last
  { type: GGMLType.Q4_K, rows: 8, cols: 1024, nt: 8 },
  { type: GGMLType.Q4_K, rows: 16, cols: 512, nt: 6, expert: true }, // experts: gemv for every token
  { type: GGMLType.Q4_K, rows: 13, cols: 512, nt: 5 }, // rows % 8 != 0: vec_dot
  { type: GGMLType.Q4_K, rows: 13, cols: 512, nt: 1 },
  { type: GGMLType.Q4_K, rows: 24, cols: 256, nt: 13, expert: true },
  { type: GGMLType.Q5_K, rows: 16, cols: 256, nt: 1 },
  { type: GGMLType.Q5_K, rows: 11, cols: 768, nt: 6 },
  { type: GGMLType.Q5_K, rows: 8, cols: 512, nt: 3 },
  { type: GGMLType.Q6_K, rows: 16, cols: 256, nt: 1 },
  { type: GGMLType.Q6_K, rows: 11, cols: 768, nt: 6 },
  { type: GGMLType.Q6_K, rows: 8, cols: 512, nt: 5 },
];

describe('K-quant kernels match llama.cpp bit for bit', () => {
  for (const build of builds) {
    test(`quantize_q8_K (${build})`, () => {
      const { mem, k } = instance(build);
      const n = 4 * 256;
      const x = activations(4, 256, 3);
      // Ties in magnitude between signs are decided by the first (d = -mx/127): d > 0 in block 1, d < 0 in block 2.
      x[260] = -60;
      x[300] = 60;
      x[600] = 70;
      x[700] = -70;
      const xp = mem.allocBytes(n * 4), q = mem.allocBytes(2 * n), d = mem.allocBytes(16), s = mem.allocBytes(4 * 48);
      mem.f32(xp, n).set(x);
      k.quantize_q8_K(xp, n, q, d, s);
      const want = quantizeQ8K(x);
      assert.deepEqual(new Int8Array(mem.memory.buffer, q, n), want.q);
      // The permuted copy: vector v of a block holds values 2v, 2v+1 of each sub-block of 32.
      const perm = new Int8Array(mem.memory.buffer, q + n, n);
      for (let b = 0; b < 4; b++) {
        for (let j = 0; j < 256; j++) {
          const v = j >> 4, sub = (j >> 1) & 7, i = j & 1;
          assert.equal(perm[b * 256 + j], want.q[b * 256 + 32 * sub + 2 * v + i]);
        }
      }
      assert.deepEqual(mem.f32(d, 4), want.d);
      const sums = new Int16Array(mem.memory.buffer, s, 4 * 24);
      for (let b = 0; b < 4; b++) {
        for (let g = 0; g < 16; g++) assert.equal(sums[b * 24 + g], want.bs[b * 16 + g]);
        for (let g = 0; g < 8; g++) assert.equal(sums[b * 24 + 16 + g], want.bs[b * 16 + 2 * g]! + want.bs[b * 16 + 2 * g + 1]!);
      }
    });

    for (const c of cases) {
      const name = `${typeName(c.type)} ${c.rows}x${c.cols}, ${c.nt} token(s)${c.expert ? ', expert' : ''} (${build})`;
      test(name, () => {
        const { mem, k } = instance(build);
        const { type, rows, cols, nt } = c;
        const nb = cols / 256;
        const raw = weights(type, rows, cols, rows + cols);
        const rb = kquantRowBytes(type, cols);
        const w = mem.allocBytes(rows * rb);
        packKQuantRows(type, raw, 0, rows, rows, cols, mem.u8(w, rows * rb));
        const x = activations(nt, cols, nt + 1);
        const xp = mem.allocBytes(nt * cols * 4), q = mem.allocBytes(2 * nt * cols), d = mem.allocBytes(nt * nb * 4), s = mem.allocBytes(nt * nb * 48);
        mem.f32(xp, nt * cols).set(x);
        k.quantize_q8_K(xp, nt * cols, q, d, s);
        const want = reference(type, raw, rows, cols, quantizeQ8K(x), nt, c.expert === true);
        // Rows in one piece and cut in three arbitrary pieces (as a thread pool does).
        for (const cuts of [[0, rows], [0, 3, rows - 2, rows], [0, 1, 4, 7, rows]]) {
          const y = mem.allocBytes(nt * rows * 4);
          for (let i = 0; i + 1 < cuts.length; i++) {
            const r0 = cuts[i]!, r1 = cuts[i + 1]!;
            if (type === GGMLType.Q4_K) k.matmul_q4_K(w, q, d, s, y, cols, r0, r1, nt, rows, q4kOrder(rows, c.expert === true), rows);
            else if (type === GGMLType.Q5_K) k.matmul_q5_K(w, q, d, s, y, cols, r0, r1, nt, rows);
            else k.matmul_q6_K(w, q, d, s, y, cols, r0, r1, nt, rows);
          }
          const got = mem.f32(y, nt * rows);
          for (let i = 0; i < nt * rows; i++) assert.equal(got[i], want[i], `${name}: token ${Math.floor(i / rows)} row ${i % rows}: ${got[i]} vs ${want[i]}`);
        }
      });
    }
  }

  test('through the backend and its thread pool', async () => {
    const B = new CpuBackend({ threads: 3, minParallelWork: 0 });
    try {
      for (const type of [GGMLType.Q4_K, GGMLType.Q5_K, GGMLType.Q6_K]) {
        const rows = 40, cols = 512, nt = 7;
        const raw = weights(type, rows, cols, 9);
        const rb = rowBytes(type, cols);
        const m: Matrix = B.uploadMatrix({ name: 'w', type, rows, cols, readRows: (r0, n) => raw.subarray(r0 * rb, (r0 + n) * rb) });
        const x = activations(nt, cols, 4);
        const y = B.alloc(nt * rows);
        B.matmul(y, m, B.uploadVector(x), nt);
        assert.deepEqual(B.view(y), reference(type, raw, rows, cols, quantizeQ8K(x), nt, false), typeName(type));
      }
    } finally {
      await B.close();
    }
  });
});

describe('K-quant memory', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'stepflash-kquants-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const type of [GGMLType.Q4_K, GGMLType.Q5_K, GGMLType.Q6_K]) {
    test(`a ${typeName(type)} model keeps its weights within 1.12x of the file's bytes`, () => {
      const path = join(dir, `${typeName(type)}.gguf`);
      makeModel({ preset: 'step35-test', type, seed: 2, out: path, overrides: { nEmbd: 256 } });
      const lm = loadModel(path, { threads: 1 });
      try {
        let ours = 0, file = 0, n = 0;
        const visit = (m: Matrix | null | undefined) => {
          if (!m || m.type !== type) return;
          n++;
          ours += m.bytes;
          file += m.rows * bytesFor(type, m.cols)!;
        };
        const W = lm.model.weights;
        visit(W.output);
        for (const L of W.layers) {
          for (const m of [L.attn.q, L.attn.k, L.attn.v, L.attn.o, L.mlp?.gate, L.mlp?.up, L.mlp?.down]) visit(m);
          if (L.moe) {
            for (const e of [...L.moe.experts, ...(L.moe.shared ? [L.moe.shared] : [])]) for (const m of [e.gate, e.up, e.down]) visit(m);
          }
        }
        assert.ok(n > 20, `${n} ${typeName(type)} matrices`);
        const ratio = ours / file;
        assert.ok(ratio <= 1.12, `weights take ${ratio.toFixed(3)}x the file's bytes`);
        // Nothing else of size: the whole backend stays within 1.15x of the file's tensor data.
        const tensorBytes = lm.file.tensors.reduce((a, t) => a + t.nbytes, 0);
        assert.ok(lm.model.backend.memoryBytes() <= 1.15 * tensorBytes, `backend memory ${lm.model.backend.memoryBytes()} vs ${tensorBytes} bytes of tensors`);
      } finally {
        lm.close();
      }
    });
  }
});
