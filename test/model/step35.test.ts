// Model-level invariants: configuration from metadata, batching and ring-buffer equivalence, cache
// sizes, and clear errors for bad inputs and bad files.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CpuBackend } from '../../src/backend/cpu/cpu-backend.js';
import { KvCache } from '../../src/engine/kv-cache.js';
import { GGMLType } from '../../src/gguf/ggml-types.js';
import { GGUFFile } from '../../src/gguf/reader.js';
import { writeGGUF } from '../../src/gguf/writer.js';
import { loadModel } from '../../src/model/load.js';
import { makeModel } from '../../src/model/make/random-model.js';

let dir: string;
let tiny: string;
let llama: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'stepflash-model-'));
  tiny = join(dir, 'tiny.gguf');
  llama = join(dir, 'llama.gguf');
  makeModel({ preset: 'step35-test', type: GGMLType.Q8_0, seed: 11, out: tiny });
  makeModel({ preset: 'llama-test', type: GGMLType.F32, seed: 12, out: llama });
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('configuration from metadata', () => {
  test('step35: hybrid layers, head counts, partial rope, MoE layout, clamps, MTP', () => {
    const lm = loadModel(tiny);
    try {
      const c = lm.model.config;
      assert.equal(c.arch, 'step35');
      assert.equal(c.nLayer, 6);
      assert.equal(c.nNextn, 1);
      assert.equal(c.ropeMode, 'neox');
      assert.deepEqual(c.layers.map((l) => l.sliding), [false, true, true, true, false, true, true]);
      assert.deepEqual(c.layers.map((l) => l.nHead), [4, 6, 6, 6, 4, 6, 6]);
      assert.deepEqual(c.layers.map((l) => l.nRot), [8, 16, 16, 16, 8, 16, 16]);
      assert.deepEqual(c.layers.map((l) => l.ropeBase), [5e6, 1e4, 1e4, 1e4, 5e6, 1e4, 1e4]);
      assert.deepEqual(c.layers.map((l) => l.ropeFactors), [true, false, false, false, true, false, false]);
      assert.deepEqual(c.layers.map((l) => l.moe), [false, true, true, true, true, true, false]);
      assert.deepEqual(c.layers.map((l) => l.clampExp), [0, 0, 0, 0, 7, 7, 0]);
      assert.deepEqual(c.layers.map((l) => l.clampShexp), [0, 0, 0, 0, 0, 16, 0]);
      assert.equal(c.gating, 'sigmoid');
      assert.equal(c.expertWeightsScale, 3);
      assert.ok(lm.model.weights.layers[6]!.nextn, 'the MTP layer is loaded');
      assert.ok(lm.model.weights.ropeFreqs, 'rope_freqs is loaded');
    } finally {
      lm.close();
    }
  });

  test('llama: the same code as a configuration', () => {
    const lm = loadModel(llama);
    try {
      const c = lm.model.config;
      assert.equal(c.ropeMode, 'normal');
      assert.equal(c.slidingWindow, 0);
      assert.ok(c.layers.every((l) => !l.sliding && !l.moe && l.nRot === c.headDimK));
      assert.equal(lm.model.weights.layers[0]!.attn.gate, null);
      assert.equal(lm.model.weights.layers[0]!.attn.qNorm, null);
    } finally {
      lm.close();
    }
  });
});

describe('batching and the sliding ring buffer', () => {
  test('one token at a time, in chunks and all at once give identical logits', () => {
    const tokens = Array.from({ length: 70 }, (_, i) => 20 + ((i * 31) % 3000));
    const run = (chunk: number) => {
      const lm = loadModel(tiny, { maxBatch: 8 });
      try {
        const V = lm.model.config.nVocab;
        const kv = new KvCache(lm.model.backend, lm.model.config, 128, lm.model.maxBatch);
        assert.ok(kv.layers.some((l) => l.capacity < tokens.length), 'a sliding ring wraps');
        const out = new Float32Array(tokens.length * V);
        for (let s = 0; s < tokens.length; s += chunk) {
          const part = tokens.slice(s, s + chunk);
          out.set(lm.model.forward(part, kv, { logits: 'all' }), s * V);
        }
        assert.equal(kv.length, tokens.length);
        return out;
      } finally {
        lm.close();
      }
    };
    const all = run(70);
    assert.deepEqual(run(1), all);
    assert.deepEqual(run(7), all);
  });

  test('a prompt longer than one FFN slice gives the logits of shorter passes', () => {
    // One pass over more tokens than an FFN slice (here 128) runs its FFN slice by slice, reusing the
    // scratch; forward() splits such a prompt into passes of a slice; tracing turns both off, so the
    // traced pass is the unsliced reference.
    const tokens = Array.from({ length: 300 }, (_, i) => 20 + ((i * 37) % 3000));
    const run = (how: 'one pass' | 'forward' | 'traced' | 'chunks of 60') => {
      const lm = loadModel(tiny, { maxBatch: 300, ffnSlice: 128 });
      try {
        const kv = new KvCache(lm.model.backend, lm.model.config, 320, lm.model.maxBatch);
        const V = lm.model.config.nVocab;
        if (how === 'one pass') return lm.model.forwardMany([{ tokens, seq: kv, logits: 'all' }])[0]!;
        if (how === 'forward') return lm.model.forward(tokens, kv, { logits: 'all' });
        if (how === 'traced') {
          let traced = 0;
          const out = lm.model.forward(tokens, kv, { logits: 'all', trace: () => void traced++ });
          assert.ok(traced > 0);
          return out;
        }
        const out = new Float32Array(tokens.length * V);
        for (let s = 0; s < tokens.length; s += 60) out.set(lm.model.forward(tokens.slice(s, s + 60), kv, { logits: 'all' }), s * V);
        return out;
      } finally {
        lm.close();
      }
    };
    const reference = run('traced');
    assert.deepEqual(run('one pass'), reference);
    assert.deepEqual(run('forward'), reference);
    assert.deepEqual(run('chunks of 60'), reference);
  });

  test('several sequences in one pass give the same logits as each alone', () => {
    const lm = loadModel(tiny, { maxBatch: 64 });
    try {
      const cfg = lm.model.config;
      const prompts = [[30, 31, 32, 33, 34], [900, 901], [1500, 1501, 1502, 1503, 1504, 1505, 1506, 1507, 1508, 1509, 1510, 1511, 1512, 1513, 1514, 1515, 1516, 1517, 1518, 1519]];
      const alone = prompts.map((p) => {
        const kv = new KvCache(lm.model.backend, cfg, 64, 64);
        const first = lm.model.forward(p, kv, { logits: 'all' });
        const next = lm.model.forward([7], kv);
        return [first, next];
      });
      const kvs = prompts.map(() => new KvCache(lm.model.backend, cfg, 64, 64));
      const first = lm.model.forwardMany(prompts.map((p, i) => ({ tokens: p, seq: kvs[i]!, logits: 'all' as const })));
      // Then a decode step for all three at once (different positions), one of them with no logits wanted.
      const next = lm.model.forwardMany(prompts.map((_, i) => ({ tokens: [7], seq: kvs[i]!, logits: i === 1 ? 'none' as const : 'last' as const })));
      prompts.forEach((_, i) => {
        assert.deepEqual(first[i], alone[i]![0]);
        if (i !== 1) assert.deepEqual(next[i], alone[i]![1]);
        else assert.equal(next[i]!.length, 0);
      });
      assert.throws(() => lm.model.forwardMany([{ tokens: [1], seq: kvs[0]!, logits: 'last' }, { tokens: [2], seq: kvs[0]!, logits: 'last' }]), /only once/);
      assert.throws(() => lm.model.forwardMany([{ tokens: new Array(65).fill(5), seq: kvs[0]!, logits: 'last' }]), /exceed the batch size/);
    } finally {
      lm.close();
    }
  });

  test('sliding layers keep window + batch positions whatever the context size', () => {
    const lm = loadModel(tiny);
    try {
      const small = new KvCache(lm.model.backend, lm.model.config, 512, 64);
      const big = new KvCache(lm.model.backend, lm.model.config, 8192, 64);
      assert.equal(small.info.slidingBytes, big.info.slidingBytes);
      assert.equal(big.info.fullBytes, small.info.fullBytes * 16);
      // 4 sliding trunk layers x (16 + 64) positions x 2 kv heads x 16 dims x (k + v) x 4 bytes.
      assert.equal(small.info.slidingBytes, 4 * 80 * 2 * 16 * 2 * 4);
    } finally {
      lm.close();
    }
  });

  test('rolling back within the ring is allowed, beyond it refused', () => {
    const lm = loadModel(tiny);
    try {
      const kv = new KvCache(lm.model.backend, lm.model.config, 256, 8);
      lm.model.forward(Array.from({ length: 40 }, (_, i) => 30 + i), kv, { logits: 'none' });
      kv.truncate(35);
      assert.throws(() => kv.truncate(10), /roll back/);
      kv.truncate(0);
      assert.equal(kv.length, 0);
    } finally {
      lm.close();
    }
  });
});

describe('models larger than one wasm memory', () => {
  test('weights spread over several memories give identical logits', async () => {
    const tokens = Array.from({ length: 40 }, (_, i) => 20 + ((i * 37) % 3000));
    const run = async (shardBytes?: number) => {
      const backend = new CpuBackend({ threads: 2, shardBytes, minParallelWork: 0 });
      const lm = loadModel(tiny, { backend });
      try {
        const kv = new KvCache(backend, lm.model.config, 64, lm.model.maxBatch);
        const logits = lm.model.forward(tokens, kv, { logits: 'all' });
        // Give the pool's workers time to start so the sharded jobs also run on them.
        await new Promise((r) => setTimeout(r, 300));
        const more = lm.model.forward([7, 8, 9], kv, { logits: 'all' });
        return { memories: backend.memoryCount, logits, more };
      } finally {
        lm.close();
        await backend.close();
      }
    };
    const one = await run();
    const many = await run(200 << 10);
    assert.equal(one.memories, 1);
    assert.ok(many.memories >= 4, `${many.memories} memories`);
    assert.deepEqual(many.logits, one.logits);
    assert.deepEqual(many.more, one.more);
  });
});

describe('bad input', () => {
  test('token ids outside the vocabulary and a full context are errors', () => {
    const lm = loadModel(tiny);
    try {
      const kv = new KvCache(lm.model.backend, lm.model.config, 4, lm.model.maxBatch);
      assert.throws(() => lm.model.forward([lm.model.config.nVocab], kv), /outside the vocabulary/);
      assert.throws(() => lm.model.forward([-1], kv), /outside the vocabulary/);
      assert.throws(() => lm.model.forward([1, 2, 3, 4, 5], kv), /do not fit/);
      assert.equal(kv.length, 0, 'nothing was written');
    } finally {
      lm.close();
    }
  });

  test('a file missing a tensor or with a wrong shape names the tensor', () => {
    const src = GGUFFile.open(tiny);
    const rewrite = (out: string, edit: (name: string, dims: readonly number[]) => readonly number[] | null) => {
      const tensors = src.tensors.flatMap((t) => {
        const dims = edit(t.name, t.dims);
        return dims ? [{ name: t.name, dims, type: t.type, data: src.readTensorBytes(t) }] : [];
      });
      writeGGUF(out, { metadata: src.metadata.entries, tensors });
    };
    const missing = join(dir, 'missing.gguf');
    const wrong = join(dir, 'wrong.gguf');
    rewrite(missing, (n, d) => (n === 'blk.2.attn_k.weight' ? null : d));
    rewrite(wrong, (n, d) => (n === 'blk.1.attn_q.weight' ? [d[1]!, d[0]!] : d));
    src.close();
    assert.throws(() => loadModel(missing), /blk\.2\.attn_k\.weight.*missing/);
    assert.throws(() => loadModel(wrong), /blk\.1\.attn_q\.weight.*shape/);
  });
});
