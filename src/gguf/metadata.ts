// Typed access to GGUF metadata. Getters check the stored type so that a model built from a file with a
// wrong-typed key fails with the key's name rather than with NaN deep inside the forward pass.
import { GGUFValueType, isGGUFArray, type GGUFEntry, type GGUFValue } from './values.js';

export class MetadataError extends Error {
  constructor(
    readonly key: string,
    reason: string,
  ) {
    super(`metadata "${key}": ${reason}`);
    this.name = 'MetadataError';
  }
}

const NUMERIC = new Set([
  GGUFValueType.UINT8, GGUFValueType.INT8, GGUFValueType.UINT16, GGUFValueType.INT16, GGUFValueType.UINT32,
  GGUFValueType.INT32, GGUFValueType.FLOAT32, GGUFValueType.FLOAT64, GGUFValueType.UINT64, GGUFValueType.INT64,
]);

function toNumber(key: string, v: GGUFValue): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') {
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) throw new MetadataError(key, `value ${v} is too large`);
    return Number(v);
  }
  throw new MetadataError(key, `expected a number, found ${typeof v}`);
}

export class Metadata {
  constructor(readonly entries: ReadonlyMap<string, GGUFEntry>) {}

  has(key: string): boolean {
    return this.entries.has(key);
  }
  get(key: string): GGUFEntry | undefined {
    return this.entries.get(key);
  }
  keys(): string[] {
    return [...this.entries.keys()];
  }

  string(key: string): string | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.type !== GGUFValueType.STRING) throw new MetadataError(key, `expected a string, found ${GGUFValueType[e.type]}`);
    return e.value as string;
  }
  requireString(key: string): string {
    const v = this.string(key);
    if (v === undefined) throw new MetadataError(key, 'required key is missing');
    return v;
  }

  number(key: string): number | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (!NUMERIC.has(e.type)) throw new MetadataError(key, `expected a number, found ${GGUFValueType[e.type]}`);
    return toNumber(key, e.value);
  }
  requireNumber(key: string): number {
    const v = this.number(key);
    if (v === undefined) throw new MetadataError(key, 'required key is missing');
    return v;
  }

  bool(key: string): boolean | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.type !== GGUFValueType.BOOL) throw new MetadataError(key, `expected a boolean, found ${GGUFValueType[e.type]}`);
    return e.value as boolean;
  }

  /** Items of an array-valued key. */
  array(key: string): readonly GGUFValue[] | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (!isGGUFArray(e.value)) throw new MetadataError(key, `expected an array, found ${GGUFValueType[e.type]}`);
    return e.value.items;
  }
  stringArray(key: string): string[] | undefined {
    const items = this.array(key);
    if (!items) return undefined;
    return items.map((v, i) => {
      if (typeof v !== 'string') throw new MetadataError(key, `item ${i} is not a string`);
      return v;
    });
  }
  numberArray(key: string): number[] | undefined {
    const items = this.array(key);
    if (!items) return undefined;
    return items.map((v) => toNumber(key, v));
  }

  /**
   * llama.cpp's "key or array" convention: a per-layer setting stored either as one scalar for every layer
   * or as an array with exactly one value per layer.
   */
  perLayerNumber(key: string, nLayers: number, fallback?: number): number[] {
    const e = this.entries.get(key);
    if (!e) {
      if (fallback === undefined) throw new MetadataError(key, 'required key is missing');
      return new Array<number>(nLayers).fill(fallback);
    }
    if (isGGUFArray(e.value)) {
      const items = e.value.items;
      if (items.length !== nLayers) throw new MetadataError(key, `has ${items.length} values but the model has ${nLayers} layers`);
      return items.map((v) => (typeof v === 'boolean' ? Number(v) : toNumber(key, v)));
    }
    const n = e.type === GGUFValueType.BOOL ? Number(e.value) : toNumber(key, e.value);
    return new Array<number>(nLayers).fill(n);
  }

  perLayerBool(key: string, nLayers: number): boolean[] | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    return this.perLayerNumber(key, nLayers).map((v) => v !== 0);
  }

  /** A plain JSON-friendly view (bigints as strings, long arrays abbreviated) for `inspect`. */
  toJSON(maxArray = 16): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const conv = (v: GGUFValue): unknown => {
      if (typeof v === 'bigint') return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v.toString();
      if (isGGUFArray(v)) {
        const shown = v.items.slice(0, maxArray).map(conv);
        return v.items.length > maxArray ? { length: v.items.length, first: shown } : shown;
      }
      return v;
    };
    for (const [k, e] of this.entries) out[k] = conv(e.value);
    return out;
  }
}
