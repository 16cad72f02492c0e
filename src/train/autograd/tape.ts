// Reverse-mode differentiation: ops run eagerly and, while the tape records, push a closure that turns
// their output's gradient into their inputs' gradients. backward() runs those closures newest first.
//
// A tape owns its engine's scratch for one step: creating a tape rewinds the engine's scratch, so the
// activations and gradients of the previous step are gone. Parameters and their gradients are persistent;
// gradients add up across backward passes until the caller zeroes them (gradient accumulation).
import type { Engine } from './engine.js';
import { Tensor, type FloatArray } from './tensor.js';

export class Tape {
  /** Whether ops record their backward; off inside noGrad(). */
  recording = true;
  private steps: (() => void)[] = [];

  constructor(readonly engine: Engine) {
    engine.reset();
  }

  /** A tensor of the given shape in scratch, contents undefined until written. */
  empty(shape: readonly number[]): Tensor {
    return new Tensor(this.engine.scratch(count(shape)), shape);
  }

  zeros(shape: readonly number[]): Tensor {
    return new Tensor(this.engine.zeros(count(shape)), shape);
  }

  /** A constant or leaf tensor holding these values (in the engine's precision). */
  tensor(values: ArrayLike<number>, shape: readonly number[], requiresGrad = false): Tensor {
    const t = this.empty(shape);
    for (let i = 0; i < t.size; i++) t.data[i] = values[i]!;
    t.requiresGrad = requiresGrad;
    return t;
  }

  /**
   * Called by an op after computing `out` from `inputs`: when recording and some input takes gradients,
   * marks `out` as taking them and keeps `backward` for the backward pass.
   */
  record(out: Tensor, inputs: readonly Tensor[], backward: () => void): void {
    if (!this.recording || !inputs.some((t) => t.requiresGrad)) return;
    out.requiresGrad = true;
    this.steps.push(backward);
  }

  /** The gradient buffer of a tensor, allocated (zero-filled) on first use. */
  grad(t: Tensor): FloatArray {
    return (t.grad ??= this.engine.zeros(t.size));
  }

  /** Runs the recorded backward closures from a scalar loss; `seed` is d(objective)/d(loss). */
  backward(loss: Tensor, seed = 1): void {
    if (loss.size !== 1) throw new RangeError(`backward() starts from a scalar, got shape [${loss.shape.join(', ')}]`);
    if (!loss.requiresGrad) throw new Error('the loss does not depend on any tensor that takes gradients');
    const g = this.grad(loss);
    g[0] = g[0]! + seed;
    const steps = this.steps;
    this.steps = [];
    for (let i = steps.length - 1; i >= 0; i--) steps[i]!();
  }

  /** Runs fn without recording (evaluation). */
  noGrad<T>(fn: () => T): T {
    const was = this.recording;
    this.recording = false;
    try {
      return fn();
    } finally {
      this.recording = was;
    }
  }
}

function count(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
