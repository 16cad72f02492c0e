// The weight formats, by GGUF type: a type with a dedicated integer kernel uses it, anything else is
// dequantized to f32.
import type { GGMLType } from '../../../gguf/ggml-types.js';
import { dequantizedFormat } from './dequantized.js';
import type { WeightFormat } from './format.js';
import { kquantFormat } from './kquants.js';
import { q4_0Format } from './q4_0.js';
import { q8_0Format } from './q8_0.js';

const FORMATS: readonly WeightFormat[] = [q8_0Format, q4_0Format, kquantFormat, dequantizedFormat];

export function formatFor(type: GGMLType): WeightFormat {
  const f = FORMATS.find((x) => x.types.includes(type));
  if (!f) return dequantizedFormat;
  return f;
}

export type { ActivationKind, CpuMatrix, PreparedActivation, WeightFormat } from './format.js';
