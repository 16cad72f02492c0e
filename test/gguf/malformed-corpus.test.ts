// Every file in test/fixtures/gguf-malformed/ must make GGUFFile.open throw a GGUFError that names the
// file, the exact byte offset in manifest.json and the expected reason - quickly and without allocating
// anything large. The committed corpus must also be exactly what scripts/gen-malformed-gguf.ts generates.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CORPUS_DIR, malformedCases, type ManifestEntry } from '../../scripts/gen-malformed-gguf.js';
import { GGUFError, GGUFFile } from '../../src/gguf/index.js';

const manifest: ManifestEntry[] = JSON.parse(readFileSync(join(CORPUS_DIR, 'manifest.json'), 'utf8'));

function openError(path: string): { err: unknown; ms: number } {
  const t0 = performance.now();
  try {
    GGUFFile.open(path).close();
    return { err: undefined, ms: performance.now() - t0 };
  } catch (err) {
    return { err, ms: performance.now() - t0 };
  }
}

test('the corpus has the cases the format needs, and matches its generator byte for byte', () => {
  assert.ok(manifest.length >= 25, `only ${manifest.length} cases`);
  const generated = malformedCases();
  assert.deepEqual(
    manifest.map((m) => m.file),
    generated.map((c) => c.file),
    'manifest.json is stale: run node --import tsx scripts/gen-malformed-gguf.ts',
  );
  for (const c of generated) {
    const m = manifest.find((e) => e.file === c.file)!;
    assert.equal(m.offset, c.offset, `${c.file}: manifest offset is stale`);
    assert.equal(m.error, c.error, `${c.file}: manifest error is stale`);
    assert.deepEqual(new Uint8Array(readFileSync(join(CORPUS_DIR, c.file))), c.bytes, `${c.file}: committed bytes differ from the generator`);
    assert.ok(c.bytes.length < 4096, `${c.file} is ${c.bytes.length} bytes`);
  }
  const onDisk = readdirSync(CORPUS_DIR).filter((f) => f.endsWith('.gguf')).sort();
  assert.deepEqual(onDisk, manifest.map((m) => m.file).sort(), 'files on disk and in the manifest differ');
});

test('every malformed file fails with a GGUFError naming the file, the offset and the reason', () => {
  // Warm up (module loading, JIT) so that the RSS measurement sees only the corpus.
  for (const m of manifest.slice(0, 5)) openError(join(CORPUS_DIR, m.file));
  global.gc?.();
  const rss0 = process.memoryUsage().rss;
  let slowest = { file: '', ms: 0 };
  for (const m of manifest) {
    const path = join(CORPUS_DIR, m.file);
    const { err, ms } = openError(path);
    if (ms > slowest.ms) slowest = { file: m.file, ms };
    assert.ok(err !== undefined, `${m.file} (${m.description}) opened without an error`);
    assert.ok(err instanceof GGUFError, `${m.file}: threw ${(err as Error)?.name ?? typeof err}: ${(err as Error)?.message ?? String(err)}`);
    assert.equal(err.file, path, `${m.file}: error names the wrong file`);
    assert.ok(
      err.reason.includes(m.error),
      `${m.file} (${m.description}):\n  expected reason containing: ${m.error}\n  got: ${err.message}`,
    );
    assert.equal(err.offset, m.offset, `${m.file} (${m.description}): wrong offset in: ${err.message}`);
    assert.equal(err.message, `${path}: at byte ${m.offset}: ${err.reason}`);
    assert.ok(ms < 1000, `${m.file} took ${ms.toFixed(0)} ms`);
  }
  const grown = process.memoryUsage().rss - rss0;
  assert.ok(grown < 64 << 20, `RSS grew by ${(grown / 2 ** 20).toFixed(1)} MiB over the corpus`);
  assert.ok(slowest.ms < 1000, `slowest: ${slowest.file} ${slowest.ms.toFixed(1)} ms`);
});

test('messages read well: the example from the brief, in full', () => {
  const m = manifest.find((e) => e.file === 'array-string-count-2p40.gguf')!;
  const path = join(CORPUS_DIR, m.file);
  const { err } = openError(path);
  assert.ok(err instanceof GGUFError);
  assert.equal(
    err.message,
    `${path}: at byte ${m.offset}: metadata "tokenizer.ggml.tokens": array of 1099511627776 STRING items cannot fit in the 36 bytes left`,
  );
});
