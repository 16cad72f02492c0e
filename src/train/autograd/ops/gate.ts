// Step 3.5's head-wise attention gate: each query head's output is scaled by sigmoid(g_h), g = W_g a one
// logit per head, before the output projection.
import type { Tape } from '../tape.js';
import type { Tensor } from '../tensor.js';

/** x [rows][nHead*hd] times sigmoid(g [rows][nHead]) per head. */
export function headGate(tape: Tape, x: Tensor, g: Tensor, nHead: number, hd: number): Tensor {
  const rows = x.rows;
  if (x.cols !== nHead * hd || g.size !== rows * nHead) throw new RangeError(`headGate: x [${x.shape.join(', ')}], gate [${g.shape.join(', ')}] for ${nHead} heads of ${hd}`);
  const E = tape.engine;
  const y = tape.empty(x.shape);
  const sig = E.scratch(rows * nHead);
  E.headGateForward(x.data, g.data, y.data, sig, rows, nHead, hd);
  tape.record(y, [x, g], () => {
    if (!y.grad) return;
    E.headGateBackward(x.data, sig, y.grad, x.requiresGrad ? tape.grad(x) : null, g.requiresGrad ? tape.grad(g) : null, rows, nHead, hd);
  });
  return y;
}
