// GGUF reader: parses the header (metadata and tensor infos) with full validation, and reads tensor data
// lazily, by byte range, straight from the file. Nothing here ever loads a whole file into memory, and
// every malformed input ends in a GGUFError that names the file, the byte offset and the reason.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { FileCursor, TruncatedError } from './file-cursor.js';
import { bytesFor, typeName, typeTraits, type GGMLType } from './ggml-types.js';
import { Metadata } from './metadata.js';
import { GGUFValueType, SCALAR_SIZES, valueTypeName, type GGUFEntry, type GGUFValue } from './values.js';

export const GGUF_MAGIC = 0x46554747; // "GGUF" little-endian
export const GGUF_DEFAULT_ALIGNMENT = 32;
const MAX_DIMS = 4;
const MAX_ARRAY_NESTING = 16;
const MAX_NAME_BYTES = 1024;

export class GGUFError extends Error {
  constructor(
    readonly file: string,
    readonly offset: number,
    readonly reason: string,
  ) {
    super(`${file}: at byte ${offset}: ${reason}`);
    this.name = 'GGUFError';
  }
}

export interface TensorInfo {
  readonly name: string;
  /** ggml order: dims[0] is the contiguous (row) dimension. */
  readonly dims: readonly number[];
  readonly type: GGMLType;
  /** Offset relative to the start of the data section, as stored. */
  readonly offset: number;
  /** Absolute byte offset in the file. */
  readonly fileOffset: number;
  readonly nbytes: number;
  readonly nelements: number;
}

export interface GGUFHeader {
  readonly version: number;
  readonly metadata: Metadata;
  readonly tensors: readonly TensorInfo[];
  readonly alignment: number;
  readonly dataOffset: number;
  readonly fileSize: number;
}

/** An open GGUF file: the parsed header plus lazy access to tensor bytes. Call close() when done. */
export class GGUFFile implements GGUFHeader {
  private fd: number | null;
  private readonly byName: Map<string, TensorInfo>;

  private constructor(
    readonly path: string,
    fd: number,
    readonly version: number,
    readonly metadata: Metadata,
    readonly tensors: readonly TensorInfo[],
    readonly alignment: number,
    readonly dataOffset: number,
    readonly fileSize: number,
  ) {
    this.fd = fd;
    this.byName = new Map(tensors.map((t) => [t.name, t]));
  }

  static open(path: string): GGUFFile {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (e) {
      throw new GGUFError(path, 0, `cannot open file: ${(e as Error).message}`);
    }
    try {
      const h = parseHeader(path, fd);
      return new GGUFFile(path, fd, h.version, h.metadata, h.tensors, h.alignment, h.dataOffset, h.fileSize);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  tensor(name: string): TensorInfo | undefined {
    return this.byName.get(name);
  }

  requireTensor(name: string): TensorInfo {
    const t = this.byName.get(name);
    if (!t) throw new GGUFError(this.path, 0, `required tensor "${name}" is missing`);
    return t;
  }

  /**
   * Reads `length` bytes of a tensor's data starting `start` bytes into it, into `dst` (or a new buffer).
   * Large tensors are meant to be streamed through this in pieces.
   */
  readTensorBytes(info: TensorInfo, start = 0, length = info.nbytes - start, dst?: Uint8Array): Uint8Array {
    if (this.fd === null) throw new GGUFError(this.path, 0, 'file is closed');
    if (start < 0 || length < 0 || start + length > info.nbytes)
      throw new GGUFError(this.path, info.fileOffset, `read of bytes ${start}..${start + length} is outside tensor "${info.name}" (${info.nbytes} bytes)`);
    const out = dst ?? new Uint8Array(length);
    if (out.length < length) throw new Error('destination buffer too small');
    let got = 0;
    while (got < length) {
      const n = readSync(this.fd, out, got, Math.min(length - got, 1 << 30), info.fileOffset + start + got);
      if (n === 0) throw new GGUFError(this.path, info.fileOffset + start + got, `tensor "${info.name}" data is truncated`);
      got += n;
    }
    return out;
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

/** Reads only the header of a GGUF file (metadata + tensor infos) and closes it. */
export function readGGUFHeader(path: string): GGUFHeader {
  const f = GGUFFile.open(path);
  f.close();
  return f;
}

function parseHeader(path: string, fd: number): GGUFHeader {
  const fileSize = fstatSync(fd).size;
  const c = new FileCursor(fd, fileSize);
  const fail = (offset: number, reason: string): never => {
    throw new GGUFError(path, offset, reason);
  };
  try {
    if (fileSize < 4) fail(0, `not a GGUF file: only ${fileSize} bytes, too short for the magic`);
    const magic = c.u32();
    if (magic !== GGUF_MAGIC) {
      const shown = Buffer.alloc(4);
      shown.writeUInt32LE(magic);
      fail(0, `not a GGUF file: bad magic ${JSON.stringify(shown.toString('latin1'))} (expected "GGUF")`);
    }
    const version = c.u32();
    if (version === 1) fail(4, 'GGUF version 1 is not supported (versions 2 and 3 are)');
    if (version !== 2 && version !== 3) {
      if ((version & 0xffff) === 0 && version !== 0) fail(4, `big-endian GGUF files are not supported (version field reads ${version})`);
      fail(4, `unknown GGUF version ${version} (versions 2 and 3 are supported)`);
    }
    const tensorCountAt = c.pos;
    const tensorCount = toSafe(c.u64(), tensorCountAt, 'tensor count', fail);
    const kvCountAt = c.pos;
    const kvCount = toSafe(c.u64(), kvCountAt, 'metadata count', fail);
    // Each metadata entry needs at least a key length, one key byte and a type tag; each tensor info at
    // least 8+1+4+8+4+8 bytes. Counts beyond that cannot be honest and would make us loop for nothing.
    if (kvCount > c.remaining / 13) fail(kvCountAt, `metadata count ${kvCount} is impossible for a file of ${fileSize} bytes`);
    if (tensorCount > c.remaining / 33) fail(tensorCountAt, `tensor count ${tensorCount} is impossible for a file of ${fileSize} bytes`);

    const entries = new Map<string, GGUFEntry>();
    for (let i = 0; i < kvCount; i++) {
      const keyAt = c.pos;
      const key = readString(c, fail, 'metadata key');
      if (key.length === 0) fail(keyAt, `metadata entry ${i} has an empty key`);
      if (entries.has(key)) fail(keyAt, `duplicate metadata key "${key}"`);
      const typeAt = c.pos;
      const type = c.u32();
      const value = readValue(c, type, typeAt, key, 0, fail);
      entries.set(key, { type, value });
    }
    const metadata = new Metadata(entries);

    let alignment = GGUF_DEFAULT_ALIGNMENT;
    const al = entries.get('general.alignment');
    if (al) {
      if (al.type !== GGUFValueType.UINT32) fail(0, `general.alignment must be a UINT32, found ${valueTypeName(al.type)}`);
      const a = al.value as number;
      if (a === 0 || (a & (a - 1)) !== 0) fail(0, `general.alignment ${a} is not a power of two`);
      alignment = a;
    }

    const raw: { name: string; dims: number[]; type: number; offset: number; at: number; nelements: number; nbytes: number }[] = [];
    const names = new Set<string>();
    for (let i = 0; i < tensorCount; i++) {
      const at = c.pos;
      const name = readString(c, fail, 'tensor name');
      if (name.length === 0) fail(at, `tensor ${i} has an empty name`);
      if (names.has(name)) fail(at, `duplicate tensor name "${name}"`);
      names.add(name);
      const ndAt = c.pos;
      const nDims = c.u32();
      if (nDims < 1 || nDims > MAX_DIMS) fail(ndAt, `tensor "${name}" has ${nDims} dimensions (1 to ${MAX_DIMS} allowed)`);
      const dims: number[] = [];
      let n = 1n;
      for (let d = 0; d < nDims; d++) {
        const dAt = c.pos;
        const v = c.u64();
        if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(dAt, `tensor "${name}" dimension ${d} is ${v}, too large`);
        n *= v;
        if (n > BigInt(Number.MAX_SAFE_INTEGER)) fail(dAt, `tensor "${name}" element count overflows (dimensions ${[...dims, v].join(' x ')})`);
        dims.push(Number(v));
      }
      const typeAt = c.pos;
      const type = c.u32();
      const traits = typeTraits(type);
      if (!traits) fail(typeAt, `tensor "${name}" has unknown or unsupported type ${type}`);
      if (dims[0]! % traits!.blockSize !== 0)
        fail(typeAt, `tensor "${name}" row length ${dims[0]} is not a multiple of the ${traits!.name} block size ${traits!.blockSize}`);
      const offAt = c.pos;
      const offset = toSafe(c.u64(), offAt, `tensor "${name}" offset`, fail);
      if (offset % alignment !== 0) fail(offAt, `tensor "${name}" data offset ${offset} is not a multiple of the alignment ${alignment}`);
      const nelements = Number(n);
      const nbytes = bytesFor(type, nelements)!;
      raw.push({ name, dims, type, offset, at, nelements, nbytes });
    }

    const dataOffset = Math.ceil(c.pos / alignment) * alignment;
    const tensors: TensorInfo[] = raw.map((r) => {
      const fileOffset = dataOffset + r.offset;
      if (fileOffset + r.nbytes > fileSize)
        fail(r.at, `tensor "${r.name}" data (${r.nbytes} bytes at byte ${fileOffset}) is out of bounds: the file has ${fileSize} bytes`);
      return { name: r.name, dims: r.dims, type: r.type as GGMLType, offset: r.offset, fileOffset, nbytes: r.nbytes, nelements: r.nelements };
    });
    const sorted = [...tensors].sort((a, b) => a.offset - b.offset);
    for (let i = 1; i < sorted.length; i++) {
      const prev = sorted[i - 1]!;
      const cur = sorted[i]!;
      if (cur.offset < prev.offset + prev.nbytes)
        fail(cur.fileOffset, `tensor "${cur.name}" data overlaps tensor "${prev.name}"`);
    }
    return { version, metadata, tensors, alignment, dataOffset, fileSize };
  } catch (e) {
    if (e instanceof TruncatedError) throw new GGUFError(path, e.offset, `truncated header: needed ${e.wanted} more bytes but the file ends at byte ${e.fileSize}`);
    throw e;
  }
}

type Fail = (offset: number, reason: string) => never;

function toSafe(v: bigint, at: number, what: string, fail: Fail): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(at, `${what} ${v} is too large`);
  return Number(v);
}

function readString(c: FileCursor, fail: Fail, what: string): string {
  const at = c.pos;
  const len = c.u64();
  if (len > BigInt(c.remaining)) fail(at, `${what} length ${len} runs past the end of the file (${c.remaining} bytes left)`);
  if (what !== 'metadata string' && len > BigInt(MAX_NAME_BYTES)) fail(at, `${what} length ${len} is too long (max ${MAX_NAME_BYTES})`);
  return c.utf8(Number(len));
}

function readValue(c: FileCursor, type: number, at: number, key: string, depth: number, fail: Fail): GGUFValue {
  switch (type) {
    case GGUFValueType.UINT8: return c.u8();
    case GGUFValueType.INT8: return c.i8();
    case GGUFValueType.UINT16: return c.u16();
    case GGUFValueType.INT16: return c.i16();
    case GGUFValueType.UINT32: return c.u32();
    case GGUFValueType.INT32: return c.i32();
    case GGUFValueType.FLOAT32: return c.f32();
    case GGUFValueType.FLOAT64: return c.f64();
    case GGUFValueType.UINT64: return c.u64();
    case GGUFValueType.INT64: return c.i64();
    case GGUFValueType.BOOL: {
      const b = c.u8();
      if (b > 1) fail(c.pos - 1, `metadata "${key}": boolean byte is ${b} (must be 0 or 1)`);
      return b === 1;
    }
    case GGUFValueType.STRING: return readString(c, fail, 'metadata string');
    case GGUFValueType.ARRAY: {
      if (depth >= MAX_ARRAY_NESTING) fail(at, `metadata "${key}": arrays nested deeper than ${MAX_ARRAY_NESTING}`);
      const itemAt = c.pos;
      const itemType = c.u32();
      if (valueTypeName(itemType).startsWith('unknown')) fail(itemAt, `metadata "${key}": unknown array item type ${itemType}`);
      const countAt = c.pos;
      const count = c.u64();
      const minItem = SCALAR_SIZES[itemType as GGUFValueType] ?? (itemType === GGUFValueType.STRING ? 8 : 12);
      if (count * BigInt(minItem) > BigInt(c.remaining))
        fail(countAt, `metadata "${key}": array of ${count} ${valueTypeName(itemType)} items cannot fit in the ${c.remaining} bytes left`);
      const n = Number(count);
      const items: GGUFValue[] = new Array(n);
      for (let i = 0; i < n; i++) items[i] = readValue(c, itemType, itemAt, key, depth + 1, fail);
      return { itemType, items };
    }
    default:
      return fail(at, `metadata "${key}": unknown value type ${type}`);
  }
}

export function describeTensor(t: TensorInfo): string {
  return `${t.name} ${typeName(t.type)} [${t.dims.join(', ')}]`;
}
