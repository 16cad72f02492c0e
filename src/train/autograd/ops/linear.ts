// Products with weights stored [out][in] as in GGUF: y = x·Wᵀ. The forward is one NT product; the
// backward needs dx = dy·W and dW += dyᵀ·x, which become NT products after transposing W, dy and x
// (transposes cost O(n·d), the products O(n·d²)).
import type { MatmulNT, Transpose } from '../engine.js';
import type { Tape } from '../tape.js';
import type { FloatArray, Tensor } from '../tensor.js';

/** y[.., out] = x[.., in] · Wᵀ with W [out][in]. */
export function linear(tape: Tape, x: Tensor, w: Tensor): Tensor {
  const [out, inp] = matrixShape(w);
  if (x.cols !== inp) throw new RangeError(`linear: input rows of ${x.cols} values, weight [${w.shape.join(', ')}] takes ${inp}`);
  const m = x.rows;
  const y = tape.empty([...x.shape.slice(0, -1), out]);
  tape.engine.matmulNT([{ a: x.data, b: w.data, c: y.data, m, n: out, k: inp }]);
  tape.record(y, [x, w], () => {
    if (!y.grad) return;
    const parts = backwardParts(tape, x.data, w.data, y.grad, m, out, inp, x.requiresGrad ? tape.grad(x) : null, w.requiresGrad ? tape.grad(w) : null);
    tape.engine.transpose(parts.transposes);
    tape.engine.matmulNT(parts.products);
  });
  return y;
}

/** A run of rows of a grouped product that all use one expert's weights. */
export interface Group {
  readonly expert: number;
  /** First row (in the grouped input) and number of rows. */
  readonly start: number;
  readonly count: number;
}

/**
 * Mixture-of-experts product: rows [start, start+count) of x times expert e's weights, for every group,
 * all in one parallel job. w is the stacked [experts][out][in] tensor (GGUF ffn_*_exps).
 */
export function groupedLinear(tape: Tape, x: Tensor, w: Tensor, groups: readonly Group[]): Tensor {
  if (w.shape.length !== 3) throw new RangeError(`groupedLinear: weight shape [${w.shape.join(', ')}] is not [experts, out, in]`);
  const [nE, out, inp] = w.shape as [number, number, number];
  if (x.cols !== inp) throw new RangeError(`groupedLinear: input rows of ${x.cols} values, experts take ${inp}`);
  const y = tape.empty([x.rows, out]);
  const we = (e: number) => {
    if (e < 0 || e >= nE) throw new RangeError(`expert ${e} outside 0..${nE - 1}`);
    return w.data.subarray(e * out * inp, (e + 1) * out * inp);
  };
  tape.engine.matmulNT(groups.map((g) => ({
    a: x.data.subarray(g.start * inp, (g.start + g.count) * inp), b: we(g.expert), c: y.data.subarray(g.start * out, (g.start + g.count) * out),
    m: g.count, n: out, k: inp,
  })));
  tape.record(y, [x, w], () => {
    if (!y.grad) return;
    const dx = x.requiresGrad ? tape.grad(x) : null;
    const dw = w.requiresGrad ? tape.grad(w) : null;
    const transposes: Transpose[] = [];
    const products: MatmulNT[] = [];
    for (const g of groups) {
      if (g.count === 0) continue;
      const rows = (a: FloatArray, n: number) => a.subarray(g.start * n, (g.start + g.count) * n);
      const p = backwardParts(tape, rows(x.data, inp), we(g.expert), rows(y.grad, out), g.count, out, inp, dx && rows(dx, inp),
        dw && dw.subarray(g.expert * out * inp, (g.expert + 1) * out * inp));
      transposes.push(...p.transposes);
      products.push(...p.products);
    }
    tape.engine.transpose(transposes);
    tape.engine.matmulNT(products);
  });
  return y;
}

/** The transposes and products of dx += dy·W and dW += dyᵀ·x for one [m][in] → [m][out] product. */
function backwardParts(tape: Tape, x: FloatArray, w: FloatArray, dy: FloatArray, m: number, out: number, inp: number, dx: FloatArray | null, dw: FloatArray | null): { transposes: Transpose[]; products: MatmulNT[] } {
  const E = tape.engine;
  const transposes: Transpose[] = [];
  const products: MatmulNT[] = [];
  if (dx) {
    const wT = E.scratch(inp * out);
    transposes.push({ src: w, dst: wT, rows: out, cols: inp });
    products.push({ a: dy, b: wT, c: dx, m, n: inp, k: out, accumulate: true });
  }
  if (dw) {
    const dyT = E.scratch(out * m), xT = E.scratch(inp * m);
    transposes.push({ src: dy, dst: dyT, rows: m, cols: out }, { src: x, dst: xT, rows: m, cols: inp });
    products.push({ a: dyT, b: xT, c: dw, m: out, n: inp, k: m, accumulate: true });
  }
  return { transposes, products };
}

function matrixShape(w: Tensor): [number, number] {
  if (w.shape.length !== 2) throw new RangeError(`weight shape [${w.shape.join(', ')}] is not [out, in]`);
  return [w.shape[0]!, w.shape[1]!];
}
