// Rotary position embedding on the first nRot dims of every head. NeoX layout (Step 3.5) pairs dim i with
// i + nRot/2; the original layout (Llama) pairs 2i with 2i + 1. Dims nRot..hd pass through, so partial
// RoPE (64 of 128 dims on Step 3.5's full-attention layers) is nRot < hd. The angles come from a
// (cos, sin) table per position (src/model/rope.ts, llama3 factors included), the same the inference
// path uses. The backward pass rotates the gradient by the opposite angle.
import type { RopeShape } from '../engine.js';
import type { Tape } from '../tape.js';
import type { Tensor } from '../tensor.js';

export function rope(tape: Tape, x: Tensor, r: RopeShape): Tensor {
  if (x.cols !== r.nHead * r.hd) throw new RangeError(`rope: rows of ${x.cols} values are not ${r.nHead} heads of ${r.hd}`);
  if (r.nRot % 2 !== 0 || r.nRot > r.hd) throw new RangeError(`rope: ${r.nRot} rotated dims in heads of ${r.hd}`);
  if (r.cs.length < r.T * r.nRot) throw new RangeError(`rope: the table holds fewer than ${r.T} positions`);
  const y = tape.empty(x.shape);
  tape.engine.rope(x.data, y.data, x.rows, r, 1, false);
  tape.record(y, [x], () => {
    if (!y.grad) return;
    tape.engine.rope(y.grad, tape.grad(x), x.rows, r, -1, true);
  });
  return y;
}
