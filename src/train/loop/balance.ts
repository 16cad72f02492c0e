// Loss-free load balancing of the routed experts (DeepSeek-V3 §2.1.2, used by Step 3.5): no auxiliary
// loss; after each optimizer step every MoE layer's selection bias (exp_probs_b) moves by ±u per expert,
// up for experts that received fewer token-slots than the mean over the step, down for those above it.
// The bias only steers which experts are chosen, not their combine weights, so it pushes the load toward
// uniform without distorting the function the experts compute.
import type { MoeLayerStats } from '../model/block.js';
import type { ModelParams } from '../model/params.js';

/** Per MoE layer, what one step routed. */
export interface LayerLoad {
  readonly layer: number;
  /** Token-slots per expert, summed over the step's micro-batches. */
  readonly load: number[];
  /** Mean unbiased router score of the chosen experts (the router's confidence). */
  readonly meanScore: number;
  /** max load / mean load: 1 is perfectly balanced. */
  readonly maxOverMean: number;
}

/** Sums the routing statistics of several forward passes (micro-batches) by layer. */
export function sumLoads(passes: readonly (readonly MoeLayerStats[])[]): LayerLoad[] {
  const by = new Map<number, { load: number[]; score: number; tokens: number }>();
  for (const stats of passes) {
    for (const s of stats) {
      let e = by.get(s.layer);
      if (!e) by.set(s.layer, (e = { load: new Array<number>(s.load.length).fill(0), score: 0, tokens: 0 }));
      s.load.forEach((x, i) => (e!.load[i]! += x));
      e.score += s.meanScore * s.tokens;
      e.tokens += s.tokens;
    }
  }
  return [...by.entries()].sort((a, b) => a[0] - b[0]).map(([layer, e]) => {
    const mean = e.load.reduce((a, x) => a + x, 0) / e.load.length;
    return { layer, load: e.load, meanScore: e.tokens > 0 ? e.score / e.tokens : 0, maxOverMean: mean > 0 ? Math.max(...e.load) / mean : 1 };
  });
}

/** Moves each layer's exp_probs_b by ±u toward equal load (experts exactly at the mean stay put). */
export function updateRouterBias(params: ModelParams, loads: readonly LayerLoad[], u: number): void {
  for (const l of loads) {
    const moe = params.layers[l.layer]?.moe;
    if (!moe) throw new Error(`layer ${l.layer} has routing statistics but no experts`);
    const b = moe.bias.data;
    const mean = l.load.reduce((a, x) => a + x, 0) / l.load.length;
    l.load.forEach((x, e) => {
      b[e] = b[e]! + u * Math.sign(mean - x);
    });
  }
}
