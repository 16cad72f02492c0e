// Mixture-of-experts routing and the data movement around the expert products.
//
// Step 3.5's router (spec §2.3): scores s = sigmoid(z) of the router logits; the top k experts by s + b,
// where b (exp_probs_b) only steers the choice; combine weights from the unbiased scores of the chosen,
// w_e = scale · s_e / Σ_chosen s. Gradients flow through the chosen weights into z — the choice itself,
// a discrete function, has none, and neither does b (the loss-free balancing moves it by load instead).
import type { Tape } from '../tape.js';
import type { Tensor } from '../tensor.js';

export interface RouteOptions {
  readonly k: number;
  /** Renormalise the chosen scores to sum to one (Step 3.5: yes). */
  readonly normalize: boolean;
  /** Multiplier on the (renormalised) weights (Step 3.5: 3). */
  readonly scale: number;
}

export interface Routing {
  /** [tokens][k] combine weights, differentiable by the router logits. */
  readonly weights: Tensor;
  /** [tokens][k] chosen experts, best (by biased score) first. */
  readonly experts: Int32Array;
  /** [tokens][k] unbiased scores of the chosen experts. */
  readonly scores: Float64Array;
}

/** The smallest denominator of the renormalisation, as llama.cpp clamps it. */
const MIN_DENOM = 6.103515625e-5;

export function route(tape: Tape, logits: Tensor, bias: ArrayLike<number> | null, o: RouteOptions): Routing {
  const nE = logits.cols, nt = logits.rows, K = o.k;
  if (!(K >= 1 && K <= nE)) throw new RangeError(`route: top ${K} of ${nE} experts`);
  const experts = new Int32Array(nt * K);
  const scores = new Float64Array(nt * K);
  const denoms = new Float64Array(nt);
  const weights = tape.empty([nt, K]);
  const s = new Float64Array(nE), sel = new Float64Array(nE);
  const order = Array.from({ length: nE }, (_, e) => e);
  const Z = logits.data;
  for (let t = 0; t < nt; t++) {
    for (let e = 0; e < nE; e++) {
      s[e] = 1 / (1 + Math.exp(-Z[t * nE + e]!));
      sel[e] = s[e]! + (bias ? bias[e]! : 0);
      order[e] = e;
    }
    // Ties go to the lower index (a stable order), as the inference router does.
    order.sort((a, b) => sel[b]! - sel[a]! || a - b);
    let sum = 0;
    for (let j = 0; j < K; j++) {
      const e = order[j]!;
      experts[t * K + j] = e;
      scores[t * K + j] = s[e]!;
      sum += s[e]!;
    }
    const denom = o.normalize ? Math.max(sum, MIN_DENOM) : 1;
    denoms[t] = o.normalize && sum >= MIN_DENOM ? denom : 0; // 0: the denominator is a constant
    for (let j = 0; j < K; j++) weights.data[t * K + j] = (o.scale * scores[t * K + j]!) / denom;
  }
  tape.record(weights, [logits], () => {
    if (!weights.grad) return;
    const dz = tape.grad(logits), G = weights.grad;
    for (let t = 0; t < nt; t++) {
      const D = denoms[t]!;
      // w_j = c·s_j/D with D = Σ s: ∂L/∂s_j = c·(g_j/D - Σ_i g_i s_i / D²); then through the sigmoid.
      let gs = 0;
      if (D > 0) for (let j = 0; j < K; j++) gs += G[t * K + j]! * scores[t * K + j]!;
      const c = o.scale / (o.normalize ? (D > 0 ? D : MIN_DENOM) : 1);
      for (let j = 0; j < K; j++) {
        const sj = scores[t * K + j]!;
        const ds = c * (G[t * K + j]! - (D > 0 ? gs / D : 0));
        const i = t * nE + experts[t * K + j]!;
        dz[i] = dz[i]! + ds * sj * (1 - sj);
      }
    }
  });
  return { weights, experts, scores };
}

/** y[i] = x[rows[i]]: the inputs of each expert gathered into consecutive rows. */
export function gatherRows(tape: Tape, x: Tensor, rows: Int32Array): Tensor {
  const c = x.cols;
  const y = tape.empty([rows.length, c]);
  for (let i = 0; i < rows.length; i++) y.data.set(x.data.subarray(rows[i]! * c, (rows[i]! + 1) * c), i * c);
  tape.record(y, [x], () => {
    if (!y.grad) return;
    const d = tape.grad(x), g = y.grad;
    for (let i = 0; i < rows.length; i++) {
      const o = rows[i]! * c;
      for (let j = 0; j < c; j++) d[o + j] = d[o + j]! + g[i * c + j]!;
    }
  });
  return y;
}

/** y[t] = Σ_j w[t][j] · ye[rowOf[t*k + j]]: each token's expert outputs weighted and summed. */
export function combineExperts(tape: Tape, ye: Tensor, w: Tensor, rowOf: Int32Array): Tensor {
  const nt = w.rows, K = w.cols, c = ye.cols;
  if (rowOf.length !== nt * K) throw new RangeError(`combineExperts: ${rowOf.length} rows for ${nt}x${K} slots`);
  const y = tape.zeros([nt, c]);
  const Y = y.data, YE = ye.data, W = w.data;
  for (let t = 0; t < nt; t++) {
    for (let j = 0; j < K; j++) {
      const wt = W[t * K + j]!, o = rowOf[t * K + j]! * c;
      for (let i = 0; i < c; i++) Y[t * c + i] = Y[t * c + i]! + wt * YE[o + i]!;
    }
  }
  tape.record(y, [ye, w], () => {
    if (!y.grad) return;
    const G = y.grad;
    const dye = ye.requiresGrad ? tape.grad(ye) : null;
    const dw = w.requiresGrad ? tape.grad(w) : null;
    for (let t = 0; t < nt; t++) {
      for (let j = 0; j < K; j++) {
        const wt = W[t * K + j]!, o = rowOf[t * K + j]! * c;
        let dot = 0;
        for (let i = 0; i < c; i++) {
          const g = G[t * c + i]!;
          dot += g * YE[o + i]!;
          if (dye) dye[o + i] = dye[o + i]! + wt * g;
        }
        if (dw) dw[t * K + j] = dw[t * K + j]! + dot;
      }
    }
  });
  return y;
}
