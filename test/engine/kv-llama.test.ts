// stepflash's f16 and q8_0 caches against llama.cpp's (node-llama-cpp 3.22.1, flash attention on, which
// llama.cpp needs for a quantized V cache) on the same F32-weight file: both agree to float rounding (the
// q8_0 scores are llama.cpp's integer block dots of q8_0-rounded queries), and q8_0 moves away from f16
// exactly as llama.cpp's own q8_0 does.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { KvCacheType } from '../../src/backend/backend.js';
import { Rng } from '../../src/common/rng.js';
import { KvCache } from '../../src/engine/kv-cache.js';
import { GGMLType } from '../../src/gguf/ggml-types.js';
import { loadModel, type LoadedModel } from '../../src/model/load.js';
import { makeModel } from '../../src/model/make/random-model.js';
import { oracleLlama } from '../helpers/llama-oracle.js';

const N = 160;

function logSoftmax(l: ArrayLike<number>, off: number, V: number): Float64Array {
  let m = -Infinity;
  for (let i = 0; i < V; i++) m = Math.max(m, l[off + i]!);
  let z = 0;
  for (let i = 0; i < V; i++) z += Math.exp(l[off + i]! - m);
  const out = new Float64Array(V);
  for (let i = 0; i < V; i++) out[i] = l[off + i]! - m - Math.log(z);
  return out;
}

async function llamaLogprobs(path: string, tokens: number[], type: 'F16' | 'Q8_0', V: number): Promise<Float64Array[]> {
  const llama = await oracleLlama();
  const model = await llama.loadModel({ modelPath: path, gpuLayers: 0 });
  try {
    const ctx = await model.createContext({ contextSize: 256, batchSize: 512, flashAttention: true, threads: 2, experimentalKvCacheKeyType: type, experimentalKvCacheValueType: type });
    try {
      const res = await ctx.getSequence().controlledEvaluate(tokens.map((t) => [t, { generateNext: { logits: true } }]) as never);
      return res.map((r) => {
        const a = new Float64Array(V).fill(-1e30);
        for (const [id, v] of (r as { next: { logits: Map<number, number> } }).next.logits) a[id] = v;
        return logSoftmax(a, 0, V);
      });
    } finally {
      await ctx.dispose();
    }
  } finally {
    await model.dispose();
  }
}

interface Cmp {
  klMedian: number;
  meanTv: number;
  top1: number;
}

function compare(a: Float64Array[], b: Float64Array[]): Cmp {
  const kl: number[] = [];
  let tv = 0, top1 = 0;
  for (let t = 0; t < a.length; t++) {
    let k = 0, d = 0, am = 0, bm = 0;
    const x = a[t]!, y = b[t]!;
    for (let i = 0; i < x.length; i++) {
      const p = Math.exp(x[i]!), q = Math.exp(y[i]!);
      k += p * (x[i]! - y[i]!);
      d += Math.abs(p - q) / 2;
      if (x[i]! > x[am]!) am = i;
      if (y[i]! > y[bm]!) bm = i;
    }
    kl.push(Math.max(0, k));
    tv += d;
    if (am === bm) top1++;
  }
  kl.sort((p, q) => p - q);
  return { klMedian: kl[kl.length >> 1]!, meanTv: tv / a.length, top1 };
}

describe('KV cache types against llama.cpp', () => {
  let dir: string;
  let path: string;
  let lm: LoadedModel;
  let tokens: number[];
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'stepflash-kvl-'));
    path = join(dir, 'tiny-f32.gguf');
    makeModel({ preset: 'tiny', type: GGMLType.F32, seed: 21, out: path }); // head dim 32, window 64
    lm = loadModel(path, { maxBatch: 64, threads: 2 });
    const rng = new Rng(3);
    tokens = Array.from({ length: N }, () => 10 + Math.floor(rng.next() * (lm.model.config.nVocab - 10)));
  });
  after(() => {
    lm.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const ours = (t: KvCacheType) => {
    const V = lm.model.config.nVocab;
    const l = lm.model.forward(tokens, new KvCache(lm.model.backend, lm.model.config, N, lm.model.maxBatch, { k: t, v: t }), { logits: 'all' });
    return tokens.map((_, i) => logSoftmax(l, i * V, V));
  };

  test('f16 and q8_0 caches equal llama.cpp\'s to float rounding', async () => {
    const V = lm.model.config.nVocab;
    const [o16, o8] = [ours('f16'), ours('q8_0')];
    const l16 = await llamaLogprobs(path, tokens, 'F16', V);
    const l8 = await llamaLogprobs(path, tokens, 'Q8_0', V);
    const f16 = compare(o16, l16), q8 = compare(o8, l8), ownShift = compare(o16, o8), theirShift = compare(l16, l8);
    const fmt = (c: Cmp) => `KL median ${c.klMedian.toExponential(1)}, mean TV ${c.meanTv.toFixed(4)}, top-1 ${c.top1}/${N}`;
    console.log(`# f16 vs llama.cpp f16: ${fmt(f16)}\n# q8_0 vs llama.cpp q8_0: ${fmt(q8)}\n# q8_0 vs f16, stepflash: ${fmt(ownShift)}; llama.cpp: ${fmt(theirShift)}`);
    assert.ok(f16.klMedian < 1e-6 && f16.top1 === N, `f16: ${fmt(f16)}`);
    assert.ok(q8.klMedian < 1e-6 && q8.top1 === N, `q8_0: ${fmt(q8)}`);
    // stepflash's q8_0 moves the distributions about as far from f16 as llama.cpp's does.
    assert.ok(ownShift.meanTv < 2 * theirShift.meanTv + 0.01 && ownShift.klMedian < 3 * theirShift.klMedian + 1e-4, `${fmt(ownShift)} vs ${fmt(theirShift)}`);
  });
});
