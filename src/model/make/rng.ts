// Seeds for generated model weights: one independent stream per tensor, so a tensor's values do not
// depend on which tensors were generated before it.
export { Rng } from '../../common/rng.js';

/** Seed for one tensor: the model seed mixed with a hash of the tensor's name (FNV-1a). */
export function seedFor(seed: number, name: string): number {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
