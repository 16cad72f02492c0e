// GGUF metadata values: the on-disk type tags and the in-memory representation shared by reader and writer.

export enum GGUFValueType {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
}

/** 64-bit integers stay bigint so that values above 2^53 survive a read-write round trip. */
export type GGUFScalar = number | bigint | boolean | string;

export interface GGUFArray {
  readonly itemType: GGUFValueType;
  readonly items: readonly GGUFValue[];
}

export type GGUFValue = GGUFScalar | GGUFArray;

/** One metadata entry: its declared type tag and its value. */
export interface GGUFEntry {
  readonly type: GGUFValueType;
  readonly value: GGUFValue;
}

export function isGGUFArray(v: GGUFValue): v is GGUFArray {
  return typeof v === 'object' && v !== null && 'items' in v;
}

export const SCALAR_SIZES: Partial<Record<GGUFValueType, number>> = {
  [GGUFValueType.UINT8]: 1,
  [GGUFValueType.INT8]: 1,
  [GGUFValueType.BOOL]: 1,
  [GGUFValueType.UINT16]: 2,
  [GGUFValueType.INT16]: 2,
  [GGUFValueType.UINT32]: 4,
  [GGUFValueType.INT32]: 4,
  [GGUFValueType.FLOAT32]: 4,
  [GGUFValueType.UINT64]: 8,
  [GGUFValueType.INT64]: 8,
  [GGUFValueType.FLOAT64]: 8,
};

export function valueTypeName(t: number): string {
  return GGUFValueType[t] ?? `unknown value type ${t}`;
}

/** Convenience constructors so callers can write metadata without spelling out type tags. */
export const gguf = {
  u8: (v: number): GGUFEntry => ({ type: GGUFValueType.UINT8, value: v }),
  i8: (v: number): GGUFEntry => ({ type: GGUFValueType.INT8, value: v }),
  u16: (v: number): GGUFEntry => ({ type: GGUFValueType.UINT16, value: v }),
  i16: (v: number): GGUFEntry => ({ type: GGUFValueType.INT16, value: v }),
  u32: (v: number): GGUFEntry => ({ type: GGUFValueType.UINT32, value: v }),
  i32: (v: number): GGUFEntry => ({ type: GGUFValueType.INT32, value: v }),
  f32: (v: number): GGUFEntry => ({ type: GGUFValueType.FLOAT32, value: v }),
  f64: (v: number): GGUFEntry => ({ type: GGUFValueType.FLOAT64, value: v }),
  u64: (v: number | bigint): GGUFEntry => ({ type: GGUFValueType.UINT64, value: BigInt(v) }),
  i64: (v: number | bigint): GGUFEntry => ({ type: GGUFValueType.INT64, value: BigInt(v) }),
  bool: (v: boolean): GGUFEntry => ({ type: GGUFValueType.BOOL, value: v }),
  str: (v: string): GGUFEntry => ({ type: GGUFValueType.STRING, value: v }),
  arr: (itemType: GGUFValueType, items: readonly GGUFValue[]): GGUFEntry => ({
    type: GGUFValueType.ARRAY,
    value: { itemType, items },
  }),
};
