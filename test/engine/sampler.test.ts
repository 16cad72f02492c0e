// The sampler chain on synthetic logits: each stage against a full-sort reference, penalties touching
// exactly the targeted tokens, seeded determinism (pinned values, so every machine agrees), and a
// chi-squared check that temperature-1 sampling follows the softmax.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/common/rng.js';
import { argmax, Candidates, Sampler, tokenLogprobs } from '../../src/engine/sampler.js';

/** Deterministic pseudo-random logits (integer hashing only). */
function hashedRow(V: number, salt = 0, scale = 10): Float32Array {
  const row = new Float32Array(V);
  for (let i = 0; i < V; i++) row[i] = (((Math.imul(i + salt * 7919, 2654435761) >>> 0) % 100000) / 100000) * scale;
  return row;
}

function softmax(row: ArrayLike<number>, T = 1): number[] {
  let m = -Infinity;
  for (let i = 0; i < row.length; i++) m = Math.max(m, row[i]!);
  const e = Array.from(row, (l) => Math.exp((l - m) / T));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}

/** Token ids by descending logit, ties by lower id. */
function order(row: ArrayLike<number>): number[] {
  return Array.from({ length: row.length }, (_, i) => i).sort((a, b) => row[b]! - row[a]! || a - b);
}

const sortedIds = (c: Candidates) => Array.from(c.ids.subarray(0, c.n)).sort((a, b) => a - b);

test('the RNG is pinned: same seed, same stream, on every machine', () => {
  const r = new Rng(42);
  assert.deepEqual(Array.from({ length: 4 }, () => r.nextU32()), [2837322924, 544945897, 479756282, 3500138142]);
  assert.equal(new Rng(42).next(), 0.6606157208001621);
  // Seeds differing only above 32 bits, or in sign, give different streams.
  const first = (s: number) => new Rng(s).nextU32();
  assert.notEqual(first(1), first(1 + 2 ** 32));
  assert.notEqual(first(5), first(-5));
  for (let i = 0; i < 1000; i++) {
    const x = r.next();
    assert.ok(x >= 0 && x < 1);
  }
});

test('seeded sampling: same seed and logits give the same tokens (pinned), different seeds differ', () => {
  const V = 1000;
  const row = new Float32Array(V);
  for (let i = 0; i < V; i++) row[i] = ((Math.imul(i, 2654435761) >>> 0) % 1000) / 100;
  const draw = (opts: ConstructorParameters<typeof Sampler>[1], n = 12) => {
    const s = new Sampler(V, opts);
    return Array.from({ length: n }, () => s.sample(row));
  };
  assert.deepEqual(draw({ seed: 42, topK: 50, topP: 0.9, temperature: 0.8 }), [477, 605, 230, 375, 105, 690, 420, 792, 548, 778, 74, 159]);
  assert.deepEqual(draw({ seed: 42 }), [660, 103, 77, 8, 880, 178, 979, 778, 487, 527, 159, 252]);
  assert.deepEqual(draw({ seed: 7, minP: 0.05 }, 50), draw({ seed: 7, minP: 0.05 }, 50));
  assert.notDeepEqual(draw({ seed: 1 }, 50), draw({ seed: 2 }, 50));
  // Without a seed one is chosen and reported, and replaying it gives the same tokens.
  const s = new Sampler(V);
  const a = Array.from({ length: 20 }, () => s.sample(row));
  assert.deepEqual(draw({ seed: s.seed }, 20), a);
});

test('greedy: argmax after bias and penalties, lowest id on ties, no randomness', () => {
  const row = new Float32Array([1, 5, 3, 5, -2]);
  assert.equal(argmax(row), 1);
  const s = new Sampler(5, { temperature: 0 });
  for (let i = 0; i < 5; i++) assert.equal(s.sample(row), 1);
  assert.equal(new Sampler(5, { temperature: 0, logitBias: { 1: -Infinity } }).sample(row), 3);
  assert.equal(new Sampler(5, { temperature: 0, logitBias: new Map([[4, 10]]) }).sample(row), 4);
  const pen = new Sampler(5, { temperature: 0, repeatPenalty: 2 });
  pen.reset([1]);
  assert.equal(pen.sample(row), 3);
  assert.deepEqual(new Sampler(5, { temperature: 0 }).distribution(row), { ids: Int32Array.of(1), probs: Float64Array.of(1) });
  assert.throws(() => new Sampler(2, { temperature: 0, logitBias: { 0: -Infinity, 1: -Infinity } }).sample(new Float32Array(2)), /banned/);
  assert.throws(() => new Sampler(2, { logitBias: { 0: -Infinity, 1: -Infinity } }).sample(new Float32Array(2)), /banned/);
});

test('top-k keeps exactly the k highest logits (partial selection, ties by lower id)', () => {
  const V = 131072;
  const row = hashedRow(V, 1);
  row[77] = row[78] = 100; // a tie at the top
  const ref = order(row);
  const c = new Candidates(V);
  for (const k of [1, 2, 40, 1000]) {
    c.fillTopK(row, k);
    assert.equal(c.n, k);
    assert.ok(c.sorted);
    assert.deepEqual(Array.from(c.ids.subarray(0, k)), ref.slice(0, k));
    c.fill(row).topK(k);
    assert.equal(c.n, k);
    assert.deepEqual(Array.from(c.ids.subarray(0, k)), ref.slice(0, k));
  }
  c.fill(row).topK(5, 8); // minKeep wins
  assert.equal(c.n, 8);
  // Banned tokens are never candidates, even when k exceeds what is left.
  const small = new Float32Array([3, -Infinity, 1, NaN, 2]);
  c.fillTopK(small, 4);
  assert.deepEqual(Array.from(c.ids.subarray(0, c.n)), [0, 4, 2]);
  // Through the sampler: the distribution has support exactly on the top k.
  const d = new Sampler(V, { topK: 40, seed: 1 }).distribution(row);
  assert.deepEqual(Array.from(d.ids), ref.slice(0, 40));
});

test('top-p keeps the smallest most-likely prefix whose mass reaches p', () => {
  const c = new Candidates(5000);
  for (const [V, scale] of [[50, 10], [5000, 1], [5000, 0.01]] as const) {
    for (let salt = 0; salt < 4; salt++) {
      const row = hashedRow(V, salt, scale);
      const p = softmax(row);
      const ref = order(row);
      for (const topP of [0.05, 0.5, 0.9, 0.99]) {
        c.fill(row).topP(topP);
        let need = 0;
        let mass = 0;
        while (mass < topP - 1e-9) mass += p[ref[need++]!]!;
        // Equal to the reference up to rounding at the exact boundary.
        assert.ok(Math.abs(c.n - need) <= 1, `V=${V} scale=${scale} p=${topP}: kept ${c.n}, expected ${need}`);
        // The kept set is exactly the c.n most likely (the order within may be any).
        const kept = sortedIds(c);
        assert.deepEqual(kept, ref.slice(0, c.n).sort((a, b) => a - b));
        const keptMass = kept.reduce((s, i) => s + p[i]!, 0);
        assert.ok(keptMass >= topP - 1e-6);
        assert.ok(keptMass - p[ref[c.n - 1]!]! < topP + 1e-6, 'one token fewer would not reach p');
      }
    }
  }
  // After top-k the mass is renormalised over the k kept (llama.cpp semantics).
  const row = new Float32Array([Math.log(0.4), Math.log(0.3), Math.log(0.2), Math.log(0.1)]);
  c.fill(row).topK(2);
  c.topP(0.5); // 0.4/0.7 = 0.57 >= 0.5
  assert.deepEqual(sortedIds(c), [0]);
  c.fill(row).topP(0.5); // 0.4 < 0.5 <= 0.7
  assert.deepEqual(sortedIds(c), [0, 1]);
  c.fill(row).topP(0.5, 3);
  assert.equal(c.n, 3);
  // minKeep on the many-candidate (histogram) path.
  const big = hashedRow(5000, 9, 40);
  c.fill(big).topP(0.01, 300);
  assert.equal(c.n, 300);
  assert.deepEqual(sortedIds(c), order(big).slice(0, 300).sort((a, b) => a - b));
});

test('min-p keeps tokens at least minP times as likely as the best', () => {
  const V = 20000;
  const row = hashedRow(V, 3, 12);
  const p = softmax(row);
  const pmax = Math.max(...p);
  const c = new Candidates(V);
  for (const minP of [0.01, 0.1, 0.5, 0.9]) {
    c.fill(row).minP(minP);
    const want = p.map((x, i) => [x, i] as const).filter(([x]) => x >= minP * pmax * (1 + 1e-6)).map(([, i]) => i);
    const got = sortedIds(c);
    assert.ok(got.length >= want.length && got.length <= want.length + 1);
    for (const i of want) assert.ok(got.includes(i));
    for (const i of got) assert.ok(p[i]! >= minP * pmax * (1 - 1e-5));
  }
  c.fill(row).minP(0.999999, 10);
  assert.equal(c.n, 10);
  // min-p after a sorted top-k keeps a sorted prefix.
  c.fillTopK(row, 100);
  c.minP(0.5);
  assert.ok(c.sorted && c.n >= 1 && c.n <= 100);
});

test('temperature scales the distribution as p_i^(1/T)', () => {
  const row = hashedRow(64, 5, 4);
  for (const T of [0.25, 0.7, 1, 1.5, 3]) {
    const d = new Sampler(64, { temperature: T, seed: 1 }).distribution(row);
    const want = softmax(row, T);
    assert.equal(d.ids.length, 64);
    d.ids.forEach((id, j) => assert.ok(Math.abs(d.probs[j]! - want[id]!) < 1e-6, `T=${T} token ${id}`));
    // Equivalently p_T(i) ∝ p_1(i)^(1/T)
    const p1 = softmax(row);
    const powd = p1.map((x) => x ** (1 / T));
    const s = powd.reduce((a, b) => a + b, 0);
    d.ids.forEach((id, j) => assert.ok(Math.abs(d.probs[j]! - powd[id]! / s) < 1e-6));
  }
  // Low temperature concentrates the mass; the filters see the untempered logits (they run first).
  const cold = new Sampler(64, { temperature: 0.05, seed: 1 }).distribution(row);
  assert.ok(cold.probs[0]! > Math.max(...softmax(row)) && cold.probs[0]! > 0.5, `top probability at T=0.05: ${cold.probs[0]}`);
  assert.equal(new Sampler(64, { temperature: 5, topK: 3 }).distribution(row).ids.length, 3);
});

test('penalties and logit bias change exactly the targeted tokens', () => {
  const V = 100;
  const row = new Float32Array(V);
  for (let i = 0; i < V; i++) row[i] = (i % 2 === 0 ? 1 : -1) * (1 + i / 10);
  const original = row.slice();
  const changed = (a: Float32Array) => Array.from(a.keys()).filter((i) => a[i] !== row[i]);

  // Repetition (llama.cpp): last penaltyLastN history tokens, positive /= r, negative *= r, once per token.
  const rep = new Sampler(V, { repeatPenalty: 2, penaltyLastN: 3 });
  rep.reset([50, 10, 11, 11, 12]); // window: 11, 11, 12
  let w = rep.process(row);
  assert.deepEqual(changed(w), [11, 12]);
  assert.equal(w[11], row[11]! * 2);
  assert.equal(w[12], row[12]! / 2);
  rep.accept(13); // window: 11, 12, 13
  w = rep.process(row);
  assert.deepEqual(changed(w), [11, 12, 13]);
  rep.accept(20);
  rep.accept(21);
  rep.accept(22);
  assert.deepEqual(changed(rep.process(row)), [20, 21, 22]);
  const all = new Sampler(V, { repeatPenalty: 1.5, penaltyLastN: -1 });
  all.reset(Array.from({ length: 300 }, (_, i) => i % 40));
  assert.deepEqual(changed(all.process(row)), Array.from({ length: 40 }, (_, i) => i));
  const off = new Sampler(V, { repeatPenalty: 1.5, penaltyLastN: 0 });
  off.reset([1, 2, 3]);
  assert.deepEqual(changed(off.process(row)), []);

  // Presence/frequency (OpenAI): generated tokens only, logit -= count * freq + presence.
  const pf = new Sampler(V, { presencePenalty: 0.5, frequencyPenalty: 0.25 });
  pf.reset([1, 2, 3]); // the prompt does not count
  pf.accept(7);
  pf.accept(7);
  pf.accept(9);
  w = pf.process(row);
  assert.deepEqual(changed(w), [7, 9]);
  assert.equal(w[7], Math.fround(row[7]! - (2 * 0.25 + 0.5)));
  assert.equal(w[9], Math.fround(row[9]! - (0.25 + 0.5)));
  pf.reset();
  assert.deepEqual(changed(pf.process(row)), []);

  // Logit bias, then penalties on top.
  const b = new Sampler(V, { logitBias: { 3: 5, 4: -Infinity }, repeatPenalty: 2, penaltyLastN: 8 });
  b.reset([3]);
  w = b.process(row);
  assert.deepEqual(changed(w), [3, 4]);
  assert.equal(w[3], Math.fround(row[3]! + 5) / 2);
  assert.equal(w[4], -Infinity);
  // The caller's row is never modified.
  assert.deepEqual(row, original);
  assert.throws(() => new Sampler(V, { logitBias: { 100: 1 } }), /outside the vocabulary/);
  assert.throws(() => new Sampler(V, { topP: 0 }), /topP/);
});

test('sampling at temperature 1 follows the softmax (chi-squared)', () => {
  const row = new Float32Array([2, 1.5, 1, 0, -1, 0.5]);
  const p = softmax(row);
  const N = 30000;
  const check = (opts: ConstructorParameters<typeof Sampler>[1], probs: number[]) => {
    const s = new Sampler(row.length, opts);
    const counts = new Array<number>(row.length).fill(0);
    for (let i = 0; i < N; i++) counts[s.sample(row)]!++;
    let chi2 = 0;
    let df = -1;
    probs.forEach((q, i) => {
      if (q === 0) return assert.equal(counts[i], 0, `token ${i} is filtered out but was drawn`);
      chi2 += (counts[i]! - N * q) ** 2 / (N * q);
      df++;
    });
    // 99.9th percentile of chi-squared: df 5 -> 20.5, df 2 -> 13.8 (the seed is fixed, so this never flakes).
    assert.ok(chi2 < (df === 5 ? 20.5 : 13.8), `chi2 ${chi2.toFixed(2)} with ${df} degrees of freedom`);
  };
  check({ seed: 123 }, p);
  check({ seed: 9 }, p);
  // top-k 3 at temperature 2: the renormalised, flattened distribution over the 3 best.
  const t = softmax([2, 1.5, 1], 2);
  check({ seed: 5, topK: 3, temperature: 2 }, [t[0]!, t[1]!, t[2]!, 0, 0, 0]);
});

test('tokenLogprobs: log-softmax of the raw logits, with the top N alternatives', () => {
  const row = hashedRow(5000, 2, 8);
  const p = softmax(row);
  const ref = order(row);
  const lp = tokenLogprobs(row, 123, 5);
  assert.equal(lp.id, 123);
  assert.ok(Math.abs(lp.logprob - Math.log(p[123]!)) < 1e-9);
  assert.deepEqual(lp.top.map((t) => t.id), ref.slice(0, 5));
  lp.top.forEach((t) => assert.ok(Math.abs(t.logprob - Math.log(p[t.id]!)) < 1e-9));
  assert.deepEqual(tokenLogprobs(row, 0).top, []);
  // Banned (-Infinity) logits get -Infinity and are never alternatives.
  const banned = new Float32Array([0, -Infinity, 0]);
  const b = tokenLogprobs(banned, 1, 3);
  assert.equal(b.logprob, -Infinity);
  assert.deepEqual(b.top.map((t) => t.id), [0, 2]);
  assert.ok(Math.abs(b.top[0]!.logprob - Math.log(0.5)) < 1e-12);
});

test('a 128k vocabulary: the whole chain runs (timings printed, not asserted)', () => {
  const V = 128 * 1024;
  const s = new Sampler(V, { seed: 3, topK: 40, topP: 0.95, minP: 0.05, temperature: 0.7, repeatPenalty: 1.1, presencePenalty: 0.2 });
  s.reset([1, 2, 3]);
  const rows = [hashedRow(V, 1, 20), hashedRow(V, 2, 20)];
  const t0 = performance.now();
  for (let i = 0; i < 200; i++) s.accept(s.sample(rows[i % 2]!));
  const ms = (performance.now() - t0) / 200;
  // Informational only (benchmarks live in bench/); a full sort of 128k would take tens of ms.
  console.log(`# 128k-vocabulary sample: ${ms.toFixed(2)} ms/token`);
  const p = new Sampler(V, { seed: 3, topP: 0.9 });
  const t1 = performance.now();
  for (let i = 0; i < 50; i++) p.sample(rows[i % 2]!);
  console.log(`# 128k-vocabulary top-p without top-k: ${((performance.now() - t1) / 50).toFixed(2)} ms/token`);
});
