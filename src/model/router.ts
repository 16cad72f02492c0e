// MoE routing: which experts each token uses and with what weight (llama.cpp build_moe_ffn semantics).
import type { ModelConfig } from './config.js';
import { sigmoid } from '../backend/ggml-math.js';

export interface Routing {
  /** [nt][k] expert ids, best first. */
  readonly experts: Int32Array;
  /** [nt][k] combine weights. */
  readonly weights: Float32Array;
  readonly k: number;
}

/**
 * Scores = sigmoid(logits) (or softmax); experts are chosen by score + bias (the bias only steers the
 * choice); their unbiased scores are renormalised to sum to one when configured, then scaled.
 */
export function routeTokens(logits: Float32Array, nt: number, cfg: ModelConfig, bias: Float32Array | null): Routing {
  const E = cfg.nExpert;
  const K = cfg.nExpertUsed;
  const f = Math.fround;
  const experts = new Int32Array(nt * K);
  const weights = new Float32Array(nt * K);
  const probs = new Float32Array(E);
  const sel = new Float32Array(E);
  const order = new Int32Array(K);
  for (let t = 0; t < nt; t++) {
    const row = logits.subarray(t * E, (t + 1) * E);
    if (cfg.gating === 'sigmoid') {
      for (let e = 0; e < E; e++) probs[e] = sigmoid(row[e]!);
    } else {
      let mx = -Infinity;
      for (let e = 0; e < E; e++) mx = Math.max(mx, row[e]!);
      let sum = 0;
      for (let e = 0; e < E; e++) sum += probs[e] = Math.exp(row[e]! - mx);
      for (let e = 0; e < E; e++) probs[e] = probs[e]! / sum;
    }
    for (let e = 0; e < E; e++) sel[e] = bias ? f(probs[e]! + bias[e]!) : probs[e]!;
    topK(sel, E, K, order);
    let sum = 0; // in f64 and rounded once, like ggml_sum_rows
    for (let j = 0; j < K; j++) {
      const e = order[j]!;
      experts[t * K + j] = e;
      weights[t * K + j] = probs[e]!;
      sum += probs[e]!;
    }
    if (cfg.expertWeightsNorm) {
      const denom = Math.max(f(sum), 6.103515625e-5);
      for (let j = 0; j < K; j++) weights[t * K + j] = f(weights[t * K + j]! / denom);
    }
    if (cfg.expertWeightsScale !== 1) for (let j = 0; j < K; j++) weights[t * K + j] = f(weights[t * K + j]! * cfg.expertWeightsScale);
  }
  return { experts, weights, k: K };
}

/**
 * order[0..k) = the indices of the k largest of sel[0..n), largest first, ties to the lower index (what
 * sorting all n by (sel descending, index ascending) and keeping k gives), by insertion into the k best:
 * a token's routing then costs n comparisons, not a sort of n with a comparator.
 */
export function topK(sel: Float32Array, n: number, k: number, order: Int32Array): void {
  let m = 0;
  for (let e = 0; e < n; e++) {
    const v = sel[e]!;
    // Earlier indices with an equal score stay ahead: e goes after every kept entry scoring >= v.
    let j = m;
    while (j > 0 && sel[order[j - 1]!]! < v) j--;
    if (j >= k) continue;
    for (let i = Math.min(m, k - 1); i > j; i--) order[i] = order[i - 1]!;
    order[j] = e;
    if (m < k) m++;
  }
}
