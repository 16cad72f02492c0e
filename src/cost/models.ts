// Model configurations for the decoding-cost model, as data: the Step-3 paper's own comparison models and
// the six models of the Step 3.5 Flash README's "Est. decoding cost @ 128K context, Hopper GPU" row.
// Values are the published configs summarised in the project's reference (rl-mispo-and-cost.md §3.3);
// parameter counts are computed from them (see shapes.ts) and checked against the published totals.

/** One group of layers sharing an attention design. */
export type AttentionGroup =
  | { readonly kind: 'gqa'; readonly layers: number; readonly nQ: number; readonly nKv: number; readonly dK: number; readonly dV: number;
      /** Sliding window in positions (keys stored and read per sequence at most this many). */
      readonly window?: number; readonly headGate?: boolean;
      /** KV bytes per element for this group, overriding the model-wide precision (hybrids keep BF16 here). */
      readonly kvBytes?: number }
  | { readonly kind: 'mla'; readonly layers: number; readonly nHeads: number; readonly qLora: number | null; readonly kvLora: number;
      readonly rope: number; readonly dNope: number; readonly dV: number;
      /** DeepSeek Sparse Attention: a lightning indexer over all tokens selects `topK` for MLA. */
      readonly dsa?: { readonly heads: number; readonly dim: number; readonly topK: number } }
  | { readonly kind: 'mfa'; readonly layers: number; readonly nQ: number; readonly dHead: number; readonly qLora: number }
  /**
   * Linear ("lightning") attention with a heads × d × d state per sequence, kept in FP32 and read and
   * written once per token; q, k, v, output and an output gate projection.
   */
  | { readonly kind: 'linear'; readonly layers: number; readonly heads: number; readonly dHead: number };

export interface FfnConfig {
  readonly denseLayers: number;
  readonly denseFf: number;
  readonly moeLayers: number;
  readonly experts: number;
  readonly shared: number;
  readonly topK: number;
  readonly expertFf: number;
}

export interface CostModelConfig {
  readonly name: string;
  readonly hidden: number;
  readonly vocab: number;
  readonly tiedEmbedding?: boolean;
  readonly attention: readonly AttentionGroup[];
  readonly ffn: FfnConfig;
  /** Published totals, parameters (embeddings included). */
  readonly publishedTotal: number;
  readonly publishedActive: number;
}

/** Settings the README table states per model. */
export interface ReadmeRow {
  readonly model: CostModelConfig;
  /** The table's cost ratio against Step 3.5 Flash. */
  readonly ratio: number;
  /** Per-user decoding speed, tokens per second. */
  readonly speed: number;
  /** MTP draft tokens verified per step (0 = none). */
  readonly mtp: number;
  /** Expert-parallel GPUs per deployment. */
  readonly ep: number;
}

const B = 1e9;

export const STEP35_FLASH: CostModelConfig = {
  name: 'Step 3.5 Flash',
  hidden: 4096,
  vocab: 128896,
  attention: [
    { kind: 'gqa', layers: 12, nQ: 64, nKv: 8, dK: 128, dV: 128, headGate: true },
    { kind: 'gqa', layers: 33, nQ: 96, nKv: 8, dK: 128, dV: 128, window: 512, headGate: true },
  ],
  ffn: { denseLayers: 3, denseFf: 11264, moeLayers: 42, experts: 288, shared: 1, topK: 8, expertFf: 1280 },
  publishedTotal: 196 * B,
  publishedActive: 11 * B,
};

export const DEEPSEEK_V32: CostModelConfig = {
  name: 'DeepSeek V3.2',
  hidden: 7168,
  vocab: 129280,
  attention: [{ kind: 'mla', layers: 61, nHeads: 128, qLora: 1536, kvLora: 512, rope: 64, dNope: 128, dV: 128, dsa: { heads: 64, dim: 128, topK: 2048 } }],
  ffn: { denseLayers: 3, denseFf: 18432, moeLayers: 58, experts: 256, shared: 1, topK: 8, expertFf: 2048 },
  publishedTotal: 671 * B,
  publishedActive: 37 * B,
};

export const DEEPSEEK_V3: CostModelConfig = {
  ...DEEPSEEK_V32,
  name: 'DeepSeek V3',
  attention: [{ kind: 'mla', layers: 61, nHeads: 128, qLora: 1536, kvLora: 512, rope: 64, dNope: 128, dV: 128 }],
};

export const KIMI_K2: CostModelConfig = {
  name: 'Kimi K2',
  hidden: 7168,
  vocab: 163840,
  attention: [{ kind: 'mla', layers: 61, nHeads: 64, qLora: 1536, kvLora: 512, rope: 64, dNope: 128, dV: 128 }],
  ffn: { denseLayers: 1, denseFf: 18432, moeLayers: 60, experts: 384, shared: 1, topK: 8, expertFf: 2048 },
  publishedTotal: 1040 * B, // "1T" in the announcement; 1.04T counted (the fitted README preset uses this)
  publishedActive: 32 * B,
};

export const GLM_47: CostModelConfig = {
  name: 'GLM-4.7',
  hidden: 5120,
  vocab: 151552,
  attention: [{ kind: 'gqa', layers: 92, nQ: 96, nKv: 8, dK: 128, dV: 128 }],
  ffn: { denseLayers: 3, denseFf: 12288, moeLayers: 89, experts: 160, shared: 1, topK: 8, expertFf: 1536 },
  publishedTotal: 355 * B,
  publishedActive: 32 * B,
};

export const MINIMAX_M21: CostModelConfig = {
  name: 'MiniMax M2.1',
  hidden: 3072,
  vocab: 200064,
  attention: [{ kind: 'gqa', layers: 62, nQ: 48, nKv: 8, dK: 128, dV: 128 }],
  ffn: { denseLayers: 0, denseFf: 0, moeLayers: 62, experts: 256, shared: 0, topK: 8, expertFf: 1536 },
  publishedTotal: 230 * B,
  publishedActive: 10 * B,
};

export const MIMO_V2_FLASH: CostModelConfig = {
  name: 'MiMo-V2 Flash',
  hidden: 4096,
  vocab: 152576,
  attention: [
    { kind: 'gqa', layers: 9, nQ: 64, nKv: 4, dK: 192, dV: 128 },
    { kind: 'gqa', layers: 39, nQ: 64, nKv: 8, dK: 192, dV: 128, window: 128 },
  ],
  ffn: { denseLayers: 1, denseFf: 16384, moeLayers: 47, experts: 256, shared: 0, topK: 8, expertFf: 2048 },
  publishedTotal: 309 * B,
  publishedActive: 15 * B,
};

/** Step-3 (arXiv 2507.19427): MFA attention, 61 layers, 5 dense and 56 MoE layers (48 experts top-3 + 1 shared). */
export const STEP3: CostModelConfig = {
  name: 'Step-3',
  hidden: 7168,
  vocab: 128815,
  attention: [{ kind: 'mfa', layers: 61, nQ: 64, dHead: 256, qLora: 2048 }],
  ffn: { denseLayers: 5, denseFf: 18432, moeLayers: 56, experts: 48, shared: 1, topK: 3, expertFf: 5120 },
  publishedTotal: 316 * B, // the language model; the 321B of the paper include the vision encoder
  publishedActive: 38 * B,
};

export const QWEN3_235B: CostModelConfig = {
  name: 'Qwen3 MoE 235B',
  hidden: 4096,
  vocab: 151936,
  attention: [{ kind: 'gqa', layers: 94, nQ: 64, nKv: 4, dK: 128, dV: 128 }],
  ffn: { denseLayers: 0, denseFf: 0, moeLayers: 94, experts: 128, shared: 0, topK: 8, expertFf: 1536 },
  publishedTotal: 235 * B,
  publishedActive: 22 * B,
};

export const QWEN3_32B: CostModelConfig = {
  name: 'Qwen3 32B',
  hidden: 5120,
  vocab: 151936,
  attention: [{ kind: 'gqa', layers: 64, nQ: 64, nKv: 8, dK: 128, dV: 128 }],
  ffn: { denseLayers: 64, denseFf: 25600, moeLayers: 0, experts: 0, shared: 0, topK: 0, expertFf: 0 },
  publishedTotal: 32.8 * B,
  publishedActive: 32.8 * B,
};

/** Llama 4 Maverick: 3 of 4 layers chunked attention (8192-token chunks, FP8 KV), 1 of 4 global (BF16 KV). */
export const LLAMA4_MAVERICK: CostModelConfig = {
  name: 'Llama 4 Maverick',
  hidden: 5120,
  vocab: 202048,
  attention: [
    { kind: 'gqa', layers: 36, nQ: 40, nKv: 8, dK: 128, dV: 128, window: 8192 },
    { kind: 'gqa', layers: 12, nQ: 40, nKv: 8, dK: 128, dV: 128, kvBytes: 2 },
  ],
  ffn: { denseLayers: 24, denseFf: 16384, moeLayers: 24, experts: 128, shared: 1, topK: 1, expertFf: 8192 },
  publishedTotal: 400 * B,
  publishedActive: 17 * B,
};

/** MiniMax M1: 70 lightning-attention layers (FP32 state) and 10 GQA layers (BF16 KV). */
export const MINIMAX_M1: CostModelConfig = {
  name: 'MiniMax M1',
  hidden: 6144,
  vocab: 200064,
  attention: [
    { kind: 'linear', layers: 70, heads: 64, dHead: 128 },
    { kind: 'gqa', layers: 10, nQ: 64, nKv: 8, dK: 128, dV: 128, kvBytes: 2 },
  ],
  ffn: { denseLayers: 0, denseFf: 0, moeLayers: 80, experts: 32, shared: 0, topK: 2, expertFf: 9216 },
  publishedTotal: 456 * B,
  publishedActive: 45.9 * B,
};

export const ERNIE45: CostModelConfig = {
  name: 'ERNIE 4.5',
  hidden: 8192,
  vocab: 103424,
  attention: [{ kind: 'gqa', layers: 54, nQ: 64, nKv: 8, dK: 128, dV: 128 }],
  ffn: { denseLayers: 3, denseFf: 28672, moeLayers: 51, experts: 64, shared: 0, topK: 8, expertFf: 3584 },
  publishedTotal: 300 * B,
  publishedActive: 47 * B,
};

/** Pangu Pro MoE: 64 routed experts in 8 groups (one per group) plus 4 shared experts. */
export const PANGU_PRO_MOE: CostModelConfig = {
  name: 'Pangu Pro MoE',
  hidden: 5120,
  vocab: 153376,
  attention: [{ kind: 'gqa', layers: 48, nQ: 40, nKv: 8, dK: 128, dV: 128 }],
  ffn: { denseLayers: 0, denseFf: 0, moeLayers: 48, experts: 64, shared: 4, topK: 8, expertFf: 1344 },
  publishedTotal: 72 * B,
  publishedActive: 16.5 * B,
};

/** The models of the Step-3 paper's Tables 2, 3 and 6, in its order. */
export const STEP3_PAPER_MODELS: readonly CostModelConfig[] = [DEEPSEEK_V3, KIMI_K2, QWEN3_235B, QWEN3_32B, LLAMA4_MAVERICK, MINIMAX_M1, ERNIE45, PANGU_PRO_MOE, STEP3];

export const COST_MODELS: readonly CostModelConfig[] = [STEP35_FLASH, DEEPSEEK_V32, KIMI_K2, GLM_47, MINIMAX_M21, MIMO_V2_FLASH, DEEPSEEK_V3, STEP3, QWEN3_235B,
  QWEN3_32B, LLAMA4_MAVERICK, MINIMAX_M1, ERNIE45, PANGU_PRO_MOE];

/** The README row "Est. decoding cost @ 128K context, Hopper GPU" with its stated settings. */
export const README_TABLE: readonly ReadmeRow[] = [
  { model: STEP35_FLASH, ratio: 1.0, speed: 100, mtp: 3, ep: 8 },
  { model: DEEPSEEK_V32, ratio: 6.0, speed: 33, mtp: 1, ep: 32 },
  { model: KIMI_K2, ratio: 18.9, speed: 33, mtp: 0, ep: 32 },
  { model: GLM_47, ratio: 18.9, speed: 100, mtp: 3, ep: 8 },
  { model: MINIMAX_M21, ratio: 3.9, speed: 100, mtp: 3, ep: 8 },
  { model: MIMO_V2_FLASH, ratio: 1.2, speed: 100, mtp: 3, ep: 8 },
];

export function costModel(name: string): CostModelConfig {
  const norm = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, '');
  const m = COST_MODELS.find((c) => norm(c.name) === norm(name));
  if (!m) throw new Error(`unknown model "${name}" (known: ${COST_MODELS.map((c) => c.name).join(', ')})`);
  return m;
}
