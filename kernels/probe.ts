import { fma4 } from './ggml-order';

/** a * b + c through the kernels' vector multiply-add, so the loader can check that it is fused. */
export function fma_probe(a: f32, b: f32, c: f32): f32 {
  return f32x4.extract_lane(fma4(f32x4.splat(a), f32x4.splat(b), f32x4.splat(c)), 0);
}
