// Positions past the original 131072 (llama3-scaled RoPE on full layers, the sliding layers' own base):
// a prompt placed at a large position offset, compared with llama.cpp (node-llama-cpp) evaluating the same
// tokens at the same absolute positions. Only the offset prompt is computed, so time and memory stay small.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { KvCache } from '../../src/engine/kv-cache.js';
import { GGMLType } from '../../src/gguf/ggml-types.js';
import { loadModel, type LoadedModel } from '../../src/model/load.js';
import { llama3Factors, makeModel } from '../../src/model/make/random-model.js';
import { oracleLlama } from '../helpers/llama-oracle.js';

const N = 48;

/** llama.cpp's next-token log-softmax for `tokens` placed at positions first.., F32 cache, no flash attention. */
async function llamaAt(path: string, tokens: number[], first: number): Promise<Float64Array[]> {
  const llama = await oracleLlama();
  const model = await llama.loadModel({ modelPath: path, gpuLayers: 0 });
  try {
    const context = await model.createContext({
      contextSize: first + tokens.length + 16, batchSize: 64, flashAttention: false, threads: 2,
      experimentalKvCacheKeyType: 'F32', experimentalKvCacheValueType: 'F32',
    });
    try {
      const seq = context.getSequence();
      // node-llama-cpp numbers a sequence's tokens from its next token index; a fresh sequence may start
      // anywhere (llama.cpp only requires positions to continue those already cached).
      (seq as unknown as { _nextTokenIndex: number })._nextTokenIndex = first;
      const res = await seq.controlledEvaluate(tokens.map((t) => [t, { generateNext: { logits: true } }]) as never);
      return res.map((r, i) => {
        const logits = (r as { next?: { logits?: Map<number, number> } } | undefined)?.next?.logits;
        if (!logits) throw new Error(`llama.cpp returned no logits at ${i}`);
        let mx = -Infinity;
        for (const v of logits.values()) mx = Math.max(mx, v);
        let z = 0;
        for (const v of logits.values()) z += Math.exp(v - mx);
        const out = new Float64Array(logits.size);
        for (const [id, v] of logits) out[id] = v - mx - Math.log(z);
        return out;
      });
    } finally {
      await context.dispose();
    }
  } finally {
    await model.dispose();
  }
}

describe('long context: positions up to 262144', () => {
  let dir: string;
  let path: string;
  let lm: LoadedModel;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'stepflash-long-'));
    path = join(dir, 'long.gguf');
    // Head dimension 128 as in Step 3.5 Flash, so full layers rotate 64 dims with the real llama3 factor
    // table (factor 2, original 131072 positions, low/high frequency factors 1/32, θ = 5e6); the sliding
    // layers rotate all 128 dims with θ = 1e4 and no scaling. context_length 262144.
    makeModel({ preset: 'step35-test', type: GGMLType.F32, seed: 17, out: path, overrides: { headDim: 128, nHeadKv: 1, nHeadFull: 2, nHeadSwa: 3, ctx: 262144 } });
    lm = loadModel(path, { maxBatch: 16, threads: 2 });
  });
  after(() => {
    lm.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the file carries Step 3.5 Flash\'s llama3 factors for the 64 rotary dims of full layers', () => {
    const f = lm.model.weights.ropeFreqs!;
    const want = llama3Factors(64, 5e6, 262144, 64);
    assert.equal(f.length, 64);
    for (let i = 0; i < 64; i++) assert.ok(Math.abs(f[i]! - want[i]!) < 1e-6);
    assert.equal(want[0], 1); // short wavelengths unchanged
    assert.equal(want[31], 2); // long wavelengths divided by the factor 2
    const c = lm.model.config;
    assert.equal(c.nCtxTrain, 262144);
    assert.deepEqual([...new Set(c.layers.filter((l) => !l.sliding).map((l) => `${l.nRot}/${l.ropeBase}/${l.ropeFactors}`))], ['64/5000000/true']);
    assert.deepEqual([...new Set(c.layers.filter((l) => l.sliding).map((l) => `${l.nRot}/${l.ropeBase}/${l.ropeFactors}`))], ['128/10000/false']);
  });

  for (const first of [140000, 262144 - N]) {
    test(`logits at positions ${first}..${first + N - 1} equal llama.cpp's`, async () => {
      const V = lm.model.config.nVocab;
      const tokens = Array.from({ length: N }, (_, i) => 10 + ((i * 7919 + first) % (V - 10)));
      const kv = new KvCache(lm.model.backend, lm.model.config, first + N, lm.model.maxBatch, { first });
      assert.ok(kv.info.bytes < 1 << 20, `cache of ${kv.info.bytes} bytes: only the offset prompt is held`);
      const ours = lm.model.forward(tokens, kv, { logits: 'all' });
      assert.equal(kv.length, first + N);
      const ref = await llamaAt(path, tokens, first);
      // The same tokens at position 0 give different logits: the test would see a position bug.
      const at0 = lm.model.forward(tokens, new KvCache(lm.model.backend, lm.model.config, N, lm.model.maxBatch), { logits: 'all' });
      let maxDiff = 0, diffAt0 = 0;
      for (let t = 0; t < N; t++) {
        let m = -Infinity, m0 = -Infinity;
        for (let i = 0; i < V; i++) {
          m = Math.max(m, ours[t * V + i]!);
          m0 = Math.max(m0, at0[t * V + i]!);
        }
        let z = 0, z0 = 0;
        for (let i = 0; i < V; i++) {
          z += Math.exp(ours[t * V + i]! - m);
          z0 += Math.exp(at0[t * V + i]! - m0);
        }
        for (let i = 0; i < V; i++) {
          const lp = ours[t * V + i]! - m - Math.log(z);
          const lp0 = at0[t * V + i]! - m0 - Math.log(z0);
          maxDiff = Math.max(maxDiff, Math.abs(lp - ref[t]![i]!));
          diffAt0 = Math.max(diffAt0, Math.abs(lp0 - ref[t]![i]!));
        }
      }
      console.log(`# positions ${first}..: max |Δ logprob| vs llama.cpp ${maxDiff.toExponential(2)} (the same tokens at position 0: ${diffAt0.toFixed(3)})`);
      assert.ok(maxDiff < 1e-3, `max |Δ logprob| ${maxDiff}`);
      assert.ok(diffAt0 > 0.01, 'position-0 logits should differ');
    });
  }
});
