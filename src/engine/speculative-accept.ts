// The acceptance rule of speculative sampling (Leviathan et al. 2023, Chen et al. 2023): a draft token d
// drawn from the draft distribution q is kept with probability min(1, p(d)/q(d)); when it is not, the
// token is drawn from norm(max(0, p - q)). The kept-or-redrawn token is then distributed exactly as p,
// whatever q is, so drafting never changes what the sampler would have produced.
//
// Distributions are sparse: the token ids the sampler's filters kept and their probabilities (what
// Sampler.distribution returns), so top-k/top-p/min-p/temperature/penalties apply to p and q alike.

export interface SparseDist {
  readonly ids: Int32Array;
  readonly probs: Float64Array;
}

/** A token drawn from `d` with the uniform number u in [0, 1). */
export function drawFrom(d: SparseDist, u: number): number {
  const n = d.ids.length;
  if (n === 0) throw new Error('cannot draw from an empty distribution');
  let cum = 0;
  for (let i = 0; i < n; i++) {
    cum += d.probs[i]!;
    if (u < cum) return d.ids[i]!;
  }
  // u fell in the rounding gap above the summed probabilities: the last token with any mass.
  for (let i = n - 1; i >= 0; i--) if (d.probs[i]! > 0) return d.ids[i]!;
  return d.ids[0]!;
}

export interface Verdict {
  readonly accepted: boolean;
  /** The draft when accepted, else the token drawn from the residual. */
  readonly token: number;
}

/**
 * Decides one draft token. `u1` and `u2` are independent uniforms in [0, 1); `scratch` is a zeroed array
 * of vocabulary size (left zeroed on return).
 */
export function acceptOrResample(p: SparseDist, q: SparseDist, draft: number, u1: number, u2: number, scratch: Float64Array): Verdict {
  // q(x) into the dense scratch, so p's entries can look it up.
  for (let i = 0; i < q.ids.length; i++) scratch[q.ids[i]!] = q.probs[i]!;
  try {
    const qd = scratch[draft]!;
    if (!(qd > 0)) throw new Error(`draft token ${draft} has no probability under its own draft distribution`);
    let pd = 0;
    for (let i = 0; i < p.ids.length; i++) if (p.ids[i] === draft) pd = p.probs[i]!;
    if (u1 * qd < pd) return { accepted: true, token: draft }; // u1 < p/q, without dividing
    // Rejected: draw from max(0, p - q), normalised.
    let z = 0;
    for (let i = 0; i < p.ids.length; i++) z += Math.max(0, p.probs[i]! - scratch[p.ids[i]!]!);
    if (!(z > 0)) return { accepted: false, token: drawFrom(p, u2) }; // p <= q everywhere only by rounding: p itself
    const target = u2 * z;
    let cum = 0;
    let last = -1;
    for (let i = 0; i < p.ids.length; i++) {
      const r = Math.max(0, p.probs[i]! - scratch[p.ids[i]!]!);
      if (r <= 0) continue;
      last = p.ids[i]!;
      cum += r;
      if (target < cum) return { accepted: false, token: last };
    }
    return { accepted: false, token: last };
  } finally {
    for (let i = 0; i < q.ids.length; i++) scratch[q.ids[i]!] = 0;
  }
}
