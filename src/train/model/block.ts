// One Step 3.5 decoder layer, differentiable, top to bottom as in the spec (§2.3):
//
//   a   = RMSNorm(h)
//   h'  = h + W_o · (sigmoid(W_g a) ⊙ Attn(RoPE(qnorm(W_q a)), RoPE(knorm(W_k a)), W_v a))
//   f   = RMSNorm(h')
//   h'' = h' + FFN(f)        dense SwiGLU, or Σ_top-k w_e Expert_e(f) + Shared(f)
//
// The same layer runs the trunk and, fed from eh_proj, each MTP head.
import type { LayerConfig, ModelConfig } from '../../model/config.js';
import type { Tape } from '../autograd/tape.js';
import type { Tensor } from '../autograd/tensor.js';
import { attention } from '../autograd/ops/attention.js';
import { add } from '../autograd/ops/elementwise.js';
import { headGate } from '../autograd/ops/gate.js';
import { groupedLinear, linear, type Group } from '../autograd/ops/linear.js';
import { combineExperts, gatherRows, route } from '../autograd/ops/moe.js';
import { rmsNorm } from '../autograd/ops/norm.js';
import { rope } from '../autograd/ops/rope.js';
import { swiglu } from '../autograd/ops/swiglu.js';
import type { LayerParams, MlpParams, MoeParams } from './params.js';

/** How the tokens of a batch are arranged, and the rotary tables of its positions. */
export interface BatchShape {
  readonly nSeq: number;
  readonly T: number;
  /** (cos, sin) tables for positions 0..T-1 of a layer (ropeTable layout). */
  readonly ropeFor: (L: LayerConfig) => Float32Array;
}

/** Routing statistics of one MoE layer in one forward pass, for loss-free load balancing. */
export interface MoeLayerStats {
  readonly layer: number;
  /** Token-slots routed to each expert. */
  readonly load: Int32Array;
  /** Mean unbiased router score (sigmoid) of the chosen experts: the router's confidence. */
  readonly meanScore: number;
  readonly tokens: number;
}

export function decoderLayer(tape: Tape, cfg: ModelConfig, L: LayerConfig, p: LayerParams, h: Tensor, b: BatchShape, stats: MoeLayerStats[]): Tensor {
  const h1 = add(tape, h, attentionBlock(tape, cfg, L, p, rmsNorm(tape, h, p.attnNorm, cfg.nEmbd, { eps: cfg.rmsEps }), b));
  const f = rmsNorm(tape, h1, p.ffnNorm, cfg.nEmbd, { eps: cfg.rmsEps });
  const y = p.moe ? moeFfn(tape, cfg, L, p.moe, f, stats) : mlp(tape, p.mlp!, f, L.clampShexp);
  return add(tape, h1, y);
}

/** W_o · (sigmoid(W_g a) ⊙ softmax(q kᵀ/√d) v), q and k per-head normed and rotated. */
function attentionBlock(tape: Tape, cfg: ModelConfig, L: LayerConfig, p: LayerParams, a: Tensor, b: BatchShape): Tensor {
  const hd = cfg.headDimK, eps = cfg.rmsEps;
  let q = linear(tape, a, p.q);
  let k = linear(tape, a, p.k);
  const v = linear(tape, a, p.v);
  if (p.qNorm) q = rmsNorm(tape, q, p.qNorm, hd, { eps });
  if (p.kNorm) k = rmsNorm(tape, k, p.kNorm, hd, { eps });
  const cs = b.ropeFor(L);
  const neox = cfg.ropeMode === 'neox';
  q = rope(tape, q, { nHead: L.nHead, hd, nRot: L.nRot, neox, cs, T: b.T });
  k = rope(tape, k, { nHead: L.nHeadKv, hd, nRot: L.nRot, neox, cs, T: b.T });
  let o = attention(tape, q, k, v, {
    nSeq: b.nSeq, T: b.T, nHead: L.nHead, nKv: L.nHeadKv, hd,
    window: L.sliding ? cfg.slidingWindow : 0,
    scale: 1 / Math.sqrt(hd),
  });
  if (p.gate) o = headGate(tape, o, linear(tape, a, p.gate), L.nHead, cfg.headDimV);
  return linear(tape, o, p.o);
}

/** W_down · act(W_gate x, W_up x) with the layer's clamp. */
function mlp(tape: Tape, w: MlpParams, x: Tensor, clamp: number): Tensor {
  return linear(tape, swiglu(tape, linear(tape, x, w.gate), linear(tape, x, w.up), clamp), w.down);
}

/** Σ_j w_j Expert_{e_j}(f) + Shared(f), the experts computed over the tokens that chose them. */
function moeFfn(tape: Tape, cfg: ModelConfig, L: LayerConfig, w: MoeParams, f: Tensor, stats: MoeLayerStats[]): Tensor {
  const nt = f.rows, K = cfg.nExpertUsed, nE = cfg.nExpert;
  const r = route(tape, linear(tape, f, w.router), w.bias.data, { k: K, normalize: cfg.expertWeightsNorm, scale: cfg.expertWeightsScale });
  // Slots (token, rank) grouped by expert, tokens ascending within each group.
  const load = new Int32Array(nE);
  for (const e of r.experts) load[e]!++;
  const start = new Int32Array(nE);
  for (let e = 1; e < nE; e++) start[e] = start[e - 1]! + load[e - 1]!;
  const fill = start.slice();
  const rowOf = new Int32Array(nt * K);
  const tokenOf = new Int32Array(nt * K);
  for (let slot = 0; slot < nt * K; slot++) {
    const row = fill[r.experts[slot]!]!++;
    rowOf[slot] = row;
    tokenOf[row] = Math.floor(slot / K);
  }
  const groups: Group[] = [];
  for (let e = 0; e < nE; e++) if (load[e]! > 0) groups.push({ expert: e, start: start[e]!, count: load[e]! });
  const xe = gatherRows(tape, f, tokenOf);
  const he = swiglu(tape, groupedLinear(tape, xe, w.gate, groups), groupedLinear(tape, xe, w.up, groups), L.clampExp);
  let y = combineExperts(tape, groupedLinear(tape, he, w.down, groups), r.weights, rowOf);
  if (w.shared) y = add(tape, y, mlp(tape, w.shared, f, L.clampShexp));
  let scoreSum = 0;
  for (const s of r.scores) scoreSum += s;
  stats.push({ layer: L.index, load, meanScore: nt > 0 ? scoreSum / (nt * K) : 0, tokens: nt });
  return y;
}
