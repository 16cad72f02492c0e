// The trainable parameters of a Step 3.5 model, laid out and named exactly as the GGUF tensors the
// inference code loads (src/model/weights.ts), so that export is a copy: row-major shapes are the
// reverse of the ggml dims, stacked experts are [experts][rows][cols], norm weights hold the gain
// itself (GGUF's convention: the zero-centred HF weight plus one). Values are initialised from a seed,
// each tensor from its own stream (seeded by its name), so that adding a tensor changes no other.
import type { LayerConfig, ModelConfig } from '../../model/config.js';
import { llama3Factors } from '../../model/make/random-model.js';
import { Rng, seedFor } from '../../model/make/rng.js';
import type { Engine } from '../autograd/engine.js';
import { Param, type ParamKind } from '../autograd/tensor.js';

export interface MlpParams {
  readonly gate: Param;
  readonly up: Param;
  readonly down: Param;
}

export interface MoeParams {
  /** ffn_gate_inp: router [experts][embd]. */
  readonly router: Param;
  /** exp_probs_b: the selection-only bias, moved by load balancing, not by gradients. */
  readonly bias: Param;
  /** ffn_{gate,up}_exps [experts][ff][embd], ffn_down_exps [experts][embd][ff]. */
  readonly gate: Param;
  readonly up: Param;
  readonly down: Param;
  readonly shared: MlpParams | null;
}

export interface NextnParams {
  /** eh_proj [embd][2·embd]: input = [enorm(embedding) | hnorm(hidden)]. */
  readonly ehProj: Param;
  readonly enorm: Param;
  readonly hnorm: Param;
  /** shared_head_norm / shared_head_head; null where the MTP head uses output_norm / output. */
  readonly headNorm: Param | null;
  readonly head: Param | null;
}

export interface LayerParams {
  readonly attnNorm: Param;
  readonly q: Param;
  readonly k: Param;
  readonly v: Param;
  readonly o: Param;
  readonly qNorm: Param | null;
  readonly kNorm: Param | null;
  /** attn_gate: head-wise gate [heads][embd]. */
  readonly gate: Param | null;
  readonly ffnNorm: Param;
  readonly mlp: MlpParams | null;
  readonly moe: MoeParams | null;
  readonly nextn: NextnParams | null;
}

export interface ModelParams {
  readonly tokEmbd: Param;
  readonly outputNorm: Param;
  readonly output: Param;
  /** rope_freqs: llama3 frequency divisors of the full-attention layers (a constant). */
  readonly ropeFreqs: Param | null;
  readonly layers: readonly LayerParams[];
  /** Every parameter, in GGUF order. */
  readonly all: readonly Param[];
  /**
   * Tensors the file holds as copies of a parameter (tied output heads: output.weight and each MTP layer's
   * shared_head_head are the token embedding). Written by export, never trained on their own.
   */
  readonly copies: readonly { readonly name: string; readonly of: Param }[];
}

export interface InitOptions {
  readonly seed: number;
  /** Standard deviation of the token embedding (default 1). */
  readonly embedStd?: number;
  /** Of the output heads (default 0.5/√embd: initial logits of standard deviation ~0.5). */
  readonly outputStd?: number;
  /**
   * Input-side matrices get N(0, 1/in); the projections back into the residual stream (attn_output,
   * ffn_down*) are further divided by √(2·layers) so the residual stream does not grow with depth.
   */
  readonly residualScale?: number;
}

export interface ParamOptions {
  /** MTP heads with their own shared_head_norm/_head (the released layout, default) or using the main ones. */
  readonly mtpHeads?: 'own' | 'main';
  /**
   * Tie every output head (the main one and the MTP heads') to the token embedding: one [vocab][embd]
   * matrix both reads tokens in and scores them out, so a token's output row is trained every time the
   * token appears in a context, not only when it is a target. The file still holds output.weight and
   * shared_head_head as tensors of their own (copies), the released layout.
   */
  readonly tieEmbeddings?: boolean;
  readonly ropeFreqs?: ArrayLike<number>;
}

/** Whether the architecture has Step 3.5's head-wise gate and q/k norms (a llama configuration has neither). */
export function isStep(cfg: ModelConfig): boolean {
  return cfg.arch === 'step35';
}

export function createParams(cfg: ModelConfig, engine: Engine, init: InitOptions, opts: ParamOptions = {}): ModelParams {
  const E = cfg.nEmbd, V = cfg.nVocab;
  const all: Param[] = [];
  const nBlocks = cfg.layers.length;
  const resid = init.residualScale ?? 1 / Math.sqrt(2 * nBlocks);
  const make = (name: string, shape: number[], kind: ParamKind, fill: (dst: Float32Array, rng: Rng) => void): Param => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = engine.persistent(n);
    const tmp = new Float32Array(n);
    fill(tmp, new Rng(seedFor(init.seed, name)));
    data.set(tmp);
    const trainable = kind !== 'bias' && kind !== 'constant';
    const p = new Param(name, data, shape, kind, trainable ? engine.persistent(n) : null);
    all.push(p);
    return p;
  };
  const normal = (std: number) => (d: Float32Array, rng: Rng) => rng.fillNormal(d, std);
  const ones = (d: Float32Array) => d.fill(1);
  const zeros = () => {};
  /** A weight [out][in] reading the residual stream (or another activation). */
  const input = (name: string, out: number, inp: number) => make(name, [out, inp], 'matrix', normal(1 / Math.sqrt(inp)));
  /** A weight [out][in] writing into the residual stream. */
  const output = (name: string, out: number, inp: number) => make(name, [out, inp], 'matrix', normal(resid / Math.sqrt(inp)));
  const norm = (name: string, n: number) => make(name, [n], 'norm', ones);
  const mlp = (p: string, suffix: string, ff: number): MlpParams => ({
    gate: input(`${p}.ffn_gate${suffix}.weight`, ff, E),
    up: input(`${p}.ffn_up${suffix}.weight`, ff, E),
    down: output(`${p}.ffn_down${suffix}.weight`, E, ff),
  });

  const tie = opts.tieEmbeddings === true;
  const outStd = init.outputStd ?? 0.5 / Math.sqrt(E);
  // A tied table starts at the output head's scale (initial logits of standard deviation ~0.5); the first
  // layer's RMSNorm makes the input side indifferent to it.
  const tokEmbd = make('token_embd.weight', [V, E], 'embedding', normal(init.embedStd ?? (tie ? outStd : 1)));
  const outputNorm = norm('output_norm.weight', E);
  const outputW = tie ? tokEmbd : make('output.weight', [V, E], 'matrix', normal(outStd));
  const copies: { name: string; of: Param }[] = tie ? [{ name: 'output.weight', of: tokEmbd }] : [];
  let ropeFreqs: Param | null = null;
  const fullWithFactors = cfg.layers.find((l) => l.ropeFactors);
  if (fullWithFactors) {
    const n = Math.max(...cfg.layers.map((l) => l.nRot)) / 2;
    const values = opts.ropeFreqs ?? llama3Factors(fullWithFactors.nRot, fullWithFactors.ropeBase, cfg.nCtxTrain, n);
    if (values.length !== n) throw new RangeError(`rope_freqs needs ${n} values, got ${values.length}`);
    ropeFreqs = make('rope_freqs.weight', [n], 'constant', (d) => d.set(Array.from(values)));
  }

  const layers = cfg.layers.map((l: LayerConfig): LayerParams => {
    const p = `blk.${l.index}`;
    const hd = cfg.headDimK, hdV = cfg.headDimV;
    const step = isStep(cfg);
    const attnNorm = norm(`${p}.attn_norm.weight`, E);
    const q = input(`${p}.attn_q.weight`, l.nHead * hd, E);
    const k = input(`${p}.attn_k.weight`, l.nHeadKv * hd, E);
    const v = input(`${p}.attn_v.weight`, l.nHeadKv * hdV, E);
    const o = output(`${p}.attn_output.weight`, E, l.nHead * hdV);
    const qNorm = step ? norm(`${p}.attn_q_norm.weight`, hd) : null;
    const kNorm = step ? norm(`${p}.attn_k_norm.weight`, hd) : null;
    const gate = step ? input(`${p}.attn_gate.weight`, l.nHead, E) : null;
    const ffnNorm = norm(`${p}.ffn_norm.weight`, E);
    let dense: MlpParams | null = null;
    let moe: MoeParams | null = null;
    if (l.moe) {
      const nE = cfg.nExpert, F = cfg.nFfExp;
      if (cfg.gating !== 'sigmoid') throw new Error('training supports the sigmoid router only');
      moe = {
        router: input(`${p}.ffn_gate_inp.weight`, nE, E),
        bias: make(`${p}.exp_probs_b.bias`, [nE], 'bias', zeros),
        gate: make(`${p}.ffn_gate_exps.weight`, [nE, F, E], 'experts', normal(1 / Math.sqrt(E))),
        up: make(`${p}.ffn_up_exps.weight`, [nE, F, E], 'experts', normal(1 / Math.sqrt(E))),
        down: make(`${p}.ffn_down_exps.weight`, [nE, E, F], 'experts', normal(resid / Math.sqrt(F))),
        shared: cfg.nFfShexp > 0 ? mlp(p, '_shexp', cfg.nFfShexp) : null,
      };
    } else {
      dense = mlp(p, '', l.nFf);
    }
    const ownHead = l.mtp && opts.mtpHeads !== 'main';
    if (ownHead && tie) copies.push({ name: `${p}.nextn.shared_head_head.weight`, of: tokEmbd });
    const nextn: NextnParams | null = l.mtp
      ? {
          ehProj: input(`${p}.nextn.eh_proj.weight`, E, 2 * E),
          enorm: norm(`${p}.nextn.enorm.weight`, E),
          hnorm: norm(`${p}.nextn.hnorm.weight`, E),
          headNorm: ownHead ? norm(`${p}.nextn.shared_head_norm.weight`, E) : null,
          // Tied: null, so the head scores with the main output, which is the embedding.
          head: ownHead && !tie ? make(`${p}.nextn.shared_head_head.weight`, [V, E], 'matrix', normal(outStd)) : null,
        }
      : null;
    return { attnNorm, q, k, v, o, qNorm, kNorm, gate, ffnNorm, mlp: dense, moe, nextn };
  });
  return { tokEmbd, outputNorm, output: outputW, ropeFreqs, layers, all, copies };
}
