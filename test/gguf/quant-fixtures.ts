// Loader for test/fixtures/quant/goldens.json (written by scripts/gen-quant-goldens.py).

import { readFileSync } from 'node:fs';

export interface QuantizedCase {
  input: string;
  bytes?: string;
  bytes_oracle?: string;
  ggml_bytes?: string;
  dequant?: string;
  dequant_oracle?: string;
}

export interface RandomBlocksCase {
  name: string;
  n: number;
  bytes: string;
  dequant?: string;
  dequant_oracle?: string;
}

export interface TypeGoldens {
  id: number;
  block_size: number;
  type_size: number;
  quantized: QuantizedCase[];
  random_blocks: RandomBlocksCase[];
}

export interface Goldens {
  oracles: { gguf_py: unknown; ggml: unknown };
  inputs: { name: string; n: number; f32: string }[];
  conversions: { f32: string; f16: string; bf16: string };
  tables: { f16_to_f32_sha256: string; bf16_to_f32_sha256: string };
  types: Record<string, TypeGoldens>;
  disagreements: unknown[];
}

let cached: Goldens | undefined;

export function loadGoldens(): Goldens {
  cached ??= JSON.parse(readFileSync(new URL('../fixtures/quant/goldens.json', import.meta.url), 'utf8')) as Goldens;
  return cached;
}

export function bytesOf(b64: string): Uint8Array {
  const buf = Buffer.from(b64, 'base64');
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.length).slice();
}

export function f32Of(b64: string): Float32Array {
  const b = bytesOf(b64);
  return new Float32Array(b.buffer, 0, b.length / 4);
}

export function u16Of(b64: string): Uint16Array {
  const b = bytesOf(b64);
  return new Uint16Array(b.buffer, 0, b.length / 2);
}

export function u32Of(b64: string): Uint32Array {
  const b = bytesOf(b64);
  return new Uint32Array(b.buffer, 0, b.length / 4);
}

export function inputRow(g: Goldens, name: string): Float32Array {
  const row = g.inputs.find((r) => r.name === name);
  if (!row) throw new Error(`no golden input ${name}`);
  return f32Of(row.f32);
}

/**
 * Index of the first element whose f32 bits differ (a NaN matches any NaN), or -1 when all match.
 */
export function firstBitMismatch(actual: Float32Array, expected: Float32Array): number {
  if (actual.length !== expected.length) return Math.min(actual.length, expected.length);
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const e = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== e[i] && !(Number.isNaN(actual[i]) && Number.isNaN(expected[i]))) return i;
  }
  return -1;
}

export function hex32(x: number): string {
  return '0x' + (x >>> 0).toString(16).padStart(8, '0');
}

export function describeMismatch(actual: Float32Array, expected: Float32Array, i: number): string {
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const e = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  return `element ${i}: got ${actual[i]} (${hex32(a[i] ?? 0)}), want ${expected[i]} (${hex32(e[i] ?? 0)})`;
}
