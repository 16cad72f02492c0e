// Writes deterministic random-weight models in GGUF, loadable by stepflash and by llama.cpp.
//
// Weights are scaled so that the model behaves like a trained one numerically: each sub-layer adds O(1)
// to the residual stream, norm gains differ from one, the router bias changes which experts win, the
// clamps on the last layers bind, and the output head's logits have a standard deviation near 6.5 so
// next-token distributions are peaked (median top-1 probability around one half).
import { readFileSync } from 'node:fs';
import { GGMLType, typeName, typeTraits } from '../../gguf/ggml-types.js';
import { quantizeRow } from '../../gguf/quant/index.js';
import { gguf, GGUFValueType, type GGUFEntry } from '../../gguf/values.js';
import { writeGGUF, type TensorToWrite } from '../../gguf/writer.js';
import { layerPlan, PRESETS, type Preset } from './presets.js';
import { Rng, seedFor } from './rng.js';

export interface MakeModelOptions {
  readonly preset: string | Preset;
  /** Type of the weight matrices; norms, biases and rope factors stay f32. */
  readonly type: GGMLType;
  readonly seed: number;
  readonly out: string;
  /** Shape overrides on top of the preset. */
  readonly overrides?: Partial<Preset>;
  /** Multiplier on the routed experts' gate/up weights of clamped layers, so the clamps bind. */
  readonly clampBoost?: number;
  readonly onProgress?: (done: number, total: number) => void;
}

export interface MadeModel {
  readonly path: string;
  readonly preset: Preset;
  readonly params: number;
  readonly bytes: number;
}

const STEP_SPECIAL = ['<｜begin▁of▁sentence｜>', '<｜end▁of▁sentence｜>', '<｜▁pad▁｜>', '<|im_start|>', '<|im_end|>'];
const STEP_TEXT_SPECIAL = ['<think>', '</think>', '<tool_call>', '</tool_call>', '<tool_response>', '</tool_response>'];

function assetPath(rel: string): string {
  return new URL(`../../../assets/${rel}`, import.meta.url).pathname;
}

function tokenizerEntries(p: Preset): [string, GGUFEntry][] {
  if (p.vocab === 'spm') {
    const v = JSON.parse(readFileSync(assetPath('vocab/spm-llama2.json'), 'utf8')) as { tokens: string[]; scores: number[]; types: number[] };
    return [
      ['tokenizer.ggml.model', gguf.str('llama')],
      ['tokenizer.ggml.pre', gguf.str('default')],
      ['tokenizer.ggml.tokens', gguf.arr(GGUFValueType.STRING, v.tokens)],
      ['tokenizer.ggml.scores', gguf.arr(GGUFValueType.FLOAT32, v.scores)],
      ['tokenizer.ggml.token_type', gguf.arr(GGUFValueType.INT32, v.types)],
      ['tokenizer.ggml.bos_token_id', gguf.u32(1)],
      ['tokenizer.ggml.eos_token_id', gguf.u32(2)],
      ['tokenizer.ggml.unknown_token_id', gguf.u32(0)],
      ['tokenizer.ggml.add_bos_token', gguf.bool(true)],
      ['tokenizer.ggml.add_eos_token', gguf.bool(false)],
    ];
  }
  const { merges } = JSON.parse(readFileSync(assetPath('vocab/bpe-merges.json'), 'utf8')) as { merges: string[] };
  const tokens: string[] = [...STEP_SPECIAL, ...STEP_TEXT_SPECIAL];
  const types: number[] = [...STEP_SPECIAL.map(() => 3), ...STEP_TEXT_SPECIAL.map(() => 4)];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    tokens.push(String.fromCodePoint(printable ? b : 256 + n++));
    types.push(1);
  }
  const keep = Math.max(0, p.vocabSize - tokens.length);
  const used = merges.slice(0, keep);
  for (const m of used) {
    tokens.push(m.replace(' ', ''));
    types.push(1);
  }
  return [
    ['tokenizer.ggml.model', gguf.str('gpt2')],
    ['tokenizer.ggml.pre', gguf.str('deepseek-v3')],
    ['tokenizer.ggml.tokens', gguf.arr(GGUFValueType.STRING, tokens)],
    ['tokenizer.ggml.token_type', gguf.arr(GGUFValueType.INT32, types)],
    ['tokenizer.ggml.merges', gguf.arr(GGUFValueType.STRING, used)],
    ['tokenizer.ggml.bos_token_id', gguf.u32(0)],
    ['tokenizer.ggml.eos_token_id', gguf.u32(1)],
    ['tokenizer.ggml.eot_token_id', gguf.u32(4)],
    ['tokenizer.ggml.padding_token_id', gguf.u32(2)],
    ['tokenizer.ggml.add_bos_token', gguf.bool(true)],
    ['tokenizer.ggml.add_eos_token', gguf.bool(false)],
    ['tokenizer.chat_template', gguf.str(readFileSync(assetPath('templates/step35.jinja'), 'utf8'))],
  ];
}

/** llama.cpp's general.file_type (its LLAMA_FTYPE_MOSTLY_* enum, not the ggml type id). */
const FILE_TYPE: Partial<Record<GGMLType, number>> = {
  [GGMLType.F32]: 0, [GGMLType.F16]: 1, [GGMLType.Q4_0]: 2, [GGMLType.Q4_1]: 3, [GGMLType.Q8_0]: 7, [GGMLType.Q5_0]: 8,
  [GGMLType.Q5_1]: 9, [GGMLType.Q2_K]: 10, [GGMLType.Q3_K]: 12, [GGMLType.Q4_K]: 15, [GGMLType.Q5_K]: 17,
  [GGMLType.Q6_K]: 18, [GGMLType.BF16]: 32,
};

function vocabSizeOf(entries: [string, GGUFEntry][]): number {
  const t = entries.find(([k]) => k === 'tokenizer.ggml.tokens')![1].value as { items: readonly unknown[] };
  return t.items.length;
}

/** llama3 rope scaling expressed as frequency divisors, as llama.cpp's converter writes rope_freqs. */
export function llama3Factors(nRot: number, base: number, ctx: number, padTo: number): number[] {
  const factor = 2, lowFreq = 1, highFreq = 32;
  const orig = ctx / factor;
  const out: number[] = [];
  for (let i = 0; i < nRot / 2; i++) {
    const inv = Math.pow(base, (-2 * i) / nRot);
    const wavelen = (2 * Math.PI) / inv;
    if (wavelen < orig / highFreq) out.push(1);
    else if (wavelen > orig / lowFreq) out.push(factor);
    else {
      const s = (orig / wavelen - lowFreq) / (highFreq - lowFreq);
      out.push(1 / ((1 - s) / factor + s));
    }
  }
  while (out.length < padTo) out.push(1);
  return out;
}

interface TensorPlan {
  readonly name: string;
  /** ggml order: [cols, rows(, experts)]. */
  readonly dims: number[];
  readonly type: GGMLType;
  /** Produces row r's f32 values into dst (r counts across stacked experts). */
  readonly fill: (rng: Rng, dst: Float32Array, r: number) => void;
}

function weightType(wanted: GGMLType, cols: number): GGMLType {
  const t = typeTraits(wanted)!;
  if (cols % t.blockSize === 0) return wanted;
  return cols % 32 === 0 ? GGMLType.Q8_0 : GGMLType.F32;
}

export function makeModel(opts: MakeModelOptions): MadeModel {
  const base = typeof opts.preset === 'string' ? PRESETS[opts.preset] : opts.preset;
  if (!base) throw new Error(`unknown preset "${String(opts.preset)}"; presets: ${Object.keys(PRESETS).join(', ')}`);
  const p: Preset = { ...base, ...opts.overrides };
  if (!typeTraits(opts.type)) throw new Error(`unknown weight type ${opts.type}`);
  const boost = opts.clampBoost ?? 4;
  const tok = tokenizerEntries(p);
  const nVocab = vocabSizeOf(tok);
  const E = p.nEmbd;
  const nAll = p.nLayer + p.nNextn;
  const plans = Array.from({ length: nAll }, (_, i) => layerPlan(p, i));
  const arch = p.arch;

  const normal = (std: number) => (rng: Rng, dst: Float32Array) => rng.fillNormal(dst, std);
  const gain = (rng: Rng, dst: Float32Array) => {
    rng.fillNormal(dst, 0.1);
    for (let i = 0; i < dst.length; i++) dst[i] = 1 + dst[i]!;
  };
  const tensors: TensorPlan[] = [];
  const mat = (name: string, cols: number, rows: number, std: number, type = opts.type) =>
    tensors.push({ name, dims: [cols, rows], type: weightType(type, cols), fill: normal(std) });
  const vec = (name: string, n: number, fill: TensorPlan['fill']) => tensors.push({ name, dims: [n], type: GGMLType.F32, fill });

  tensors.push({ name: 'token_embd.weight', dims: [E, nVocab], type: weightType(opts.type, E), fill: normal(1) });
  vec('output_norm.weight', E, gain);
  if (!p.tiedOutput) mat('output.weight', E, nVocab, 6.5 / Math.sqrt(E));
  const nRotFull = arch === 'step35' ? p.headDim / 2 : p.headDim;
  if (p.llama3Rope) {
    const f = llama3Factors(nRotFull, p.ropeBase, p.ctx, p.headDim / 2);
    vec('rope_freqs.weight', p.headDim / 2, (_r, dst) => dst.set(f));
  }
  for (let i = 0; i < nAll; i++) {
    const l = plans[i]!;
    const b = `blk.${i}`;
    const qDim = l.nHead * p.headDim;
    const kvDim = p.nHeadKv * p.headDim;
    vec(`${b}.attn_norm.weight`, E, gain);
    mat(`${b}.attn_q.weight`, E, qDim, 1 / Math.sqrt(E));
    mat(`${b}.attn_k.weight`, E, kvDim, 1 / Math.sqrt(E));
    mat(`${b}.attn_v.weight`, E, kvDim, 1 / Math.sqrt(E));
    mat(`${b}.attn_output.weight`, qDim, E, 1 / Math.sqrt(qDim));
    if (arch === 'step35') {
      vec(`${b}.attn_q_norm.weight`, p.headDim, gain);
      vec(`${b}.attn_k_norm.weight`, p.headDim, gain);
      mat(`${b}.attn_gate.weight`, E, l.nHead, 1 / Math.sqrt(E), GGMLType.F32);
    }
    vec(`${b}.ffn_norm.weight`, E, gain);
    if (l.moe) {
      const F = p.ffExp;
      const expStd = (l.clampExp > 0 ? boost : 1) / Math.sqrt(E);
      mat(`${b}.ffn_gate_inp.weight`, E, p.nExpert, 2 / Math.sqrt(E), GGMLType.F32);
      vec(`${b}.exp_probs_b.bias`, p.nExpert, normal(0.3));
      const t = weightType(opts.type, E);
      tensors.push({ name: `${b}.ffn_gate_exps.weight`, dims: [E, F, p.nExpert], type: t, fill: normal(expStd) });
      tensors.push({ name: `${b}.ffn_up_exps.weight`, dims: [E, F, p.nExpert], type: t, fill: normal(expStd) });
      tensors.push({ name: `${b}.ffn_down_exps.weight`, dims: [F, E, p.nExpert], type: weightType(opts.type, F), fill: normal(1 / Math.sqrt(F)) });
      const S = p.ffShexp;
      const shStd = (l.clampShexp > 0 ? boost * 3 : 1) / Math.sqrt(E);
      mat(`${b}.ffn_gate_shexp.weight`, E, S, shStd);
      mat(`${b}.ffn_up_shexp.weight`, E, S, shStd);
      mat(`${b}.ffn_down_shexp.weight`, S, E, 1 / Math.sqrt(S));
    } else {
      const F = p.ffDense;
      mat(`${b}.ffn_gate.weight`, E, F, 1 / Math.sqrt(E));
      mat(`${b}.ffn_up.weight`, E, F, 1 / Math.sqrt(E));
      mat(`${b}.ffn_down.weight`, F, E, 1 / Math.sqrt(F));
    }
    if (l.mtp) {
      mat(`${b}.nextn.eh_proj.weight`, 2 * E, E, 1 / Math.sqrt(2 * E));
      vec(`${b}.nextn.enorm.weight`, E, gain);
      vec(`${b}.nextn.hnorm.weight`, E, gain);
      vec(`${b}.nextn.shared_head_norm.weight`, E, gain);
      mat(`${b}.nextn.shared_head_head.weight`, E, nVocab, 6.5 / Math.sqrt(E));
    }
  }

  const k = (key: string) => `${arch}.${key}`;
  const md: [string, GGUFEntry][] = [
    ['general.architecture', gguf.str(arch)],
    ['general.name', gguf.str(`stepflash-${p.name}-random`)],
    ['general.description', gguf.str(`RANDOM WEIGHTS: a ${p.name} model generated by stepflash make-model (seed ${opts.seed}); its output is meaningless`)],
    ...(FILE_TYPE[opts.type] !== undefined ? [['general.file_type', gguf.u32(FILE_TYPE[opts.type]!)] as [string, GGUFEntry]] : []),
    ['stepflash.random_weights', gguf.bool(true)],
    ['stepflash.preset', gguf.str(p.name)],
    [k('block_count'), gguf.u32(nAll)],
    [k('context_length'), gguf.u32(p.ctx)],
    [k('embedding_length'), gguf.u32(E)],
    [k('attention.layer_norm_rms_epsilon'), gguf.f32(1e-5)],
    [k('attention.key_length'), gguf.u32(p.headDim)],
    [k('attention.value_length'), gguf.u32(p.headDim)],
    [k('rope.dimension_count'), gguf.u32(p.headDim)],
    [k('rope.freq_base'), gguf.f32(p.ropeBase)],
  ];
  if (arch === 'step35') {
    md.push(
      [k('attention.head_count'), gguf.arr(GGUFValueType.INT32, plans.map((l) => l.nHead))],
      [k('attention.head_count_kv'), gguf.arr(GGUFValueType.INT32, plans.map(() => p.nHeadKv))],
      [k('feed_forward_length'), gguf.arr(GGUFValueType.INT32, plans.map((l) => (l.moe ? 0 : p.ffDense)))],
      [k('attention.sliding_window'), gguf.u32(p.window)],
      [k('attention.sliding_window_pattern'), gguf.arr(GGUFValueType.BOOL, plans.map((l) => l.sliding))],
      [k('rope.freq_base_swa'), gguf.f32(p.ropeBaseSwa)],
      [k('leading_dense_block_count'), gguf.u32(p.nLeadingDense)],
      [k('expert_count'), gguf.u32(p.nExpert)],
      [k('expert_used_count'), gguf.u32(p.nExpertUsed)],
      [k('expert_feed_forward_length'), gguf.u32(p.ffExp)],
      [k('expert_shared_feed_forward_length'), gguf.u32(p.ffShexp)],
      [k('expert_gating_func'), gguf.u32(2)],
      [k('expert_weights_scale'), gguf.f32(p.expertWeightsScale)],
      [k('expert_weights_norm'), gguf.bool(true)],
      [k('swiglu_clamp_exp'), gguf.arr(GGUFValueType.FLOAT32, plans.map((l) => l.clampExp))],
      [k('swiglu_clamp_shexp'), gguf.arr(GGUFValueType.FLOAT32, plans.map((l) => l.clampShexp))],
    );
    if (p.nNextn > 0) md.push([k('nextn_predict_layers'), gguf.u32(p.nNextn)]);
  } else {
    md.push(
      [k('attention.head_count'), gguf.u32(p.nHeadFull)],
      [k('attention.head_count_kv'), gguf.u32(p.nHeadKv)],
      [k('feed_forward_length'), gguf.u32(p.ffDense)],
      [k('vocab_size'), gguf.u32(nVocab)],
    );
  }
  md.push(...tok);

  let params = 0;
  let done = 0;
  const total = tensors.reduce((a, t) => a + t.dims.reduce((x, y) => x * y, 1), 0);
  const toWrite: TensorToWrite[] = tensors.map((t) => {
    const cols = t.dims[0]!;
    const rows = t.dims.slice(1).reduce((a, b) => a * b, 1);
    params += cols * rows;
    return {
      name: t.name,
      dims: t.dims,
      type: t.type,
      data: (emit) => {
        const rng = new Rng(seedFor(opts.seed, t.name));
        const row = new Float32Array(cols);
        const chunkRows = Math.max(1, Math.floor((1 << 20) / cols));
        const traits = typeTraits(t.type)!;
        const rowBytes = (cols / traits.blockSize) * traits.typeSize;
        const buf = new Uint8Array(chunkRows * rowBytes);
        for (let r0 = 0; r0 < rows; r0 += chunkRows) {
          const n = Math.min(chunkRows, rows - r0);
          for (let r = 0; r < n; r++) {
            t.fill(rng, row, r0 + r);
            quantizeRow(t.type, row, buf.subarray(r * rowBytes, (r + 1) * rowBytes), cols);
          }
          emit(buf.subarray(0, n * rowBytes));
          done += n * cols;
          opts.onProgress?.(done, total);
        }
      },
    };
  });
  writeGGUF(opts.out, { metadata: md, tensors: toWrite });
  const bytes = toWrite.reduce((a, t, i) => a + (tensors[i]!.dims.reduce((x, y) => x * y, 1) / typeTraits(t.type)!.blockSize) * typeTraits(t.type)!.typeSize, 0);
  return { path: opts.out, preset: p, params, bytes };
}

export function describeType(t: GGMLType): string {
  return typeName(t);
}
