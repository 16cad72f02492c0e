// Q4_K, Q5_K and Q6_K kept quantized (kernels/kquants.ts): each 256-value super-block is repacked with its
// f16 scales widened to f32 and the packed 6-bit sub-block scales and mins unpacked to bytes; the codes
// are rearranged for the kernels (kernels/kquants.ts describes the layouts). 152, 184 and 212 bytes per
// super-block against the file's 144, 176 and 210. Activations are quantized to Q8_K (quants, scales and
// block sums) as llama.cpp does.
import { GGMLType } from '../../../gguf/ggml-types.js';
import { f16ToF32 } from '../../../gguf/quant/index.js';
import { forEachRowChunk, type WeightFormat } from './format.js';

const GGUF_BYTES: Partial<Record<GGMLType, number>> = { [GGMLType.Q4_K]: 144, [GGMLType.Q5_K]: 176, [GGMLType.Q6_K]: 210 };
const PACKED_BYTES: Partial<Record<GGMLType, number>> = { [GGMLType.Q4_K]: 152, [GGMLType.Q5_K]: 184, [GGMLType.Q6_K]: 212 };

/** Bytes a row of `cols` values takes in this format. */
export function kquantRowBytes(type: GGMLType, cols: number): number {
  return (cols / 256) * PACKED_BYTES[type]!;
}

/** d, dmin as f32 and the eight 6-bit scales and mins (get_scale_min_k4) as bytes, from a Q4_K/Q5_K block. */
function unpackScaleMin(raw: Uint8Array, o: number, f32: Float32Array, u8: Uint8Array, p: number): void {
  f32[p >> 2] = f16ToF32(raw[o]! | (raw[o + 1]! << 8));
  f32[(p >> 2) + 1] = f16ToF32(raw[o + 2]! | (raw[o + 3]! << 8));
  const s = o + 4;
  for (let j = 0; j < 8; j++) {
    let sc: number, m: number;
    if (j < 4) {
      sc = raw[s + j]! & 63;
      m = raw[s + j + 4]! & 63;
    } else {
      sc = (raw[s + j + 4]! & 0x0f) | ((raw[s + j - 4]! >> 6) << 4);
      m = (raw[s + j + 4]! >> 4) | ((raw[s + j]! >> 6) << 4);
    }
    u8[p + 8 + j] = sc;
    u8[p + 16 + j] = m;
  }
}

/** Repacks the GGUF super-block of `type` at raw[o] into dst at byte p (f32 a view of dst's buffer). */
function repackBlock(type: GGMLType, raw: Uint8Array, o: number, dst: Uint8Array, f32: Float32Array, p: number): void {
  if (type === GGMLType.Q4_K) {
    // d, dmin, scales, mins, then the codes: byte 2j + i of byte-vector u holds value 2u + i of sub-block j
    // in its low nibble and value 16 + 2u + i in its high nibble.
    unpackScaleMin(raw, o, f32, dst, p);
    // GGUF: sub-blocks 2q (low nibbles) and 2q+1 (high nibbles) share the 32 bytes at o + 16 + 32q.
    for (let q = 0; q < 4; q++) {
      const s0 = o + 16 + 32 * q, d0 = p + 24 + 4 * q;
      for (let e = 0; e < 16; e++) {
        const b1 = raw[s0 + e]!, b2 = raw[s0 + 16 + e]!; // values e and 16 + e of both sub-blocks
        const d = d0 + 16 * (e >> 1) + (e & 1);
        dst[d] = (b1 & 15) | ((b2 & 15) << 4);
        dst[d + 2] = (b1 >> 4) | (b2 & 0xf0);
      }
    }
  } else if (type === GGMLType.Q5_K) {
    // As Q4_K for the low four bits (at p + 56); the fifth bits (GGUF: bit j of qh[e] for value e of
    // sub-block j) go to bit u of byte 2j + i of H0 (value 2u + i) or H1 (value 16 + 2u + i).
    unpackScaleMin(raw, o, f32, dst, p);
    for (let q = 0; q < 4; q++) {
      const s0 = o + 48 + 32 * q, d0 = p + 56 + 4 * q;
      for (let e = 0; e < 16; e++) {
        const b1 = raw[s0 + e]!, b2 = raw[s0 + 16 + e]!;
        const d = d0 + 16 * (e >> 1) + (e & 1);
        dst[d] = (b1 & 15) | ((b2 & 15) << 4);
        dst[d + 2] = (b1 >> 4) | (b2 & 0xf0);
      }
    }
    dst.fill(0, p + 24, p + 56);
    for (let j = 0; j < 8; j++) {
      for (let e = 0; e < 32; e++) {
        const bit = (raw[o + 16 + e]! >> j) & 1;
        const half = e >> 4, u = (e & 15) >> 1, i = e & 1;
        dst[p + 24 + 16 * half + 2 * j + i] |= bit << u;
      }
    }
  } else {
    // GGUF: value e of half h (0..127) has low bits in ql[64h + (e & 63)] (low nibble for e < 64) and top bits
    // (qh[32h + (e & 31)] >> 2 * (e >> 5)) & 3. Value c * 32 + 2v' + i of the super-block (chunk c) goes to
    // code vector v (v' = v & 7, + 16 for v >= 8), byte 2c + i: low bits in nibble v >> 3 of byte-vector
    // v & 7, top bits in bits 2(v & 3) of H_(v >> 2).
    f32[p >> 2] = f16ToF32(raw[o + 208]! | (raw[o + 209]! << 8));
    dst.set(raw.subarray(o + 192, o + 208), p + 4); // scales
    dst.fill(0, p + 20, p + 212);
    for (let c = 0; c < 8; c++) {
      for (let e = 0; e < 32; e++) {
        const g = 32 * c + e, h = g >> 7, r = g & 127;
        const low = (raw[o + 64 * h + (r & 63)]! >> (r < 64 ? 0 : 4)) & 15;
        const top = (raw[o + 128 + 32 * h + (r & 31)]! >> (2 * (r >> 5))) & 3;
        const v = ((e >> 4) << 3) | ((e & 15) >> 1), i = e & 1;
        dst[p + 84 + 16 * (v & 7) + 2 * c + i] |= low << (4 * (v >> 3));
        dst[p + 20 + 16 * (v >> 2) + 2 * c + i] |= top << (2 * (v & 3));
      }
    }
  }
}

/**
 * Where block b of row r goes: Q4_K rows are stored in pairs interleaved block by block (row r & ~1's block
 * b, then row r | 1's), with an odd last row alone; Q5_K and Q6_K rows one after another.
 */
export function kquantBlockOffset(type: GGMLType, r: number, b: number, rows: number, nb: number): number {
  const bytes = PACKED_BYTES[type]!;
  if (type !== GGMLType.Q4_K || r >= (rows & ~1)) return (r * nb + b) * bytes;
  return ((r & ~1) * nb + 2 * b + (r & 1)) * bytes;
}

/**
 * Repacks rows [r0, r0 + n) of a matrix of `rows` rows (their GGUF bytes in raw) into its packed form at
 * dst (a byte view of the whole packed matrix, 4-byte aligned).
 */
export function packKQuantRows(type: GGMLType, raw: Uint8Array, r0: number, n: number, rows: number, cols: number, dst: Uint8Array): void {
  if (dst.byteOffset % 4 !== 0) throw new Error('packKQuantRows: destination must be 4-byte aligned');
  const nb = cols / 256;
  const src = GGUF_BYTES[type]!;
  const f32 = new Float32Array(dst.buffer, dst.byteOffset, dst.length >> 2);
  for (let r = 0; r < n; r++) {
    for (let b = 0; b < nb; b++) repackBlock(type, raw, (r * nb + b) * src, dst, f32, kquantBlockOffset(type, r0 + r, b, rows, nb));
  }
}

/**
 * The order llama.cpp's x86 build multiplies a Q4_K matrix in (kernels/kquants.ts matmul_q4_K): matrices
 * with a multiple of 8 rows are repacked to q4_K_8x8 (gemm for groups of four tokens, gemv otherwise;
 * stacked experts always gemv), others use ggml_vec_dot_q4_K_q8_K.
 */
export function q4kOrder(rows: number, expert: boolean): number {
  if (rows % 8 !== 0) return 0;
  return expert ? 1 : 2;
}

export const kquantFormat: WeightFormat = {
  name: 'k-quant',
  types: [GGMLType.Q4_K, GGMLType.Q5_K, GGMLType.Q6_K],
  activation: () => 'q8_K',
  upload(mem, src) {
    const { rows, cols, type } = src;
    const nb = cols / 256;
    const rowBytes = kquantRowBytes(type, cols);
    const ptr = mem.allocBytes(rows * rowBytes);
    forEachRowChunk(mem, src, nb * GGUF_BYTES[type]!, (r0, n, raw) => packKQuantRows(type, raw, r0, n, rows, cols, mem.u8(ptr, rows * rowBytes)));
    return { ptrs: [ptr], bytes: rows * rowBytes };
  },
  call(m, x, y, nt) {
    if (m.type === GGMLType.Q4_K) {
      const args = [m.ptrs[0]!, x.ptr, x.scales, x.sums, y, m.cols, 0, 0, nt, m.rows, q4kOrder(m.rows, m.expert), m.rows];
      return { kernel: 'matmul_q4_K', args, rows: m.rows, r0Arg: 6 };
    }
    const args = [m.ptrs[0]!, x.ptr, x.scales, x.sums, y, m.cols, 0, 0, nt, m.rows];
    return { kernel: m.type === GGMLType.Q5_K ? 'matmul_q5_K' : 'matmul_q6_K', args, rows: m.rows, r0Arg: 6 };
  },
};
