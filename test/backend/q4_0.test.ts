// Q4_0 products against a plain-JS emulation of llama.cpp's x86 order, bit for bit, in both kernel builds:
// the repacked q4_0_8x8 order (rows a multiple of 8: one fused multiply-add of the whole block dot per
// block, whatever the number of tokens) and ggml_vec_dot_q4_0_q8_0's eight lanes otherwise.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CpuBackend } from '../../src/backend/cpu/cpu-backend.js';
import { q4_0Format, q4_0Repacked } from '../../src/backend/cpu/formats/q4_0.js';
import { GGMLType } from '../../src/gguf/ggml-types.js';
import { f16ToF32, rowBytes } from '../../src/gguf/quant/index.js';
import { checkCuts, edgeActivations, uploadedMatrix, weightsWithScaleEdges, f, fmaf, kernelBuilds, laneDot8, quantizeActivations, quantizedInput, randn } from '../helpers/q8-reference.js';

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
        y[t * rows + r] = laneDot8(w.subarray(r * cols, (r + 1) * cols), wd.subarray(r * nb, (r + 1) * nb), q, xd, nb);
      }
    }
  }
  return y;
}

/** GGUF Q4_0 bytes of a random matrix, one block in five with an edge-case f16 scale. */
const makeWeights = (rows: number, cols: number, seed: number): Uint8Array => weightsWithScaleEdges(GGMLType.Q4_0, rows, cols, seed);

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
  for (const { build, module } of kernelBuilds()) {
    for (const { rows, cols, nt } of SHAPES) {
      test(`${build}: ${rows}x${cols}, ${nt} token${nt > 1 ? 's' : ''} (${q4_0Repacked(rows) ? 'repacked gemv/gemm' : 'vec_dot'})`, () => {
        const raw = makeWeights(rows, cols, rows * 1000 + cols);
        const { mem, k, m, bytes } = uploadedMatrix(module, q4_0Format, GGMLType.Q4_0, raw, rows, cols);
        // Repacked: the file's 18 bytes per 32 weights (f16 scales); rows: scales widened to f32.
        assert.equal(bytes, q4_0Repacked(rows) ? rows * (cols / 32) * 18 : rows * (cols / 2 + cols / 8));
        const X = edgeActivations(nt, cols, rows + cols + nt, 1e4);
        const act = quantizedInput(k, mem, X);
        const y = mem.allocBytes(nt * rows * 4);
        // The call's work units (rows, or (row, token) pairs) cut as the thread pool cuts them, and at
        // arbitrary points.
        checkCuts(`${build} ${rows}x${cols} nt=${nt}`, k, mem, q4_0Format.call(m, act, y, nt), y, rows, nt, reference(raw, rows, cols, X, nt));
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
