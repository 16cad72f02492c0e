// Entry point of the wasm kernel module. All pointers are byte offsets into the imported shared memory;
// the module allocates nothing, the TypeScript side owns the memory layout.
export { matmul_f32, matmul_q8_0 } from './matmul';
export { matmul_q4_0, matmul_q4_0x8 } from './q4_0';
export { quantize_q8_0, fake_quant_q8_0, fake_quant_q8_K, round_to_f16, round_to_bf16 } from './quantize';
export { quantize_q8_K } from './quantize';
export { matmul_q4_K, matmul_q5_K, matmul_q6_K } from './kquants';
export { rms_norm, rope, attention, v_expf, read_sum, swiglu, weighted_row_sum } from './ops';
export { fma_probe } from './probe';
