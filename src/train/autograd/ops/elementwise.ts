// Elementwise and shape ops: residual adds, scaling, column concatenation, weighted sums of losses.
import type { Tape } from '../tape.js';
import type { Tensor } from '../tensor.js';

/** a + b (same shapes). */
export function add(tape: Tape, a: Tensor, b: Tensor): Tensor {
  sameSize('add', a, b);
  const y = tape.empty(a.shape);
  tape.engine.add(a.data, b.data, y.data, y.size);
  tape.record(y, [a, b], () => {
    if (!y.grad) return;
    for (const t of [a, b]) if (t.requiresGrad) tape.engine.accumulate(tape.grad(t), y.grad, y.size);
  });
  return y;
}

/** a ⊙ b (same shapes). */
export function mul(tape: Tape, a: Tensor, b: Tensor): Tensor {
  sameSize('mul', a, b);
  const y = tape.empty(a.shape);
  const A = a.data, B = b.data, Y = y.data;
  for (let i = 0; i < Y.length; i++) Y[i] = A[i]! * B[i]!;
  tape.record(y, [a, b], () => {
    if (!y.grad) return;
    const g = y.grad;
    if (a.requiresGrad) {
      const d = tape.grad(a);
      for (let i = 0; i < d.length; i++) d[i] = d[i]! + g[i]! * B[i]!;
    }
    if (b.requiresGrad) {
      const d = tape.grad(b);
      for (let i = 0; i < d.length; i++) d[i] = d[i]! + g[i]! * A[i]!;
    }
  });
  return y;
}

/** s · x. */
export function scale(tape: Tape, x: Tensor, s: number): Tensor {
  const y = tape.empty(x.shape);
  const X = x.data, Y = y.data;
  for (let i = 0; i < Y.length; i++) Y[i] = X[i]! * s;
  tape.record(y, [x], () => {
    if (!y.grad) return;
    const g = y.grad, d = tape.grad(x);
    for (let i = 0; i < d.length; i++) d[i] = d[i]! + g[i]! * s;
  });
  return y;
}

/** [a | b] along the last dimension: rows of a.cols + b.cols values. */
export function concatCols(tape: Tape, a: Tensor, b: Tensor): Tensor {
  if (a.rows !== b.rows) throw new RangeError(`concatCols: ${a.rows} rows and ${b.rows} rows`);
  const ca = a.cols, cb = b.cols, n = a.rows, c = ca + cb;
  const y = tape.empty([...a.shape.slice(0, -1), c]);
  for (let r = 0; r < n; r++) {
    y.data.set(a.data.subarray(r * ca, (r + 1) * ca), r * c);
    y.data.set(b.data.subarray(r * cb, (r + 1) * cb), r * c + ca);
  }
  tape.record(y, [a, b], () => {
    if (!y.grad) return;
    const g = y.grad;
    const da = a.requiresGrad ? tape.grad(a) : null, db = b.requiresGrad ? tape.grad(b) : null;
    for (let r = 0; r < n; r++) {
      if (da) for (let i = 0; i < ca; i++) da[r * ca + i] = da[r * ca + i]! + g[r * c + i]!;
      if (db) for (let i = 0; i < cb; i++) db[r * cb + i] = db[r * cb + i]! + g[r * c + ca + i]!;
    }
  });
  return y;
}

/** Σ_i w_i · s_i over scalars: a total loss from its parts. */
export function weightedSum(tape: Tape, scalars: readonly Tensor[], weights: readonly number[]): Tensor {
  if (scalars.length !== weights.length) throw new RangeError(`weightedSum: ${scalars.length} values, ${weights.length} weights`);
  const y = tape.empty([1]);
  let s = 0;
  scalars.forEach((t, i) => {
    if (t.size !== 1) throw new RangeError('weightedSum takes scalars');
    s += weights[i]! * t.data[0]!;
  });
  y.data[0] = s;
  tape.record(y, scalars, () => {
    if (!y.grad) return;
    scalars.forEach((t, i) => {
      if (!t.requiresGrad) return;
      const d = tape.grad(t);
      d[0] = d[0]! + weights[i]! * y.grad![0]!;
    });
  });
  return y;
}

function sameSize(op: string, a: Tensor, b: Tensor): void {
  if (a.size !== b.size) throw new RangeError(`${op}: shapes [${a.shape.join(', ')}] and [${b.shape.join(', ')}] differ`);
}
