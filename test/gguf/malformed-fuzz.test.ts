// Seeded fuzzing of the reader: mutate a small valid file thousands of ways (bit flips, interesting
// integers dropped onto count/length/offset fields, truncations, cut-outs and duplications) and require
// that every open either succeeds - and then every tensor's bytes can be read - or throws a GGUFError
// that names the file and an offset inside it. Nothing else: no RangeError, no TypeError, no hang.
import assert from 'node:assert/strict';
import { closeSync, ftruncateSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { GGMLType, GGUFError, GGUFFile, GGUFValueType, gguf, writeGGUF } from '../../src/gguf/index.js';

const dir = mkdtempSync(join(os.tmpdir(), 'stepflash-gguf-fuzz-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const SEED = Number(process.env.GGUF_FUZZ_SEED ?? 0x5eed);
const ITERATIONS = Number(process.env.GGUF_FUZZ_ITERATIONS ?? 8000);

/** mulberry32: small, fast, and the same everywhere. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function baseFile(alignment: number): Uint8Array {
  const path = join(dir, `base-${alignment}.gguf`);
  const bytes = (n: number, k: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + k) & 0xff);
  writeGGUF(path, {
    metadata: [
      ['general.architecture', gguf.str('fuzz')],
      ['general.alignment', gguf.u32(alignment)],
      ['fuzz.count', gguf.u32(7)],
      ['fuzz.big', gguf.u64(2n ** 60n)],
      ['fuzz.flag', gguf.bool(true)],
      ['fuzz.scale', gguf.f32(0.5)],
      ['tokenizer.ggml.tokens', gguf.arr(GGUFValueType.STRING, ['<s>', '</s>', 'héllo', ''])],
      ['fuzz.ints', gguf.arr(GGUFValueType.INT32, [1, -2, 3])],
      ['fuzz.nested', gguf.arr(GGUFValueType.ARRAY, [{ itemType: GGUFValueType.UINT8, items: [1, 2] }, { itemType: GGUFValueType.STRING, items: ['x'] }])],
    ],
    tensors: [
      { name: 'tok_embd.weight', dims: [8, 4], type: GGMLType.F32, data: bytes(128, 1) },
      { name: 'blk.0.attn_q.weight', dims: [32, 2], type: GGMLType.Q8_0, data: bytes(68, 2) },
      { name: 'output_norm.weight', dims: [6], type: GGMLType.F16, data: bytes(12, 3) },
    ],
  });
  return new Uint8Array(readFileSync(path));
}

const INTERESTING_U64 = [0n, 1n, 2n, 4n, 13n, 63n, 64n, 0xffn, 0x7fffffffn, 0x80000000n, 0xffffffffn, 2n ** 32n, 2n ** 40n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 63n - 1n, 2n ** 63n, 2n ** 64n - 1n];
const INTERESTING_U32 = [0, 1, 2, 3, 4, 5, 7, 8, 9, 12, 13, 16, 30, 31, 99, 255, 0x7fffffff, 0x80000000, 0xffffffff];

function mutate(base: Uint8Array, r: () => number): { bytes: Uint8Array; how: string } {
  let b: Uint8Array = Uint8Array.from(base);
  const steps: string[] = [];
  const int = (n: number) => Math.floor(r() * n);
  const nSteps = 1 + int(3);
  for (let s = 0; s < nSteps; s++) {
    const kind = int(7);
    if (b.length === 0) break;
    const at = int(b.length);
    switch (kind) {
      case 0: {
        const bit = int(8);
        b[at] ^= 1 << bit;
        steps.push(`flip ${at}.${bit}`);
        break;
      }
      case 1: {
        b[at] = int(256);
        steps.push(`byte ${at}=${b[at]}`);
        break;
      }
      case 2: {
        if (at + 8 > b.length) break;
        const v = INTERESTING_U64[int(INTERESTING_U64.length)]!;
        new DataView(b.buffer, b.byteOffset).setBigUint64(at, v, true);
        steps.push(`u64 ${at}=${v}`);
        break;
      }
      case 3: {
        if (at + 4 > b.length) break;
        const v = INTERESTING_U32[int(INTERESTING_U32.length)]!;
        new DataView(b.buffer, b.byteOffset).setUint32(at, v, true);
        steps.push(`u32 ${at}=${v}`);
        break;
      }
      case 4: {
        b = b.slice(0, at);
        steps.push(`truncate ${at}`);
        break;
      }
      case 5: {
        const n = 1 + int(16);
        b = Uint8Array.from([...b.subarray(0, at), ...b.subarray(at + n)]);
        steps.push(`cut ${at}+${n}`);
        break;
      }
      case 6: {
        const n = 1 + int(16);
        b = Uint8Array.from([...b.subarray(0, at + n), ...b.subarray(at, at + n), ...b.subarray(at + n)]);
        steps.push(`dup ${at}+${n}`);
        break;
      }
    }
  }
  return { bytes: b, how: steps.join(', ') };
}

test(`fuzz: ${ITERATIONS} mutations of a valid file open cleanly or fail with a GGUFError (seed ${SEED})`, () => {
  const bases = [baseFile(32), baseFile(8), baseFile(1)];
  // The unmutated files are valid.
  for (const [i, base] of bases.entries()) {
    const p = join(dir, `check-${i}.gguf`);
    writeFileSync(p, base);
    const f = GGUFFile.open(p);
    assert.equal(f.tensors.length, 3);
    f.close();
  }
  const r = rng(SEED);
  const path = join(dir, 'mutant.gguf');
  // Rewriting one file in place is ~100x faster than writeFileSync's truncate-then-write on some file systems.
  const fd = openSync(path, 'w+');
  const outcomes = new Map<string, number>();
  let opened = 0;
  let slowest = 0;
  try {
    for (let it = 0; it < ITERATIONS; it++) {
      const { bytes, how } = mutate(bases[it % bases.length]!, r);
      writeSync(fd, bytes, 0, bytes.length, 0);
      ftruncateSync(fd, bytes.length);
      const where = `iteration ${it} (base ${it % bases.length}: ${how})`;
      const t0 = performance.now();
      let f: GGUFFile | undefined;
      try {
        f = GGUFFile.open(path);
      } catch (e) {
        if (!(e instanceof GGUFError)) {
          writeFileSync(join(os.tmpdir(), 'stepflash-fuzz-failure.gguf'), bytes);
          assert.fail(`${where}: threw ${(e as Error)?.name}: ${(e as Error)?.message}\n${(e as Error)?.stack}`);
        }
        assert.equal(e.file, path, where);
        assert.ok(Number.isSafeInteger(e.offset) && e.offset >= 0 && e.offset <= bytes.length, `${where}: offset ${e.offset} outside the ${bytes.length}-byte file`);
        assert.ok(e.message.startsWith(`${path}: at byte ${e.offset}: `), where);
        const kind = e.reason.replace(/"[^"]*"/g, '"…"').replace(/\d+/g, 'N').slice(0, 60);
        outcomes.set(kind, (outcomes.get(kind) ?? 0) + 1);
      }
      if (f) {
        opened++;
        try {
          // Everything an opened file promises must hold.
          for (const t of f.tensors) {
            assert.ok(t.fileOffset >= f.dataOffset && t.fileOffset + t.nbytes <= bytes.length, `${where}: ${t.name} out of bounds`);
            assert.equal(t.fileOffset % f.alignment, f.dataOffset % f.alignment, where);
            const data = f.readTensorBytes(t);
            assert.deepEqual(data, bytes.subarray(t.fileOffset, t.fileOffset + t.nbytes), where);
          }
          JSON.stringify(f.metadata.toJSON());
        } finally {
          f.close();
        }
      }
      slowest = Math.max(slowest, performance.now() - t0);
    }
  } finally {
    closeSync(fd);
  }
  assert.ok(slowest < 1000, `slowest open took ${slowest.toFixed(0)} ms`);
  // The mutations must exercise both sides: some mutants still open, and many different errors are hit.
  assert.ok(opened > ITERATIONS / 50, `only ${opened} mutants opened`);
  assert.ok(outcomes.size > 25, `only ${outcomes.size} kinds of error`);
});
