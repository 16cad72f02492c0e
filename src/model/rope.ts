// Rotary-embedding angle tables, computed the way ggml computes them (f32 throughout, the angle advanced
// by repeated multiplication, cos and sin from the C library's cosf/sinf, which are not correctly
// rounded), so that positions rotate by bit-identical angles.
import { cosf, sinf } from '../backend/libm.js';

/**
 * (cos, sin) pairs for each position and each of the nRot/2 rotated pairs: out[(t * nRot/2 + i) * 2].
 * `factors` are llama3-style frequency divisors (rope_freqs.weight); `freqScale` is linear scaling.
 */
export function ropeTable(positions: ArrayLike<number>, nRot: number, base: number, freqScale: number, factors: Float32Array | null): Float32Array {
  const half = nRot / 2;
  const out = new Float32Array(positions.length * half * 2);
  const f = Math.fround;
  const cos = cosf, sin = sinf;
  const thetaScale = f(Math.pow(base, f(-2 / nRot)));
  for (let t = 0; t < positions.length; t++) {
    let theta = f(positions[t]!);
    for (let i = 0; i < half; i++) {
      const ff = factors ? factors[i]! : 1;
      const angle = f(freqScale * f(theta / ff));
      out[(t * half + i) * 2] = cos(angle);
      out[(t * half + i) * 2 + 1] = sin(angle);
      theta = f(theta * thetaScale);
    }
  }
  return out;
}
