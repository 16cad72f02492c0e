// An output head and its cross-entropy in one op: logits = x·Wᵀ for the rows that have a target, the
// softmax cross-entropy of each, their mean. Fusing them lets the op skip rows without a target (prompt
// tokens, the tail an MTP head cannot see past) and reuse the logits buffer for their gradient, so the
// [tokens][vocab] logits exist once.
import type { Tape } from '../tape.js';
import type { Tensor } from '../tensor.js';

/** Targets below zero are ignored (not predicted, not counted). */
export const IGNORE = -1;

export interface HeadLoss {
  /** Mean cross-entropy over the counted rows (a scalar tensor; 0 when none). */
  readonly loss: Tensor;
  /** Rows with a target. */
  readonly count: number;
  /** Of those, rows whose most likely token is the target. */
  readonly correct: number;
  /** Sum of the per-row losses (the loss times count, in f64). */
  readonly sum: number;
}

export interface CrossEntropyOptions {
  /** Divide the summed loss by this instead of the number of counted rows (e.g. a whole accumulated batch). */
  readonly divisor?: number;
}

export function crossEntropyHead(tape: Tape, x: Tensor, w: Tensor, targets: ArrayLike<number>, opts: CrossEntropyOptions = {}): HeadLoss {
  const E = tape.engine;
  const dim = x.cols, n = x.rows, V = w.rows;
  if (w.cols !== dim) throw new RangeError(`crossEntropyHead: rows of ${dim} values, output weight [${w.shape.join(', ')}]`);
  if (targets.length !== n) throw new RangeError(`crossEntropyHead: ${targets.length} targets for ${n} rows`);
  const rowsUsed: number[] = [];
  for (let r = 0; r < n; r++) {
    const y = targets[r]!;
    if (y < 0) continue;
    if (!(Number.isInteger(y) && y < V)) throw new RangeError(`target ${y} is outside the vocabulary (0..${V - 1})`);
    rowsUsed.push(r);
  }
  const m = rowsUsed.length;
  const loss = tape.empty([1]);
  if (m === 0) {
    loss.data[0] = 0;
    return { loss, count: 0, correct: 0, sum: 0 };
  }
  const xs = E.scratch(m * dim);
  const ys = E.ints(m);
  rowsUsed.forEach((r, i) => {
    xs.set(x.data.subarray(r * dim, (r + 1) * dim), i * dim);
    ys[i] = targets[r]!;
  });
  const z = E.scratch(m * V);
  E.matmulNT([{ a: xs, b: w.data, c: z, m, n: V, k: dim }]);
  const rowLoss = E.scratch(m), inv = E.scratch(m), hit = E.scratch(m);
  E.crossEntropyForward(z, m, V, ys, rowLoss, inv, hit);
  let sum = 0, correct = 0;
  for (let i = 0; i < m; i++) {
    sum += rowLoss[i]!;
    correct += hit[i]!;
  }
  const divisor = opts.divisor ?? m;
  loss.data[0] = sum / divisor;
  tape.record(loss, [x, w], () => {
    if (!loss.grad) return;
    const g = loss.grad[0]! / divisor;
    const scale = E.scratch(m);
    scale.fill(g);
    E.crossEntropyBackward(z, m, V, ys, inv, scale); // z is now d loss / d logits
    const dxs = x.requiresGrad ? E.zeros(m * dim) : null;
    const transposes = [];
    const products = [];
    if (dxs) {
      const wT = E.scratch(dim * V);
      transposes.push({ src: w.data, dst: wT, rows: V, cols: dim });
      products.push({ a: z, b: wT, c: dxs, m, n: dim, k: V, accumulate: true });
    }
    if (w.requiresGrad) {
      const zT = E.scratch(V * m), xT = E.scratch(dim * m);
      transposes.push({ src: z, dst: zT, rows: m, cols: V }, { src: xs, dst: xT, rows: m, cols: dim });
      products.push({ a: zT, b: xT, c: tape.grad(w), m: V, n: dim, k: m, accumulate: true });
    }
    E.transpose(transposes);
    E.matmulNT(products);
    if (dxs) {
      const dx = tape.grad(x);
      rowsUsed.forEach((r, i) => {
        for (let j = 0; j < dim; j++) dx[r * dim + j] = dx[r * dim + j]! + dxs[i * dim + j]!;
      });
    }
  });
  return { loss, count: m, correct, sum };
}
