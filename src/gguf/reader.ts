// GGUF reader: parses the header (metadata and tensor infos) with full validation, and reads tensor data
// lazily, by byte range, straight from the file. Nothing here ever loads a whole file into memory, and
// every malformed input ends in a GGUFError that names the file, the byte offset and the reason.
import { closeSync, fstatSync, openSync, statSync } from 'node:fs';
import { FileCursor, FileReadError, readFully, TruncatedError } from './file-cursor.js';
import { bytesFor, typeName, typeTraits, type GGMLType } from './ggml-types.js';
import { Metadata } from './metadata.js';
import { GGUFValueType, SCALAR_SIZES, valueTypeName, type GGUFArray, type GGUFEntry, type GGUFValue } from './values.js';

export const GGUF_MAGIC = 0x46554747; // "GGUF" little-endian
export const GGUF_DEFAULT_ALIGNMENT = 32;
/** ggml tensors have at most 4 dimensions. */
export const GGUF_MAX_DIMS = 4;
/** Levels of arrays inside arrays a metadata value may have (a plain array is one level). */
export const GGUF_MAX_ARRAY_NESTING = 16;
/** llama.cpp keeps tensor names in a 64-byte buffer with a terminating NUL (GGML_MAX_NAME), so 63 bytes. */
export const GGUF_MAX_TENSOR_NAME_BYTES = 63;
/** The GGUF spec limits keys to 2^16 - 1 bytes. */
export const GGUF_MAX_KEY_BYTES = 65535;
/** The longest string V8 can hold; llama.cpp's own limit (1 GiB) is larger. */
export const GGUF_MAX_STRING_BYTES = (1 << 29) - 24;
/** More items than any honest file has (vocabularies are ~2^18); a JS array this long already takes >128 MB. */
export const GGUF_MAX_ARRAY_ITEMS = 1 << 24;

const MAX_DIMS = GGUF_MAX_DIMS;
/** key length (8) + at least one key byte + type tag (4) + the smallest value (1). */
const MIN_KV_BYTES = 14;
/** name length (8) + one name byte + n_dims (4) + one dimension (8) + type (4) + offset (8). */
const MIN_TENSOR_INFO_BYTES = 33;

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
    // Refuse anything but a regular file before opening it: opening a FIFO for reading blocks forever.
    let kind: string;
    try {
      kind = fileKind(statSync(path));
    } catch (e) {
      throw new GGUFError(path, 0, `cannot open file: ${(e as Error).message}`);
    }
    if (kind !== 'file') throw new GGUFError(path, 0, `cannot open file: it is ${kind}, not a regular file`);
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (e) {
      throw new GGUFError(path, 0, `cannot open file: ${(e as Error).message}`);
    }
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) throw new GGUFError(path, 0, `cannot open file: it is ${fileKind(st)}, not a regular file`);
      const h = new HeaderParser(path, fd, st.size).parse();
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
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(length) || start < 0 || length < 0 || start + length > info.nbytes)
      throw new GGUFError(this.path, info.fileOffset, `read of bytes ${start}..${start + length} is outside tensor "${info.name}" (${info.nbytes} bytes)`);
    const out = dst ?? new Uint8Array(length);
    if (out.length < length) throw new RangeError(`destination buffer too small: ${out.length} bytes for a read of ${length}`);
    let got: number;
    try {
      got = readFully(this.fd, out, 0, length, info.fileOffset + start);
    } catch (e) {
      if (e instanceof FileReadError) throw new GGUFError(this.path, e.offset, `tensor "${info.name}": read error: ${e.error.message}`);
      throw e;
    }
    if (got < length) throw new GGUFError(this.path, info.fileOffset + start + got, `tensor "${info.name}" data is truncated (the file shrank after it was opened?)`);
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

function fileKind(st: { isFile(): boolean; isDirectory(): boolean; isFIFO(): boolean; isSocket(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean }): string {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}

/** A key or name as shown in messages: quoted, escaped, and cut short if long. */
function q(s: string): string {
  return JSON.stringify(s.length > 80 ? `${s.slice(0, 77)}...` : s);
}

const OLD_MAGICS: ReadonlyMap<number, string> = new Map([
  [0x67676d6c, 'ggml'],
  [0x67676d66, 'ggmf'],
  [0x67676a74, 'ggjt'],
  [0x67676c61, 'ggla'],
]);

interface RawTensor {
  readonly name: string;
  readonly dims: number[];
  readonly type: GGMLType;
  readonly offset: number;
  /** Where its tensor info starts in the file. */
  readonly at: number;
  readonly nelements: number;
  readonly nbytes: number;
}

/**
 * Parses and validates the header. Each check runs before anything is allocated on the strength of a
 * number read from the file, so a lying count or length fails fast instead of allocating or looping.
 */
class HeaderParser {
  private readonly c: FileCursor;
  /** What is being read, for the message if the file ends in the middle of it. */
  private what = 'the magic';

  constructor(
    private readonly path: string,
    fd: number,
    private readonly fileSize: number,
  ) {
    this.c = new FileCursor(fd, fileSize);
  }

  private fail(offset: number, reason: string): never {
    throw new GGUFError(this.path, offset, reason);
  }

  private truncated(e: TruncatedError, what: string): never {
    this.fail(e.offset, `file is truncated: ${what} needs ${e.wanted} bytes but the file ends at byte ${e.fileSize}`);
  }

  parse(): GGUFHeader {
    try {
      return this.parseAll();
    } catch (e) {
      if (e instanceof TruncatedError) this.truncated(e, this.what);
      if (e instanceof FileReadError) this.fail(e.offset, `read error: ${e.error.message}`);
      throw e;
    }
  }

  /** The u64 that ends at the cursor, for messages about values too large for a number. */
  private lastU64(): bigint {
    this.c.pos -= 8;
    return this.c.u64();
  }

  private parseAll(): GGUFHeader {
    const c = this.c;
    const fileSize = this.fileSize;
    if (fileSize === 0) this.fail(0, 'not a GGUF file: the file is empty');
    if (fileSize < 4) this.fail(0, `not a GGUF file: ${fileSize} bytes is too short even for the magic "GGUF"`);
    const magic = c.u32();
    if (magic !== GGUF_MAGIC) {
      const bytes = Buffer.alloc(4);
      bytes.writeUInt32LE(magic);
      const old = OLD_MAGICS.get(magic);
      const hint = old ? `; this looks like a pre-GGUF "${old}" file, convert it with llama.cpp` : '';
      this.fail(0, `not a GGUF file: bad magic ${JSON.stringify(bytes.toString('latin1'))} (bytes ${bytes.toString('hex').replace(/(..)(?!$)/g, '$1 ')}), expected "GGUF"${hint}`);
    }
    this.what = 'the version';
    const version = c.u32();
    if (version !== 2 && version !== 3) {
      if (version === 0) this.fail(4, 'GGUF version 0 is invalid (versions 2 and 3 are supported)');
      if (version === 1) this.fail(4, 'GGUF version 1 is not supported (versions 2 and 3 are)');
      if ((version & 0xffff) === 0)
        this.fail(4, `GGUF version field reads ${version} (0x${version.toString(16).padStart(8, '0')}): this looks like a big-endian file, which is not supported`);
      this.fail(4, `unknown GGUF version ${version} (versions 2 and 3 are supported)`);
    }

    this.what = 'the tensor count';
    const tensorCountAt = c.pos;
    const tensorCountBig = c.u64();
    this.what = 'the metadata count';
    const kvCountAt = c.pos;
    const kvCountBig = c.u64();
    // Every entry and tensor info has a minimum size; counts beyond what the rest of the file can hold
    // cannot be honest, and checking them here keeps the loops below from running on a lie.
    const left = BigInt(c.remaining);
    if (kvCountBig * BigInt(MIN_KV_BYTES) > left)
      this.fail(kvCountAt, `metadata count ${kvCountBig} is impossible: each entry takes at least ${MIN_KV_BYTES} bytes and only ${plural(Number(left), 'byte')} follow`);
    if (tensorCountBig * BigInt(MIN_TENSOR_INFO_BYTES) > left)
      this.fail(tensorCountAt, `tensor count ${tensorCountBig} is impossible: each tensor info takes at least ${MIN_TENSOR_INFO_BYTES} bytes and only ${plural(Number(left), 'byte')} follow`);
    const kvCount = Number(kvCountBig);
    const tensorCount = Number(tensorCountBig);

    const entries = new Map<string, GGUFEntry>();
    let alignment = GGUF_DEFAULT_ALIGNMENT;
    for (let i = 0; i < kvCount; i++) {
      const keyAt = c.pos;
      this.what = `the key of metadata entry ${i}`;
      const key = this.readString(GGUF_MAX_KEY_BYTES, `metadata entry ${i}: key`);
      if (key.length === 0) this.fail(keyAt, `metadata entry ${i} has an empty key`);
      if (entries.has(key)) this.fail(keyAt, `duplicate metadata key ${q(key)}`);
      const typeAt = c.pos;
      this.what = `metadata ${q(key)}: the value type`;
      const type = c.u32();
      this.what = `metadata ${q(key)}: the value`;
      const value = this.readValue(type, typeAt, key);
      if (key === 'general.alignment') {
        // Same rule as llama.cpp: a UINT32 power of two (1 included). The GGUF spec asks writers for a
        // multiple of 8, but llama.cpp reads any power of two, so refusing 1, 2 or 4 would only lose files.
        if (type !== GGUFValueType.UINT32) this.fail(typeAt, `general.alignment must be a UINT32, found ${valueTypeName(type)}`);
        const a = value as number;
        if (a === 0 || (a & (a - 1)) !== 0) this.fail(typeAt + 4, `general.alignment ${a} is not a power of two`);
        alignment = a;
      }
      entries.set(key, { type, value });
    }
    const metadata = new Metadata(entries);

    const raw: RawTensor[] = [];
    const names = new Set<string>();
    for (let i = 0; i < tensorCount; i++) raw.push(this.readTensorInfo(i, names, alignment));

    const dataOffset = Math.ceil(c.pos / alignment) * alignment;
    const tensors: TensorInfo[] = raw.map((r) => {
      const fileOffset = dataOffset + r.offset;
      if (fileOffset + r.nbytes > fileSize)
        this.fail(r.at, `tensor ${q(r.name)}: its data (${r.nbytes} bytes at byte ${fileOffset}) runs past the end of the file (${fileSize} bytes)`);
      return { name: r.name, dims: r.dims, type: r.type, offset: r.offset, fileOffset, nbytes: r.nbytes, nelements: r.nelements };
    });
    // Tensors may be stored in any order; sort by offset (stably) and compare each with the furthest end
    // seen so far. Zero-byte tensors occupy nothing and overlap nothing.
    const order = raw.map((_, i) => i).filter((i) => raw[i]!.nbytes > 0);
    order.sort((a, b) => raw[a]!.offset - raw[b]!.offset || a - b);
    let last = -1;
    let lastEnd = 0;
    for (const i of order) {
      const r = raw[i]!;
      if (last >= 0 && r.offset < lastEnd) {
        const p = raw[last]!;
        this.fail(
          r.at,
          `tensor ${q(r.name)}: its data (bytes ${dataOffset + r.offset}..${dataOffset + r.offset + r.nbytes}) overlaps tensor ${q(p.name)} (bytes ${dataOffset + p.offset}..${dataOffset + p.offset + p.nbytes})`,
        );
      }
      if (r.offset + r.nbytes > lastEnd) {
        lastEnd = r.offset + r.nbytes;
        last = i;
      }
    }
    return { version, metadata, tensors, alignment, dataOffset, fileSize };
  }

  /** A u64-length-prefixed UTF-8 string of at most `max` bytes; `label`(+` index`) names it in messages. */
  private readString(max: number, label: string, index = -1): string {
    const c = this.c;
    const at = c.pos;
    const len = c.u64Safe();
    if (len < 0 || len > c.remaining) {
      const shown = len < 0 ? this.lastU64() : len;
      this.fail(at, `${label}${index >= 0 ? ` ${index}` : ''} length ${shown} runs past the end of the file (${plural(c.remaining, 'byte')} left)`);
    }
    if (len > max) this.fail(at, `${label}${index >= 0 ? ` ${index}` : ''} length ${len} is too long (at most ${max} bytes)`);
    return c.utf8(len);
  }

  private readBool(key: string, index = -1): boolean {
    const b = this.c.u8();
    if (b > 1) this.fail(this.c.pos - 1, `metadata ${q(key)}: ${index >= 0 ? `item ${index}: ` : ''}boolean byte is ${b} (must be 0 or 1)`);
    return b === 1;
  }

  private readValue(type: number, at: number, key: string): GGUFValue {
    const c = this.c;
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
      case GGUFValueType.BOOL: return this.readBool(key);
      case GGUFValueType.STRING: return this.readString(GGUF_MAX_STRING_BYTES, `metadata ${q(key)}: string`);
      case GGUFValueType.ARRAY: return this.readArray(key, 1);
      default:
        return this.fail(at, `metadata ${q(key)}: unknown value type ${type}`);
    }
  }

  /** An array's item type, count and items; `level` is 1 for a metadata value, 2 inside it, ... */
  private readArray(key: string, level: number): GGUFArray {
    const c = this.c;
    const at = c.pos;
    if (level > GGUF_MAX_ARRAY_NESTING) this.fail(at, `metadata ${q(key)}: arrays nested more than ${GGUF_MAX_ARRAY_NESTING} levels deep`);
    const itemType = c.u32();
    if (itemType > GGUFValueType.FLOAT64) this.fail(at, `metadata ${q(key)}: array of unknown item type ${itemType}`);
    const countAt = c.pos;
    const n = c.u64Safe();
    // Strings take at least their 8-byte length, nested arrays their 4-byte type and 8-byte count.
    const minItem = SCALAR_SIZES[itemType as GGUFValueType] ?? (itemType === GGUFValueType.STRING ? 8 : 12);
    if (n < 0 || n * minItem > c.remaining) {
      const shown = n < 0 ? this.lastU64() : n;
      this.fail(countAt, `metadata ${q(key)}: array of ${shown} ${valueTypeName(itemType)} items cannot fit in the ${plural(c.remaining, 'byte')} left`);
    }
    if (n > GGUF_MAX_ARRAY_ITEMS) this.fail(countAt, `metadata ${q(key)}: array of ${n} items is too long (at most ${GGUF_MAX_ARRAY_ITEMS})`);
    const items: GGUFValue[] = new Array<GGUFValue>(n);
    let i = 0;
    try {
      switch (itemType) {
        case GGUFValueType.UINT8: for (; i < n; i++) items[i] = c.u8(); break;
        case GGUFValueType.INT8: for (; i < n; i++) items[i] = c.i8(); break;
        case GGUFValueType.UINT16: for (; i < n; i++) items[i] = c.u16(); break;
        case GGUFValueType.INT16: for (; i < n; i++) items[i] = c.i16(); break;
        case GGUFValueType.UINT32: for (; i < n; i++) items[i] = c.u32(); break;
        case GGUFValueType.INT32: for (; i < n; i++) items[i] = c.i32(); break;
        case GGUFValueType.FLOAT32: for (; i < n; i++) items[i] = c.f32(); break;
        case GGUFValueType.FLOAT64: for (; i < n; i++) items[i] = c.f64(); break;
        case GGUFValueType.UINT64: for (; i < n; i++) items[i] = c.u64(); break;
        case GGUFValueType.INT64: for (; i < n; i++) items[i] = c.i64(); break;
        case GGUFValueType.BOOL: for (; i < n; i++) items[i] = this.readBool(key, i); break;
        case GGUFValueType.STRING: {
          const label = `metadata ${q(key)}: string item`;
          for (; i < n; i++) items[i] = this.readString(GGUF_MAX_STRING_BYTES, label, i);
          break;
        }
        case GGUFValueType.ARRAY: for (; i < n; i++) items[i] = this.readArray(key, level + 1); break;
      }
    } catch (e) {
      // Only a file that shrank while we read it gets here: the size checks above cover honest truncation.
      if (e instanceof TruncatedError) this.truncated(e, `metadata ${q(key)}: item ${i} of the ${n}-item ${valueTypeName(itemType)} array`);
      throw e;
    }
    return { itemType, items };
  }

  private readTensorInfo(i: number, names: Set<string>, alignment: number): RawTensor {
    const c = this.c;
    const at = c.pos;
    this.what = `the name of tensor ${i}`;
    const name = this.readString(GGUF_MAX_TENSOR_NAME_BYTES, `tensor ${i}: name`);
    if (name.length === 0) this.fail(at, `tensor ${i} has an empty name`);
    if (names.has(name)) this.fail(at, `duplicate tensor name ${q(name)}`);
    names.add(name);
    const tn = `tensor ${q(name)}`;
    this.what = `${tn}: the number of dimensions`;
    const ndAt = c.pos;
    const nDims = c.u32();
    if (nDims < 1 || nDims > MAX_DIMS) this.fail(ndAt, `${tn} has ${nDims} dimensions (1 to ${MAX_DIMS} allowed)`);
    this.what = `${tn}: a dimension`;
    const dims: number[] = [];
    let n = 1;
    for (let d = 0; d < nDims; d++) {
      const dAt = c.pos;
      const v = c.u64Safe();
      if (v < 0) this.fail(dAt, `${tn}: dimension ${d} is ${this.lastU64()}, too large`);
      dims.push(v);
      n *= v;
      // Exact products up to 2^53 are exact in doubles, and a larger one cannot round below 2^53.
      if (n > Number.MAX_SAFE_INTEGER) this.fail(dAt, `${tn}: dimensions ${dims.join(' x ')} make more than 2^53 elements`);
    }
    this.what = `${tn}: the type`;
    const typeAt = c.pos;
    const type = c.u32();
    const traits = typeTraits(type);
    if (!traits) this.fail(typeAt, `${tn} has unknown or unsupported ggml type ${type}`);
    if (dims[0]! % traits.blockSize !== 0)
      this.fail(typeAt, `${tn}: row length ${dims[0]} is not a multiple of the ${traits.name} block size ${traits.blockSize}`);
    this.what = `${tn}: the data offset`;
    const offAt = c.pos;
    const offset = c.u64Safe();
    if (offset < 0) this.fail(offAt, `${tn}: data offset ${this.lastU64()} is too large`);
    if (offset % alignment !== 0) this.fail(offAt, `${tn}: data offset ${offset} is not a multiple of the alignment ${alignment}`);
    const nbytes = bytesFor(type, n)!;
    return { name, dims, type: type as GGMLType, offset, at, nelements: n, nbytes };
  }
}

export function describeTensor(t: TensorInfo): string {
  return `${t.name} ${typeName(t.type)} [${t.dims.join(', ')}]`;
}
