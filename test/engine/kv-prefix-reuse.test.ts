// Prompt-prefix reuse with sliding-window layers. A sliding ring keeps window + batch positions, so a cache
// can be rolled back only `maxBatch` positions; past that, the rings at the branch point are gone. KvCache
// keeps checkpoints of the rings (taken at the end of each prompt by the server's scheduler) and restores
// them: the result must equal evaluating the new prompt from scratch, to the bit.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { KvCache } from '../../src/engine/kv-cache.js';
import type { LoadedModel } from '../../src/model/load.js';
import type { Tokenizer } from '../../src/tokenizer/index.js';
import { createChatService } from '../../src/server/engine/index.js';
import { loadTiny, req, run } from '../server/engine/helpers.js';

let loaded: LoadedModel;
let tokenizer: Tokenizer;
const MAX_BATCH = 8; // rollback limit 8; the tiny model's window is 64

before(() => {
  ({ loaded, tokenizer } = loadTiny(MAX_BATCH));
});
after(() => loaded?.close());

const toks = (n: number, seed: number) => Array.from({ length: n }, (_, i) => 20 + ((i * 7919 + seed * 104729) % 8000));

function fromScratch(tokens: number[]): Float32Array {
  const m = loaded.model;
  return m.forward(tokens, new KvCache(m.backend, m.config, 512, m.maxBatch));
}

describe('KvCache checkpoints of the sliding rings', () => {
  test('returning to a checkpoint far behind the end gives the from-scratch logits', () => {
    const m = loaded.model;
    const a = toks(100, 1);
    const kv = new KvCache(m.backend, m.config, 512, m.maxBatch);
    m.forward(a, kv);
    kv.checkpoint();
    for (const t of toks(50, 2)) m.forward([t], kv); // a 50-token answer moves the rings on
    assert.equal(kv.length, 150);
    const b = [...a, ...toks(30, 3)];
    assert.equal(kv.reusable(120), 100, 'the checkpoint is the longest reusable prefix of the new prompt');
    assert.equal(kv.reusable(149), 149, 'within the rollback limit any prefix is reusable');
    kv.truncate(100);
    const reused = m.forward(b.slice(100), kv);
    assert.deepEqual(reused, fromScratch(b));
  });

  test('without the checkpoint the rings are wrong: truncation is refused, and forcing it changes the logits', () => {
    const m = loaded.model;
    const a = toks(100, 4);
    const kv = new KvCache(m.backend, m.config, 512, m.maxBatch, { checkpoints: 0 });
    m.forward(a, kv);
    for (const t of toks(50, 5)) m.forward([t], kv);
    assert.equal(kv.reusable(100), 0);
    assert.throws(() => kv.truncate(100), /cannot roll back 50 positions/);
    const b = [...a, ...toks(30, 6)];
    kv.length = 100; // what a reuse that ignored the sliding layers would do
    const stale = m.forward(b.slice(100), kv);
    assert.notDeepEqual(stale, fromScratch(b));
  });

  test('checkpoints past a truncation are dropped; the oldest is replaced when all are taken', () => {
    const m = loaded.model;
    const kv = new KvCache(m.backend, m.config, 512, m.maxBatch, { checkpoints: 2 });
    m.forward(toks(20, 7), kv);
    kv.checkpoint();
    m.forward(toks(20, 8), kv);
    kv.checkpoint();
    m.forward(toks(20, 9), kv);
    kv.checkpoint();
    assert.deepEqual(kv.checkpointPositions, [40, 60]);
    kv.truncate(55);
    assert.deepEqual(kv.checkpointPositions, [40]);
    kv.truncate(0);
    assert.deepEqual(kv.checkpointPositions, []);
  });
});

describe('server prefix reuse past the rollback limit', () => {
  test('a follow-up turn reuses the previous prompt through its checkpoint and answers as a fresh server', async () => {
    const text = (s: Awaited<ReturnType<typeof run>>) => s.reasoning + '\u0000' + s.content;
    const service = () => createChatService({ model: loaded.model, tokenizer, parallel: 1, contextSize: 1024, loopGuard: false });
    const greedy = { temperature: 0, maxTokens: 24 }; // 24 generated tokens > the rollback limit of 8
    const first = [{ role: 'user' as const, content: 'Name a color and explain why you like it.' }];
    const follow = [...first, { role: 'assistant' as const, content: 'Blue.' }, { role: 'user' as const, content: 'Another?' }];
    const cold = service();
    const fresh = await run(cold, { messages: follow, signal: req('').signal, ...greedy });
    await cold.close();
    const warm = service();
    const one = await run(warm, { messages: first, signal: req('').signal, ...greedy });
    const reused = await run(warm, { messages: follow, signal: req('').signal, ...greedy });
    await warm.close();
    // Reuse stops where the rendered history diverges from the cached generation: within the first prompt.
    assert.ok(reused.start.cachedTokens > 10 && reused.start.cachedTokens <= one.start.promptTokens, `${reused.start.cachedTokens}`);
    assert.equal(text(reused), text(fresh));
  });
});
