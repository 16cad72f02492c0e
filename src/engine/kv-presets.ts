// The published Step 3.5 Flash configuration (config.json of stepfun-ai/Step-3.5-Flash, as summarised in
// the architecture reference §1), for planning memory without the 400 GB checkpoint: its cache shape and
// its weight tensors. Layer i < 45 is full attention when i % 4 == 0 (12 layers), sliding otherwise (33);
// the three MTP layers 45-47 are sliding with a dense FFN.
import type { KvShape } from './kv-plan.js';

export interface WeightTensorPlan {
  readonly name: string;
  readonly elements: number;
  /** Part of an MTP (nextn) layer. */
  readonly mtp: boolean;
}

export interface ModelPreset {
  readonly name: string;
  readonly description: string;
  readonly contextLength: number;
  readonly kv: KvShape;
  readonly tensors: readonly WeightTensorPlan[];
}

function step35Flash(): ModelPreset {
  const E = 4096, V = 128896, hd = 128, nKv = 8, nLayer = 45, nMtp = 3;
  const nFf = 11264, nExpert = 288, nFfExp = 1280, nFfSh = 1280, nDense = 3;
  const tensors: WeightTensorPlan[] = [];
  const add = (name: string, elements: number, mtp = false) => tensors.push({ name, elements, mtp });
  add('token_embd.weight', V * E);
  add('output_norm.weight', E);
  add('output.weight', V * E);
  const layers: KvShape['layers'][number][] = [];
  for (let i = 0; i < nLayer + nMtp; i++) {
    const mtp = i >= nLayer;
    const sliding = mtp || i % 4 !== 0;
    const nHead = sliding ? 96 : 64;
    layers.push({ sliding, nHeadKv: nKv, mtp });
    const b = `blk.${i}.`;
    add(b + 'attn_norm.weight', E, mtp);
    add(b + 'attn_q.weight', E * nHead * hd, mtp);
    add(b + 'attn_k.weight', E * nKv * hd, mtp);
    add(b + 'attn_v.weight', E * nKv * hd, mtp);
    add(b + 'attn_q_norm.weight', hd, mtp);
    add(b + 'attn_k_norm.weight', hd, mtp);
    add(b + 'attn_gate.weight', E * nHead, mtp);
    add(b + 'attn_output.weight', nHead * hd * E, mtp);
    add(b + 'ffn_norm.weight', E, mtp);
    if (i < nDense || mtp) {
      add(b + 'ffn_gate.weight', E * nFf, mtp);
      add(b + 'ffn_up.weight', E * nFf, mtp);
      add(b + 'ffn_down.weight', nFf * E, mtp);
    } else {
      add(b + 'ffn_gate_inp.weight', E * nExpert);
      add(b + 'exp_probs_b.bias', nExpert);
      add(b + 'ffn_gate_exps.weight', E * nFfExp * nExpert);
      add(b + 'ffn_up_exps.weight', E * nFfExp * nExpert);
      add(b + 'ffn_down_exps.weight', nFfExp * E * nExpert);
      add(b + 'ffn_gate_shexp.weight', E * nFfSh);
      add(b + 'ffn_up_shexp.weight', E * nFfSh);
      add(b + 'ffn_down_shexp.weight', nFfSh * E);
    }
    if (mtp) {
      add(b + 'nextn.eh_proj.weight', 2 * E * E, true);
      add(b + 'nextn.enorm.weight', E, true);
      add(b + 'nextn.hnorm.weight', E, true);
      add(b + 'nextn.shared_head_norm.weight', E, true);
      add(b + 'nextn.shared_head_head.weight', E * V, true);
    }
  }
  add('rope_freqs.weight', hd / 4);
  return {
    name: 'step3.5-flash',
    description: 'Step 3.5 Flash as released: 45 layers (12 full, 33 sliding, window 512) + 3 MTP layers, 288 experts top-8',
    contextLength: 262144,
    kv: { headDimK: hd, headDimV: hd, slidingWindow: 512, layers },
    tensors,
  };
}

export const MODEL_PRESETS: Readonly<Record<string, () => ModelPreset>> = { 'step3.5-flash': step35Flash };

export function modelPreset(name: string): ModelPreset {
  const make = MODEL_PRESETS[name];
  if (!make) throw new Error(`unknown preset "${name}" (known: ${Object.keys(MODEL_PRESETS).join(', ')})`);
  return make();
}
