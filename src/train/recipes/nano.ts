// The nano recipe: the project's own small Step 3.5 model, trained from scratch on the agentic task
// corpus (src/train/data) in well under an hour on two cores. It keeps every architectural feature at
// small scale: full-attention layers 0 and 4, each followed by three sliding-window layers, more query heads on the
// sliding layers (6 vs 4), head-wise gates, q/k norms, partial RoPE (half the head) with llama3 factors
// on the full layer, a leading dense layer, routed experts (8, top 2) with a shared expert, the SwiGLU
// clamps on the last two layers, and three MTP layers with their own heads. Eight trunk layers, not
// four: in a four-layer pilot the MTP heads learned to copy numbers from the question within 200-400
// steps (each MTP layer reads the next token's embedding beside the previous position's state, so one
// attention layer can match "the token before" — an induction step for free), while the main head, which
// must first build that from two attention layers, had not after 1000. With eight layers the main head
// made the same jump between steps 1400 and 1600 of the first nano run, and at steps 550-750 of the
// present recipe (docs/nano.md).
//
// Rows of 2048 tokens, one per step: the system block with the four tool definitions (~400 tokens) is
// written once per row, so a 2048-token row trains 50% of its positions where two rows of 1024 trained 35%,
// for about the same step time (the sliding layers' cost does not grow with the row; the two full layers'
// does). 3200 steps of one cosine schedule over 29,500 conversations (each seen about 1.2 times): ~53 minutes
// here, where 2600 steps over 24,000 (the third run's recipe) solved 78 of 200 held-out tasks against 99.
import { PRESETS } from '../../model/make/presets.js';
import type { Recipe } from './recipe.js';

export const NANO: Recipe = {
  name: 'nano',
  description: 'step35 nano: 128 hidden, 8 layers (2 full + 6 sliding) + 3 MTP layers, 8 experts top-2 + shared expert, BPE vocabulary of at most 4096',
  model: {
    ...PRESETS['tiny']!,
    name: 'stepflash-nano',
    description: 'the project\'s trained nano model',
    nEmbd: 128, nLayer: 8, nNextn: 3, headDim: 32, nHeadFull: 4, nHeadSwa: 6, nHeadKv: 2, window: 128,
    nLeadingDense: 1, ffDense: 384, nExpert: 8, nExpertUsed: 2, ffExp: 128, ffShexp: 128, ctx: 4096,
    vocabSize: 4096,
  },
  vocabSize: 4096,
  examples: 29500,
  tokenizerExamples: 2000,
  dataSeed: 1,
  seed: 1,
  T: 2048,
  sharePrefix: true,
  nSeq: 1,
  accum: 1,
  steps: 3200,
  lr: 3e-3,
  warmup: 50,
  minLrRatio: 0.05,
  weightDecay: 0.05,
  clip: 1,
  biasUpdate: 1e-3,
  mtpWeight: 0.3,
  checkpointEvery: 50,
};

/**
 * A few seconds of the same pipeline at toy scale (tokenizer, corpus, model with every feature, loop,
 * checkpoints, export), for tests and for trying the command; the model it writes knows nothing.
 */
export const SMOKE: Recipe = {
  ...NANO,
  name: 'smoke',
  description: 'toy scale, seconds: the whole pipeline for tests (the model learns nothing useful)',
  model: {
    ...NANO.model,
    name: 'stepflash-smoke',
    nEmbd: 32, nLayer: 4, nNextn: 3, headDim: 8, nHeadFull: 2, nHeadSwa: 4, nHeadKv: 2, window: 32,
    ffDense: 64, nExpert: 4, nExpertUsed: 2, ffExp: 16, ffShexp: 16, ctx: 1024,
  },
  vocabSize: 600,
  examples: 40,
  tokenizerExamples: 20,
  T: 768,
  nSeq: 1,
  steps: 4,
  warmup: 1,
  checkpointEvery: 2,
};

export const RECIPES: Record<string, Recipe> = { nano: NANO, smoke: SMOKE };
