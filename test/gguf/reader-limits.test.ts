// The reader at its limits: huge (sparse) files, offsets above 4 GiB, values longer than the header
// cursor's chunk, counts and lengths just past the limits, files that are not regular files, and files
// that change under an open GGUFFile.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, ftruncateSync, mkdtempSync, openSync, rmSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Bytes, G, T } from '../../scripts/gen-malformed-gguf.js';
import {
  GGMLType,
  GGUFError,
  GGUFFile,
  GGUF_MAX_ARRAY_ITEMS,
  GGUF_MAX_STRING_BYTES,
  GGUFValueType as VT,
  gguf,
  readGGUFHeader,
  writeGGUF,
} from '../../src/gguf/index.js';

const dir = mkdtempSync(join(os.tmpdir(), 'stepflash-gguf-limits-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Writes `head` and extends the file to `size` bytes with a hole (no disk used). */
function sparse(name: string, head: Uint8Array, size: number): string {
  const path = join(dir, name);
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, head, 0, head.length, 0);
    ftruncateSync(fd, size);
  } finally {
    closeSync(fd);
  }
  return path;
}

function expectError(path: string, offset: number, reason: RegExp): GGUFError {
  const t0 = performance.now();
  let err: unknown;
  try {
    GGUFFile.open(path).close();
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof GGUFError, `expected a GGUFError, got ${String(err)}`);
  assert.equal(err.file, path);
  assert.match(err.reason, reason);
  assert.equal(err.offset, offset, err.message);
  assert.ok(performance.now() - t0 < 1000);
  return err;
}

test('a 5 GiB sparse file: tensor data above 4 GiB reads back at the right offsets', () => {
  const rows = 5;
  const cols = 2 ** 28; // 1 GiB of F32 per row
  const b = new Bytes().header(2, 1);
  b.kv('general.architecture', T.STRING).str('big');
  b.tensor('small', [8], G.F32, 0);
  b.tensor('big', [cols, rows], G.F32, 32);
  b.align(32).mark('data');
  const dataOffset = b.at('data');
  const size = dataOffset + 32 + rows * cols * 4;
  const path = sparse('five-gib.gguf', b.bytes(), size);
  const fd = openSync(path, 'r+');
  const markerAt = dataOffset + 32 + 2 ** 32 + 3; // inside "big", past 4 GiB
  writeSync(fd, Buffer.from('above 4 GiB'), 0, 11, markerAt);
  writeSync(fd, Buffer.from('THE END'), 0, 7, size - 7);
  closeSync(fd);

  const f = GGUFFile.open(path);
  try {
    assert.equal(f.fileSize, size);
    const big = f.requireTensor('big');
    assert.equal(big.nbytes, 5 * 2 ** 30);
    assert.equal(big.nelements, 5 * 2 ** 28);
    assert.equal(big.fileOffset, dataOffset + 32);
    assert.equal(Buffer.from(f.readTensorBytes(big, 2 ** 32 + 3, 11)).toString(), 'above 4 GiB');
    assert.equal(Buffer.from(f.readTensorBytes(big, big.nbytes - 7)).toString(), 'THE END');
    assert.deepEqual(f.readTensorBytes(big, 2 ** 32 - 2, 4), new Uint8Array(4));
  } finally {
    f.close();
  }
  // One byte short of that is out of bounds.
  truncateSync(path, size - 1);
  expectError(path, b.at('t:big'), /tensor "big": its data \(5368709120 bytes at byte \d+\) runs past the end of the file/);
});

test(`arrays longer than ${GGUF_MAX_ARRAY_ITEMS} items are refused before anything is allocated, even when the file is big enough`, () => {
  const n = GGUF_MAX_ARRAY_ITEMS + 1;
  const b = new Bytes().header(0, 1).kv('test.bytes', T.ARRAY).u32(T.U8).mark('count').u64(n);
  const path = sparse('long-array.gguf', b.bytes(), b.length + n);
  const rss0 = process.memoryUsage().rss;
  expectError(path, b.at('count'), /metadata "test.bytes": array of 16777217 items is too long \(at most 16777216\)/);
  assert.ok(process.memoryUsage().rss - rss0 < 32 << 20);
});

test('a string longer than V8 can hold is refused before it is read', () => {
  const len = GGUF_MAX_STRING_BYTES + 1;
  const b = new Bytes().header(0, 1).kv('tokenizer.chat_template', T.STRING).mark('len').u64(len);
  const path = sparse('long-string.gguf', b.bytes(), b.length + len);
  const rss0 = process.memoryUsage().rss;
  expectError(path, b.at('len'), new RegExp(`metadata "tokenizer.chat_template": string length ${len} is too long \\(at most ${GGUF_MAX_STRING_BYTES} bytes\\)`));
  assert.ok(process.memoryUsage().rss - rss0 < 32 << 20);
});

test('values longer than the header chunk, and values straddling chunk boundaries, read back intact', () => {
  const long = 'ünï'.repeat(700_000); // ~4.2 MB of UTF-8
  const tokens = Array.from({ length: 200_000 }, (_, i) => `tok${i}_${'é'.repeat(i % 5)}`);
  const path = join(dir, 'chunks.gguf');
  writeGGUF(path, {
    metadata: [
      ['before', gguf.u64(2n ** 63n + 1n)],
      ['long', gguf.str(long)],
      ['tokens', gguf.arr(VT.STRING, tokens)],
      ['floats', gguf.arr(VT.FLOAT64, tokens.map((_, i) => i / 7))],
      ['after', gguf.str('the end')],
    ],
    tensors: [{ name: 'w', dims: [3], type: GGMLType.F32, data: new Uint8Array(12).fill(7) }],
  });
  const h = readGGUFHeader(path);
  assert.equal(h.metadata.string('long'), long);
  assert.deepEqual(h.metadata.stringArray('tokens'), tokens);
  assert.equal(h.metadata.numberArray('floats')![199_999], 199_999 / 7);
  assert.equal(h.metadata.get('before')!.value, 2n ** 63n + 1n);
  assert.equal(h.metadata.string('after'), 'the end');
  assert.ok(h.dataOffset > 3 << 20, 'the header spans several chunks');
  assert.throws(() => (h as GGUFFile).readTensorBytes(h.tensors[0]!), /file is closed/);
});

test('paths that are not regular files fail with a GGUFError instead of crashing or blocking', () => {
  expectError(dir, 0, /cannot open file: it is a directory/);
  expectError(join(dir, 'missing.gguf'), 0, /cannot open file: ENOENT/);
  if (process.platform !== 'win32') expectError('/dev/null', 0, /cannot open file: it is a device/);
  const fifo = join(dir, 'fifo.gguf');
  // Opening a FIFO for reading blocks until a writer appears; the reader must not even try.
  if (spawnSync('mkfifo', [fifo]).status === 0) expectError(fifo, 0, /cannot open file: it is a FIFO/);
});

test('a file truncated after it was opened: tensor reads fail with a GGUFError', () => {
  const path = join(dir, 'shrinks.gguf');
  writeGGUF(path, { metadata: [], tensors: [{ name: 'w', dims: [1024], type: GGMLType.F32, data: new Uint8Array(4096).fill(1) }] });
  const f = GGUFFile.open(path);
  try {
    const t = f.requireTensor('w');
    assert.equal(f.readTensorBytes(t, 0, 16).length, 16);
    truncateSync(path, t.fileOffset + 100);
    assert.deepEqual(f.readTensorBytes(t, 0, 100), new Uint8Array(100).fill(1));
    assert.throws(() => f.readTensorBytes(t, 0, 200), (e: unknown) => e instanceof GGUFError && e.offset === t.fileOffset + 100 && /truncated/.test(e.reason));
  } finally {
    f.close();
  }
});

test('GGUFError carries the file, the offset and the reason, and formats them into the message', () => {
  const path = join(dir, 'bad version.gguf');
  writeFileSync(path, new Bytes().header(0, 0, 7).bytes());
  const err = expectError(path, 4, /^unknown GGUF version 7 \(versions 2 and 3 are supported\)$/);
  assert.equal(err.name, 'GGUFError');
  assert.equal(err.message, `${path}: at byte 4: unknown GGUF version 7 (versions 2 and 3 are supported)`);
});
