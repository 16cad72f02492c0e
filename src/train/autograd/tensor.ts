// Tensors of the autograd: a flat array of values in row-major order with a shape, and the gradient
// buffer the backward pass accumulates into. The values live wherever the engine allocated them: in the
// shared wasm memory (f32, the fast path) or in ordinary JS arrays (f64, the reference path the
// finite-difference tests run).

export type FloatArray = Float32Array | Float64Array;
export type DType = 'f32' | 'f64';

export class Tensor {
  /** Gradient of the loss by these values, allocated when the backward pass first reaches them. */
  grad: FloatArray | null = null;

  constructor(
    readonly data: FloatArray,
    readonly shape: readonly number[],
    /** Whether gradients flow into this tensor (set on outputs of ops with such inputs while recording). */
    public requiresGrad = false,
  ) {
    const n = shape.reduce((a, b) => a * b, 1);
    if (n !== data.length) throw new RangeError(`shape [${shape.join(', ')}] holds ${n} values, the array ${data.length}`);
  }

  get size(): number {
    return this.data.length;
  }

  /** Rows of a matrix view: every dimension but the last. */
  get rows(): number {
    return this.data.length / this.cols;
  }

  /** The last dimension. */
  get cols(): number {
    return this.shape[this.shape.length - 1] ?? 1;
  }
}

/** What a parameter is, for the optimizer (which ones to decay) and the exporter. */
export type ParamKind = 'matrix' | 'experts' | 'embedding' | 'norm' | 'bias' | 'constant';

/**
 * A model parameter: persistent values and gradient, named exactly as the GGUF tensor it is exported to.
 * `shape` is row-major ([rows][cols], or [experts][rows][cols]); the GGUF dims are its reverse.
 */
export class Param extends Tensor {
  constructor(
    readonly name: string,
    data: FloatArray,
    shape: readonly number[],
    readonly kind: ParamKind,
    /** Gradient buffer; null for parameters that are not trained by gradient (router bias, rope factors). */
    grad: FloatArray | null,
  ) {
    super(data, shape, grad !== null);
    this.grad = grad;
  }

  /** ggml dimension order: the row length first. */
  get ggmlDims(): number[] {
    return [...this.shape].reverse();
  }

  get trainable(): boolean {
    return this.grad !== null;
  }
}
