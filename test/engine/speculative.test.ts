// Speculative decoding with the MTP heads: greedy output identical to decoding without drafts (chain and
// round-robin, 1..3 drafts, on a model whose sliding window is far shorter than the generation, so the
// rings wrap and rolled-back writes land in them); partial acceptance steered by an oracle, with the
// heads' caches after rollbacks checked against heads that never saw a rejected token; trunk cache
// rollback across the ring; clear errors.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { complete, type GenerateOptions } from '../../src/engine/generate.js';
import { KvCache } from '../../src/engine/kv-cache.js';
import { argmax, Sampler } from '../../src/engine/sampler.js';
import { Session } from '../../src/engine/session.js';
import { resolveDraft } from '../../src/engine/speculative.js';
import { GGMLType } from '../../src/gguf/ggml-types.js';
import { loadModel, type LoadedModel } from '../../src/model/load.js';
import { makeModel } from '../../src/model/make/random-model.js';
import { Tokenizer } from '../../src/tokenizer/index.js';
import { OracleDrafter } from '../helpers/oracle-drafter.js';

let dir = '';
let mtp3: LoadedModel; // step35-test with 3 MTP layers: window 16, 4 of 6 trunk layers sliding
let tiny: LoadedModel; // the tiny preset: one MTP layer, window 64
let plain: LoadedModel; // llama-test: no MTP layers
let tok3: Tokenizer;
let tokTiny: Tokenizer;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'stepflash-spec-'));
  const a = join(dir, 'mtp3.gguf'), b = join(dir, 'tiny.gguf'), c = join(dir, 'llama.gguf');
  await makeModel({ preset: 'step35-test', type: GGMLType.Q8_0, seed: 31, out: a, overrides: { nNextn: 3 } });
  await makeModel({ preset: 'tiny', type: GGMLType.Q8_0, seed: 32, out: b });
  await makeModel({ preset: 'llama-test', type: GGMLType.Q8_0, seed: 33, out: c });
  mtp3 = loadModel(a, { maxBatch: 32, threads: 1 });
  tiny = loadModel(b, { maxBatch: 32, threads: 1 });
  plain = loadModel(c, { threads: 1 });
  tok3 = Tokenizer.fromMetadata(mtp3.file.metadata);
  tokTiny = Tokenizer.fromMetadata(tiny.file.metadata);
});

after(() => {
  for (const m of [mtp3, tiny, plain]) m?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const greedy = { temperature: 0 } as const;

async function gen(m: LoadedModel, tok: Tokenizer, prompt: readonly number[], n: number, opts: GenerateOptions = {}) {
  return complete(new Session(m.model, { contextSize: prompt.length + n + 8 }), tok, prompt, { maxTokens: n, eogTokens: [], ...opts });
}

test('greedy output with drafting equals greedy output without, chain and roundrobin, 1..3 drafts (3 MTP heads, window 16)', async () => {
  const prompt = tok3.encode('Speculative decoding must not change a single token of the output.', { addSpecial: true });
  const n = 70; // > 4 windows: the sliding rings of the trunk and the heads wrap several times
  const want = (await gen(mtp3, tok3, prompt, n, { sampling: greedy })).tokens;
  assert.equal(want.length, n);
  for (const mode of ['chain', 'roundrobin'] as const) {
    for (const d of [1, 2, 3]) {
      const r = await gen(mtp3, tok3, prompt, n, { sampling: greedy, draft: { n: d, mode } });
      assert.deepEqual(r.tokens, want, `draft ${d} ${mode}`);
      const s = r.draft!;
      assert.equal(s.n, d);
      assert.equal(s.mode, mode);
      assert.ok(s.steps > 0 && s.steps <= n);
      assert.equal(s.steps + s.accepted, n - 1, 'every token after the first comes from a step: kept drafts plus one');
      assert.equal(s.draftedByDepth.length, d);
      assert.ok(s.acceptedByDepth.every((a, j) => a <= s.draftedByDepth[j]!));
    }
    // Stopping at unsure drafts drafts fewer tokens and changes nothing either.
    const r = await gen(mtp3, tok3, prompt, n, { sampling: greedy, draft: { n: 3, mode, pMin: 0.5 } });
    assert.deepEqual(r.tokens, want, `p-min ${mode}`);
    assert.ok(r.draft!.drafted < 3 * r.draft!.steps);
  }
});

test('with two threads (small heads run on the calling thread) the output is the same', async () => {
  const two = loadModel(join(dir, 'mtp3.gguf'), { maxBatch: 32, threads: 2 });
  try {
    const prompt = tok3.encode('Threads do not change the output.', { addSpecial: true });
    const want = (await gen(mtp3, tok3, prompt, 30, { sampling: greedy })).tokens;
    const r = await gen(two, tok3, prompt, 30, { sampling: greedy, draft: { n: 3 } });
    assert.deepEqual(r.tokens, want);
  } finally {
    two.close();
  }
});

test('greedy output is unchanged on the single-head tiny preset (drafts 2 and 3 reuse the head round-robin)', async () => {
  const prompt = tokTiny.encode('The tiny model has one MTP layer.', { addSpecial: true });
  const n = 90; // window 64
  const want = (await gen(tiny, tokTiny, prompt, n, { sampling: greedy })).tokens;
  for (const d of [1, 2, 3]) {
    const r = await gen(tiny, tokTiny, prompt, n, { sampling: greedy, draft: { n: d } });
    assert.deepEqual(r.tokens, want, `draft ${d}`);
    assert.equal(r.draft!.mode, d === 1 ? 'chain' : 'roundrobin');
  }
});

test('drafting with stop conditions, token limits and logprobs gives the same result', async () => {
  const prompt = tok3.encode('Limits', { addSpecial: true });
  for (const maxTokens of [1, 2, 5, 13]) {
    const a = await gen(mtp3, tok3, prompt, maxTokens, { sampling: greedy, logprobs: 2 });
    const b = await gen(mtp3, tok3, prompt, maxTokens, { sampling: greedy, logprobs: 2, draft: { n: 3 } });
    assert.deepEqual(b.tokens, a.tokens);
    assert.equal(b.text, a.text);
    assert.equal(b.finishDetail, a.finishDetail);
  }
  // An end-of-generation token in the middle of a step's tokens ends generation there.
  const ref = await gen(mtp3, tok3, prompt, 30, { sampling: greedy });
  const eog = ref.tokens[17]!;
  const a = await gen(mtp3, tok3, prompt, 30, { sampling: greedy, eogTokens: [eog] });
  const b = await gen(mtp3, tok3, prompt, 30, { sampling: greedy, eogTokens: [eog], draft: { n: 3 } });
  assert.deepEqual(b.tokens, a.tokens);
  assert.equal(b.finishDetail, 'eog');
  // The context's end limits the drafts (never a write past it).
  const ctx = prompt.length + 11;
  const c = await complete(new Session(mtp3.model, { contextSize: ctx }), tok3, prompt, { sampling: greedy, eogTokens: [], draft: { n: 3 } });
  const d = await complete(new Session(mtp3.model, { contextSize: ctx }), tok3, prompt, { sampling: greedy, eogTokens: [] });
  assert.deepEqual(c.tokens, d.tokens);
  assert.equal(c.finishDetail, 'context-full');
});

/** Prefill, then steps until n tokens: the engine's loop without generate(). */
async function drive(drafter: OracleDrafter, prompt: readonly number[], n: number, d: number, mode: 'chain' | 'roundrobin') {
  const s = drafter.session;
  drafter.begin({ n: d, mode }, 1);
  const pre = (await s.prefill(prompt, { onChunk: (a, b) => drafter.onPrefillChunk(prompt.length, a, b) }))!;
  drafter.afterPrefill();
  const sampler = new Sampler(mtp3.model.config.nVocab, greedy);
  sampler.reset(prompt);
  const out = [argmax(pre.logits)];
  sampler.accept(out[0]!);
  const lengths: number[] = [];
  drafter.promptLength = prompt.length;
  while (out.length < n) {
    const r = drafter.step(out[out.length - 1]!, sampler, Math.min(d, n - out.length - 1));
    lengths.push(r.accepted);
    out.push(...r.tokens);
  }
  return { out: out.slice(0, n), lengths };
}

test('partial acceptance (oracle drafts): output unchanged, every acceptance length occurs, head caches equal fresh ones after rollbacks', async () => {
  const prompt = tok3.encode('Rollback of every cache, sliding rings included.', { addSpecial: true });
  const n = 80;
  const want = (await gen(mtp3, tok3, prompt, n, { sampling: greedy })).tokens;
  for (const mode of ['chain', 'roundrobin'] as const) {
    const oracle = new OracleDrafter(new Session(mtp3.model, { contextSize: prompt.length + n + 8 }));
    oracle.reference = want;
    const { out, lengths } = await drive(oracle, prompt, n, 3, mode);
    assert.deepEqual(out, want, mode);
    for (const a of [0, 1, 2, 3]) assert.ok(lengths.includes(a), `${mode}: some step keeps ${a} drafts (${lengths.join(',')})`);
    const st = oracle.stats();
    assert.ok(st.accepted > 0 && st.accepted < st.drafted);

    // The heads' state after all those rollbacks must be what heads that only ever saw the accepted
    // tokens compute: run one more step on both and compare the logits the heads draft from.
    const cached = [...oracle.session.tokens];
    const pending = out[out.length - 1]!;
    oracle.seen = [];
    oracle.reference = [];
    oracle.step(pending, new Sampler(mtp3.model.config.nVocab, greedy), 3);
    const fresh = new OracleDrafter(new Session(mtp3.model, { contextSize: prompt.length + n + 8 }));
    fresh.reference = [];
    fresh.begin({ n: 3, mode }, 1);
    await fresh.session.prefill(cached, { onChunk: (a, b) => fresh.onPrefillChunk(cached.length, a, b) });
    fresh.afterPrefill();
    // Round-robin: the same head's turn on both.
    (fresh as unknown as { round: number }).round = (oracle as unknown as { round: number }).round - 1;
    fresh.step(pending, new Sampler(mtp3.model.config.nVocab, greedy), 3);
    assert.equal(oracle.seen.length, 3);
    assert.equal(fresh.seen.length, 3);
    for (let j = 0; j < 3; j++) {
      const a = oracle.seen[j]!, b = fresh.seen[j]!;
      let maxDiff = 0;
      for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i]! - b[i]!));
      assert.ok(maxDiff < 1e-4, `${mode} head ${j + 1}: logits differ by ${maxDiff} from a drafter without rollbacks`);
    }
  }
});

test('trunk rollback: writes into the sliding rings past the window are undone exactly', () => {
  const m = mtp3.model;
  const V = m.config.nVocab;
  const toks = Array.from({ length: 60 }, (_, i) => 40 + ((i * 37) % 900));
  const ref = new KvCache(m.backend, m.config, 80, m.maxBatch);
  const want = m.forward(toks, ref, { logits: 'all' }).slice(50 * V);
  const kv = new KvCache(m.backend, m.config, 80, m.maxBatch);
  m.forward(toks.slice(0, 50), kv, { logits: 'none' });
  for (let round = 0; round < 4; round++) {
    // Rejected drafts: four wrong positions written, all rolled back.
    m.forward([7 + round, 8, 9, 10], kv, { logits: 'all' });
    kv.truncate(50);
  }
  // One kept (the real token) and two rejected.
  const first = m.forward([toks[50]!, 11, 12], kv, { logits: 'all' }).slice(0, V);
  kv.truncate(51);
  const rest = m.forward(toks.slice(51), kv, { logits: 'all' });
  const got = new Float32Array(want.length);
  got.set(first);
  got.set(rest, V);
  assert.deepEqual(Array.from(got), Array.from(want));
});

test('clear errors: no MTP layers, too many drafts for chain mode, out-of-range draft counts', async () => {
  const t = Tokenizer.fromMetadata(plain.file.metadata);
  await assert.rejects(complete(new Session(plain.model), t, [1, 2], { maxTokens: 3, draft: { n: 1 } }), /no MTP \(nextn\) layers/);
  assert.throws(() => resolveDraft(1, { n: 2, mode: 'chain' }), /needs 2 MTP heads; this model has 1/);
  assert.throws(() => resolveDraft(3, { n: 4 }), /from 0 to 3/);
  assert.throws(() => resolveDraft(3, { n: 1.5 }), /from 0 to 3/);
  assert.deepEqual(resolveDraft(3, { n: 3 }), { n: 3, mode: 'chain' });
  assert.deepEqual(resolveDraft(1, { n: 3 }), { n: 3, mode: 'roundrobin' });
});
