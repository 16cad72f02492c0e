// The thread pool: results do not depend on the thread count, jobs of many small calls are split
// correctly, and workers that start late do not lose jobs.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CpuBackend } from '../../src/backend/cpu/cpu-backend.js';
import { KvCache } from '../../src/engine/kv-cache.js';
import { GGMLType } from '../../src/gguf/ggml-types.js';
import { quantizeRow } from '../../src/gguf/quant/index.js';
import { loadModel } from '../../src/model/load.js';
import { makeModel } from '../../src/model/make/random-model.js';
import { Rng } from '../../src/common/rng.js';

let dir: string;
let model: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'stepflash-pool-'));
  model = join(dir, 'm.gguf');
  makeModel({ preset: 'step35-test', type: GGMLType.Q8_0, seed: 21, out: model });
});
after(() => rmSync(dir, { recursive: true, force: true }));

const settle = () => new Promise((r) => setTimeout(r, 400));

describe('thread pool', () => {
  test('a forward pass gives identical logits on 1, 2 and 3 threads', async () => {
    const tokens = Array.from({ length: 30 }, (_, i) => 40 + ((i * 53) % 3000));
    const run = async (threads: number) => {
      const backend = new CpuBackend({ threads, minParallelWork: 0 });
      const lm = loadModel(model, { backend });
      try {
        await settle(); // let the workers start, so the jobs really are split
        const kv = new KvCache(backend, lm.model.config, 64, lm.model.maxBatch);
        const prefill = lm.model.forward(tokens, kv, { logits: 'all' });
        const decode = lm.model.forward([5], kv);
        return [prefill, decode];
      } finally {
        lm.close();
        await backend.close();
      }
    };
    const one = await run(1);
    assert.deepEqual(await run(2), one);
    assert.deepEqual(await run(3), one);
  });

  test('many small products in one dispatch equal the same products one by one', async () => {
    const backend = new CpuBackend({ threads: 2, minParallelWork: 0 });
    try {
      await settle();
      const cols = 64;
      const rng = new Rng(5);
      const mats = [3, 17, 1, 40, 8, 64, 5].map((rows, i) => {
        const w = new Float32Array(rows * cols);
        rng.fillNormal(w, 1);
        const raw = new Uint8Array(rows * 68);
        for (let r = 0; r < rows; r++) quantizeRow(GGMLType.Q8_0, w.subarray(r * cols, (r + 1) * cols), raw.subarray(r * 68, (r + 1) * 68), cols);
        return backend.uploadMatrix({ name: `m${i}`, type: GGMLType.Q8_0, rows, cols, readRows: (r0, n) => raw.subarray(r0 * 68, (r0 + n) * 68) });
      });
      const xs = new Float32Array(3 * cols);
      rng.fillNormal(xs, 1);
      const x = backend.uploadVector(xs);
      const together = mats.map((m) => backend.alloc(3 * m.rows));
      backend.matmuls(mats.map((w, i) => ({ y: together[i]!, w, x, nt: 3 })));
      mats.forEach((w, i) => {
        const alone = backend.alloc(3 * w.rows);
        backend.matmul(alone, w, x, 3);
        assert.deepEqual(backend.view(together[i]!), backend.view(alone));
      });
    } finally {
      await backend.close();
    }
  });

  test('workers sent to sleep between jobs (idle) wake for the next one, with the same results', async () => {
    const backend = new CpuBackend({ threads: 2, minParallelWork: 0 });
    try {
      await settle();
      const rows = 64, cols = 256;
      const w = new Float32Array(rows * cols);
      new Rng(9).fillNormal(w, 1);
      const m = backend.uploadMatrix({ name: 'w', type: GGMLType.F32, rows, cols, readRows: (r0, n) => new Uint8Array(w.buffer, r0 * cols * 4, n * cols * 4) });
      const xs = new Float32Array(2 * cols);
      new Rng(10).fillNormal(xs, 1);
      const x = backend.uploadVector(xs);
      const want = backend.alloc(2 * rows);
      backend.matmul(want, m, x, 2);
      const expected = [...backend.view(want)];
      // Idle, then a job at once, after a macrotask, and after the workers have surely gone to sleep: a lost
      // wake-up would hang here rather than fail, so the test's own timeout is the check.
      for (let i = 0; i < 60; i++) {
        backend.idle();
        if (i % 3 === 1) await new Promise((r) => setImmediate(r));
        if (i % 3 === 2) await new Promise((r) => setTimeout(r, 5));
        const y = backend.alloc(2 * rows);
        backend.matmul(y, m, x, 2);
        assert.deepEqual([...backend.view(y)], expected);
      }
      backend.idle();
      backend.idle(); // twice in a row is harmless
    } finally {
      await backend.close();
    }
    const single = new CpuBackend({ threads: 1 });
    single.idle(); // no workers: nothing to do
    await single.close();
  });

  test('a backend is usable at once, before its workers have started', async () => {
    const backend = new CpuBackend({ threads: 2 });
    try {
      const m = backend.uploadMatrix({ name: 'w', type: GGMLType.F32, rows: 8, cols: 16, readRows: (_r0, n) => new Uint8Array(n * 64).fill(0) });
      const y = backend.alloc(8);
      backend.matmul(y, m, backend.alloc(16), 1);
      assert.deepEqual([...backend.view(y)], new Array(8).fill(0));
      assert.throws(() => new CpuBackend({ threads: 0 }), /positive integer/);
    } finally {
      await backend.close();
    }
  });
});
