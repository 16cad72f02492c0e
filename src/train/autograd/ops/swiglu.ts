// SwiGLU activation act(g, u) = silu(g)·u, or with a clamp L > 0 Step 3.5's "SwigluStep"
// min(silu(g), L) · clamp(u, -L, L), exactly as the inference kernel computes it (the upper clamp only on
// the SiLU, a symmetric clamp on the up projection). Where a clamp binds, no gradient flows through the
// clamped operand.
import type { Tape } from '../tape.js';
import type { Tensor } from '../tensor.js';

export function swiglu(tape: Tape, g: Tensor, u: Tensor, limit = 0): Tensor {
  if (g.size !== u.size) throw new RangeError(`swiglu: gate and up sizes ${g.size} and ${u.size} differ`);
  const rows = g.rows, cols = g.cols;
  const h = tape.empty(g.shape);
  const L = limit > 0 ? limit : 0;
  tape.engine.swigluForward(g.data, u.data, h.data, rows, cols, L);
  tape.record(h, [g, u], () => {
    if (!h.grad) return;
    const E = tape.engine;
    const dg = g.requiresGrad ? tape.grad(g) : E.zeros(g.size);
    const du = u.requiresGrad ? tape.grad(u) : E.zeros(u.size);
    E.swigluBackward(g.data, u.data, h.grad, dg, du, rows, cols, L);
  });
  return h;
}
