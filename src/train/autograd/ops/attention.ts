// Scaled dot-product attention, causal, optionally sliding-window (the window counts the query's own
// token: key j is visible to query t when 0 <= t - j < window), with grouped-query heads (query head h
// reads key/value head h / (nHead / nKv)). Sequences are independent: the batch is nSeq sequences of T
// tokens, positions restarting at 0. The forward keeps each row's log-sum-exp so that the backward pass
// recomputes the probabilities instead of storing T² of them.
import type { AttentionShape } from '../engine.js';
import type { Tape } from '../tape.js';
import type { Tensor } from '../tensor.js';

export function attention(tape: Tape, q: Tensor, k: Tensor, v: Tensor, s: AttentionShape): Tensor {
  const nt = s.nSeq * s.T;
  if (q.size !== nt * s.nHead * s.hd || k.size !== nt * s.nKv * s.hd || v.size !== k.size)
    throw new RangeError(`attention: q/k/v sizes ${q.size}/${k.size}/${v.size} do not match ${s.nSeq}x${s.T} tokens, ${s.nHead}/${s.nKv} heads of ${s.hd}`);
  if (s.nHead % s.nKv !== 0) throw new RangeError(`attention: ${s.nHead} query heads cannot share ${s.nKv} key/value heads`);
  const E = tape.engine;
  const o = tape.empty(q.shape);
  const lse = E.scratch(nt * s.nHead);
  E.attentionForward(s, q.data, k.data, v.data, o.data, lse);
  tape.record(o, [q, k, v], () => {
    if (!o.grad) return;
    // The kernel writes all three; gradients of inputs that take none go to scratch.
    const dq = q.requiresGrad ? tape.grad(q) : E.zeros(q.size);
    const dk = k.requiresGrad ? tape.grad(k) : E.zeros(k.size);
    const dv = v.requiresGrad ? tape.grad(v) : E.zeros(v.size);
    E.attentionBackward(s, q.data, k.data, v.data, o.data, o.grad, lse, dq, dk, dv);
  });
  return o;
}
