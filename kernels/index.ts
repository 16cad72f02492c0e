// Entry point of the wasm kernel module. All pointers are byte offsets into the imported shared memory;
// the module allocates nothing, the TypeScript side owns the memory layout.
export { matmul_f32, matmul_q8_0 } from './matmul';
export { matmul_q4_0, matmul_q4_0x8 } from './q4_0';
export { quantize_q8_0, quantize_q8_0_blocks, fake_quant_q8_0, fake_quant_q8_K, round_to_f16, round_to_bf16 } from './quantize';
export { quantize_q8_K } from './quantize';
export { matmul_q4_K, matmul_q5_K, matmul_q6_K } from './kquants';
export { rms_norm, rope, attention, v_expf, read_sum, swiglu, weighted_row_sum, rms_norm_rows, swiglu_rows, weighted_row_sum_rows } from './ops';
export { fma_probe } from './probe';
export { tr_matmul_nt, tr_transpose, tr_attn_fwd, tr_attn_bwd, tr_swiglu_fwd, tr_swiglu_bwd, tr_xent_fwd, tr_xent_bwd } from './train';
export { tr_zero, tr_add, tr_rmsnorm_fwd, tr_rmsnorm_bwd, tr_rmsnorm_dw, tr_rope, tr_gate_fwd, tr_gate_bwd } from './train';
export { kv_store, kv_widen, attention_kv } from './kv';
export { matmul_q8_0x4 } from './q8_0x4';
