// ggml tensor element types as stored in GGUF files (ids from ggml.h), with their block geometry.
// Only the types this project reads or writes have traits; any other id is reported as unsupported.

export enum GGMLType {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  I8 = 24,
  I16 = 25,
  I32 = 26,
  I64 = 27,
  F64 = 28,
  BF16 = 30,
}

export interface TypeTraits {
  /** Name as llama.cpp prints it, e.g. "q8_0". */
  readonly name: string;
  /** Elements per block. */
  readonly blockSize: number;
  /** Bytes per block. */
  readonly typeSize: number;
}

export const QK_K = 256;

const TRAITS: ReadonlyMap<number, TypeTraits> = new Map<number, TypeTraits>([
  [GGMLType.F32, { name: 'f32', blockSize: 1, typeSize: 4 }],
  [GGMLType.F16, { name: 'f16', blockSize: 1, typeSize: 2 }],
  [GGMLType.BF16, { name: 'bf16', blockSize: 1, typeSize: 2 }],
  [GGMLType.F64, { name: 'f64', blockSize: 1, typeSize: 8 }],
  [GGMLType.I8, { name: 'i8', blockSize: 1, typeSize: 1 }],
  [GGMLType.I16, { name: 'i16', blockSize: 1, typeSize: 2 }],
  [GGMLType.I32, { name: 'i32', blockSize: 1, typeSize: 4 }],
  [GGMLType.I64, { name: 'i64', blockSize: 1, typeSize: 8 }],
  [GGMLType.Q4_0, { name: 'q4_0', blockSize: 32, typeSize: 2 + 16 }],
  [GGMLType.Q4_1, { name: 'q4_1', blockSize: 32, typeSize: 4 + 16 }],
  [GGMLType.Q5_0, { name: 'q5_0', blockSize: 32, typeSize: 2 + 4 + 16 }],
  [GGMLType.Q5_1, { name: 'q5_1', blockSize: 32, typeSize: 4 + 4 + 16 }],
  [GGMLType.Q8_0, { name: 'q8_0', blockSize: 32, typeSize: 2 + 32 }],
  [GGMLType.Q8_1, { name: 'q8_1', blockSize: 32, typeSize: 4 + 32 }],
  [GGMLType.Q2_K, { name: 'q2_K', blockSize: QK_K, typeSize: QK_K / 16 + QK_K / 4 + 4 }],
  [GGMLType.Q3_K, { name: 'q3_K', blockSize: QK_K, typeSize: QK_K / 8 + QK_K / 4 + 12 + 2 }],
  [GGMLType.Q4_K, { name: 'q4_K', blockSize: QK_K, typeSize: 4 + 12 + QK_K / 2 }],
  [GGMLType.Q5_K, { name: 'q5_K', blockSize: QK_K, typeSize: 4 + 12 + QK_K / 8 + QK_K / 2 }],
  [GGMLType.Q6_K, { name: 'q6_K', blockSize: QK_K, typeSize: QK_K / 2 + QK_K / 4 + QK_K / 16 + 2 }],
  [GGMLType.Q8_K, { name: 'q8_K', blockSize: QK_K, typeSize: 4 + QK_K + (QK_K / 16) * 2 }],
]);

/** Traits of a type id, or undefined when this project does not know the type. */
export function typeTraits(type: number): TypeTraits | undefined {
  return TRAITS.get(type);
}

export function typeName(type: number): string {
  return TRAITS.get(type)?.name ?? `unknown type ${type}`;
}

/** Type id from a llama.cpp-style name ("q8_0", "Q4_K", "f32"). */
export function typeFromName(name: string): GGMLType | undefined {
  const lower = name.toLowerCase();
  for (const [id, t] of TRAITS) if (t.name.toLowerCase() === lower) return id as GGMLType;
  return undefined;
}

/**
 * Bytes taken by `n` elements of `type`. Returns undefined when the type is unknown or `n` is not a
 * whole number of blocks, so callers can report the problem in their own terms.
 */
export function bytesFor(type: number, n: number): number | undefined {
  const t = TRAITS.get(type);
  if (!t || !Number.isSafeInteger(n) || n < 0 || n % t.blockSize !== 0) return undefined;
  return (n / t.blockSize) * t.typeSize;
}
