// Q8_0 products against a plain-JS emulation of llama.cpp's x86 order (ggml_vec_dot_q8_0_q8_0), bit for
// bit, in both kernel builds and both layouts: rows in groups of four with the file's f16 scales (widened
// in the kernel, kernels/q8_0x4.ts), and rows one by one with f32 scales otherwise.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { q8_0Format, q8_0Grouped } from '../../src/backend/cpu/formats/q8_0.js';
import { GGMLType } from '../../src/gguf/ggml-types.js';
import { f16ToF32 } from '../../src/gguf/quant/index.js';
import { checkCuts, edgeActivations, uploadedMatrix, weightsWithScaleEdges, kernelBuilds, laneDot8, quantizeActivations, quantizedInput } from '../helpers/q8-reference.js';

/** GGUF Q8_0 bytes of a random matrix, one block in five with an edge-case f16 scale. */
const makeWeights = (rows: number, cols: number, seed: number): Uint8Array => weightsWithScaleEdges(GGMLType.Q8_0, rows, cols, seed);

function reference(raw: Uint8Array, rows: number, cols: number, X: Float32Array, nt: number): Float32Array {
  const nb = cols / 32;
  const y = new Float32Array(nt * rows);
  const w = new Int8Array(cols), wd = new Float32Array(nb);
  for (let r = 0; r < rows; r++) {
    for (let b = 0; b < nb; b++) {
      const o = (r * nb + b) * 34;
      wd[b] = f16ToF32(raw[o]! | (raw[o + 1]! << 8));
      for (let i = 0; i < 32; i++) w[b * 32 + i] = (raw[o + 2 + i]! << 24) >> 24;
    }
    for (let t = 0; t < nt; t++) {
      const { q, d } = quantizeActivations(X.subarray(t * cols, (t + 1) * cols));
      y[t * rows + r] = laneDot8(w, wd, q, d, nb);
    }
  }
  return y;
}

const SHAPES: { rows: number; cols: number; nt: number }[] = [
  { rows: 4, cols: 32, nt: 1 },
  { rows: 12, cols: 256, nt: 1 },
  { rows: 64, cols: 1024, nt: 1 },
  { rows: 64, cols: 288, nt: 5 },
  { rows: 20, cols: 512, nt: 9 },
  { rows: 7, cols: 256, nt: 3 }, // row layout
  { rows: 1, cols: 64, nt: 2 }, // row layout
];

describe('Q8_0 kernels match llama.cpp x86 order bit for bit', () => {
  for (const { build, module } of kernelBuilds()) {
    for (const { rows, cols, nt } of SHAPES) {
      test(`${build}: ${rows}x${cols}, ${nt} token${nt > 1 ? 's' : ''} (${q8_0Grouped(rows) ? 'groups of four, f16 scales' : 'rows, f32 scales'})`, () => {
        const raw = makeWeights(rows, cols, rows * 1000 + cols);
        const { mem, k, m, bytes } = uploadedMatrix(module, q8_0Format, GGMLType.Q8_0, raw, rows, cols);
        // Grouped: the file's 34 bytes per 32 weights; rows: scales widened to f32 (36).
        assert.equal(bytes, rows * (cols / 32) * (q8_0Grouped(rows) ? 34 : 36));
        const X = edgeActivations(nt, cols, rows + cols + nt, 6e4);
        const act = quantizedInput(k, mem, X);
        const y = mem.allocBytes(nt * rows * 4);
        checkCuts(`${build} ${rows}x${cols} nt=${nt}`, k, mem, q8_0Format.call(m, act, y, nt), y, rows, nt, reference(raw, rows, cols, X, nt));
      });
    }
  }
});
