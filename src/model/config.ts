// Model configuration read from GGUF metadata alone, with the same keys and defaults as llama.cpp's
// loader. One configuration type describes every architecture this project runs: a Llama-family model
// is a Step 3.5 model with all layers dense and full-attention, no gate and no q/k norm.
import type { Metadata } from '../gguf/metadata.js';

export type RopeMode = 'neox' | 'normal';

export interface LayerConfig {
  readonly index: number;
  readonly nHead: number;
  readonly nHeadKv: number;
  /** Sliding-window layer (window size in ModelConfig.slidingWindow). */
  readonly sliding: boolean;
  readonly nRot: number;
  readonly ropeBase: number;
  /** Whether the shared rope_freqs factors (llama3 scaling) apply to this layer. */
  readonly ropeFactors: boolean;
  readonly moe: boolean;
  /** Dense FFN width (dense layers). */
  readonly nFf: number;
  /** SwiGLU clamp of routed experts; 0 = none. */
  readonly clampExp: number;
  /** SwiGLU clamp of the shared expert and of a dense FFN; 0 = none. */
  readonly clampShexp: number;
  /** A multi-token-prediction (nextn) layer, not run by the trunk. */
  readonly mtp: boolean;
}

export interface ModelConfig {
  readonly arch: string;
  readonly name: string;
  /** Trunk layers (block_count minus nextn layers). */
  readonly nLayer: number;
  readonly nNextn: number;
  readonly nEmbd: number;
  readonly nVocab: number;
  readonly nCtxTrain: number;
  readonly headDimK: number;
  readonly headDimV: number;
  readonly rmsEps: number;
  readonly ropeMode: RopeMode;
  readonly ropeFreqScale: number;
  readonly slidingWindow: number;
  readonly nExpert: number;
  readonly nExpertUsed: number;
  readonly nFfExp: number;
  readonly nFfShexp: number;
  readonly gating: 'softmax' | 'sigmoid';
  readonly expertWeightsNorm: boolean;
  readonly expertWeightsScale: number;
  readonly layers: readonly LayerConfig[];
}

export class ModelConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelConfigError';
  }
}

const SUPPORTED = new Set(['step35', 'llama']);

/**
 * Builds the configuration. `hasTensor` answers whether a named tensor exists, because llama.cpp decides
 * dense versus MoE per layer by the presence of `blk.N.ffn_gate_inp.weight`.
 */
export function configFromMetadata(md: Metadata, hasTensor: (name: string) => boolean): ModelConfig {
  const arch = md.requireString('general.architecture');
  if (!SUPPORTED.has(arch)) throw new ModelConfigError(`architecture "${arch}" is not supported (supported: ${[...SUPPORTED].join(', ')})`);
  const k = (key: string) => `${arch}.${key}`;
  const nLayerAll = md.requireNumber(k('block_count'));
  if (!(nLayerAll > 0 && nLayerAll <= 512)) throw new ModelConfigError(`${k('block_count')} = ${nLayerAll} is out of range`);
  const nNextn = md.number(k('nextn_predict_layers')) ?? 0;
  if (nNextn < 0 || nNextn >= nLayerAll) throw new ModelConfigError(`${k('nextn_predict_layers')} = ${nNextn} does not fit ${nLayerAll} blocks`);
  const nLayer = nLayerAll - nNextn;
  const nEmbd = md.requireNumber(k('embedding_length'));
  const nHeadArr = md.perLayerNumber(k('attention.head_count'), nLayerAll);
  const nHeadKvArr = md.has(k('attention.head_count_kv')) ? md.perLayerNumber(k('attention.head_count_kv'), nLayerAll) : nHeadArr;
  const headDimK = md.number(k('attention.key_length')) ?? nEmbd / nHeadArr[0]!;
  const headDimV = md.number(k('attention.value_length')) ?? nEmbd / nHeadArr[0]!;
  if (!Number.isInteger(headDimK) || !Number.isInteger(headDimV)) throw new ModelConfigError(`head dimension ${headDimK}/${headDimV} is not an integer`);
  const rmsEps = md.number(k('attention.layer_norm_rms_epsilon')) ?? 1e-5;
  const nCtxTrain = md.requireNumber(k('context_length'));
  const tokens = md.array('tokenizer.ggml.tokens');
  const nVocab = md.number(k('vocab_size')) ?? tokens?.length ?? 0;
  if (nVocab <= 0) throw new ModelConfigError('the vocabulary size is unknown (no tokenizer.ggml.tokens and no vocab_size)');

  const nRotBase = md.number(k('rope.dimension_count')) ?? headDimK;
  const ropeBase = md.number(k('rope.freq_base')) ?? 10000;
  const scalingType = md.string(k('rope.scaling.type')) ?? 'linear';
  if (scalingType !== 'linear' && scalingType !== 'none')
    throw new ModelConfigError(`${k('rope.scaling.type')} "${scalingType}" is not supported (llama3 scaling lives in rope_freqs.weight)`);
  const scaleFactor = md.number(k('rope.scaling.factor')) ?? md.number(k('rope.scale_linear')) ?? 0;
  const ropeFreqScale = scaleFactor === 0 ? 1 : 1 / scaleFactor;
  const hasRopeFreqs = hasTensor('rope_freqs.weight');

  const isStep = arch === 'step35';
  const slidingWindow = isStep ? md.requireNumber(k('attention.sliding_window')) : md.number(k('attention.sliding_window')) ?? 0;
  const pattern = md.perLayerBool(k('attention.sliding_window_pattern'), nLayerAll) ?? new Array<boolean>(nLayerAll).fill(false);
  const ropeBaseSwa = md.number(k('rope.freq_base_swa')) ?? ropeBase;
  const nRotSwa = md.number(k('rope.dimension_count_swa')) ?? nRotBase;
  const nRotFull = isStep ? nRotBase / 2 : nRotBase;
  const nFfArr = md.has(k('feed_forward_length')) ? md.perLayerNumber(k('feed_forward_length'), nLayerAll) : new Array<number>(nLayerAll).fill(0);
  const clampExp = md.perLayerNumber(k('swiglu_clamp_exp'), nLayerAll, 0);
  const clampShexp = md.perLayerNumber(k('swiglu_clamp_shexp'), nLayerAll, 0);

  const layers: LayerConfig[] = [];
  for (let i = 0; i < nLayerAll; i++) {
    const sliding = pattern[i]! && slidingWindow > 0;
    const nHead = nHeadArr[i]!;
    const nHeadKv = nHeadKvArr[i]!;
    if (!(nHead > 0 && nHeadKv > 0 && nHead % nHeadKv === 0))
      throw new ModelConfigError(`layer ${i}: ${nHead} query heads cannot be grouped over ${nHeadKv} key/value heads`);
    const nRot = sliding ? nRotSwa : nRotFull;
    if (nRot > headDimK || nRot % 2 !== 0) throw new ModelConfigError(`layer ${i}: rotary dimension ${nRot} does not fit head dimension ${headDimK}`);
    layers.push({
      index: i,
      nHead,
      nHeadKv,
      sliding,
      nRot,
      ropeBase: sliding ? ropeBaseSwa : ropeBase,
      ropeFactors: hasRopeFreqs && !(isStep && sliding),
      moe: hasTensor(`blk.${i}.ffn_gate_inp.weight`),
      nFf: nFfArr[i]!,
      clampExp: clampExp[i]!,
      clampShexp: clampShexp[i]!,
      mtp: i >= nLayer,
    });
  }

  const gatingFunc = md.number(k('expert_gating_func')) ?? 0;
  const scale = md.number(k('expert_weights_scale')) ?? 0;
  return {
    arch,
    name: md.string('general.name') ?? arch,
    nLayer,
    nNextn,
    nEmbd,
    nVocab,
    nCtxTrain,
    headDimK,
    headDimV,
    rmsEps,
    ropeMode: isStep ? 'neox' : 'normal',
    ropeFreqScale,
    slidingWindow,
    nExpert: md.number(k('expert_count')) ?? 0,
    nExpertUsed: md.number(k('expert_used_count')) ?? 0,
    nFfExp: md.number(k('expert_feed_forward_length')) ?? 0,
    nFfShexp: md.number(k('expert_shared_feed_forward_length')) ?? 0,
    // llama.cpp: 1 = softmax, 2 = sigmoid; step35 defaults to sigmoid when the key is absent.
    gating: gatingFunc === 1 ? 'softmax' : gatingFunc === 2 || isStep ? 'sigmoid' : 'softmax',
    expertWeightsNorm: md.bool(k('expert_weights_norm')) ?? false,
    expertWeightsScale: scale === 0 ? 1 : scale,
    layers,
  };
}
