// Compares next-token distributions position by position: mean total-variation distance, top-1
// agreement where the reference's choice is clear, and the largest log-probability difference.

export interface FidelityReport {
  readonly positions: number;
  readonly meanTV: number;
  readonly maxTV: number;
  /** Positions whose reference top-1 beats its runner-up by at least `margin` nats. */
  readonly clearPositions: number;
  readonly top1Agreement: number;
  readonly maxAbsLogprobDiff: number;
}

export function logSoftmax(logits: Float32Array): Float32Array {
  let mx = -Infinity;
  for (const v of logits) mx = Math.max(mx, v);
  let s = 0;
  for (const v of logits) s += Math.exp(v - mx);
  const lse = mx + Math.log(s);
  return logits.map((v) => v - lse);
}

function top2(lp: Float32Array): [number, number, number] {
  let a = -1, b = -1;
  for (let i = 0; i < lp.length; i++) {
    if (a < 0 || lp[i]! > lp[a]!) { b = a; a = i; }
    else if (b < 0 || lp[i]! > lp[b]!) b = i;
  }
  return [a, lp[a]!, lp[a]! - lp[b]!];
}

/** ours and ref are per-position log-probabilities over the same vocabulary. */
export function compareDistributions(ours: Float32Array[], ref: Float32Array[], margin = 0.1): FidelityReport {
  if (ours.length !== ref.length) throw new Error(`position counts differ: ${ours.length} vs ${ref.length}`);
  let tvSum = 0, maxTV = 0, clear = 0, agree = 0, maxDiff = 0;
  for (let p = 0; p < ref.length; p++) {
    const a = ours[p]!, b = ref[p]!;
    if (a.length !== b.length) throw new Error(`vocabulary sizes differ at position ${p}: ${a.length} vs ${b.length}`);
    let tv = 0;
    for (let i = 0; i < a.length; i++) {
      const pa = Math.exp(a[i]!), pb = Math.exp(b[i]!);
      tv += Math.abs(pa - pb);
      if (pb > 1e-4) maxDiff = Math.max(maxDiff, Math.abs(a[i]! - b[i]!));
    }
    tv /= 2;
    tvSum += tv;
    maxTV = Math.max(maxTV, tv);
    const [rTop, , rMargin] = top2(b);
    if (rMargin >= margin) {
      clear++;
      if (top2(a)[0] === rTop) agree++;
    }
  }
  return { positions: ref.length, meanTV: tvSum / ref.length, maxTV, clearPositions: clear, top1Agreement: clear ? agree / clear : 1, maxAbsLogprobDiff: maxDiff };
}
