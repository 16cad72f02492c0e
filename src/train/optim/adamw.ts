// AdamW (Loshchilov & Hutter): Adam's moment estimates with bias correction and weight decay applied to
// the weights directly (decoupled), not through the gradient. Only matrices decay: norms, embeddings
// and biases keep their values unless the gradient moves them, as is usual for transformer training.
// The moments live in plain f32 arrays owned by the optimizer so a checkpoint can save and restore them.
import type { Param } from '../autograd/tensor.js';

export interface AdamWOptions {
  readonly beta1?: number;
  readonly beta2?: number;
  readonly eps?: number;
  readonly weightDecay?: number;
}

export class AdamW {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  /** Updates applied so far (the bias correction's t). */
  t = 0;
  readonly m: Float32Array[];
  readonly v: Float32Array[];

  constructor(readonly params: readonly Param[], o: AdamWOptions = {}) {
    this.beta1 = o.beta1 ?? 0.9;
    this.beta2 = o.beta2 ?? 0.95;
    this.eps = o.eps ?? 1e-8;
    this.weightDecay = o.weightDecay ?? 0.1;
    for (const p of params) if (!p.trainable) throw new Error(`AdamW: ${p.name} is not trained by gradient`);
    this.m = params.map((p) => new Float32Array(p.size));
    this.v = params.map((p) => new Float32Array(p.size));
  }

  /** One update at learning rate lr from the parameters' current gradients (scaled by gradScale first). */
  step(lr: number, gradScale = 1): void {
    this.t++;
    const { beta1: b1, beta2: b2, eps } = this;
    const c1 = 1 - Math.pow(b1, this.t), c2 = 1 - Math.pow(b2, this.t);
    this.params.forEach((p, i) => {
      const w = p.data, g = p.grad!, m = this.m[i]!, v = this.v[i]!;
      const decay = p.kind === 'matrix' || p.kind === 'experts' ? 1 - lr * this.weightDecay : 1;
      for (let j = 0; j < w.length; j++) {
        const gj = g[j]! * gradScale;
        const mj = (m[j] = b1 * m[j]! + (1 - b1) * gj);
        const vj = (v[j] = b2 * v[j]! + (1 - b2) * gj * gj);
        w[j] = w[j]! * decay - (lr * (mj / c1)) / (Math.sqrt(vj / c2) + eps);
      }
    });
  }
}
