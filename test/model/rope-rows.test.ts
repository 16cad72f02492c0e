// RoPE rows cached across passes (RopeRows): bit-identical to ropeTable for any run of positions (inside a
// block, across blocks, near and past 131072 and up to 262144 with llama3 factors), computed lazily a block
// at a time, with a bounded number of blocks; and a model's logits are unchanged when its cached rows are
// reused (decoding token by token equals one batched pass, a second sequence over the same positions
// equals the first).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { KvCache } from '../../src/engine/kv-cache.js';
import { GGMLType } from '../../src/gguf/ggml-types.js';
import { loadModel } from '../../src/model/load.js';
import { makeModel } from '../../src/model/make/random-model.js';
import { RopeRows, ropeTable } from '../../src/model/rope.js';

const range = (p0: number, n: number) => Array.from({ length: n }, (_, i) => p0 + i);
const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

// Step 3.5 Flash's llama3 factor table shape: 32 pairs of 64 rotated dims, factors from 1 to 32.
const factors = Float32Array.from({ length: 32 }, (_, i) => (i < 8 ? 1 : i < 24 ? 1 + (i - 8) * 1.9 : 32));

test('rows equal ropeTable bit for bit: within a block, across blocks, at long-context positions', () => {
  const B = RopeRows.BLOCK;
  const configs = [
    new RopeRows(64, 5e6, 1, factors),
    new RopeRows(128, 1e4, 1, null),
    new RopeRows(16, 1e4, 0.5, null),
  ];
  const runs: [number, number][] = [
    [0, 1], [0, B], [B - 1, 2], [3, 250], [17, 1], [5 * B + 7, 3 * B], // short and spanning several blocks
    [131071, 4], [131072 - 5, 10], [140000, 48], [262096, 48], [262143, 1], [262144 - B, B], [262144, 1],
  ];
  for (const r of configs)
    for (const [p0, n] of runs) {
      const want = ropeTable(range(p0, n), r.nRot, r.base, r.freqScale, r.factors);
      assert.deepEqual(bits(r.rows(p0, n)), bits(want), `nRot ${r.nRot} positions ${p0}+${n}`);
      // A second request is served from the cache, identically.
      assert.deepEqual(bits(r.rows(p0, n)), bits(want), `nRot ${r.nRot} positions ${p0}+${n}, cached`);
    }
  assert.equal(configs[0]!.rows(5, 0).length, 0);
  assert.throws(() => configs[0]!.rows(-1, 2), /position -1/);
});

test('lazy and bounded: a far position computes one block, and at most maxBlocks are kept (least recently used dropped)', () => {
  const r = new RopeRows(128, 1e4, 1, null, 4);
  r.rows(262000, 1);
  assert.equal(r.blockCount, 1, 'one block for one position, not a table up to it');
  const B = RopeRows.BLOCK;
  for (let b = 0; b < 10; b++) r.rows(b * B, 1);
  assert.equal(r.blockCount, 4);
  // Blocks 6..9 are held; using 6 again keeps it when 10 comes in (7 goes).
  r.rows(6 * B + 3, 1);
  r.rows(10 * B, 1);
  const held = [...(r as unknown as { blocks: Map<number, Float32Array> }).blocks.keys()].sort((a, b) => a - b);
  assert.deepEqual(held, [6, 8, 9, 10]);
  // Decoding 10000 positions one at a time still holds at most 4 blocks, each row exact.
  for (let p = 100000; p < 110000; p++) {
    const got = r.rows(p, 1);
    if (p % 997 === 0) assert.deepEqual(bits(got), bits(ropeTable([p], 128, 1e4, 1, null)));
  }
  assert.equal(r.blockCount, 4);
  r.clear();
  assert.equal(r.blockCount, 0);
  assert.throws(() => new RopeRows(8, 1e4, 1, null, 0), /at least one block/);
});

test('a model reusing its cached rows gives the logits of tables computed afresh per pass (the old way), bit for bit', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'stepflash-rope-rows-'));
  try {
    const path = join(dir, 'm.gguf');
    await makeModel({ preset: 'step35-test', type: GGMLType.F32, seed: 91, out: path, overrides: { nNextn: 0 } });
    const m = loadModel(path, { maxBatch: 32, threads: 1 });
    try {
      const model = m.model;
      const toks = range(0, 150).map((i) => 20 + ((i * 41) % 1000)); // crosses blocks, wraps the window of 16
      /** Prefill in chunks of 24 (runs that straddle blocks) then 20 single-token steps; all logits. */
      const run = (first: number) => {
        const kv = new KvCache(model.backend, model.config, first + 160, model.maxBatch, { first });
        const out: number[] = [];
        for (let i = 0; i < 130; i += 24) out.push(...model.forward(toks.slice(i, Math.min(i + 24, 130)), kv, { logits: 'all' }));
        for (let i = 130; i < 150; i++) out.push(...model.forward([toks[i]!], kv, { logits: 'last' }));
        return out;
      };
      const starts = [0, 131040, 262000 - 150]; // near the start, across 131072, at the end of 262144
      const cached = starts.map((p) => [run(p), run(p)]); // computed, then served from the cache
      // The reference: a fresh table per pass from ropeTable, as before the cache.
      const cfg = model.config, w = model.weights;
      (model as unknown as { ropeFor: unknown }).ropeFor = (L: (typeof cfg.layers)[number], pos0: number, nt: number) =>
        ropeTable(range(pos0, nt), L.nRot, L.ropeBase, cfg.ropeFreqScale, L.ropeFactors ? w.ropeFreqs : null);
      starts.forEach((p, i) => {
        const want = run(p);
        assert.deepEqual(cached[i]![0], want, `first ${p}: computed rows`);
        assert.deepEqual(cached[i]![1], want, `first ${p}: cached rows`);
      });
    } finally {
      m.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
