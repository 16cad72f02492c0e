// Token embedding: rows of the table [vocab][dim] picked by id. The backward pass adds each row's
// gradient into the picked table row.
import type { Tape } from '../tape.js';
import type { Tensor } from '../tensor.js';

export function embedding(tape: Tape, table: Tensor, ids: ArrayLike<number>): Tensor {
  const dim = table.cols, V = table.rows;
  const y = tape.empty([ids.length, dim]);
  for (let t = 0; t < ids.length; t++) {
    const id = ids[t]!;
    if (!(Number.isInteger(id) && id >= 0 && id < V)) throw new RangeError(`token id ${id} is outside the vocabulary (0..${V - 1})`);
    y.data.set(table.data.subarray(id * dim, (id + 1) * dim), t * dim);
  }
  tape.record(y, [table], () => {
    if (!y.grad) return;
    const d = tape.grad(table), g = y.grad;
    for (let t = 0; t < ids.length; t++) {
      const o = ids[t]! * dim;
      for (let i = 0; i < dim; i++) d[o + i] = d[o + i]! + g[t * dim + i]!;
    }
  });
  return y;
}
