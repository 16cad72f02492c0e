// Round trips through writeGGUF and GGUFFile.open: every value type, arrays of every type and of arrays,
// both GGUF versions, custom alignments, tensors of many types and shapes with padding between them, and
// streamed tensor data. What is read back must equal what was written, exactly.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import {
  GGMLType,
  GGUFError,
  GGUFFile,
  GGUFValueType as VT,
  bytesFor,
  gguf,
  writeGGUF,
  type GGUFEntry,
  type GGUFValue,
  type TensorToWrite,
} from '../../src/gguf/index.js';

const dir = mkdtempSync(join(os.tmpdir(), 'stepflash-gguf-rt-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const tmp = (name: string) => join(dir, `${n++}-${name}.gguf`);

/** Deterministic bytes. */
function bytes(len: number, seed: number): Uint8Array {
  const out = new Uint8Array(len);
  let x = seed * 2654435761 + 1;
  for (let i = 0; i < len; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

const arr = (itemType: VT, items: readonly GGUFValue[]): GGUFValue => ({ itemType, items });

/** Every scalar type, with the values at the edges of its range. */
const SCALARS: [string, GGUFEntry][] = [
  ['u8.zero', gguf.u8(0)],
  ['u8.max', gguf.u8(255)],
  ['i8.min', gguf.i8(-128)],
  ['i8.max', gguf.i8(127)],
  ['u16.max', gguf.u16(65535)],
  ['i16.min', gguf.i16(-32768)],
  ['i16.max', gguf.i16(32767)],
  ['u32.max', gguf.u32(0xffffffff)],
  ['i32.min', gguf.i32(-0x80000000)],
  ['i32.max', gguf.i32(0x7fffffff)],
  ['f32.tenth', gguf.f32(Math.fround(0.1))],
  ['f32.neg_zero', gguf.f32(-0)],
  ['f32.nan', gguf.f32(NaN)],
  ['f32.inf', gguf.f32(-Infinity)],
  ['f32.max', gguf.f32(3.4028234663852886e38)],
  ['f32.denormal', gguf.f32(1.401298464324817e-45)],
  ['f64.pi', gguf.f64(Math.PI)],
  ['f64.tiny', gguf.f64(-Number.MIN_VALUE)],
  ['f64.max', gguf.f64(Number.MAX_VALUE)],
  ['bool.true', gguf.bool(true)],
  ['bool.false', gguf.bool(false)],
  ['str.empty', gguf.str('')],
  ['str.ascii', gguf.str('llama')],
  ['str.latin', gguf.str('héllo wörld')],
  ['str.cjk', gguf.str('日本語のテキスト')],
  ['str.emoji', gguf.str('🦙 + 🧠 = 💡')],
  ['str.controls', gguf.str('a\u0000b\nc\td\u007f')],
  ['str.long', gguf.str('x'.repeat(100_000) + 'é')],
  ['u64.zero', gguf.u64(0n)],
  ['u64.above_2p53', gguf.u64(2n ** 53n + 1n)],
  ['u64.max', gguf.u64(2n ** 64n - 1n)],
  ['i64.min', gguf.i64(-(2n ** 63n))],
  ['i64.max', gguf.i64(2n ** 63n - 1n)],
  ['i64.minus_one', gguf.i64(-1n)],
  ['i64.below_minus_2p53', gguf.i64(-(2n ** 53n) - 3n)],
];

/** Arrays of every item type, empty ones, and arrays of arrays up to 3 deep. */
const ARRAYS: [string, GGUFEntry][] = [
  ['arr.u8', gguf.arr(VT.UINT8, [0, 1, 254, 255])],
  ['arr.i8', gguf.arr(VT.INT8, [-128, -1, 0, 127])],
  ['arr.u16', gguf.arr(VT.UINT16, [0, 65535])],
  ['arr.i16', gguf.arr(VT.INT16, [-32768, 32767, 0])],
  ['arr.u32', gguf.arr(VT.UINT32, [0, 1, 0xffffffff])],
  ['arr.i32', gguf.arr(VT.INT32, Array.from({ length: 1000 }, (_, i) => (i - 500) * 4_000_000))],
  ['arr.f32', gguf.arr(VT.FLOAT32, [0.5, -0, NaN, Infinity, Math.fround(1e-7)])],
  ['arr.f64', gguf.arr(VT.FLOAT64, [Math.E, -1e300, 5e-324])],
  ['arr.bool', gguf.arr(VT.BOOL, [true, false, false, true])],
  ['arr.u64', gguf.arr(VT.UINT64, [0n, 2n ** 53n + 1n, 2n ** 64n - 1n])],
  ['arr.i64', gguf.arr(VT.INT64, [-(2n ** 63n), -1n, 2n ** 63n - 1n])],
  ['arr.str', gguf.arr(VT.STRING, ['<s>', '', 'Ġthe', 'ü', '▁日本', '🦙', '\u0000'])],
  ...[VT.UINT8, VT.INT8, VT.UINT16, VT.INT16, VT.UINT32, VT.INT32, VT.FLOAT32, VT.BOOL, VT.STRING, VT.ARRAY, VT.UINT64, VT.INT64, VT.FLOAT64].map(
    (t): [string, GGUFEntry] => [`arr.empty.${VT[t].toLowerCase()}`, gguf.arr(t, [])],
  ),
  ['arr.nested2', gguf.arr(VT.ARRAY, [arr(VT.UINT32, [1, 2, 3]), arr(VT.STRING, ['a', 'bc']), arr(VT.FLOAT32, []), arr(VT.BOOL, [true])])],
  [
    'arr.nested3',
    gguf.arr(VT.ARRAY, [
      arr(VT.ARRAY, [arr(VT.INT64, [-1n, 2n ** 62n]), arr(VT.UINT8, [])]),
      arr(VT.ARRAY, []),
      arr(VT.ARRAY, [arr(VT.ARRAY, []), arr(VT.STRING, ['deep', ''])]),
    ]),
  ],
];

function nested(depth: number): GGUFValue {
  let v: GGUFValue = arr(VT.UINT8, [depth]);
  for (let d = 1; d < depth; d++) v = arr(VT.ARRAY, [v]);
  return v;
}

function readBack(path: string) {
  const f = GGUFFile.open(path);
  return f;
}

for (const version of [2, 3] as const) {
  test(`GGUF v${version}: every scalar type and every kind of array round-trips exactly`, () => {
    const md = new Map<string, GGUFEntry>([...SCALARS, ...ARRAYS, ['arr.nested16', { type: VT.ARRAY, value: nested(16) }]]);
    const path = tmp(`all-types-v${version}`);
    writeGGUF(path, { version, metadata: md, tensors: [] });
    const f = readBack(path);
    try {
      assert.equal(f.version, version);
      assert.equal(readFileSync(path).readUInt32LE(4), version);
      assert.deepEqual(f.metadata.keys(), [...md.keys()], 'keys keep their order');
      for (const [k, e] of md) assert.deepStrictEqual(f.metadata.get(k), e, k);
      assert.deepStrictEqual(f.metadata.entries, md);
      assert.equal(f.tensors.length, 0);
      // 64-bit values above 2^53 stay exact bigints; typed getters refuse what a number cannot hold.
      assert.equal(f.metadata.get('u64.max')!.value, 2n ** 64n - 1n);
      assert.equal(f.metadata.get('i64.below_minus_2p53')!.value, -(2n ** 53n) - 3n);
      assert.throws(() => f.metadata.number('u64.max'), /too large/);
      assert.equal(f.metadata.number('i64.minus_one'), -1);
      assert.equal(f.metadata.toJSON()['i64.min'], '-9223372036854775808');
      assert.equal(f.metadata.toJSON()['u64.above_2p53'], '9007199254740993');
    } finally {
      f.close();
    }
  });
}

/** A spread of tensor types and shapes (1-4 dims), including a zero-element tensor. */
function sampleTensors(seed = 0): TensorToWrite[] {
  const specs: [string, number[], GGMLType][] = [
    ['token_embd.weight', [7], GGMLType.F32],
    ['blk.0.attn_norm.weight', [3, 5], GGMLType.F16],
    ['blk.0.attn_q.weight', [2, 2, 2], GGMLType.BF16],
    ['blk.0.ffn_up.weight', [64, 3], GGMLType.Q8_0],
    ['blk.0.ffn_down.weight', [32, 2, 2, 1], GGMLType.Q4_0],
    ['blk.0.ffn_gate_exps.weight', [256, 2, 3], GGMLType.Q4_K],
    ['blk.0.ffn_down_exps.weight', [256], GGMLType.Q6_K],
    ['blk.0.q5.weight', [32, 1, 1, 2], GGMLType.Q5_1],
    ['blk.0.i8', [5], GGMLType.I8],
    ['blk.0.i32', [3, 1, 1, 1], GGMLType.I32],
    ['blk.0.f64', [2, 3], GGMLType.F64],
    ['empty.weight', [4, 0], GGMLType.F32],
    ['output.weight', [1], GGMLType.F32],
  ];
  return specs.map(([name, dims, type], i) => ({ name, dims, type, data: bytes(bytesFor(type, dims.reduce((a, b) => a * b, 1))!, seed * 100 + i) }));
}

function checkTensors(f: GGUFFile, written: readonly TensorToWrite[], fileBytes: Uint8Array): void {
  assert.equal(f.tensors.length, written.length);
  let expectOffset = 0;
  written.forEach((w, i) => {
    const t = f.tensors[i]!;
    const data = w.data as Uint8Array;
    const nelements = w.dims.reduce((a, b) => a * b, 1);
    assert.equal(t.name, w.name);
    assert.deepEqual(t.dims, w.dims);
    assert.equal(t.type, w.type);
    assert.equal(t.nelements, nelements);
    assert.equal(t.nbytes, data.length);
    assert.equal(t.offset, expectOffset, `${w.name}: offset`);
    assert.equal(t.fileOffset, f.dataOffset + t.offset);
    assert.equal(t.fileOffset % f.alignment, 0, `${w.name} is aligned`);
    assert.equal(f.tensor(w.name), t);
    assert.deepEqual(f.readTensorBytes(t), data, `${w.name}: bytes`);
    // Padding up to the next tensor is zeros.
    const padded = Math.ceil(data.length / f.alignment) * f.alignment;
    assert.ok(fileBytes.subarray(t.fileOffset + data.length, t.fileOffset + padded).every((b) => b === 0), `${w.name}: padding is zeros`);
    expectOffset += padded;
  });
  assert.equal(f.fileSize, f.dataOffset + expectOffset, 'the file ends after the last padded tensor');
  assert.equal(f.dataOffset % f.alignment, 0);
}

for (const alignment of [1, 8, 32, 64, 4096]) {
  test(`tensors of many types and shapes round-trip with general.alignment ${alignment}`, () => {
    const tensors = sampleTensors(alignment);
    const path = tmp(`tensors-a${alignment}`);
    writeGGUF(path, { metadata: [['general.architecture', gguf.str('test')], ['general.alignment', gguf.u32(alignment)]], tensors });
    const f = GGUFFile.open(path);
    try {
      assert.equal(f.alignment, alignment);
      checkTensors(f, tensors, new Uint8Array(readFileSync(path)));
      if (alignment === 1) assert.equal(f.dataOffset, f.tensors.length ? f.tensors[0]!.fileOffset : f.dataOffset, 'no padding at alignment 1');
    } finally {
      f.close();
    }
  });
}

test('without general.alignment the default 32 applies, in both versions', () => {
  for (const version of [2, 3] as const) {
    const tensors = sampleTensors(version);
    const path = tmp(`default-align-v${version}`);
    writeGGUF(path, { version, metadata: [], tensors });
    const f = GGUFFile.open(path);
    try {
      assert.equal(f.alignment, 32);
      assert.equal(f.version, version);
      checkTensors(f, tensors, new Uint8Array(readFileSync(path)));
    } finally {
      f.close();
    }
  }
});

test('partial reads: any start and length inside a tensor, into a fresh or a caller buffer', () => {
  const tensors = sampleTensors(7);
  const path = tmp('partial');
  writeGGUF(path, { metadata: [['general.alignment', gguf.u32(64)]], tensors });
  const f = GGUFFile.open(path);
  try {
    for (const w of tensors) {
      const t = f.requireTensor(w.name);
      const data = w.data as Uint8Array;
      const L = data.length;
      const ranges: [number, number][] = [[0, L], [0, 0], [L, 0], [0, Math.min(1, L)], [Math.floor(L / 3), Math.floor(L / 2)], [Math.max(0, L - 5), Math.min(5, L)]];
      for (const [start, length] of ranges) {
        assert.deepEqual(f.readTensorBytes(t, start, length), data.subarray(start, start + length), `${w.name} ${start}+${length}`);
        const dst = new Uint8Array(length + 3).fill(0xee);
        const got = f.readTensorBytes(t, start, length, dst);
        assert.equal(got, dst);
        assert.deepEqual(dst.subarray(0, length), data.subarray(start, start + length));
        assert.ok(dst.subarray(length).every((b) => b === 0xee), 'bytes past the read are untouched');
      }
      // Default length: to the end of the tensor.
      assert.deepEqual(f.readTensorBytes(t, Math.floor(L / 2)), data.subarray(Math.floor(L / 2)));
      for (const [start, length] of [[-1, 1], [0, L + 1], [L, 1], [1.5, 1], [0, -1], [0, NaN]] as [number, number][])
        assert.throws(() => f.readTensorBytes(t, start, length), GGUFError, `${w.name} ${start}+${length}`);
    }
    assert.throws(() => f.requireTensor('missing.weight'), GGUFError);
    assert.equal(f.tensor('missing.weight'), undefined);
  } finally {
    f.close();
  }
  assert.throws(() => f.readTensorBytes(f.tensors[0]!), /file is closed/);
});

test('streaming: a producer emitting many odd-sized chunks from a reused buffer writes exactly its bytes', () => {
  const rows = 4096;
  const cols = 64;
  const want = bytes(rows * cols * 4, 99);
  let chunks = 0;
  const tensors: TensorToWrite[] = [
    { name: 'small', dims: [3], type: GGMLType.F32, data: bytes(12, 1) },
    {
      name: 'streamed',
      dims: [cols, rows],
      type: GGMLType.F32,
      data: (emit) => {
        const scratch = new Uint8Array(5000);
        for (let at = 0, k = 1; at < want.length; k++) {
          const len = Math.min(want.length - at, (k * 7919) % 4999 + 1);
          scratch.set(want.subarray(at, at + len));
          emit(scratch.subarray(0, len));
          scratch.fill(0xab); // reusing the buffer right after emit must be safe
          at += len;
          chunks++;
        }
      },
    },
    {
      // Chunks may be any typed-array view: a Float32Array is written as its bytes.
      name: 'as_floats',
      dims: [8],
      type: GGMLType.F32,
      data: (emit) => {
        emit(new Float32Array([1, 2, 3]) as unknown as Uint8Array);
        emit(new Float32Array([4, 5, 6, 7, 8]) as unknown as Uint8Array);
      },
    },
    { name: 'empty_producer', dims: [0], type: GGMLType.F32, data: () => {} },
  ];
  const path = tmp('streamed');
  writeGGUF(path, { metadata: [], tensors });
  assert.ok(chunks > 100, `${chunks} chunks`);
  const f = GGUFFile.open(path);
  try {
    assert.deepEqual(f.readTensorBytes(f.requireTensor('streamed')), want);
    assert.deepEqual(f.readTensorBytes(f.requireTensor('small')), bytes(12, 1));
    assert.deepEqual(new Float32Array(f.readTensorBytes(f.requireTensor('as_floats')).buffer), new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]));
    assert.equal(f.requireTensor('empty_producer').nbytes, 0);
  } finally {
    f.close();
  }
});

test('a large header (a 150k-string vocabulary) and a 16 MiB tensor round-trip', () => {
  const tokens = Array.from({ length: 150_000 }, (_, i) => (i % 7 === 0 ? `▁tok${i}` : `t${i.toString(36)}`));
  const big = bytes(16 << 20, 5);
  const path = tmp('large');
  writeGGUF(path, {
    metadata: [
      ['tokenizer.ggml.tokens', gguf.arr(VT.STRING, tokens)],
      ['tokenizer.ggml.scores', gguf.arr(VT.FLOAT32, tokens.map((_, i) => Math.fround(-i / 3)))],
    ],
    tensors: [{ name: 'big', dims: [4096, 1024], type: GGMLType.F32, data: big }],
  });
  const f = GGUFFile.open(path);
  try {
    assert.deepEqual(f.metadata.stringArray('tokenizer.ggml.tokens'), tokens);
    assert.equal(f.metadata.numberArray('tokenizer.ggml.scores')![149_999], Math.fround(-149_999 / 3));
    const t = f.requireTensor('big');
    assert.deepEqual(f.readTensorBytes(t, (16 << 20) - 100), big.subarray((16 << 20) - 100));
    // Streamed back in 1 MiB pieces, the tensor is the same.
    const back = new Uint8Array(t.nbytes);
    for (let at = 0; at < t.nbytes; at += 1 << 20) f.readTensorBytes(t, at, Math.min(1 << 20, t.nbytes - at), back.subarray(at));
    assert.deepEqual(back, big);
  } finally {
    f.close();
  }
  assert.equal(statSync(path).size % 32, 0);
});

test('rewriting the real vocabulary GGUFs reproduces them byte for byte', () => {
  const vocabDir = fileURLToPath(new URL('../fixtures/llama-vocab/', import.meta.url));
  let files: string[];
  try {
    files = readdirSync(vocabDir).filter((f) => f.endsWith('.gguf'));
  } catch {
    files = [];
  }
  if (files.length === 0) return; // fixtures not present on this machine
  for (const name of files) {
    const src = join(vocabDir, name);
    const f = GGUFFile.open(src);
    const out = tmp(name.replace('.gguf', ''));
    writeGGUF(out, { version: f.version as 2 | 3, metadata: f.metadata.entries, tensors: [] });
    f.close();
    const a = readFileSync(src);
    const b = readFileSync(out);
    // The writer pads the header to the alignment even without tensors (llama.cpp does too); the fixtures,
    // written by gguf-py, stop right after the last value. Everything before that is identical.
    assert.ok(b.length >= a.length && b.length - a.length < 32, `${name}: ${a.length} vs ${b.length} bytes`);
    assert.ok(a.equals(b.subarray(0, a.length)), `${name}: bytes differ`);
    assert.ok(b.subarray(a.length).every((x) => x === 0));
  }
});
