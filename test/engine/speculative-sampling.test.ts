// Speculative sampling leaves the output distribution unchanged. Two levels, fixed seeds, so the verdicts
// are deterministic:
//  1. the acceptance rule alone: for many (p, q) pairs on a 6-token vocabulary, tokens drawn through it
//     follow p (total variation against p), and the acceptance rate is sum_x min(p(x), q(x));
//  2. end to end through generate(): the joint distribution of the first four sampled tokens of a random
//     step35 model with three MTP heads (temperature, top-k, repetition and presence penalties), with
//     drafting, against the exact distribution computed from the model's logits (chi-square).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../../src/common/rng.js';
import { complete } from '../../src/engine/generate.js';
import { KvCache } from '../../src/engine/kv-cache.js';
import { Sampler, type SamplerOptions } from '../../src/engine/sampler.js';
import { Session } from '../../src/engine/session.js';
import { acceptOrResample, drawFrom, type SparseDist } from '../../src/engine/speculative-accept.js';
import { Drafter, setDrafter } from '../../src/engine/speculative.js';
import { GGMLType } from '../../src/gguf/ggml-types.js';
import { loadModel, type LoadedModel } from '../../src/model/load.js';
import { makeModel } from '../../src/model/make/random-model.js';
import { Tokenizer } from '../../src/tokenizer/index.js';

function dist(rng: Rng, V: number, support: number): SparseDist {
  const ids: number[] = [];
  while (ids.length < support) {
    const t = Math.floor(rng.next() * V);
    if (!ids.includes(t)) ids.push(t);
  }
  const w = ids.map(() => 0.05 + rng.next());
  const z = w.reduce((a, b) => a + b, 0);
  return { ids: Int32Array.from(ids), probs: Float64Array.from(w.map((x) => x / z)) };
}

test('the acceptance rule turns drafts from any q into samples of p', () => {
  const V = 6;
  const rng = new Rng(2024);
  const scratch = new Float64Array(V);
  for (let pair = 0; pair < 12; pair++) {
    // Supports of 1..6 tokens, overlapping or not.
    const p = dist(rng, V, 1 + (pair % 6));
    const q = dist(rng, V, 1 + ((pair * 5 + 2) % 6));
    const N = 60000;
    const counts = new Float64Array(V);
    let accepted = 0;
    for (let i = 0; i < N; i++) {
      const d = drawFrom(q, rng.next());
      const v = acceptOrResample(p, q, d, rng.next(), rng.next(), scratch);
      counts[v.token]!++;
      if (v.accepted) accepted++;
    }
    assert.ok(scratch.every((x) => x === 0), 'scratch left zeroed');
    const pd = new Float64Array(V), qd = new Float64Array(V);
    p.ids.forEach((t, i) => (pd[t] = p.probs[i]!));
    q.ids.forEach((t, i) => (qd[t] = q.probs[i]!));
    let tv = 0, overlap = 0;
    for (let t = 0; t < V; t++) {
      tv += Math.abs(counts[t]! / N - pd[t]!) / 2;
      overlap += Math.min(pd[t]!, qd[t]!);
      if (pd[t] === 0) assert.equal(counts[t], 0, 'never a token p excludes');
    }
    assert.ok(tv < 0.012, `pair ${pair}: total variation ${tv.toFixed(4)} from p`);
    assert.ok(Math.abs(accepted / N - overlap) < 0.012, `pair ${pair}: acceptance ${(accepted / N).toFixed(3)}, expected ${overlap.toFixed(3)}`);
  }
});

let dir = '';
let lm: LoadedModel;
let tok: Tokenizer;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'stepflash-specsample-'));
  const path = join(dir, 'mtp3.gguf');
  await makeModel({ preset: 'step35-test', type: GGMLType.Q8_0, seed: 41, out: path, overrides: { nNextn: 3 } });
  lm = loadModel(path, { maxBatch: 32, threads: 1 });
  tok = Tokenizer.fromMetadata(lm.file.metadata);
});

after(() => {
  lm?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const SAMPLING: SamplerOptions = { temperature: 1.3, topK: 2, repeatPenalty: 1.3, presencePenalty: 0.4 };

/** Trunk logits after `prefix` (memoised: top-k 2 over 4 tokens gives few prefixes). */
function trunkLogits(memo: Map<string, Float32Array>, prefix: readonly number[]): Float32Array {
  const key = prefix.join(',');
  let l = memo.get(key);
  if (!l) {
    const m = lm.model;
    l = m.forward(prefix, new KvCache(m.backend, m.config, prefix.length + 1, m.maxBatch), { logits: 'last' });
    memo.set(key, l);
  }
  return l;
}

/**
 * Drafts from logits close to the trunk's (its own head's are random, so almost every draft would be
 * rejected): the trunk's logits plus a bump on one token, so drafts are accepted often and rejected often.
 */
class NearDrafter extends Drafter {
  memo = new Map<string, Float32Array>();
  protected override draftLogits(depth: number, _head: Float32Array, prefix: () => number[]): Float32Array {
    const p = prefix();
    const out = trunkLogits(this.memo, p).slice();
    // Raise one of the two most likely tokens (top-k 2 keeps those): q puts more mass there than p.
    let a = 0, b = 1;
    if (out[b]! > out[a]!) [a, b] = [b, a];
    for (let i = 2; i < out.length; i++) {
      if (out[i]! > out[a]!) [a, b] = [i, a];
      else if (out[i]! > out[b]!) b = i;
    }
    out[(p[p.length - 1]! + depth) % 2 ? a : b]! += 1.2;
    return out;
  }
}

for (const pMin of [0, 0.6]) test(`sampling with drafts${pMin ? ` (p-min ${pMin})` : ''} has the distribution of sampling without (4 tokens, chi-square against the exact joint distribution)`, async (t) => {
  const prompt = tok.encode('Sampling must not notice the drafts', { addSpecial: true });
  const memo = new Map<string, Float32Array>();
  // Exact joint distribution of the first K tokens: the sampler's distribution after each prefix, with the
  // penalties of that prefix's history.
  const K = 4;
  const exact = new Map<string, number>();
  const walk = (gen: number[], prob: number) => {
    if (gen.length === K) {
      exact.set(gen.join(','), prob);
      return;
    }
    const s = new Sampler(lm.model.config.nVocab, SAMPLING);
    s.reset(prompt);
    for (const t of gen) s.accept(t);
    const d = s.distribution(trunkLogits(memo, [...prompt, ...gen]));
    d.ids.forEach((t, i) => walk([...gen, t], prob * d.probs[i]!));
  };
  walk([], 1);
  assert.ok(Math.abs([...exact.values()].reduce((a, b) => a + b, 0) - 1) < 1e-9);

  const session = new Session(lm.model, { contextSize: 64 });
  const drafter = new NearDrafter(session);
  drafter.memo = memo;
  setDrafter(session, drafter); // generate() uses the session's drafter
  const seen = new Map<string, number>();
  const N = 2000;
  let accepted = 0, drafted = 0;
  for (let i = 0; i < N; i++) {
    const r = await complete(session, tok, prompt, { maxTokens: K, eogTokens: [], sampling: { ...SAMPLING, seed: 1000 + i }, draft: { n: 3, pMin } });
    const key = r.tokens.join(',');
    seen.set(key, (seen.get(key) ?? 0) + 1);
    accepted += r.draft!.accepted;
    drafted += r.draft!.drafted;
  }
  assert.ok(accepted > 0.2 * drafted && accepted < 0.95 * drafted, `drafts accepted ${accepted} of ${drafted}: both paths exercised`);
  for (const k of seen.keys()) assert.ok(exact.has(k), `sequence ${k} has probability 0`);
  // Chi-square over the outcomes, cells with expected count < 5 pooled.
  let chi = 0, df = -1, poolE = 0, poolO = 0;
  for (const [k, pr] of exact) {
    const e = pr * N, o = seen.get(k) ?? 0;
    if (e < 5) {
      poolE += e;
      poolO += o;
      continue;
    }
    chi += (o - e) ** 2 / e;
    df++;
  }
  if (poolE > 0) {
    chi += (poolO - poolE) ** 2 / poolE;
    df++;
  }
  // 99.9% quantile of chi-square with df degrees of freedom (Wilson-Hilferty).
  const z = 3.09;
  const crit = df * (1 - 2 / (9 * df) + z * Math.sqrt(2 / (9 * df))) ** 3;
  t.diagnostic(`chi-square ${chi.toFixed(1)}, ${df} degrees of freedom, 99.9% bound ${crit.toFixed(1)}; drafts accepted ${accepted} of ${drafted}`);
  assert.ok(df >= 6, `${df} degrees of freedom`);
  assert.ok(chi < crit, `chi-square ${chi.toFixed(1)} with ${df} degrees of freedom exceeds ${crit.toFixed(1)}`);
});
