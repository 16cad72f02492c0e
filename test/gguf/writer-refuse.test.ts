// The writer refuses input the reader (or llama.cpp) would reject, before creating anything, and a write
// that fails half-way (a producer that throws or emits the wrong byte count) leaves no file behind -
// neither the target nor its temporary - and does not touch a file already at the target path.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  GGMLType,
  GGUFFile,
  GGUFValueType as VT,
  GGUFWriteError,
  gguf,
  writeGGUF,
  type GGUFEntry,
  type GGUFValue,
  type GGUFWriteOptions,
  type TensorToWrite,
} from '../../src/gguf/index.js';

const dir = mkdtempSync(join(os.tmpdir(), 'stepflash-gguf-refuse-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const f32 = (name: string, n: number, data?: TensorToWrite['data']): TensorToWrite => ({ name, dims: [n], type: GGMLType.F32, data: data ?? new Uint8Array(n * 4) });

function nested(depth: number): GGUFValue {
  let v: GGUFValue = { itemType: VT.UINT8, items: [] };
  for (let d = 1; d < depth; d++) v = { itemType: VT.ARRAY, items: [v] };
  return v;
}

const BAD: [string, GGUFWriteOptions, RegExp][] = [
  ['version 1', { version: 1 as 2, metadata: [], tensors: [] }, /cannot write GGUF version 1/],
  ['version 4', { version: 4 as 3, metadata: [], tensors: [] }, /cannot write GGUF version 4/],
  ['a duplicate key', { metadata: [['a.b', gguf.u32(1)], ['a.b', gguf.u32(2)]], tensors: [] }, /duplicate metadata key "a.b"/],
  ['an empty key', { metadata: [['', gguf.u32(1)]], tensors: [] }, /metadata key "" is empty/],
  ['a key over 65535 bytes', { metadata: [['k'.repeat(65536), gguf.u32(1)]], tensors: [] }, /65536 bytes long, more than the 65535 allowed/],
  ['a key with a lone surrogate', { metadata: [['bad.\ud800', gguf.u32(1)]], tensors: [] }, /not valid Unicode/],
  ['u8 300', { metadata: [['x', gguf.u8(300)]], tensors: [] }, /metadata "x": value 300 does not fit type UINT8/],
  ['i8 -129', { metadata: [['x', gguf.i8(-129)]], tensors: [] }, /value -129 does not fit type INT8/],
  ['u16 1.5', { metadata: [['x', gguf.u16(1.5)]], tensors: [] }, /value 1.5 does not fit type UINT16/],
  ['u32 -1', { metadata: [['x', gguf.u32(-1)]], tensors: [] }, /value -1 does not fit type UINT32/],
  ['i32 2^31', { metadata: [['x', gguf.i32(2 ** 31)]], tensors: [] }, /does not fit type INT32/],
  ['u32 NaN', { metadata: [['x', gguf.u32(NaN)]], tensors: [] }, /value NaN does not fit type UINT32/],
  ['u64 -1', { metadata: [['x', gguf.u64(-1n)]], tensors: [] }, /value -1n does not fit type UINT64/],
  ['u64 2^64', { metadata: [['x', gguf.u64(2n ** 64n)]], tensors: [] }, /does not fit type UINT64/],
  ['i64 2^63', { metadata: [['x', gguf.i64(2n ** 63n)]], tensors: [] }, /does not fit type INT64/],
  ['u64 from a fraction', { metadata: [['x', { type: VT.UINT64, value: 0.5 }]], tensors: [] }, /value 0.5 does not fit type UINT64/],
  ['a number as BOOL', { metadata: [['x', { type: VT.BOOL, value: 1 }]], tensors: [] }, /value 1 does not fit type BOOL/],
  ['a string as UINT32', { metadata: [['x', { type: VT.UINT32, value: '7' }]], tensors: [] }, /value "7" does not fit type UINT32/],
  ['an array as STRING', { metadata: [['x', { type: VT.STRING, value: { itemType: VT.UINT8, items: [] } }]], tensors: [] }, /value an array does not fit type STRING/],
  ['a string with a lone surrogate', { metadata: [['x', gguf.str('a\udc00b')]], tensors: [] }, /metadata "x": a string is not valid Unicode/],
  ['an unknown value type', { metadata: [['x', { type: 13 as VT, value: 0 }]], tensors: [] }, /metadata "x": unknown value type 13/],
  ['a scalar as ARRAY', { metadata: [['x', { type: VT.ARRAY, value: 3 }]], tensors: [] }, /value 3 does not fit type ARRAY/],
  ['a wrong-typed array item', { metadata: [['x', gguf.arr(VT.UINT32, [1, 'two', 3])]], tensors: [] }, /value "two" does not fit type UINT32/],
  ['an empty array of unknown item type', { metadata: [['x', gguf.arr(13 as VT, [])]], tensors: [] }, /array of unknown item type 13/],
  ['arrays nested 17 deep', { metadata: [['x', { type: VT.ARRAY, value: nested(17) }]], tensors: [] }, /nested more than 16 levels/],
  ['general.alignment 0', { metadata: [['general.alignment', gguf.u32(0)]], tensors: [] }, /general.alignment 0 is not a power of two/],
  ['general.alignment 48', { metadata: [['general.alignment', gguf.u32(48)]], tensors: [] }, /general.alignment 48 is not a power of two/],
  ['general.alignment as UINT64', { metadata: [['general.alignment', gguf.u64(32n)]], tensors: [] }, /general.alignment must be a UINT32, not UINT64/],
  ['a duplicate tensor name', { metadata: [], tensors: [f32('w', 4), f32('w', 4)] }, /duplicate tensor name "w"/],
  ['an empty tensor name', { metadata: [], tensors: [f32('', 4)] }, /tensor name "" is empty/],
  ['a 64-byte tensor name', { metadata: [], tensors: [f32('n'.repeat(64), 4)] }, /64 bytes long, more than the 63 allowed/],
  ['a tensor with 0 dims', { metadata: [], tensors: [{ name: 'w', dims: [], type: GGMLType.F32, data: new Uint8Array(4) }] }, /tensor "w": 0 dimensions/],
  ['a tensor with 5 dims', { metadata: [], tensors: [{ name: 'w', dims: [1, 1, 1, 1, 1], type: GGMLType.F32, data: new Uint8Array(4) }] }, /tensor "w": 5 dimensions/],
  ['a negative dimension', { metadata: [], tensors: [{ name: 'w', dims: [4, -1], type: GGMLType.F32, data: new Uint8Array(0) }] }, /dimension -1 is not a non-negative integer/],
  ['a fractional dimension', { metadata: [], tensors: [{ name: 'w', dims: [2.5], type: GGMLType.F32, data: new Uint8Array(10) }] }, /dimension 2.5 is not/],
  ['2^54 elements', { metadata: [], tensors: [{ name: 'w', dims: [2 ** 27, 2 ** 27], type: GGMLType.F32, data: new Uint8Array(0) }] }, /more than 2\^53 elements/],
  ['a Q8_0 row of 48', { metadata: [], tensors: [{ name: 'w', dims: [48, 2], type: GGMLType.Q8_0, data: new Uint8Array(102) }] }, /row length 48 is not a multiple of the q8_0 block size 32/],
  ['a Q8_0 row of 16 with 32 elements in all', { metadata: [], tensors: [{ name: 'w', dims: [16, 2], type: GGMLType.Q8_0, data: new Uint8Array(34) }] }, /row length 16 is not a multiple/],
  ['an unknown tensor type', { metadata: [], tensors: [{ name: 'w', dims: [4], type: 99 as GGMLType, data: new Uint8Array(16) }] }, /unknown or unsupported ggml type 99/],
];

/** What the directory holds, so that tests can check nothing was left behind. */
const listing = (d: string) => readdirSync(d).sort();

for (const [what, opts, message] of BAD) {
  test(`refuses ${what}, creating nothing`, () => {
    const d = mkdtempSync(join(dir, 'case-'));
    const path = join(d, 'out.gguf');
    assert.throws(() => writeGGUF(path, opts), (e: unknown) => {
      assert.ok(e instanceof GGUFWriteError, `threw ${(e as Error).name}: ${(e as Error).message}`);
      assert.match(e.message, message);
      return true;
    });
    assert.deepEqual(listing(d), []);
  });
}

test('wrong byte counts and failing producers leave no file, and keep an existing one intact', () => {
  const d = mkdtempSync(join(dir, 'midway-'));
  const path = join(d, 'model.gguf');
  writeFileSync(path, 'previous contents');
  const cases: [string, TensorToWrite, RegExp][] = [
    ['too few bytes', f32('w', 4, new Uint8Array(15)), /producer wrote 15 bytes, its shape needs 16/],
    ['too many bytes', f32('w', 4, new Uint8Array(17)), /producer wrote 17 bytes, more than the 16 its shape needs/],
    ['a producer that stops early', f32('w', 1024, (emit) => emit(new Uint8Array(1000))), /producer wrote 1000 bytes, its shape needs 4096/],
    ['a producer that emits too much', f32('w', 4, (emit) => { emit(new Uint8Array(8)); emit(new Uint8Array(9)); }), /producer wrote 17 bytes, more than the 16/],
    [
      'a producer that swallows the overflow error',
      f32('w', 4, (emit) => { try { emit(new Uint8Array(20)); } catch { /* ignored */ } }),
      /producer wrote 20 bytes, its shape needs 16/,
    ],
    ['a producer that throws', f32('w', 4, () => { throw new Error('disk on fire'); }), /disk on fire/],
    ['an async producer', f32('w', 4, (async (emit: (c: Uint8Array) => void) => emit(new Uint8Array(16))) as unknown as TensorToWrite['data']), /producers must be synchronous/],
    ['a producer emitting a non-view', f32('w', 4, (emit) => emit([1, 2, 3, 4] as unknown as Uint8Array)), /not bytes/],
  ];
  for (const [what, bad, message] of cases) {
    // The bad tensor comes after a good one, so the file is half-written when it fails.
    assert.throws(() => writeGGUF(path, { metadata: [['general.name', gguf.str(what)]], tensors: [f32('first', 1024), bad] }), message, what);
    assert.deepEqual(listing(d), ['model.gguf'], `${what}: no temporary left`);
    assert.equal(readFileSync(path, 'utf8'), 'previous contents', `${what}: the existing file is untouched`);
  }
  // A producer that keeps `emit` and calls it after returning is refused too, and the file it was part of
  // is complete and valid.
  let late: ((c: Uint8Array) => void) | undefined;
  writeGGUF(path, { metadata: [], tensors: [f32('w', 4, (emit) => { late = emit; emit(new Uint8Array(16)); })] });
  assert.throws(() => late!(new Uint8Array(4)), /emitted data after it returned/);
  const f = GGUFFile.open(path);
  assert.equal(f.tensors.length, 1);
  f.close();
  assert.deepEqual(listing(d), ['model.gguf']);
});

test('a target that cannot be created or replaced leaves no temporary behind', () => {
  const d = mkdtempSync(join(dir, 'target-'));
  // The directory does not exist.
  assert.throws(() => writeGGUF(join(d, 'missing', 'x.gguf'), { metadata: [], tensors: [] }), /ENOENT/);
  // The target is a directory: the temporary is written, then cannot be renamed over it.
  mkdirSync(join(d, 'taken.gguf'));
  assert.throws(() => writeGGUF(join(d, 'taken.gguf'), { metadata: [], tensors: [f32('w', 4)] }), /EISDIR|EEXIST|ENOTEMPTY|EPERM/);
  assert.deepEqual(listing(d), ['taken.gguf']);
});

test('the limits the writer enforces are exactly what the reader accepts', () => {
  const d = mkdtempSync(join(dir, 'limits-'));
  const md: [string, GGUFEntry][] = [
    ['k'.repeat(65535), gguf.u8(1)],
    ['nested16', { type: VT.ARRAY, value: nested(16) }],
    ['general.alignment', gguf.u32(2 ** 31)],
  ];
  const path = join(d, 'limits.gguf');
  writeGGUF(path, { metadata: md, tensors: [{ name: 'n'.repeat(63), dims: [0], type: GGMLType.F32, data: new Uint8Array(0) }] });
  const f = GGUFFile.open(path);
  try {
    assert.deepEqual(f.metadata.entries, new Map(md));
    assert.equal(f.alignment, 2 ** 31);
    assert.equal(f.tensors[0]!.name, 'n'.repeat(63));
    assert.equal(f.tensors[0]!.nbytes, 0);
  } finally {
    f.close();
  }
});
