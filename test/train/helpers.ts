// Shared helpers of the training tests: random leaves on the f64 reference engine, and a gradient check
// that fails with the coordinates of its worst error.
import assert from 'node:assert/strict';
import { Rng } from '../../src/common/rng.js';
import { gradCheck, type GradCheckOptions } from '../../src/train/autograd/gradcheck.js';
import { RefEngine } from '../../src/train/autograd/ref-engine.js';
import type { Tape } from '../../src/train/autograd/tape.js';
import { Tensor } from '../../src/train/autograd/tensor.js';

export const f64 = new RefEngine('f64');

export function normals(rng: Rng, n: number, std = 1): Float64Array {
  const f = new Float32Array(n);
  rng.fillNormal(f, std);
  return Float64Array.from(f);
}

/** A leaf of N(0, std²) values that takes gradients (f64). */
export function leaf(rng: Rng, shape: number[], std = 1): Tensor {
  return new Tensor(normals(rng, shape.reduce((a, b) => a * b, 1), std), shape, true);
}

/** Asserts that the analytic gradients of fn by the leaves match central differences to `tol`. */
export function assertGrads(leaves: Tensor[], fn: (tape: Tape) => Tensor, tol = 1e-5, opts: GradCheckOptions = {}): void {
  const r = gradCheck(f64, leaves, fn, opts);
  assert.ok(r.checked > 0);
  assert.ok(r.maxError < tol, `gradient mismatch ${r.maxError.toExponential(2)} at leaf ${r.worst.leaf}[${r.worst.index}]: analytic ${r.worst.analytic}, numeric ${r.worst.numeric}`);
}

export function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let scale = 0, diff = 0;
  for (let i = 0; i < a.length; i++) {
    scale = Math.max(scale, Math.abs(b[i]!));
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
  }
  return diff / Math.max(scale, 1e-30);
}

export { Rng };
