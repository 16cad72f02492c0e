// Shapes of the random-weight models `stepflash make-model` writes. Every step35 preset keeps the
// architecture's features at small scale: a leading full-attention layer then three sliding layers per
// full one, more query heads on sliding layers, head-wise gates, q/k norms, partial RoPE with llama3
// factors on full layers, leading dense layers, a routed MoE with a selection bias and a shared expert,
// SwiGLU clamps on the last layers, and optionally MTP (nextn) layers.

export interface Preset {
  readonly name: string;
  readonly arch: 'step35' | 'llama';
  readonly description: string;
  readonly nEmbd: number;
  readonly nLayer: number;
  readonly nNextn: number;
  readonly headDim: number;
  /** Query heads on full-attention layers (all layers for llama). */
  readonly nHeadFull: number;
  /** Query heads on sliding-window layers. */
  readonly nHeadSwa: number;
  readonly nHeadKv: number;
  readonly window: number;
  readonly nLeadingDense: number;
  readonly ffDense: number;
  readonly nExpert: number;
  readonly nExpertUsed: number;
  readonly ffExp: number;
  readonly ffShexp: number;
  readonly expertWeightsScale: number;
  readonly ctx: number;
  readonly ropeBase: number;
  readonly ropeBaseSwa: number;
  /** Write llama3 rope_freqs factors for the full-attention layers. */
  readonly llama3Rope: boolean;
  readonly vocab: 'bpe' | 'spm';
  /** Tokens kept from the vocabulary asset (BPE only; the SPM vocabulary is used whole). */
  readonly vocabSize: number;
  /** Routed-expert and shared/dense clamps on the last two MoE layers (0 = none), like Step 3.5's 7 and 16. */
  readonly clampExp: number;
  readonly clampShexp: number;
  /** Tie the output head to the embedding (llama only). */
  readonly tiedOutput: boolean;
}

const step35Base = {
  arch: 'step35' as const,
  nNextn: 0,
  nLeadingDense: 1,
  expertWeightsScale: 3.0,
  ropeBase: 5e6,
  ropeBaseSwa: 1e4,
  llama3Rope: true,
  vocab: 'bpe' as const,
  clampExp: 7,
  clampShexp: 16,
  tiedOutput: false,
};

// The llama presets: dense, every layer full attention, a SentencePiece vocabulary and a tied output head.
const llamaBase = {
  arch: 'llama' as const,
  nNextn: 0, window: 0, nExpert: 0, nExpertUsed: 0, ffExp: 0, ffShexp: 0, expertWeightsScale: 1,
  ropeBase: 10000, ropeBaseSwa: 10000, llama3Rope: false, vocab: 'spm' as const, vocabSize: 32000,
  clampExp: 0, clampShexp: 0, tiedOutput: true,
};

export const PRESETS: Record<string, Preset> = {
  'step35-test': {
    ...step35Base,
    name: 'step35-test',
    description: 'a few-MB step35 for tests: 6 layers + 1 MTP layer, window 16',
    nEmbd: 64, nLayer: 6, nNextn: 1, headDim: 16, nHeadFull: 4, nHeadSwa: 6, nHeadKv: 2, window: 16,
    ffDense: 192, nExpert: 8, nExpertUsed: 3, ffExp: 32, ffShexp: 32, ctx: 1024, vocabSize: 4096,
  },
  tiny: {
    ...step35Base,
    name: 'tiny',
    description: 'the embedded default: 8 layers + 1 MTP layer, 16 experts top-4, about 5M parameters',
    nEmbd: 128, nLayer: 8, nNextn: 1, headDim: 32, nHeadFull: 4, nHeadSwa: 6, nHeadKv: 2, window: 64,
    ffDense: 384, nExpert: 16, nExpertUsed: 4, ffExp: 64, ffShexp: 64, ctx: 4096, vocabSize: 8192,
  },
  mini: {
    ...step35Base,
    name: 'mini',
    description: 'step35 "mini": 1024 hidden, 12 layers, 64 experts top-8, about 680M parameters',
    nEmbd: 1024, nLayer: 12, headDim: 128, nHeadFull: 8, nHeadSwa: 12, nHeadKv: 2, window: 512,
    ffDense: 2816, nExpert: 64, nExpertUsed: 8, ffExp: 256, ffShexp: 256, ctx: 4096, vocabSize: 32000,
  },
  'llama-test': {
    ...llamaBase,
    name: 'llama-test', description: 'a few-MB llama for tests (SentencePiece vocabulary)',
    nEmbd: 64, nLayer: 4, headDim: 16, nHeadFull: 4, nHeadSwa: 4, nHeadKv: 2, nLeadingDense: 4, ffDense: 192, ctx: 1024,
  },
  'llama-15m': {
    ...llamaBase,
    name: 'llama-15m', description: 'the stories15M shape: 288 hidden, 6 layers, 6 heads',
    nEmbd: 288, nLayer: 6, headDim: 48, nHeadFull: 6, nHeadSwa: 6, nHeadKv: 6, nLeadingDense: 6, ffDense: 768, ctx: 2048,
  },
  // A dense model whose one-sequence decode reads its weights from memory (418 MiB in F32): bench/LOAD.md
  // measures on it what batching several sequences buys where the weights, not the arithmetic, set the pace.
  'llama-110m': {
    ...llamaBase,
    name: 'llama-110m', description: 'the stories110M shape: 768 hidden, 12 layers, 12 heads',
    nEmbd: 768, nLayer: 12, headDim: 64, nHeadFull: 12, nHeadSwa: 12, nHeadKv: 12, nLeadingDense: 12, ffDense: 2048, ctx: 2048,
  },
  'step35-700m': {
    ...step35Base,
    name: 'step35-700m',
    description: 'the largest preset: 1536 hidden, 12 layers + 1 MTP layer, 32 experts top-8, about 730M parameters',
    nEmbd: 1536, nLayer: 12, nNextn: 1, headDim: 128, nHeadFull: 12, nHeadSwa: 16, nHeadKv: 4, window: 512,
    ffDense: 4096, nExpert: 32, nExpertUsed: 8, ffExp: 256, ffShexp: 512, ctx: 8192, vocabSize: 32000,
  },
};

export function presetNames(): string[] {
  return Object.keys(PRESETS);
}

/** Per-layer facts derived from a preset, shared by the writer and by parameter counting. */
export function layerPlan(p: Preset, i: number): { sliding: boolean; nHead: number; moe: boolean; mtp: boolean; clampExp: number; clampShexp: number } {
  const mtp = i >= p.nLayer;
  const sliding = p.arch === 'step35' && (mtp || i % 4 !== 0);
  const moe = p.arch === 'step35' && !mtp && i >= p.nLeadingDense && p.nExpert > 0;
  // Like Step 3.5 (clamps on layers 43 and 44 of 45): the last two trunk layers.
  const clamped = !mtp && i >= p.nLayer - 2;
  return {
    sliding,
    nHead: sliding ? p.nHeadSwa : p.nHeadFull,
    moe,
    mtp,
    clampExp: clamped && moe ? p.clampExp : 0,
    clampShexp: clamped && i === p.nLayer - 1 ? p.clampShexp : 0,
  };
}
