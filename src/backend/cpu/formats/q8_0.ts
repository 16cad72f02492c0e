// Q8_0 kept as int8. Row counts that are a multiple of 4 (every matrix of the presets and of real models)
// are interleaved in groups of four rows, one block of the four at a time (layout in kernels/q8_0x4.ts),
// which lets the kernel keep four rows' sums in one register, with the file's f16 scales; others keep the
// row layout: quants contiguous per row, then the per-32 scales widened to f32.
import { GGMLType } from '../../../gguf/ggml-types.js';
import { f16ToF32 } from '../../../gguf/quant/index.js';
import { forEachRowChunk, type WeightFormat } from './format.js';

/** Whether a matrix of this many rows is stored in groups of four. */
export function q8_0Grouped(rows: number): boolean {
  return rows % 4 === 0;
}

export const q8_0Format: WeightFormat = {
  name: 'q8_0',
  types: [GGMLType.Q8_0],
  activation: () => 'q8_0',
  upload(mem, src) {
    const { rows, cols } = src;
    const nb = cols / 32;
    const grouped = q8_0Grouped(rows);
    // Grouped matrices keep the file's f16 scales (kernels/q8_0x4.ts), the row layout f32 ones.
    const scaleBytes = grouped ? 2 : 4;
    const qptr = mem.allocBytes(rows * cols);
    const dptr = mem.allocBytes(rows * nb * scaleBytes);
    // Chunks of whole groups, so that each chunk's rows land in their groups completely.
    forEachRowChunk(mem, src, nb * 34, (r0, n, raw) => {
      const qs = mem.u8(qptr + r0 * cols, n * cols);
      const ds = grouped ? null : mem.f32(dptr + r0 * nb * 4, n * nb);
      const hs = grouped ? new Uint16Array(mem.memory.buffer, dptr + r0 * nb * 2, n * nb) : null;
      for (let r = 0; r < n; r++) {
        for (let b = 0; b < nb; b++) {
          const o = (r * nb + b) * 34;
          // Grouped: row r of the chunk is row i = r % 4 of its group; block b of the group starts at
          // (group * nb + b) * 128 quants and (group * nb + b) * 4 scales.
          const at = grouped ? ((r >> 2) * nb + b) * 4 + (r & 3) : r * nb + b;
          const h = raw[o]! | (raw[o + 1]! << 8);
          if (hs) hs[at] = h;
          else ds![at] = f16ToF32(h);
          qs.set(raw.subarray(o + 2, o + 34), at * 32);
        }
      }
    }, grouped ? 4 : 1);
    return { ptrs: [qptr, dptr], bytes: rows * (cols + nb * scaleBytes) };
  },
  call(m, x, y, nt) {
    const args = [m.ptrs[0]!, m.ptrs[1]!, x.ptr, x.scales, y, m.cols, 0, 0, nt, m.rows];
    // Grouped: work units are (row, token) pairs, so experts with different token counts balance.
    if (q8_0Grouped(m.rows)) return { kernel: 'matmul_q8_0x4', args, rows: m.rows * nt, r0Arg: 6 };
    return { kernel: 'matmul_q8_0', args, rows: m.rows, r0Arg: 6 };
  },
};
