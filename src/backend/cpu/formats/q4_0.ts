// Q4_0, multiplied in the order llama.cpp's x86 CPU backend uses for the same matrix:
// - rows a multiple of 8 (what llama.cpp repacks to q4_0_8x8: all weights of the step35 and llama presets,
//   stacked experts included): groups of 8 rows interleaved four elements at a time, one fused
//   multiply-add per block (kernel matmul_q4_0x8; layout described in kernels/q4_0.ts), the scales kept
//   as f16: 18 bytes per 32 weights, the file's size;
// - other row counts (ggml_vec_dot_q4_0_q8_0): per row 16 bytes of nibbles per block in GGUF order, then
//   the per-32 scales as f32 (kernel matmul_q4_0).
// Both keep the quants as nibbles.
import { GGMLType } from '../../../gguf/ggml-types.js';
import { f16ToF32 } from '../../../gguf/quant/index.js';
import type { MatrixSource } from '../../backend.js';
import type { WasmMemory } from '../wasm-memory.js';
import { forEachRowChunk, type WeightFormat } from './format.js';

const BLOCK = 18;
const GROUP_BLOCK = 144;

/** Whether llama.cpp repacks a Q4_0 matrix of this many rows (its AVX2 rule in ggml-cpu/repack.cpp). */
export function q4_0Repacked(rows: number): boolean {
  return rows % 8 === 0;
}

// Byte p (< 128) of a repacked block: j = p >> 5, h = (p >> 4) & 1, i = (p >> 2) & 3, c = p & 3 hold row
// 4h + i's elements 8j + c (low nibble) and 8j + 4 + c (high nibble). GGUF keeps element e < 16 in the low
// nibble of byte e and element e >= 16 in the high nibble of byte e - 16.
const SRC_ROW = new Uint8Array(128);
const SRC_LO = new Uint8Array(128);
const SRC_HI = new Uint8Array(128);
const SRC_SHIFT = new Uint8Array(128);
for (let p = 0; p < 128; p++) {
  const j = p >> 5, h = (p >> 4) & 1, i = (p >> 2) & 3, c = p & 3;
  SRC_ROW[p] = 4 * h + i;
  SRC_LO[p] = (8 * j + c) & 15;
  SRC_HI[p] = (8 * j + 4 + c) & 15;
  SRC_SHIFT[p] = j >= 2 ? 4 : 0;
}

/** Interleaves GGUF Q4_0 rows (a multiple of 8) into groups of 8, each block's eight f16 scales after it. */
export function repackQ4_0x8(raw: Uint8Array, rows: number, cols: number, dst: Uint8Array): void {
  const nb = cols / 32;
  const rowBytes = nb * BLOCK;
  const srcRow = SRC_ROW, lo = SRC_LO, hi = SRC_HI, sh = SRC_SHIFT;
  const base = new Int32Array(8);
  for (let g = 0; g < rows / 8; g++) {
    for (let b = 0; b < nb; b++) {
      const o = (g * nb + b) * GROUP_BLOCK;
      for (let r = 0; r < 8; r++) base[r] = (8 * g + r) * rowBytes + b * BLOCK;
      for (let p = 0; p < 128; p++) {
        const q = base[srcRow[p]!]! + 2;
        const s = sh[p]!;
        dst[o + p] = ((raw[q + lo[p]!]! >> s) & 15) | (((raw[q + hi[p]!]! >> s) & 15) << 4);
      }
      for (let r = 0; r < 8; r++) {
        dst[o + 128 + 2 * r] = raw[base[r]!]!;
        dst[o + 129 + 2 * r] = raw[base[r]! + 1]!;
      }
    }
  }
}

function uploadRepacked(mem: WasmMemory, src: MatrixSource): number {
  const { rows, cols } = src;
  const nb = cols / 32;
  const ptr = mem.allocBytes(rows * nb * BLOCK);
  forEachRowChunk(mem, src, nb * BLOCK, (r0, n, raw) => repackQ4_0x8(raw, n, cols, mem.u8(ptr + r0 * nb * BLOCK, n * nb * BLOCK)), 8);
  return ptr;
}

function uploadRows(mem: WasmMemory, src: MatrixSource): number[] {
  const { rows, cols } = src;
  const nb = cols / 32;
  const qptr = mem.allocBytes((rows * cols) / 2);
  const dptr = mem.allocBytes(rows * nb * 4);
  forEachRowChunk(mem, src, nb * BLOCK, (r0, n, raw) => {
    const qs = mem.u8(qptr + (r0 * cols) / 2, (n * cols) / 2);
    const ds = mem.f32(dptr + r0 * nb * 4, n * nb);
    for (let b = 0; b < n * nb; b++) {
      const o = b * BLOCK;
      ds[b] = f16ToF32(raw[o]! | (raw[o + 1]! << 8));
      qs.set(raw.subarray(o + 2, o + BLOCK), b * 16);
    }
  });
  return [qptr, dptr];
}

export const q4_0Format: WeightFormat = {
  name: 'q4_0',
  types: [GGMLType.Q4_0],
  activation: () => 'q8_0',
  upload(mem, src) {
    const { rows, cols } = src;
    const ptrs = q4_0Repacked(rows) ? [uploadRepacked(mem, src)] : uploadRows(mem, src);
    return { ptrs, bytes: ptrs.length === 1 ? rows * (cols / 32) * BLOCK : rows * (cols / 2 + (cols / 32) * 4) };
  },
  call(m, x, y, nt) {
    if (m.ptrs.length === 1) {
      // Work units are (row, token) pairs: see matmul_q4_0x8.
      return { kernel: 'matmul_q4_0x8', args: [m.ptrs[0]!, x.ptr, x.scales, y, m.cols, 0, 0, nt, m.rows, 0], rows: m.rows * nt, r0Arg: 5, scratchArg: 9 };
    }
    return { kernel: 'matmul_q4_0', args: [m.ptrs[0]!, m.ptrs[1]!, x.ptr, x.scales, y, m.cols, 0, 0, nt, m.rows], rows: m.rows, r0Arg: 6 };
  },
};
