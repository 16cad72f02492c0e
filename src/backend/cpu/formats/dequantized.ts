// Any other type, dequantized to f32 at load. The product is taken on f32 weights with the activations
// rounded the way llama.cpp rounds them for the original type, which gives llama.cpp's values for F32
// and F16 exactly and for quantized types up to the order of their integer sums.
import { GGMLType, bytesFor, typeName } from '../../../gguf/ggml-types.js';
import { dequantizeRow } from '../../../gguf/quant/index.js';
import { forEachRowChunk, type ActivationKind, type WeightFormat } from './format.js';

function activationFor(type: GGMLType): ActivationKind {
  switch (type) {
    case GGMLType.F32: return 'f32';
    case GGMLType.F16: return 'f16';
    case GGMLType.BF16: return 'bf16';
    case GGMLType.Q4_0: case GGMLType.Q4_1: case GGMLType.Q5_0: case GGMLType.Q5_1: case GGMLType.Q8_0: return 'q8_0-fake';
    case GGMLType.Q2_K: case GGMLType.Q3_K: case GGMLType.Q4_K: case GGMLType.Q5_K: case GGMLType.Q6_K: return 'q8_K-fake';
    default: throw new Error(`weights of type ${typeName(type)} are not supported`);
  }
}

export const dequantizedFormat: WeightFormat = {
  name: 'f32',
  types: [GGMLType.F32, GGMLType.F16, GGMLType.BF16, GGMLType.Q4_1, GGMLType.Q5_0, GGMLType.Q5_1, GGMLType.Q2_K, GGMLType.Q3_K, GGMLType.Q4_K, GGMLType.Q5_K, GGMLType.Q6_K],
  activation: activationFor,
  upload(mem, src) {
    const { rows, cols, type } = src;
    activationFor(type);
    const ptr = mem.allocBytes(rows * cols * 4);
    forEachRowChunk(mem, src, bytesFor(type, cols)!, (r0, n, raw) => dequantizeRow(type, raw, mem.f32(ptr + r0 * cols * 4, n * cols), n * cols));
    return { ptrs: [ptr], bytes: rows * cols * 4 };
  },
  call(m, x, y, nt) {
    // order: bit 0 = always row by row (stacked experts), bit 1 = f16 weights (ggml_vec_dot_f16's tail).
    const order = (m.expert ? 1 : 0) | (m.type === GGMLType.F16 ? 2 : 0);
    return { kernel: 'matmul_f32', args: [m.ptrs[0]!, x.ptr, y, m.cols, m.rows, order, 0, 0, nt, m.rows, 0], rows: m.rows, r0Arg: 6, scratchArg: 10 };
  },
};
