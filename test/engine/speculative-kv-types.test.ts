// The MTP heads' own KV caches in the configured storage types (--cache-type-k/-v apply to the heads as to
// the trunk): greedy output with drafting equals drafting off with the same cache types (chain and
// round-robin, on a model whose window of 16 is far shorter than the generation, so the typed rings wrap);
// the heads really store f16/q8_0 rows; their bytes are what kv-plan computes; rollback of typed head
// caches leaves them as heads that never saw a rejected token; run --json reports the bytes.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { complete, type GenerateOptions } from '../../src/engine/generate.js';
import type { KvCacheTypes } from '../../src/engine/kv-cache.js';
import { kvShapeOf, planKv } from '../../src/engine/kv-plan.js';
import { argmax, Sampler } from '../../src/engine/sampler.js';
import { Session } from '../../src/engine/session.js';
import { drafterFor } from '../../src/engine/speculative.js';
import { GGMLType } from '../../src/gguf/ggml-types.js';
import { loadModel, type LoadedModel } from '../../src/model/load.js';
import { makeModel } from '../../src/model/make/random-model.js';
import { MtpHeads } from '../../src/model/mtp.js';
import { Tokenizer } from '../../src/tokenizer/index.js';
import { OracleDrafter } from '../helpers/oracle-drafter.js';

const root = new URL('../..', import.meta.url).pathname;
let dir = '';
let path = '';
let m: LoadedModel; // step35-test with 3 MTP layers and head dim 32 (q8_0 needs whole 32-value blocks): window 16
let tok: Tokenizer;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'stepflash-spec-kv-'));
  path = join(dir, 'mtp3-hd32.gguf');
  await makeModel({ preset: 'step35-test', type: GGMLType.Q8_0, seed: 71, out: path, overrides: { nNextn: 3, headDim: 32 } });
  m = loadModel(path, { maxBatch: 32, threads: 1 });
  tok = Tokenizer.fromMetadata(m.file.metadata);
});

after(() => {
  m?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const greedy = { temperature: 0 } as const;

function session(ctx: number, cacheTypes: KvCacheTypes): Session {
  return new Session(m.model, { contextSize: ctx, cacheTypes });
}

test('greedy output with drafting equals drafting off under the same f16/q8_0 caches; the heads store that type, in the bytes kv-plan computes', async () => {
  const prompt = tok.encode('Quantized caches for the heads must not change a token.', { addSpecial: true });
  const n = 70; // > 4 windows: the trunk's and the heads' rings wrap several times
  const ctx = prompt.length + n + 8;
  const gen = (types: KvCacheTypes, opts: GenerateOptions) => complete(session(ctx, types), tok, prompt, { maxTokens: n, eogTokens: [], sampling: greedy, ...opts });
  const settings: [KvCacheTypes, ('chain' | 'roundrobin')[]][] = [
    [{ k: 'q8_0', v: 'q8_0' }, ['chain', 'roundrobin']],
    [{ k: 'f16', v: 'f16' }, ['chain']],
    [{ k: 'q8_0', v: 'f16' }, ['chain']],
  ];
  for (const [types, modes] of settings) {
    const want = (await gen(types, {})).tokens;
    assert.equal(want.length, n);
    for (const mode of modes) {
      const r = await gen(types, { draft: { n: 3, mode } });
      const what = `${types.k}/${types.v} ${mode}`;
      assert.deepEqual(r.tokens, want, what);
      const s = r.draft!;
      assert.equal(s.steps + s.accepted, n - 1, what);
      assert.equal(s.cacheTypeK, types.k, what);
      assert.equal(s.cacheTypeV, types.v, what);
      // Three heads, each a ring of window + batch (16 + 32) positions in the configured types.
      const plan = planKv(kvShapeOf(m.model.config), ctx, types.k!, types.v!, m.model.maxBatch);
      assert.equal(plan.mtp.layers, 3);
      assert.equal(s.cacheBytes, plan.mtp.bytes, what);
    }
  }
  // q8_0 rows per head: 2 KV heads x 32 values = 64 values = 2 blocks of 34 bytes, keys and values.
  const q8 = planKv(kvShapeOf(m.model.config), ctx, 'q8_0', 'q8_0', m.model.maxBatch).mtp.bytes;
  assert.equal(q8, 3 * 48 * 2 * 68);
  assert.equal(planKv(kvShapeOf(m.model.config), ctx, 'f32', 'f32', m.model.maxBatch).mtp.bytes, 3 * 48 * 2 * 256);
});

test('a q8_0, f16 or bf16 head cache stores that format: the head logits move by the rounding, and only a little', () => {
  const heads = new MtpHeads(m.model, m.model.maxBatch);
  const E = m.model.config.nEmbd;
  const nt = 24;
  const hidden = Float32Array.from({ length: nt * E }, (_, i) => Math.sin(i * 0.37) * 2);
  const tokens = Array.from({ length: nt }, (_, i) => 30 + ((i * 53) % 900));
  const out = (types: KvCacheTypes) => {
    const c = heads.newCache(0, 64, types);
    assert.equal(c.layers[0]!.typeK, types.k ?? 'f32');
    assert.equal(c.layers[0]!.typeV, types.v ?? 'f32');
    return heads.run(0, tokens, hidden, c, true);
  };
  const f32 = out({});
  const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((x, v, i) => Math.max(x, Math.abs(v - b[i]!)), 0);
  for (const types of [{ k: 'q8_0', v: 'q8_0' }, { k: 'f16', v: 'f16' }, { k: 'bf16', v: 'q8_0' }] as const) {
    const r = out(types);
    const d = maxDiff(r.logits!, f32.logits!);
    assert.ok(d > 0, `${types.k}/${types.v}: the head's logits equal the f32 cache's, so the type is not used`);
    assert.ok(d < 0.5, `${types.k}/${types.v}: logits differ by ${d}`);
  }
});

test('rollback of q8_0 head caches (oracle drafts: every acceptance length): output unchanged, heads equal fresh ones', async () => {
  const types = { k: 'q8_0', v: 'q8_0' } as const;
  const prompt = tok.encode('Rolling back quantized rings.', { addSpecial: true });
  const n = 60;
  const ctx = prompt.length + n + 8;
  const want = (await complete(session(ctx, types), tok, prompt, { maxTokens: n, eogTokens: [], sampling: greedy })).tokens;
  const V = m.model.config.nVocab;
  const oracle = new OracleDrafter(session(ctx, types));
  oracle.seed = 777;
  oracle.reference = want;
  oracle.begin({ n: 3, mode: 'chain' }, 1);
  const s = oracle.session as Session;
  const pre = (await s.prefill(prompt, { onChunk: (a, b) => oracle.onPrefillChunk(prompt.length, a, b) }))!;
  oracle.afterPrefill();
  const sampler = new Sampler(V, greedy);
  sampler.reset(prompt);
  const out = [argmax(pre.logits)];
  sampler.accept(out[0]!);
  const lengths: number[] = [];
  oracle.promptLength = prompt.length;
  while (out.length < n) {
    const r = oracle.step(out[out.length - 1]!, sampler, Math.min(3, n - out.length - 1));
    lengths.push(r.accepted);
    out.push(...r.tokens);
  }
  assert.deepEqual(out.slice(0, n), want);
  for (const a of [0, 1, 2, 3]) assert.ok(lengths.includes(a), `some step keeps ${a} drafts (${lengths.join(',')})`);
  assert.equal(oracle.stats().cacheTypeK, 'q8_0');

  // One more step on the rolled-back heads and on heads that only ever saw the accepted tokens.
  const cached = [...s.tokens];
  const pending = out[n - 1]!;
  oracle.seen = [];
  oracle.reference = [];
  oracle.step(pending, new Sampler(V, greedy), 3);
  const fresh = new OracleDrafter(session(ctx, types));
  fresh.seed = 777;
  fresh.begin({ n: 3, mode: 'chain' }, 1);
  await (fresh.session as Session).prefill(cached, { onChunk: (a: number, b: number) => fresh.onPrefillChunk(cached.length, a, b) });
  fresh.afterPrefill();
  fresh.step(pending, new Sampler(V, greedy), 3);
  assert.equal(oracle.seen.length, 3);
  assert.equal(fresh.seen.length, 3);
  for (let j = 0; j < 3; j++) {
    const a = oracle.seen[j]!, b = fresh.seen[j]!;
    let d = 0;
    for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
    assert.ok(d < 1e-4, `head ${j + 1}: logits differ by ${d} from a drafter without rollbacks`);
  }
});

test('the drafter of a session takes its cache types', () => {
  const d = drafterFor(session(64, { k: 'f16', v: 'q8_0' }));
  d.begin({ n: 2 }, 1);
  const st = d.stats();
  assert.equal(st.cacheTypeK, 'f16');
  assert.equal(st.cacheTypeV, 'q8_0');
  assert.equal(d.cacheBytes, planKv(kvShapeOf(m.model.config), 64, 'f16', 'q8_0', m.model.maxBatch).mtp.bytes);
});

test('run --draft 3 --cache-type-k/-v q8_0 --json: same text as without drafting, MTP cache bytes and types reported', () => {
  const cli = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  const base = ['run', '-m', path, '-p', 'typed caches', '-n', '20', '--temp', '0', '-t', '1', '--ctx', '40', '--json', '--cache-type-k', 'q8_0', '--cache-type-v', 'q8_0'];
  const ra = cli(base), rb = cli([...base, '--draft', '3']);
  assert.equal(ra.status, 0, ra.stderr);
  assert.equal(rb.status, 0, rb.stderr);
  const a = JSON.parse(ra.stdout), b = JSON.parse(rb.stdout);
  assert.equal(b.text, a.text);
  assert.equal(a.kv_bytes.mtpBytes, undefined);
  // A context of 40 is shorter than a ring of window + batch whatever the CLI's batch: 40 positions per head.
  const bytes = planKv(kvShapeOf(m.model.config), 40, 'q8_0', 'q8_0', m.model.maxBatch).mtp.bytes;
  assert.equal(bytes, 3 * 40 * 2 * 68);
  assert.equal(b.kv_bytes.mtpBytes, bytes);
  assert.equal(b.draft.mtp_cache_bytes, bytes);
  assert.equal(b.draft.mtp_cache_type_k, 'q8_0');
  assert.equal(b.draft.mtp_cache_type_v, 'q8_0');
});
