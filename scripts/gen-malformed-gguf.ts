// Generates the malformed-GGUF corpus in test/fixtures/gguf-malformed/: small hand-built files that each
// break one rule of the format, plus manifest.json with the error every one must produce (a substring of
// the reason and the exact byte offset). test/gguf/malformed-corpus.test.ts opens every file and checks
// that GGUFFile.open fails with exactly that, and that the committed files match this generator.
//
//   node --import tsx scripts/gen-malformed-gguf.ts
//
// The files are built byte by byte (not with src/gguf/writer.ts, which refuses to write most of them),
// and each marks the offset where the reader must report the problem.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const CORPUS_DIR = fileURLToPath(new URL('../test/fixtures/gguf-malformed/', import.meta.url));

// Type tags, spelled out so the corpus does not depend on the code it tests.
export const T = {
  U8: 0, I8: 1, U16: 2, I16: 3, U32: 4, I32: 5, F32: 6, BOOL: 7, STRING: 8, ARRAY: 9, U64: 10, I64: 11, F64: 12,
} as const;
export const G = { F32: 0, F16: 1, Q8_0: 8, Q4_K: 12, IQ2_XXS: 16 } as const;

/** A growable little-endian byte buffer that remembers named offsets. */
export class Bytes {
  private buf = Buffer.alloc(256);
  length = 0;
  readonly marks = new Map<string, number>();

  private room(n: number): number {
    if (this.length + n > this.buf.length) {
      const next = Buffer.alloc(Math.max(this.buf.length * 2, this.length + n));
      this.buf.copy(next, 0, 0, this.length);
      this.buf = next;
    }
    const at = this.length;
    this.length += n;
    return at;
  }
  /** Remembers the current offset under `name`. */
  mark(name: string): this {
    this.marks.set(name, this.length);
    return this;
  }
  at(name: string): number {
    const v = this.marks.get(name);
    if (v === undefined) throw new Error(`no mark "${name}"`);
    return v;
  }
  u8(v: number): this { const at = this.room(1); this.buf.writeUInt8(v, at); return this; }
  u16(v: number): this { const at = this.room(2); this.buf.writeUInt16LE(v, at); return this; }
  u32(v: number): this { const at = this.room(4); this.buf.writeUInt32LE(v >>> 0, at); return this; }
  u32be(v: number): this { const at = this.room(4); this.buf.writeUInt32BE(v >>> 0, at); return this; }
  u64(v: number | bigint): this { const at = this.room(8); this.buf.writeBigUInt64LE(BigInt.asUintN(64, BigInt(v)), at); return this; }
  u64be(v: number | bigint): this { const at = this.room(8); this.buf.writeBigUInt64BE(BigInt.asUintN(64, BigInt(v)), at); return this; }
  f32(v: number): this { const at = this.room(4); this.buf.writeFloatLE(v, at); return this; }
  raw(b: Uint8Array | string): this {
    const bytes = typeof b === 'string' ? Buffer.from(b, 'latin1') : b;
    const at = this.room(bytes.length);
    this.buf.set(bytes, at);
    return this;
  }
  zeros(n: number): this { const at = this.room(n); this.buf.fill(0, at, this.length); return this; }
  /** A GGUF string: u64 byte length, then UTF-8 bytes. */
  str(s: string): this {
    const b = Buffer.from(s, 'utf8');
    return this.u64(b.length).raw(b);
  }
  /** Zero padding up to a multiple of `alignment`. */
  align(alignment: number): this { return this.zeros((alignment - (this.length % alignment)) % alignment); }
  /** The header: magic, version, tensor count, metadata count. */
  header(tensors: number | bigint, kvs: number | bigint, version = 3): this {
    return this.raw('GGUF').u32(version).u64(tensors).u64(kvs);
  }
  /** A metadata key and its type tag; the caller writes the value. Marks "<key>" at the key, "<key>:type" and "<key>:value". */
  kv(key: string, type: number): this {
    return this.mark(key).str(key).mark(`${key}:type`).u32(type).mark(`${key}:value`);
  }
  /** A tensor info. Marks "t:<name>" at its start and "t:<name>:ndims", ":dim<i>", ":type", ":offset". */
  tensor(name: string, dims: readonly (number | bigint)[], type: number, offset: number | bigint): this {
    this.mark(`t:${name}`).str(name).mark(`t:${name}:ndims`).u32(dims.length);
    dims.forEach((d, i) => this.mark(`t:${name}:dim${i}`).u64(d));
    return this.mark(`t:${name}:type`).u32(type).mark(`t:${name}:offset`).u64(offset);
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.buf.subarray(0, this.length));
  }
  /** The first `n` bytes (a truncated copy). */
  cut(n: number): Uint8Array {
    return this.bytes().subarray(0, n);
  }
}

export interface MalformedCase {
  /** File name in the corpus directory. */
  readonly file: string;
  /** What is wrong with it. */
  readonly description: string;
  /** The byte offset the error must name. */
  readonly offset: number;
  /** A substring of the error's reason. */
  readonly error: string;
  readonly bytes: Uint8Array;
}

/** A small valid file to start from: two metadata entries and two F32 tensors, 32-byte aligned. */
function validPrefix(): Bytes {
  const b = new Bytes().header(2, 2);
  b.kv('general.architecture', T.STRING).str('test');
  b.kv('test.block_count', T.U32).u32(1);
  b.tensor('a', [8], G.F32, 0);
  b.tensor('b', [4, 2], G.F32, 32);
  b.align(32).mark('data').zeros(64);
  return b;
}

export function malformedCases(): MalformedCase[] {
  const cases: MalformedCase[] = [];
  const add = (file: string, description: string, b: Bytes | Uint8Array, offset: number, error: string) =>
    cases.push({ file: `${file}.gguf`, description, offset, error, bytes: b instanceof Bytes ? b.bytes() : b });

  // ---- magic and version ----
  add('empty', 'an empty file', new Uint8Array(0), 0, 'not a GGUF file: the file is empty');
  add('three-bytes', 'only 3 bytes: "GGU"', new Bytes().raw('GGU'), 0, '3 bytes is too short even for the magic');
  add('bad-magic', 'magic "GGML" instead of "GGUF"', new Bytes().raw('GGML').u32(3).u64(0).u64(0), 0, 'bad magic "GGML"');
  add('old-ggjt-magic', 'a pre-GGUF llama.cpp file ("ggjt" magic as a little-endian u32)', new Bytes().u32(0x67676a74).u32(3).zeros(32), 0, 'pre-GGUF "ggjt" file');
  add('version-0', 'version 0', new Bytes().header(0, 0, 0), 4, 'GGUF version 0 is invalid');
  add('version-1', 'version 1 (GGUFv1 used 32-bit counts and is not supported)', new Bytes().raw('GGUF').u32(1).u32(0).u32(0), 4, 'GGUF version 1 is not supported');
  add('version-4', 'version 4, from the future', new Bytes().header(0, 0, 4), 4, 'unknown GGUF version 4');
  add('version-huge', 'version 0xFFFFFFFF', new Bytes().header(0, 0, 0xffffffff), 4, 'unknown GGUF version 4294967295');
  add('big-endian', 'a big-endian v3 file: the version field reads 0x03000000', new Bytes().raw('GGUF').u32be(3).u64be(0).u64be(0), 4, 'big-endian');

  // ---- the counts ----
  add('truncated-in-tensor-count', 'the file ends inside the tensor count', new Bytes().raw('GGUF').u32(3).u32(0), 8,
    'file is truncated: the tensor count needs 8 bytes but the file ends at byte 12');
  add('truncated-in-kv-count', 'the file ends inside the metadata count', new Bytes().raw('GGUF').u32(3).u64(0).u32(0), 16,
    'file is truncated: the metadata count needs 8 bytes but the file ends at byte 20');
  {
    const b = new Bytes().header(1_000_000, 0).zeros(100);
    add('tensor-count-impossible', 'a million tensors in a 124-byte file', b, 8, 'tensor count 1000000 is impossible: each tensor info takes at least 33 bytes and only 100 bytes follow');
  }
  {
    const b = new Bytes().header(-1n, 0).zeros(40);
    add('tensor-count-max', 'tensor count 2^64 - 1', b, 8, 'tensor count 18446744073709551615 is impossible');
  }
  {
    const b = new Bytes().header(0, 2n ** 40n);
    b.kv('general.architecture', T.STRING).str('test');
    add('kv-count-impossible', 'metadata count 2^40 with one entry present', b, 16, 'metadata count 1099511627776 is impossible: each entry takes at least 14 bytes');
  }

  // ---- metadata keys ----
  {
    const b = new Bytes().header(0, 1).u64(100).raw('general.a');
    add('key-length-past-eof', 'a key length of 100 with 9 bytes left', b, 24, 'metadata entry 0: key length 100 runs past the end of the file (9 bytes left)');
  }
  {
    const b = new Bytes().header(0, 1).u64(2n ** 63n).raw('general.architecture').u32(T.U8).u8(0);
    add('key-length-2p63', 'a key length of 2^63', b, 24, 'metadata entry 0: key length 9223372036854775808 runs past the end of the file');
  }
  {
    const b = new Bytes().header(0, 1).u64(0).u32(T.U32).u32(7);
    add('empty-key', 'a metadata entry with an empty key', b, 24, 'metadata entry 0 has an empty key');
  }
  {
    const b = new Bytes().header(0, 3);
    b.kv('general.architecture', T.STRING).str('test');
    b.kv('test.context_length', T.U32).u32(4096);
    b.kv('general.architecture', T.STRING).str('other');
    // Marks are overwritten, so this is the second occurrence.
    add('duplicate-key', 'the same key twice', b, b.at('general.architecture'), 'duplicate metadata key "general.architecture"');
  }

  // ---- metadata values ----
  {
    const b = new Bytes().header(0, 1).kv('test.value', 13).u32(0);
    add('unknown-value-type', 'value type 13 (types end at 12)', b, b.at('test.value:type'), 'metadata "test.value": unknown value type 13');
  }
  {
    const b = new Bytes().header(0, 1).kv('test.flag', 0xffffffff).u32(0);
    add('value-type-max', 'value type 0xFFFFFFFF', b, b.at('test.flag:type'), 'metadata "test.flag": unknown value type 4294967295');
  }
  {
    const b = new Bytes().header(0, 2);
    b.kv('test.ok', T.BOOL).u8(1);
    b.kv('test.flag', T.BOOL).u8(2);
    add('bool-byte-2', 'a BOOL whose byte is 2', b, b.at('test.flag:value'), 'metadata "test.flag": boolean byte is 2 (must be 0 or 1)');
  }
  {
    const b = new Bytes().header(0, 1).kv('general.name', T.STRING).u64(1000).raw('short');
    add('string-length-past-eof', 'a string value of 1000 bytes with 5 left', b, b.at('general.name:value'), 'metadata "general.name": string length 1000 runs past the end of the file (5 bytes left)');
  }
  {
    const b = new Bytes().header(0, 1).kv('general.name', T.STRING).u64(-1n).raw('x');
    add('string-length-max', 'a string value of length 2^64 - 1', b, b.at('general.name:value'), 'metadata "general.name": string length 18446744073709551615 runs past the end of the file');
  }

  // ---- arrays ----
  {
    const b = new Bytes().header(0, 1).kv('test.bytes', T.ARRAY).mark('items').u32(T.U8).mark('count').u64(2n ** 40n).zeros(64);
    add('array-u8-count-2p40', 'a UINT8 array claiming 2^40 items', b, b.at('count'), 'metadata "test.bytes": array of 1099511627776 UINT8 items cannot fit in the 64 bytes left');
  }
  {
    const b = new Bytes().header(0, 1).kv('tokenizer.ggml.tokens', T.ARRAY).u32(T.STRING).mark('count').u64(2n ** 40n);
    b.str('<unk>').str('<s>').str('</s>');
    add('array-string-count-2p40', 'a STRING array (the vocabulary) claiming 2^40 items', b, b.at('count'),
      'metadata "tokenizer.ggml.tokens": array of 1099511627776 STRING items cannot fit in the 36 bytes left');
  }
  {
    const b = new Bytes().header(0, 1).kv('test.ints', T.ARRAY).u32(T.U32).mark('count').u64(-1n).zeros(16);
    add('array-count-max', 'a UINT32 array claiming 2^64 - 1 items', b, b.at('count'), 'metadata "test.ints": array of 18446744073709551615 UINT32 items cannot fit in the 16 bytes left');
  }
  {
    const b = new Bytes().header(0, 1).kv('test.things', T.ARRAY).mark('items').u32(13).u64(1).u32(0);
    add('array-unknown-item-type', 'an array of item type 13', b, b.at('items'), 'metadata "test.things": array of unknown item type 13');
  }
  {
    // 17 arrays, each holding the next; the innermost is an empty u8 array.
    const b = new Bytes().header(0, 1).kv('test.nested', T.ARRAY);
    for (let level = 1; level <= 17; level++) {
      b.mark(`level${level}`);
      if (level < 17) b.u32(T.ARRAY).u64(1);
      else b.u32(T.U8).u64(0);
    }
    add('array-nested-17-levels', 'arrays nested 17 levels deep (16 allowed)', b, b.at('level17'), 'metadata "test.nested": arrays nested more than 16 levels deep');
  }
  {
    const b = new Bytes().header(0, 1).kv('test.ints', T.ARRAY).u32(T.U32).mark('count').u64(10);
    for (let i = 0; i < 5; i++) b.u32(i);
    add('array-truncated-mid', 'a 10-item UINT32 array cut after 5 items', b, b.at('count'), 'metadata "test.ints": array of 10 UINT32 items cannot fit in the 20 bytes left');
  }
  {
    const b = new Bytes().header(0, 1).kv('tokenizer.ggml.tokens', T.ARRAY).u32(T.STRING).u64(3).str('a').str('bb').mark('item2').u64(50).raw('ccc');
    add('array-strings-truncated', 'a 3-string array whose last string runs past the end of the file', b, b.at('item2'),
      'metadata "tokenizer.ggml.tokens": string item 2 length 50 runs past the end of the file (3 bytes left)');
  }
  {
    const b = new Bytes().header(0, 1).kv('test.matrix', T.ARRAY).u32(T.ARRAY).u64(2);
    b.u32(T.F32).u64(2).f32(1).f32(2);
    b.u32(T.F32).mark('count').u64(4).f32(3);
    add('array-nested-truncated', 'the second row of an array of arrays is cut short', b, b.at('count'), 'metadata "test.matrix": array of 4 FLOAT32 items cannot fit in the 4 bytes left');
  }
  {
    const b = new Bytes().header(0, 1).kv('test.flags', T.ARRAY).u32(T.BOOL).u64(3).u8(0).u8(1).mark('bad').u8(7);
    add('array-bool-byte-7', 'a BOOL array with a 7 in it', b, b.at('bad'), 'metadata "test.flags": item 2: boolean byte is 7');
  }

  // ---- general.alignment ----
  {
    const b = new Bytes().header(0, 1).kv('general.alignment', T.U64).u64(32);
    add('alignment-wrong-type', 'general.alignment stored as UINT64', b, b.at('general.alignment:type'), 'general.alignment must be a UINT32, found UINT64');
  }
  {
    const b = new Bytes().header(0, 1).kv('general.alignment', T.U32).u32(0);
    add('alignment-zero', 'general.alignment 0', b, b.at('general.alignment:value'), 'general.alignment 0 is not a power of two');
  }
  {
    const b = new Bytes().header(0, 1).kv('general.alignment', T.U32).u32(48);
    add('alignment-48', 'general.alignment 48, not a power of two', b, b.at('general.alignment:value'), 'general.alignment 48 is not a power of two');
  }

  // ---- tensor infos ----
  {
    const b = new Bytes().header(1, 0).tensor('w', [], G.F32, 0).align(32).zeros(32);
    add('tensor-0-dims', 'a tensor with no dimensions', b, b.at('t:w:ndims'), 'tensor "w" has 0 dimensions (1 to 4 allowed)');
  }
  {
    const b = new Bytes().header(1, 0).tensor('w', [1, 1, 1, 1, 1], G.F32, 0).align(32).zeros(32);
    add('tensor-5-dims', 'a tensor with 5 dimensions', b, b.at('t:w:ndims'), 'tensor "w" has 5 dimensions (1 to 4 allowed)');
  }
  {
    const b = new Bytes().header(1, 0).tensor('w', [2 ** 27, 2 ** 27], G.F32, 0).align(32).zeros(32);
    add('tensor-elements-2p54', 'dimensions 2^27 x 2^27: more elements than 2^53', b, b.at('t:w:dim1'), 'tensor "w": dimensions 134217728 x 134217728 make more than 2^53 elements');
  }
  {
    const b = new Bytes().header(1, 0).tensor('w', [2n ** 63n + 5n], G.F32, 0).align(32).zeros(32);
    add('tensor-dim-above-2p63', 'a dimension above 2^63 (negative as llama.cpp\'s int64)', b, b.at('t:w:dim0'), 'tensor "w": dimension 0 is 9223372036854775813, too large');
  }
  {
    const b = new Bytes().header(1, 0).tensor('w', [32], 99, 0).align(32).zeros(128);
    add('tensor-unknown-type', 'ggml type 99', b, b.at('t:w:type'), 'tensor "w" has unknown or unsupported ggml type 99');
  }
  {
    const b = new Bytes().header(1, 0).tensor('w', [256], G.IQ2_XXS, 0).align(32).zeros(128);
    add('tensor-unsupported-type', 'ggml type 16 (IQ2_XXS): valid in llama.cpp but not supported here', b, b.at('t:w:type'), 'tensor "w" has unknown or unsupported ggml type 16');
  }
  {
    const b = new Bytes().header(1, 0).tensor('w', [48, 2], G.Q8_0, 0).align(32).zeros(128);
    add('tensor-row-not-block-multiple', 'a Q8_0 tensor with rows of 48 (blocks are 32)', b, b.at('t:w:type'), 'tensor "w": row length 48 is not a multiple of the q8_0 block size 32');
  }
  {
    const b = new Bytes().header(1, 0).tensor('w', [4], G.F32, 3).align(32).zeros(64);
    add('tensor-offset-unaligned', 'data offset 3 with the default alignment 32', b, b.at('t:w:offset'), 'tensor "w": data offset 3 is not a multiple of the alignment 32');
  }
  {
    const b = new Bytes().header(2, 1);
    b.kv('general.alignment', T.U32).u32(64);
    b.tensor('a', [4], G.F32, 0).tensor('b', [4], G.F32, 32).align(64).zeros(128);
    add('tensor-offset-unaligned-64', 'data offset 32 with general.alignment 64', b, b.at('t:b:offset'), 'tensor "b": data offset 32 is not a multiple of the alignment 64');
  }
  {
    const b = new Bytes().header(1, 0).tensor('w', [4], G.F32, 2n ** 63n).align(32).zeros(32);
    add('tensor-offset-2p63', 'data offset 2^63', b, b.at('t:w:offset'), 'tensor "w": data offset 9223372036854775808 is too large');
  }
  {
    const b = new Bytes().header(2, 0).tensor('a', [16], G.F32, 0).tensor('b', [16], G.F32, 64).align(32).mark('data').zeros(100);
    add('tensor-data-out-of-bounds', 'the file ends 36 bytes into the second tensor\'s 64 bytes of data', b, b.at('t:b'),
      `tensor "b": its data (64 bytes at byte ${b.at('data') + 64}) runs past the end of the file (${b.length} bytes)`);
  }
  {
    const b = new Bytes().header(1, 0).tensor('w', [8], G.F32, 0);
    add('tensor-data-missing', 'a tensor info and no data section at all', b, b.at('t:w'), 'tensor "w": its data (32 bytes at byte 64) runs past the end of the file (57 bytes)');
  }
  {
    const b = new Bytes().header(2, 0).tensor('a', [16], G.F32, 0).tensor('b', [16], G.F32, 32).align(32).zeros(128);
    add('tensors-overlap', 'tensor b starts 32 bytes into tensor a\'s 64', b, b.at('t:b'), 'tensor "b": its data (bytes 128..192) overlaps tensor "a" (bytes 96..160)');
  }
  {
    // Listed out of order: the overlap is found whatever the order of the infos.
    const b = new Bytes().header(3, 0).tensor('c', [8], G.F32, 128).tensor('big', [64], G.F32, 0).tensor('d', [8], G.F32, 256).align(32).zeros(320);
    add('tensors-overlap-unordered', 'a later-listed 256-byte tensor at offset 0 covers an earlier one at offset 128', b, b.at('t:c'), 'tensor "c": its data (bytes 256..288) overlaps tensor "big" (bytes 128..384)');
  }
  {
    const b = new Bytes().header(2, 0).tensor('w', [8], G.F32, 0).tensor('w', [8], G.F32, 32).align(32).zeros(64);
    add('tensor-duplicate-name', 'two tensors named "w"', b, b.at('t:w'), 'duplicate tensor name "w"');
  }
  {
    const name = 'blk.0.'.padEnd(64, 'x');
    const b = new Bytes().header(1, 0).tensor(name, [8], G.F32, 0).align(32).zeros(32);
    add('tensor-name-64-bytes', 'a 64-byte tensor name (llama.cpp allows 63)', b, 24, 'tensor 0: name length 64 is too long (at most 63 bytes)');
  }
  {
    const b = new Bytes().header(1, 0).tensor('', [8], G.F32, 0).align(32).zeros(32);
    add('tensor-empty-name', 'a tensor with an empty name', b, 24, 'tensor 0 has an empty name');
  }
  {
    const b = new Bytes().header(1, 0).u64(2n ** 62n).raw('token_embd.weight').zeros(16);
    add('tensor-name-length-2p62', 'a tensor name length of 2^62', b, 24, 'tensor 0: name length 4611686018427387904 runs past the end of the file');
  }

  // ---- files cut short in the middle of the header ----
  {
    const b = validPrefix();
    const cut = b.at('test.block_count:value') + 2;
    add('truncated-in-metadata-value', 'a valid file cut in the middle of a UINT32 value', b.cut(cut), b.at('test.block_count:value'),
      `file is truncated: metadata "test.block_count": the value needs 4 bytes but the file ends at byte ${cut}`);
  }
  {
    const b = validPrefix();
    const cut = b.at('test.block_count:type');
    add('truncated-after-key', 'a valid file cut right after a metadata key', b.cut(cut), cut,
      `file is truncated: metadata "test.block_count": the value type needs 4 bytes but the file ends at byte ${cut}`);
  }
  {
    const b = validPrefix();
    const cut = b.at('t:b:dim1') + 5;
    add('truncated-in-tensor-dims', 'a valid file cut inside a tensor\'s second dimension', b.cut(cut), b.at('t:b:dim1'),
      `file is truncated: tensor "b": a dimension needs 8 bytes but the file ends at byte ${cut}`);
  }
  {
    const b = validPrefix();
    const cut = b.at('t:b:offset') + 1;
    add('truncated-in-tensor-offset', 'a valid file cut inside a tensor\'s data offset', b.cut(cut), b.at('t:b:offset'),
      `file is truncated: tensor "b": the data offset needs 8 bytes but the file ends at byte ${cut}`);
  }
  {
    const b = validPrefix();
    const cut = b.at('t:b');
    add('truncated-before-tensor-info', 'a valid file cut between two tensor infos', b.cut(cut), cut,
      `file is truncated: the name of tensor 1 needs 8 bytes but the file ends at byte ${cut}`);
  }
  {
    const b = validPrefix();
    const cut = b.at('data') + 40;
    add('truncated-in-data', 'a valid file cut in the second tensor\'s data', b.cut(cut), b.at('t:b'),
      `tensor "b": its data (32 bytes at byte ${b.at('data') + 32}) runs past the end of the file (${cut} bytes)`);
  }
  return cases;
}

export interface ManifestEntry {
  readonly file: string;
  readonly description: string;
  readonly offset: number;
  readonly error: string;
  readonly size: number;
}

export function writeCorpus(dir = CORPUS_DIR): ManifestEntry[] {
  const cases = malformedCases();
  const names = new Set<string>();
  for (const c of cases) {
    if (names.has(c.file)) throw new Error(`duplicate case ${c.file}`);
    names.add(c.file);
    if (c.offset < 0 || c.offset > c.bytes.length) throw new Error(`${c.file}: offset ${c.offset} outside the file`);
  }
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(dir)) if (f.endsWith('.gguf')) rmSync(join(dir, f));
  for (const c of cases) writeFileSync(join(dir, c.file), c.bytes);
  const manifest = cases.map(({ file, description, offset, error, bytes }) => ({ file, description, offset, error, size: bytes.length }));
  writeFileSync(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const m = writeCorpus();
  console.log(`wrote ${m.length} malformed GGUF files and manifest.json to ${CORPUS_DIR}`);
}
