// Finite-difference gradient checking: the analytic gradient of a scalar function of some leaf tensors,
// from one backward pass, against central differences (f(x + h) - f(x - h)) / 2h, coordinate by
// coordinate. Run it on the f64 reference engine, where central differences are accurate to ~1e-9.
import { Rng } from '../../common/rng.js';
import type { Engine } from './engine.js';
import { Tape } from './tape.js';
import type { Tensor } from './tensor.js';

export interface GradCheckOptions {
  /** Step of the central difference. */
  readonly h?: number;
  /** Coordinates checked per leaf (all when the leaf is smaller). */
  readonly samples?: number;
  readonly seed?: number;
  /**
   * Floor of the relative-error denominator as a fraction of the leaf's largest analytic gradient, so that
   * coordinates with tiny gradients compare against the rounding noise of the differences, not their own size.
   */
  readonly floor?: number;
}

export interface GradCheckResult {
  /** Largest |analytic - numeric| / max(|analytic|, |numeric|, floor · max|analytic|) over the checked coordinates. */
  readonly maxError: number;
  /** Where it occurred. */
  readonly worst: { readonly leaf: number; readonly index: number; readonly analytic: number; readonly numeric: number };
  readonly checked: number;
}

/** `fn` builds the scalar from the leaves on the tape it is given; leaves must have requiresGrad set. */
export function gradCheck(engine: Engine, leaves: readonly Tensor[], fn: (tape: Tape) => Tensor, opts: GradCheckOptions = {}): GradCheckResult {
  const h = opts.h ?? 1e-5;
  const floor = opts.floor ?? 1e-3;
  const rng = new Rng(opts.seed ?? 1);
  for (const l of leaves) {
    if (!l.requiresGrad) throw new Error('gradCheck: every leaf must take gradients');
    l.grad?.fill(0); // parameters keep their buffers
  }
  const tape = new Tape(engine);
  const y = fn(tape);
  tape.backward(y);
  const analytic: Float64Array[] = leaves.map((l) => Float64Array.from(l.grad ?? new Float64Array(l.size)));
  // The differences below run without recording; gradients of non-leaf inputs are not wanted.
  const evaluate = (): number => {
    const t = new Tape(engine);
    return t.noGrad(() => fn(t)).data[0]!;
  };
  let maxError = 0;
  let worst = { leaf: -1, index: -1, analytic: 0, numeric: 0 };
  let checked = 0;
  leaves.forEach((l, li) => {
    const n = l.size;
    const gmax = analytic[li]!.reduce((a, v) => Math.max(a, Math.abs(v)), 1e-12);
    const picks = n <= (opts.samples ?? 24) ? Array.from({ length: n }, (_, i) => i) : Array.from({ length: opts.samples ?? 24 }, () => Math.floor(rng.next() * n));
    for (const i of picks) {
      const x0 = l.data[i]!;
      l.data[i] = x0 + h;
      const fp = evaluate();
      l.data[i] = x0 - h;
      const fm = evaluate();
      l.data[i] = x0;
      const numeric = (fp - fm) / (2 * h);
      const a = analytic[li]![i]!;
      const err = Math.abs(a - numeric) / Math.max(Math.abs(a), Math.abs(numeric), floor * gmax);
      checked++;
      if (!(err <= maxError)) {
        maxError = Number.isNaN(err) ? Infinity : err;
        worst = { leaf: li, index: i, analytic: a, numeric };
      }
    }
  });
  return { maxError, worst, checked };
}

/** Σ_i r_i · x_i for fixed r: turns any tensor into a scalar whose gradient by x is r. */
export function project(tape: Tape, x: Tensor, r: ArrayLike<number>): Tensor {
  if (r.length !== x.size) throw new RangeError(`project: ${r.length} weights for ${x.size} values`);
  const y = tape.empty([1]);
  let s = 0;
  for (let i = 0; i < x.size; i++) s += r[i]! * x.data[i]!;
  y.data[0] = s;
  tape.record(y, [x], () => {
    if (!y.grad) return;
    const d = tape.grad(x), g = y.grad[0]!;
    for (let i = 0; i < d.length; i++) d[i] = d[i]! + g * r[i]!;
  });
  return y;
}
