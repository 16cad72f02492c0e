// GGUF writer. The header is assembled in memory (it is small next to the weights); tensor data is pulled
// from each tensor's producer one tensor at a time and streamed to disk, so writing a multi-GB model never
// holds more than one tensor's bytes. The file appears under its final name only when complete.
import { closeSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { bytesFor, typeName, type GGMLType } from './ggml-types.js';
import { GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC } from './reader.js';
import { GGUFValueType, isGGUFArray, valueTypeName, type GGUFEntry, type GGUFValue } from './values.js';

export interface TensorToWrite {
  readonly name: string;
  /** ggml order: dims[0] is the row length. */
  readonly dims: readonly number[];
  readonly type: GGMLType;
  /** The tensor's bytes, or a producer that streams them in chunks through `emit`. */
  readonly data: Uint8Array | ((emit: (chunk: Uint8Array) => void) => void);
}

export interface GGUFWriteOptions {
  readonly version?: 2 | 3;
  readonly metadata: Iterable<readonly [string, GGUFEntry]>;
  readonly tensors: readonly TensorToWrite[];
}

class ByteSink {
  private buf = Buffer.alloc(1 << 16);
  length = 0;
  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }
  u8(v: number) { this.room(1); this.buf.writeUInt8(v, this.length); this.length += 1; }
  i8(v: number) { this.room(1); this.buf.writeInt8(v, this.length); this.length += 1; }
  u16(v: number) { this.room(2); this.buf.writeUInt16LE(v, this.length); this.length += 2; }
  i16(v: number) { this.room(2); this.buf.writeInt16LE(v, this.length); this.length += 2; }
  u32(v: number) { this.room(4); this.buf.writeUInt32LE(v, this.length); this.length += 4; }
  i32(v: number) { this.room(4); this.buf.writeInt32LE(v, this.length); this.length += 4; }
  f32(v: number) { this.room(4); this.buf.writeFloatLE(v, this.length); this.length += 4; }
  f64(v: number) { this.room(8); this.buf.writeDoubleLE(v, this.length); this.length += 8; }
  u64(v: bigint | number) { this.room(8); this.buf.writeBigUInt64LE(BigInt(v), this.length); this.length += 8; }
  i64(v: bigint | number) { this.room(8); this.buf.writeBigInt64LE(BigInt(v), this.length); this.length += 8; }
  bytes(b: Uint8Array) { this.room(b.length); this.buf.set(b, this.length); this.length += b.length; }
  str(s: string) { const b = Buffer.from(s, 'utf8'); this.u64(b.length); this.bytes(b); }
  pad(alignment: number) { const n = (alignment - (this.length % alignment)) % alignment; this.room(n); this.buf.fill(0, this.length, this.length + n); this.length += n; }
  view(): Buffer { return this.buf.subarray(0, this.length); }
}

function writeValue(s: ByteSink, key: string, type: GGUFValueType, v: GGUFValue): void {
  const bad = (): never => {
    throw new Error(`metadata "${key}": value ${String(v)} does not fit type ${valueTypeName(type)}`);
  };
  const num = (): number => (typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : bad());
  switch (type) {
    case GGUFValueType.UINT8: return s.u8(num());
    case GGUFValueType.INT8: return s.i8(num());
    case GGUFValueType.UINT16: return s.u16(num());
    case GGUFValueType.INT16: return s.i16(num());
    case GGUFValueType.UINT32: return s.u32(num());
    case GGUFValueType.INT32: return s.i32(num());
    case GGUFValueType.FLOAT32: return s.f32(num());
    case GGUFValueType.FLOAT64: return s.f64(num());
    case GGUFValueType.UINT64: return s.u64(typeof v === 'bigint' ? v : BigInt(num()));
    case GGUFValueType.INT64: return s.i64(typeof v === 'bigint' ? v : BigInt(num()));
    case GGUFValueType.BOOL: return typeof v === 'boolean' ? s.u8(v ? 1 : 0) : bad();
    case GGUFValueType.STRING: return typeof v === 'string' ? s.str(v) : bad();
    case GGUFValueType.ARRAY: {
      if (!isGGUFArray(v)) return bad();
      s.u32(v.itemType);
      s.u64(v.items.length);
      for (const item of v.items) writeValue(s, key, v.itemType, item);
      return;
    }
    default:
      throw new Error(`metadata "${key}": unknown value type ${type}`);
  }
}

/** Writes a complete GGUF file. Throws (and leaves no file behind) on any inconsistency. */
export function writeGGUF(path: string, opts: GGUFWriteOptions): void {
  const version = opts.version ?? 3;
  const entries = [...opts.metadata];
  const keys = new Set<string>();
  let alignment = GGUF_DEFAULT_ALIGNMENT;
  for (const [k, e] of entries) {
    if (keys.has(k)) throw new Error(`duplicate metadata key "${k}"`);
    keys.add(k);
    if (k === 'general.alignment') alignment = e.value as number;
  }
  const h = new ByteSink();
  h.u32(GGUF_MAGIC);
  h.u32(version);
  h.u64(opts.tensors.length);
  h.u64(entries.length);
  for (const [k, e] of entries) {
    h.str(k);
    h.u32(e.type);
    writeValue(h, k, e.type, e.value);
  }
  const names = new Set<string>();
  const sizes: number[] = [];
  let offset = 0;
  for (const t of opts.tensors) {
    if (names.has(t.name)) throw new Error(`duplicate tensor name "${t.name}"`);
    names.add(t.name);
    const n = t.dims.reduce((a, b) => a * b, 1);
    const nbytes = bytesFor(t.type, n);
    if (nbytes === undefined) throw new Error(`tensor "${t.name}": ${n} elements do not fit type ${typeName(t.type)}`);
    h.str(t.name);
    h.u32(t.dims.length);
    for (const d of t.dims) h.u64(d);
    h.u32(t.type);
    h.u64(offset);
    sizes.push(nbytes);
    offset += Math.ceil(nbytes / alignment) * alignment;
  }
  h.pad(alignment);

  const tmp = `${path}.partial-${process.pid}`;
  const fd = openSync(tmp, 'w');
  let ok = false;
  try {
    let pos = 0;
    const put = (b: Uint8Array) => {
      let done = 0;
      while (done < b.length) done += writeSync(fd, b, done, b.length - done, pos + done);
      pos += b.length;
    };
    put(h.view());
    const zeros = new Uint8Array(alignment);
    opts.tensors.forEach((t, i) => {
      const want = sizes[i]!;
      let got = 0;
      const emit = (chunk: Uint8Array) => {
        got += chunk.length;
        if (got > want) throw new Error(`tensor "${t.name}": producer wrote ${got} bytes, more than the ${want} its shape needs`);
        put(chunk);
      };
      if (typeof t.data === 'function') t.data(emit);
      else emit(t.data);
      if (got !== want) throw new Error(`tensor "${t.name}": producer wrote ${got} bytes, its shape needs ${want}`);
      const padding = (alignment - (want % alignment)) % alignment;
      if (padding) put(zeros.subarray(0, padding));
    });
    ok = true;
  } finally {
    closeSync(fd);
    if (ok) renameSync(tmp, path);
    else unlinkSync(tmp);
  }
}
