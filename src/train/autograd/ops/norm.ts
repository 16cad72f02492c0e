// RMS normalisation over rows of `dim` values: y = x / sqrt(mean(x²) + eps) · gain. Step 3.5's norms are
// zero-centred in the HF checkpoint (gain = 1 + w) and stored with the 1 already added in GGUF (gain = w,
// what llama.cpp's converter writes); both give the same gradient by the stored weight. The same op
// normalises whole rows (attn_norm, ffn_norm, output_norm, the MTP norms) and single heads (q/k norm:
// dim = head size, one [head] weight shared by all heads).
import type { Tape } from '../tape.js';
import type { Tensor } from '../tensor.js';

export interface RmsNormOptions {
  readonly eps: number;
  /** Gain 1 + w (HF convention) instead of w (GGUF convention). */
  readonly zeroCentered?: boolean;
}

export function rmsNorm(tape: Tape, x: Tensor, w: Tensor | null, dim: number, opts: RmsNormOptions): Tensor {
  if (x.size % dim !== 0) throw new RangeError(`rmsNorm: ${x.size} values are not rows of ${dim}`);
  if (w && w.size !== dim) throw new RangeError(`rmsNorm: weight of ${w.size} values for rows of ${dim}`);
  const E = tape.engine;
  const rows = x.size / dim;
  const offset = opts.zeroCentered ? 1 : 0;
  const y = tape.empty(x.shape);
  // 1/rms per row, kept for the backward pass.
  const inv = E.scratch(rows);
  E.rmsNormForward(x.data, w?.data ?? null, y.data, inv, rows, dim, opts.eps, offset);
  tape.record(y, w ? [x, w] : [x], () => {
    if (!y.grad) return;
    E.rmsNormBackward(x.data, w?.data ?? null, y.grad, inv, x.requiresGrad ? tape.grad(x) : null, w?.requiresGrad ? tape.grad(w) : null, rows, dim, offset);
  });
  return y;
}
