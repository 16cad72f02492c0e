// GGUF writer. The header is assembled in memory (it is small next to the weights); tensor data is pulled
// from each tensor's producer one tensor at a time and streamed to disk, so writing a multi-GB model never
// holds more than one tensor's bytes. The file appears under its final name only when complete.
//
// Everything the reader would reject is refused here before the file is created, so a file this writes
// always reads back: key and name limits, value ranges, alignment, shapes and byte counts.
import { randomBytes } from 'node:crypto';
import { closeSync, ftruncateSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { bytesFor, typeName, typeTraits, type GGMLType } from './ggml-types.js';
import {
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GGUF_MAX_ARRAY_ITEMS,
  GGUF_MAX_ARRAY_NESTING,
  GGUF_MAX_DIMS,
  GGUF_MAX_KEY_BYTES,
  GGUF_MAX_STRING_BYTES,
  GGUF_MAX_TENSOR_NAME_BYTES,
} from './reader.js';
import * as values from './values.js';
import type { GGUFEntry, GGUFValue } from './values.js';

// Local copies of imported bindings: under some loaders (tsx) every use of an import is a getter call,
// which is slow in the per-item loops below.
const GGUFValueType = values.GGUFValueType;
type GGUFValueType = values.GGUFValueType;
const isGGUFArray = values.isGGUFArray;
const valueTypeName = values.valueTypeName;

export interface TensorToWrite {
  readonly name: string;
  /** ggml order: dims[0] is the row length. */
  readonly dims: readonly number[];
  readonly type: GGMLType;
  /**
   * The tensor's bytes, or a producer that streams them in chunks through `emit`. The producer must be
   * synchronous; each chunk is written before `emit` returns, so the producer may reuse its buffer.
   */
  readonly data: Uint8Array | ((emit: (chunk: Uint8Array) => void) => void);
}

export interface GGUFWriteOptions {
  readonly version?: 2 | 3;
  readonly metadata: Iterable<readonly [string, GGUFEntry]>;
  readonly tensors: readonly TensorToWrite[];
}

/** The input cannot be written as a valid GGUF file (or writing it failed); no file was left behind. */
export class GGUFWriteError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GGUFWriteError';
  }
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
  u64(v: bigint | number) {
    this.room(8);
    if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) {
      this.buf.writeUInt32LE(v % 0x100000000, this.length);
      this.buf.writeUInt32LE(Math.floor(v / 0x100000000), this.length + 4);
    } else this.buf.writeBigUInt64LE(BigInt(v), this.length);
    this.length += 8;
  }
  i64(v: bigint | number) { this.room(8); this.buf.writeBigInt64LE(BigInt(v), this.length); this.length += 8; }
  bytes(b: Uint8Array) { this.room(b.length); this.buf.set(b, this.length); this.length += b.length; }
  /** A length-prefixed string already encoded as UTF-8. */
  str(b: Uint8Array) { this.u64(b.length); this.bytes(b); }
  /** A length-prefixed string encoded straight into the buffer; returns its UTF-8 length. */
  strUtf8(s: string): number {
    const n = Buffer.byteLength(s, 'utf8');
    this.u64(n);
    this.room(n);
    this.buf.write(s, this.length, n, 'utf8');
    this.length += n;
    return n;
  }
  view(): Buffer { return this.buf.subarray(0, this.length); }
}

const INT_RANGES: Partial<Record<GGUFValueType, readonly [number, number]>> = {
  [GGUFValueType.UINT8]: [0, 0xff],
  [GGUFValueType.INT8]: [-0x80, 0x7f],
  [GGUFValueType.UINT16]: [0, 0xffff],
  [GGUFValueType.INT16]: [-0x8000, 0x7fff],
  [GGUFValueType.UINT32]: [0, 0xffffffff],
  [GGUFValueType.INT32]: [-0x80000000, 0x7fffffff],
};
const U64_MAX = (1n << 64n) - 1n;
const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;

function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 37)}...` : v);
  if (typeof v === 'bigint') return `${v}n`;
  if (v !== null && typeof v === 'object') return isGGUFArray(v as GGUFValue) ? 'an array' : 'an object';
  return String(v);
}

/**
 * UTF-8 bytes of a string that must survive a round trip: lone surrogates would come back as U+FFFD.
 * `key` and `what` name it in messages: metadata "key": what / what (when key is null).
 */
function utf8Of(s: string, key: string | null, what: string, max: number): Buffer {
  // String.prototype.isWellFormed is in Node 20 but not in the ES2022 typings.
  if (!(s as unknown as { isWellFormed(): boolean }).isWellFormed())
    throw new GGUFWriteError(`${where(key, what)} is not valid Unicode (it has a lone surrogate)`);
  const b = Buffer.from(s, 'utf8');
  if (b.length > max) throw new GGUFWriteError(`${where(key, what)} is ${b.length} bytes long, more than the ${max} allowed`);
  return b;
}

function where(key: string | null, what: string): string {
  return key === null ? what : `metadata ${JSON.stringify(key)}: ${what}`;
}

function bad(key: string, type: number, v: unknown): never {
  throw new GGUFWriteError(`metadata ${JSON.stringify(key)}: value ${show(v)} does not fit type ${valueTypeName(type)}`);
}

// No closures in here: it runs once per array item, and loaders that keep function names (tsx) make
// creating a closure expensive.
function writeValue(s: ByteSink, key: string, type: number, v: GGUFValue, level: number): void {
  const range = INT_RANGES[type as GGUFValueType];
  if (range) {
    const n = typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : bad(key, type, v);
    if (!Number.isInteger(n) || n < range[0] || n > range[1]) bad(key, type, v);
  }
  switch (type) {
    case GGUFValueType.UINT8: return s.u8(Number(v));
    case GGUFValueType.INT8: return s.i8(Number(v));
    case GGUFValueType.UINT16: return s.u16(Number(v));
    case GGUFValueType.INT16: return s.i16(Number(v));
    case GGUFValueType.UINT32: return s.u32(Number(v));
    case GGUFValueType.INT32: return s.i32(Number(v));
    case GGUFValueType.FLOAT32:
    case GGUFValueType.FLOAT64: {
      const n = typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : bad(key, type, v);
      return type === GGUFValueType.FLOAT32 ? s.f32(n) : s.f64(n);
    }
    case GGUFValueType.UINT64:
    case GGUFValueType.INT64: {
      if (typeof v === 'number' && !Number.isInteger(v)) bad(key, type, v);
      const b = typeof v === 'bigint' ? v : typeof v === 'number' ? BigInt(v) : bad(key, type, v);
      if (type === GGUFValueType.UINT64 ? b < 0n || b > U64_MAX : b < I64_MIN || b > I64_MAX) bad(key, type, v);
      return type === GGUFValueType.UINT64 ? s.u64(b) : s.i64(b);
    }
    case GGUFValueType.BOOL: return typeof v === 'boolean' ? s.u8(v ? 1 : 0) : bad(key, type, v);
    case GGUFValueType.STRING: {
      if (typeof v !== 'string') return bad(key, type, v);
      if (!(v as unknown as { isWellFormed(): boolean }).isWellFormed()) throw new GGUFWriteError(`${where(key, 'a string')} is not valid Unicode (it has a lone surrogate)`);
      const n = s.strUtf8(v);
      if (n > GGUF_MAX_STRING_BYTES) throw new GGUFWriteError(`${where(key, 'a string')} is ${n} bytes long, more than the ${GGUF_MAX_STRING_BYTES} allowed`);
      return;
    }
    case GGUFValueType.ARRAY: {
      if (!isGGUFArray(v)) return bad(key, type, v);
      const what = `metadata ${JSON.stringify(key)}`;
      if (level > GGUF_MAX_ARRAY_NESTING) throw new GGUFWriteError(`${what}: arrays nested more than ${GGUF_MAX_ARRAY_NESTING} levels deep`);
      if (!Number.isInteger(v.itemType) || v.itemType < 0 || v.itemType > GGUFValueType.FLOAT64)
        throw new GGUFWriteError(`${what}: array of unknown item type ${v.itemType}`);
      if (v.items.length > GGUF_MAX_ARRAY_ITEMS) throw new GGUFWriteError(`${what}: array of ${v.items.length} items is too long (at most ${GGUF_MAX_ARRAY_ITEMS})`);
      s.u32(v.itemType);
      s.u64(v.items.length);
      for (const item of v.items) writeValue(s, key, v.itemType, item, level + 1);
      return;
    }
    default:
      throw new GGUFWriteError(`metadata ${JSON.stringify(key)}: unknown value type ${type}`);
  }
}

function checkDims(t: TensorToWrite): number {
  const what = `tensor ${JSON.stringify(t.name)}`;
  const traits = typeTraits(t.type);
  if (!traits) throw new GGUFWriteError(`${what}: unknown or unsupported ggml type ${t.type}`);
  if (!Array.isArray(t.dims) || t.dims.length < 1 || t.dims.length > GGUF_MAX_DIMS)
    throw new GGUFWriteError(`${what}: ${t.dims?.length} dimensions (1 to ${GGUF_MAX_DIMS} allowed)`);
  let n = 1;
  for (const d of t.dims) {
    if (!Number.isSafeInteger(d) || d < 0) throw new GGUFWriteError(`${what}: dimension ${show(d)} is not a non-negative integer`);
    n *= d;
  }
  if (!Number.isSafeInteger(n)) throw new GGUFWriteError(`${what}: dimensions ${t.dims.join(' x ')} make more than 2^53 elements`);
  if (t.dims[0]! % traits.blockSize !== 0)
    throw new GGUFWriteError(`${what}: row length ${t.dims[0]} is not a multiple of the ${traits.name} block size ${traits.blockSize}`);
  const nbytes = bytesFor(t.type, n);
  if (nbytes === undefined || !Number.isSafeInteger(nbytes)) throw new GGUFWriteError(`${what}: ${n} elements do not fit type ${typeName(t.type)}`);
  return nbytes;
}

/** Writes a complete GGUF file. Throws a GGUFWriteError (and leaves no file behind) on any inconsistency. */
export function writeGGUF(path: string, opts: GGUFWriteOptions): void {
  const version = opts.version ?? 3;
  if (version !== 2 && version !== 3) throw new GGUFWriteError(`cannot write GGUF version ${String(version)} (2 and 3 are supported)`);
  const entries = [...opts.metadata];
  const keys = new Set<string>();
  let alignment = GGUF_DEFAULT_ALIGNMENT;
  for (const [k, e] of entries) {
    if (typeof k !== 'string' || k.length === 0) throw new GGUFWriteError(`metadata key ${show(k)} is empty or not a string`);
    if (keys.has(k)) throw new GGUFWriteError(`duplicate metadata key "${k}"`);
    keys.add(k);
    if (k === 'general.alignment') {
      // llama.cpp accepts any power of two; the GGUF spec asks for a multiple of 8.
      if (e.type !== GGUFValueType.UINT32) throw new GGUFWriteError(`general.alignment must be a UINT32, not ${valueTypeName(e.type)}`);
      const a = Number(e.value);
      if (!Number.isInteger(a) || a < 1 || a > 0x80000000 || (a & (a - 1)) !== 0)
        throw new GGUFWriteError(`general.alignment ${show(e.value)} is not a power of two`);
      alignment = a;
    }
  }
  const h = new ByteSink();
  h.u32(GGUF_MAGIC);
  h.u32(version);
  h.u64(opts.tensors.length);
  h.u64(entries.length);
  for (const [k, e] of entries) {
    h.str(utf8Of(k, null, `metadata key ${show(k)}`, GGUF_MAX_KEY_BYTES));
    h.u32(e.type);
    writeValue(h, k, e.type, e.value, 1);
  }
  const names = new Set<string>();
  const sizes: number[] = [];
  let offset = 0;
  for (const t of opts.tensors) {
    if (typeof t.name !== 'string' || t.name.length === 0) throw new GGUFWriteError(`tensor name ${show(t.name)} is empty or not a string`);
    if (names.has(t.name)) throw new GGUFWriteError(`duplicate tensor name "${t.name}"`);
    names.add(t.name);
    const nbytes = checkDims(t);
    h.str(utf8Of(t.name, null, `tensor name ${show(t.name)}`, GGUF_MAX_TENSOR_NAME_BYTES));
    h.u32(t.dims.length);
    for (const d of t.dims) h.u64(d);
    h.u32(t.type);
    h.u64(offset);
    sizes.push(nbytes);
    offset += Math.ceil(nbytes / alignment) * alignment;
    if (!Number.isSafeInteger(offset)) throw new GGUFWriteError(`tensor "${t.name}": the data section grows past 2^53 bytes`);
  }

  const tmp = `${path}.partial-${process.pid}-${randomBytes(4).toString('hex')}`;
  let fd: number | null = openSync(tmp, 'w');
  try {
    let pos = 0;
    const put = (b: Uint8Array) => {
      let done = 0;
      while (done < b.length) done += writeSync(fd!, b, done, b.length - done, pos + done);
      pos += b.length;
    };
    // Padding is skipped over rather than written: the gap reads back as zeros (and is a hole in the file
    // when large), and the final ftruncate sets the length when the file ends with padding.
    const pad = () => {
      pos += (alignment - (pos % alignment)) % alignment;
    };
    put(h.view());
    pad();
    opts.tensors.forEach((t, i) => {
      const want = sizes[i]!;
      let got = 0;
      let open = true;
      const emit = (chunk: Uint8Array) => {
        if (!open) throw new GGUFWriteError(`tensor "${t.name}": producer emitted data after it returned`);
        if (!ArrayBuffer.isView(chunk)) throw new GGUFWriteError(`tensor "${t.name}": producer emitted ${show(chunk)}, not bytes`);
        const view = chunk as ArrayBufferView;
        const bytes = chunk instanceof Uint8Array ? chunk : new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
        got += bytes.length;
        if (got > want) throw new GGUFWriteError(`tensor "${t.name}": producer wrote ${got} bytes, more than the ${want} its shape needs`);
        put(bytes);
      };
      try {
        if (typeof t.data === 'function') {
          const r: unknown = t.data(emit);
          if (r !== null && typeof r === 'object' && typeof (r as { then?: unknown }).then === 'function')
            throw new GGUFWriteError(`tensor "${t.name}": the producer returned a promise; producers must be synchronous`);
        } else emit(t.data);
      } finally {
        open = false;
      }
      if (got !== want) throw new GGUFWriteError(`tensor "${t.name}": producer wrote ${got} bytes, its shape needs ${want}`);
      pad();
    });
    ftruncateSync(fd, pos);
    closeSync(fd);
    fd = null;
    renameSync(tmp, path);
  } catch (e) {
    if (fd !== null) {
      try {
        closeSync(fd);
      } catch {
        // already failing; the original error is the one to report
      }
    }
    try {
      unlinkSync(tmp);
    } catch {
      // nothing to remove
    }
    throw e;
  }
}
