// Global-norm gradient clipping: the L2 norm over every parameter's gradient together; when it exceeds
// maxNorm, every gradient is scaled by maxNorm / norm (as one factor the optimizer applies).
import type { Param } from '../autograd/tensor.js';

export function gradNorm(params: readonly Param[]): number {
  let ss = 0;
  for (const p of params) {
    const g = p.grad;
    if (!g) continue;
    for (let i = 0; i < g.length; i++) ss += g[i]! * g[i]!;
  }
  return Math.sqrt(ss);
}

/** The factor to scale gradients by (1 when the norm is within maxNorm; maxNorm <= 0: no clipping). */
export function clipScale(norm: number, maxNorm: number): number {
  if (!(maxNorm > 0) || norm <= maxNorm) return 1;
  return maxNorm / norm;
}
