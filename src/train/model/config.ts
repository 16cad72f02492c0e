// Configurations for models trained from scratch, and the GGUF metadata that describes them. A model
// is trained from the same ModelConfig the inference code reads from GGUF (src/model/config.ts), and
// exported with metadata from which configFromMetadata rebuilds that configuration exactly.
import type { LayerConfig, ModelConfig } from '../../model/config.js';
import { layerPlan, type Preset } from '../../model/make/presets.js';
import { gguf, GGUFValueType, type GGUFEntry } from '../../gguf/values.js';

/** The configuration of a step35 preset's shape (src/model/make/presets.ts) with a vocabulary of nVocab. */
export function presetConfig(p: Preset, nVocab: number): ModelConfig {
  if (p.arch !== 'step35') throw new Error(`training builds step35 models; preset "${p.name}" is ${p.arch}`);
  const layers: LayerConfig[] = [];
  for (let i = 0; i < p.nLayer + p.nNextn; i++) {
    const l = layerPlan(p, i);
    layers.push({
      index: i,
      nHead: l.nHead,
      nHeadKv: p.nHeadKv,
      sliding: l.sliding,
      // Full-attention layers rotate half the head (llama.cpp halves rope.dimension_count for step35).
      nRot: l.sliding ? p.headDim : p.headDim / 2,
      ropeBase: Math.fround(l.sliding ? p.ropeBaseSwa : p.ropeBase),
      ropeFactors: p.llama3Rope && !l.sliding,
      moe: l.moe,
      nFf: l.moe ? 0 : p.ffDense,
      clampExp: l.clampExp,
      clampShexp: l.clampShexp,
      mtp: l.mtp,
    });
  }
  return {
    arch: 'step35',
    name: p.name,
    nLayer: p.nLayer,
    nNextn: p.nNextn,
    nEmbd: p.nEmbd,
    nVocab,
    nCtxTrain: p.ctx,
    headDimK: p.headDim,
    headDimV: p.headDim,
    // As stored in GGUF (f32), so that training and inference use the same value.
    rmsEps: Math.fround(1e-5),
    ropeMode: 'neox',
    ropeFreqScale: 1,
    slidingWindow: p.window,
    nExpert: p.nExpert,
    nExpertUsed: p.nExpertUsed,
    nFfExp: p.ffExp,
    nFfShexp: p.ffShexp,
    gating: 'sigmoid',
    expertWeightsNorm: true,
    expertWeightsScale: Math.fround(p.expertWeightsScale),
    layers,
  };
}

/**
 * The `step35.*` metadata keys (llama.cpp's names, as src/model/make/random-model.ts writes them) that
 * describe a configuration; the tokenizer's keys come from the tokenizer.
 */
export function step35Metadata(cfg: ModelConfig): [string, GGUFEntry][] {
  if (cfg.arch !== 'step35') throw new Error(`only step35 models are exported, not ${cfg.arch}`);
  const k = (key: string) => `step35.${key}`;
  const L = cfg.layers;
  const full = L.find((l) => !l.sliding);
  const swa = L.find((l) => l.sliding);
  // configFromMetadata: full layers rotate rope.dimension_count / 2, sliding ones dimension_count_swa
  // (default: dimension_count).
  const nRotBase = full ? full.nRot * 2 : cfg.headDimK;
  const md: [string, GGUFEntry][] = [
    [k('block_count'), gguf.u32(L.length)],
    [k('context_length'), gguf.u32(cfg.nCtxTrain)],
    [k('embedding_length'), gguf.u32(cfg.nEmbd)],
    [k('feed_forward_length'), gguf.arr(GGUFValueType.INT32, L.map((l) => l.nFf))],
    [k('attention.head_count'), gguf.arr(GGUFValueType.INT32, L.map((l) => l.nHead))],
    [k('attention.head_count_kv'), gguf.arr(GGUFValueType.INT32, L.map((l) => l.nHeadKv))],
    [k('attention.key_length'), gguf.u32(cfg.headDimK)],
    [k('attention.value_length'), gguf.u32(cfg.headDimV)],
    [k('attention.layer_norm_rms_epsilon'), gguf.f32(cfg.rmsEps)],
    [k('attention.sliding_window'), gguf.u32(cfg.slidingWindow)],
    [k('attention.sliding_window_pattern'), gguf.arr(GGUFValueType.BOOL, L.map((l) => l.sliding))],
    [k('rope.dimension_count'), gguf.u32(nRotBase)],
    [k('rope.freq_base'), gguf.f32((full ?? L[0]!).ropeBase)],
    [k('rope.freq_base_swa'), gguf.f32((swa ?? L[0]!).ropeBase)],
    [k('leading_dense_block_count'), gguf.u32(Math.max(0, L.findIndex((l) => l.moe)))],
    [k('expert_count'), gguf.u32(cfg.nExpert)],
    [k('expert_used_count'), gguf.u32(cfg.nExpertUsed)],
    [k('expert_feed_forward_length'), gguf.u32(cfg.nFfExp)],
    [k('expert_shared_feed_forward_length'), gguf.u32(cfg.nFfShexp)],
    [k('expert_gating_func'), gguf.u32(cfg.gating === 'sigmoid' ? 2 : 1)],
    [k('expert_weights_scale'), gguf.f32(cfg.expertWeightsScale)],
    [k('expert_weights_norm'), gguf.bool(cfg.expertWeightsNorm)],
    [k('swiglu_clamp_exp'), gguf.arr(GGUFValueType.FLOAT32, L.map((l) => l.clampExp))],
    [k('swiglu_clamp_shexp'), gguf.arr(GGUFValueType.FLOAT32, L.map((l) => l.clampShexp))],
  ];
  if (swa && swa.nRot !== nRotBase) md.push([k('rope.dimension_count_swa'), gguf.u32(swa.nRot)]);
  if (cfg.ropeFreqScale !== 1) md.push([k('rope.scaling.type'), gguf.str('linear')], [k('rope.scaling.factor'), gguf.f32(1 / cfg.ropeFreqScale)]);
  if (cfg.nNextn > 0) md.push([k('nextn_predict_layers'), gguf.u32(cfg.nNextn)]);
  return md;
}
