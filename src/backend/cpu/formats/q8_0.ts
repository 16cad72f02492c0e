// Q8_0 kept as int8: quants contiguous per row, then the per-32 scales widened to f32.
import { GGMLType } from '../../../gguf/ggml-types.js';
import { f16ToF32 } from '../../../gguf/quant/index.js';
import { forEachRowChunk, type WeightFormat } from './format.js';

export const q8_0Format: WeightFormat = {
  name: 'q8_0',
  types: [GGMLType.Q8_0],
  activation: () => 'q8_0',
  upload(mem, src) {
    const { rows, cols } = src;
    const nb = cols / 32;
    const qptr = mem.allocBytes(rows * cols);
    const dptr = mem.allocBytes(rows * nb * 4);
    forEachRowChunk(src, nb * 34, (r0, n, raw) => {
      const qs = mem.u8(qptr + r0 * cols, n * cols);
      const ds = mem.f32(dptr + r0 * nb * 4, n * nb);
      for (let b = 0; b < n * nb; b++) {
        const o = b * 34;
        ds[b] = f16ToF32(raw[o]! | (raw[o + 1]! << 8));
        qs.set(raw.subarray(o + 2, o + 34), b * 32);
      }
    });
    return { ptrs: [qptr, dptr], bytes: rows * (cols + nb * 4) };
  },
  call(m, x, y, nt) {
    return { kernel: 'matmul_q8_0', args: [m.ptrs[0]!, m.ptrs[1]!, x.ptr, x.scales, y, m.cols, 0, 0, nt, m.rows], rows: m.rows, r0Arg: 6 };
  },
};
