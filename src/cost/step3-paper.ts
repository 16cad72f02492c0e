// The decoding-cost model of the Step-3 paper (arXiv 2507.19427 §4), exactly as published:
//   - only decoding is costed (prefill is disaggregated); communication is overlapped; embeddings and the
//     LM head are ignored;
//   - core attention costs max(FLOPs · U_flop, KV bytes · U_byte) per token (compute or KV-read bound);
//   - attention projections ("linear") and the FFN are compute-bound thanks to batching (AFD keeps FFN
//     batches large), costing FLOPs · U_flop; an over-sparse MoE is not penalised;
//   - unit costs assume full utilisation: U_flop = price / (3600 · peak), U_byte = price / (3600 · BW);
//   - with attention-FFN disaggregation, attention (core attention plus the projections, as the paper's
//     Table 6 counts it) and FFN each run on their cheapest card, and add: Step-3 at 8K is $0.040 on H20
//     plus $0.015 on H800 = $0.055 per 1M tokens, the paper's Observation 1.
// Conventions: FP8 weights and FP8 KV (1 byte per element) unless the caller says otherwise.
import { ACCELERATORS, dollarsPerByte, dollarsPerFlop, type Accelerator } from './hardware.js';
import type { CostModelConfig } from './models.js';
import { tokenShape, type KvPrecision, type TokenShape } from './shapes.js';

export interface PartCosts {
  readonly hardware: string;
  /** Core attention, $ per token. */
  readonly coreAttention: number;
  /** Whether core attention is bound by KV reads rather than compute. */
  readonly memoryBound: boolean;
  readonly linear: number;
  /** Core attention + projections: the attention side of AFD. */
  readonly attention: number;
  readonly ffn: number;
  readonly total: number;
}

export interface Step3PaperOptions {
  readonly kv?: KvPrecision;
  /**
   * MTP as the paper discusses it (§5.2): verifying k drafts reuses one KV read for 1 + k query tokens while
   * FLOPs grow (1 + k)-fold; per accepted token everything is divided by the mean acceptance length.
   */
  readonly mtp?: { readonly k: number; readonly acceptance: number };
}

/** $ per decoded token on one accelerator. */
export function partCosts(shape: TokenShape, a: Accelerator, mtp?: Step3PaperOptions['mtp']): PartCosts {
  const uf = dollarsPerFlop(a), ub = dollarsPerByte(a);
  const q = mtp ? 1 + mtp.k : 1;
  const per = mtp ? mtp.acceptance : 1;
  const compute = q * shape.attnFlops * uf, memory = shape.kvRead * ub;
  const coreAttention = Math.max(compute, memory) / per;
  const linear = (q * shape.linearFlops * uf) / per;
  const ffn = (q * shape.ffnFlops * uf) / per;
  return { hardware: a.name, coreAttention, memoryBound: memory >= compute, linear, attention: coreAttention + linear, ffn, total: coreAttention + linear + ffn };
}

export interface Step3PaperResult {
  readonly model: string;
  readonly ctx: number;
  readonly shape: TokenShape;
  /** Attention arithmetic intensity: core-attention FLOPs per KV byte read. */
  readonly intensity: number;
  readonly perHardware: readonly PartCosts[];
  /** AFD: the cheapest card for attention (with projections) plus the cheapest for the FFN, $ per token. */
  readonly afd: { readonly attention: PartCosts; readonly ffn: PartCosts; readonly total: number };
}

export function step3PaperCost(m: CostModelConfig, ctx: number, opts: Step3PaperOptions = {}, cards: readonly Accelerator[] = Object.values(ACCELERATORS)): Step3PaperResult {
  const shape = tokenShape(m, ctx, opts.kv ?? { kvBytes: 1 });
  const perHardware = cards.map((a) => partCosts(shape, a, opts.mtp));
  const att = perHardware.reduce((b, x) => (x.attention < b.attention ? x : b));
  const ffn = perHardware.reduce((b, x) => (x.ffn < b.ffn ? x : b));
  return { model: m.name, ctx, shape, intensity: shape.attnFlops / shape.kvRead, perHardware, afd: { attention: att, ffn, total: att.attention + ffn.ffn } };
}

/**
 * The paper's MoE batching bounds (§5.3-5.4): an FFN with 8-bit weights does 2·B FLOPs per weight byte at
 * batch B, so it is compute-bound from B ≥ peak / (2 · S · BW) at sparsity S; hiding the EP network
 * traffic (3 · H bytes per token per layer) inside a 3-stage pipeline at 50 ms TPOT needs
 * S ≥ H · peak · L / (Net · BW · 11.1 ms).
 */
export function minMoeBatch(a: Accelerator, sparsity: number): number {
  return (a.fp8Flops ?? a.bf16Flops) / (2 * sparsity * a.bandwidth);
}

export function minSparsity(a: Accelerator, hidden: number, layers: number, networkBytesPerSecond: number, stageSeconds = 0.0111): number {
  return (hidden * (a.fp8Flops ?? a.bf16Flops) * layers) / (networkBytesPerSecond * a.bandwidth * stageSeconds);
}
