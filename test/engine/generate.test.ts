// generate() and Session on real generated GGUF models (random weights: the text is gibberish, which is
// fine): determinism, finish reasons, stop strings across token and UTF-8 boundaries, cancellation,
// UTF-8 validity of streamed text, and prefix reuse against fresh prefills.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { complete, generate, type GenerateEvent, type GenerateOptions, type GenerateResult, type TokenEvent } from '../../src/engine/generate.js';
import { KvCache } from '../../src/engine/kv-cache.js';
import { argmax, type TokenSampler } from '../../src/engine/sampler.js';
import { ContextOverflowError, Session } from '../../src/engine/session.js';
import { StopMatcher } from '../../src/engine/stop.js';
import { GGMLType } from '../../src/gguf/ggml-types.js';
import { loadModel, type LoadedModel } from '../../src/model/load.js';
import { makeModel } from '../../src/model/make/random-model.js';
import type { Step35Model } from '../../src/model/step35.js';
import { Tokenizer } from '../../src/tokenizer/index.js';

interface Fixture {
  readonly loaded: LoadedModel;
  readonly model: Step35Model;
  readonly tok: Tokenizer;
  /** A token id whose bytes are exactly [b], for every byte. */
  readonly byteId: number[];
}

let dir = '';
let step: Fixture; // step35-test: byte-level BPE, sliding-window layers, maxBatch 256
let step4: Fixture; // the same file with maxBatch 4 (KvCache.maxRollback 4)
let llama: Fixture; // llama-test: SentencePiece with <0xXX> byte tokens, full attention only

function fixture(path: string, maxBatch?: number): Fixture {
  const loaded = loadModel(path, maxBatch ? { maxBatch } : {});
  const tok = Tokenizer.fromMetadata(loaded.file.metadata);
  const byteId: number[] = [];
  for (let id = 0; id < tok.vocabSize; id++) {
    if (tok.isControl(id)) continue;
    const b = tok.tokenToBytes(id);
    if (b.length === 1 && byteId[b[0]!] === undefined) byteId[b[0]!] = id;
  }
  assert.equal(byteId.filter((x) => x !== undefined).length, 256, 'every byte has a token');
  return { loaded, model: loaded.model, tok, byteId };
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'stepflash-generate-'));
  const s = join(dir, 'step35-test.gguf');
  const l = join(dir, 'llama-test.gguf');
  await makeModel({ preset: 'step35-test', type: GGMLType.Q8_0, seed: 11, out: s });
  await makeModel({ preset: 'llama-test', type: GGMLType.Q8_0, seed: 12, out: l });
  step = fixture(s);
  step4 = fixture(s, 4);
  llama = fixture(l);
});

after(() => {
  for (const f of [step, step4, llama]) f?.loaded.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Run {
  readonly result: GenerateResult;
  readonly events: GenerateEvent[];
  readonly tokenEvents: TokenEvent[];
  /** Text of every event that carries text, in order (token deltas, then the done event's). */
  readonly deltas: string[];
}

async function run(session: Session, f: Fixture, prompt: readonly number[], opts: GenerateOptions & { onToken?: (ev: TokenEvent) => void } = {}): Promise<Run> {
  const events: GenerateEvent[] = [];
  for await (const ev of generate(session, f.tok, prompt, opts)) {
    events.push(ev);
    if (ev.type === 'token') opts.onToken?.(ev);
  }
  const done = events[events.length - 1]!;
  assert.equal(done.type, 'done');
  assert.equal(events.filter((e) => e.type === 'done').length, 1);
  const tokenEvents = events.filter((e): e is TokenEvent => e.type === 'token');
  const deltas = events.flatMap((e) => (e.type === 'token' || e.type === 'done' ? [e.text] : []));
  const result = (done as Extract<GenerateEvent, { type: 'done' }>).result;
  assert.equal(deltas.join(''), result.text, 'the streamed deltas add up to the result text');
  assert.deepEqual(tokenEvents.map((e) => e.id), result.tokens);
  tokenEvents.forEach((e, i) => assert.equal(e.index, i));
  return { result, events, tokenEvents, deltas };
}

const greedy = { temperature: 0 } as const;

/** Plain forward + argmax: what greedy generation must reproduce. */
function greedyReference(model: Step35Model, prompt: readonly number[], n: number): number[] {
  const kv = new KvCache(model.backend, model.config, prompt.length + n, model.maxBatch);
  let logits = model.forward(prompt, kv, { logits: 'last' });
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const id = argmax(logits);
    out.push(id);
    if (i + 1 < n) logits = model.forward([id], kv, { logits: 'last' });
  }
  return out;
}

class Scripted implements TokenSampler {
  private i = 0;
  constructor(private readonly ids: readonly number[]) {}
  reset(): void {
    this.i = 0;
  }
  accept(): void {}
  sample(): number {
    const id = this.ids[this.i++];
    if (id === undefined) throw new Error('script exhausted');
    return id;
  }
}

function wellFormed(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xdc00 && c <= 0xdfff) return false;
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) return false;
      i++;
    }
  }
  return true;
}

const prompt = () => step.tok.encode('Once upon a time, in a land far away,', { addSpecial: true });

/** Byte tokens spelling `s` one UTF-8 byte per token. */
const bytesOf = (f: Fixture, s: string) => Array.from(new TextEncoder().encode(s), (b) => f.byteId[b]!);

test('greedy generation is deterministic and equals a plain forward/argmax loop', async () => {
  const p = prompt();
  const want = greedyReference(step.model, p, 24);
  const a = await run(new Session(step.model), step, p, { maxTokens: 24, sampling: greedy, eogTokens: [] });
  const b = await run(new Session(step.model), step, p, { maxTokens: 24, sampling: greedy, eogTokens: [] });
  assert.deepEqual(a.result.tokens, want);
  assert.deepEqual(b.result.tokens, want);
  assert.equal(a.result.text, b.result.text);
  assert.equal(a.result.text, step.tok.decode(want, { skipSpecial: true }));
  assert.equal(a.result.finishReason, 'length');
  assert.equal(a.result.finishDetail, 'max-tokens');
  assert.deepEqual(a.result.usage, { promptTokens: p.length, completionTokens: 24 });
  const t = a.result.timings;
  assert.equal(t.promptTokens, p.length);
  assert.equal(t.prefillTokens, p.length);
  assert.equal(t.cachedTokens, 0);
  assert.equal(t.generatedTokens, 24);
  assert.ok(t.prefillMs > 0 && t.decodeMs > 0 && t.decodeTokensPerSecond > 0 && t.prefillTokensPerSecond > 0 && t.totalMs >= t.decodeMs, JSON.stringify(t));
  const pre = a.events[0]!;
  assert.deepEqual(pre.type === 'prefill' && [pre.promptTokens, pre.cachedTokens], [p.length, 0]);
  // complete() drains the same generator.
  const c = await complete(new Session(step.model), step.tok, p, { maxTokens: 24, sampling: greedy, eogTokens: [] });
  assert.deepEqual(c.tokens, want);
});

test('seeded sampling is reproducible through generate(), and different seeds differ', async () => {
  const p = prompt();
  const opts = (seed: number): GenerateOptions => ({ maxTokens: 32, eogTokens: [], sampling: { seed, temperature: 1.2, topK: 50, topP: 0.95 } });
  const a = await run(new Session(step.model), step, p, opts(7));
  const b = await run(new Session(step.model), step, p, opts(7));
  const c = await run(new Session(step.model), step, p, opts(8));
  assert.deepEqual(a.result.tokens, b.result.tokens);
  assert.equal(a.result.seed, 7);
  assert.notDeepEqual(a.result.tokens, c.result.tokens);
});

test('end-of-generation tokens stop generation; the set is overridable', async () => {
  const p = prompt();
  const free = await run(new Session(step.model), step, p, { maxTokens: 20, sampling: greedy, eogTokens: [] });
  const k = free.result.tokens.findIndex((t, i) => i >= 3 && !free.result.tokens.slice(0, i).includes(t));
  const eogTok = free.result.tokens[k]!;
  const r = await run(new Session(step.model), step, p, { maxTokens: 20, sampling: greedy, eogTokens: [eogTok] });
  assert.deepEqual(r.result.tokens, free.result.tokens.slice(0, k));
  assert.equal(r.result.finishReason, 'stop');
  assert.equal(r.result.finishDetail, 'eog');
  assert.equal(r.result.stopToken, eogTok);
  assert.equal(r.result.usage.completionTokens, k + 1);
  assert.equal(r.tokenEvents.length, k, 'the end-of-generation token gets no token event');
  // The default set is the tokenizer's: force EOS with a logit bias.
  const eos = step.tok.eos!;
  assert.ok(step.tok.isEog(eos));
  const e = await run(new Session(step.model), step, p, { sampling: { temperature: 0, logitBias: { [eos]: 1000 } } });
  assert.deepEqual([e.result.finishReason, e.result.finishDetail, e.result.stopToken, e.result.text, e.result.tokens.length], ['stop', 'eog', eos, '', 0]);
});

test('maxTokens bounds the output', async () => {
  const p = prompt();
  const r = await run(new Session(step.model), step, p, { maxTokens: 7, sampling: { seed: 1 }, eogTokens: [] });
  assert.equal(r.result.tokens.length, 7);
  assert.deepEqual([r.result.finishReason, r.result.finishDetail], ['length', 'max-tokens']);
  const z = await run(new Session(step.model), step, p, { maxTokens: 0 });
  assert.deepEqual([z.result.tokens.length, z.result.finishReason, z.result.text], [0, 'length', '']);
  await assert.rejects(async () => run(new Session(step.model), step, p, { maxTokens: -1 }), RangeError);
});

test('a full context stops with reason length and never overflows the cache', async () => {
  const p = prompt();
  const s = new Session(step.model, { contextSize: p.length + 6 });
  const r = await run(s, step, p, { sampling: { seed: 3 }, eogTokens: [] });
  assert.equal(r.result.tokens.length, 6);
  assert.deepEqual([r.result.finishReason, r.result.finishDetail], ['length', 'context-full']);
  assert.ok(s.cache.length <= s.contextSize);
  assert.deepEqual(s.tokens, [...p, ...r.result.tokens.slice(0, -1)]);
  // A prompt that fills the context leaves no room; a longer one is an error.
  const exact = await run(new Session(step.model, { contextSize: p.length }), step, p, {});
  assert.deepEqual([exact.result.tokens.length, exact.result.finishDetail], [0, 'context-full']);
  await assert.rejects(async () => run(new Session(step.model, { contextSize: p.length - 1 }), step, p, {}), ContextOverflowError);
});

test('stop strings match across token boundaries; text is held back only while it could start one', async () => {
  const p = prompt();
  const free = await run(new Session(step.model), step, p, { maxTokens: 40, sampling: greedy, eogTokens: [] });
  const pieces = free.tokenEvents.map((e) => e.text);
  // A boundary between two tokens that both carry at least two characters of text.
  const k = pieces.findIndex((t, i) => i >= 3 && t.length >= 2 && pieces[i - 1]!.length >= 2);
  assert.ok(k > 0, 'some boundary between two multi-character pieces');
  const before = pieces.slice(0, k).join('');
  const stop = before.slice(-2) + pieces[k]!.slice(0, 2);
  const full = free.result.text;
  const cut = full.indexOf(stop);
  assert.ok(cut >= 0 && cut <= before.length - 2);

  let decoded = ''; // what the decoder released so far (the run without stops)
  let emitted = '';
  const r = await run(new Session(step.model), step, p, {
    maxTokens: 40,
    sampling: greedy,
    eogTokens: [],
    stop: ['never-in-gibberish', stop],
    onToken: (ev) => {
      decoded += pieces[ev.index]!;
      emitted += ev.text;
      const held = decoded.slice(emitted.length);
      assert.ok(decoded.startsWith(emitted));
      // The held tail is exactly the longest tail of the text that is a proper prefix of a stop string.
      let want = 0;
      for (let n = Math.min(decoded.length, stop.length - 1); n > 0; n--) {
        if (stop.startsWith(decoded.slice(-n))) {
          want = n;
          break;
        }
      }
      if (!decoded.includes(stop)) assert.equal(held.length, want, `held ${JSON.stringify(held)} after token ${ev.index}`);
    },
  });
  assert.equal(r.result.text, full.slice(0, cut));
  assert.deepEqual([r.result.finishReason, r.result.finishDetail, r.result.stopString], ['stop', 'stop-string', stop]);
  assert.deepEqual(r.result.tokens, free.result.tokens.slice(0, r.result.tokens.length));
  assert.ok(r.result.tokens.length <= k + 1);
});

test('StopMatcher: earliest match wins, partial matches are held, releases on divergence', () => {
  const m = new StopMatcher(['abcd', 'bc', '']);
  assert.deepEqual(m.push('xa'), { text: 'x' }); // "a" could start "abcd"
  assert.equal(m.pending, 'a');
  assert.deepEqual(m.push('bc'), { text: 'a', stop: 'bc' }); // "bc" completes before "abcd" could
  assert.ok(m.stopped);
  assert.throws(() => m.push('more'));
  const l = new StopMatcher(['ab', 'abc']);
  assert.deepEqual(l.push('zabc'), { text: 'z', stop: 'abc' }); // same position: the longer one is reported
  const e = new StopMatcher(['😀!']);
  assert.deepEqual(e.push('a😀'), { text: 'a' });
  assert.deepEqual(e.push('?'), { text: '😀?' });
  assert.deepEqual(e.push('😀'), { text: '' });
  assert.deepEqual(e.push('!tail'), { text: '', stop: '😀!' });
  const n = new StopMatcher([]);
  assert.deepEqual(n.push('anything'), { text: 'anything' });
  const f = new StopMatcher(['END']);
  assert.deepEqual(f.push('the EN'), { text: 'the ' });
  assert.equal(f.flush(), 'EN');
});

test('stop strings inside multi-byte characters, false starts, and held text released at the end', async () => {
  const f = step;
  const eos = f.tok.eos!;
  const gen = async (script: number[], stop: string[], extra: GenerateOptions = {}) =>
    run(new Session(f.model), f, prompt(), { sampler: new Scripted(script), stop, ...extra });
  const [x, C3, A9, A8, bang, b, c] = [f.byteId[0x78]!, f.byteId[0xc3]!, f.byteId[0xa9]!, f.byteId[0xa8]!, f.byteId[0x21]!, f.byteId[0x62]!, f.byteId[0x63]!];

  // "é!" where é arrives as two byte tokens: the token boundary falls inside the stop string's first character.
  let r = await gen([x, C3, A9, bang, b, eos], ['é!']);
  assert.equal(r.result.text, 'x');
  assert.deepEqual(r.tokenEvents.map((e) => e.text), ['x', '', '', '']);
  assert.deepEqual([r.result.finishDetail, r.result.stopString, r.result.tokens], ['stop-string', 'é!', [x, C3, A9, bang]]);

  // A false start: "é" could begin "éa", is held, then "b" diverges and both are released together.
  r = await gen([x, C3, A9, b, c, eos], ['éa']);
  assert.deepEqual(r.tokenEvents.map((e) => e.text), ['x', '', '', 'éb', 'c']);
  assert.deepEqual([r.result.text, r.result.finishDetail], ['xébc', 'eog']);

  // The same lead byte completing a different character is no match: "è" (C3 A8) against stop "é".
  r = await gen([x, C3, A8, eos], ['é']);
  assert.deepEqual([r.result.text, r.result.finishDetail], ['xè', 'eog']);

  // A stop string spread over three tokens, and one completed by a multi-byte character's last byte.
  r = await gen([...bytesOf(f, 'abxy'), ...bytesOf(f, 'cd'), eos], ['bxyc']);
  assert.equal(r.result.text, 'a');
  r = await gen([...bytesOf(f, 'naïve'), eos], ['aï']);
  assert.equal(r.result.text, 'n');

  // Held text is released when generation ends for another reason (the done event carries it).
  r = await gen(bytesOf(f, 'axy'), ['xyz'], { maxTokens: 3 });
  assert.deepEqual(r.deltas, ['a', '', '', 'xy']);
  assert.equal(r.result.finishDetail, 'max-tokens');
  r = await gen([...bytesOf(f, 'axy'), eos], ['xyz']);
  assert.deepEqual([r.result.text, r.deltas.at(-1)], ['axy', 'xy']);
  // An incomplete character at the end becomes U+FFFD, never half a sequence.
  r = await gen([x, C3, eos], []);
  assert.equal(r.result.text, 'x\ufffd');
});

test('every streamed delta is valid UTF-8 on vocabularies with byte tokens', async () => {
  for (const f of [step, llama]) {
    // Valid multi-byte text spelled one byte per token: deltas are whole characters only.
    const s = 'a€b😀cé中\u{10348}';
    const v = await run(new Session(f.model), f, f.tok.encode('hi', { addSpecial: true }), { sampler: new Scripted([...bytesOf(f, s), f.tok.eos!]) });
    assert.equal(v.result.text, s);
    for (const d of v.deltas) assert.ok(wellFormed(d) && !d.includes('\ufffd'), JSON.stringify(d));
    assert.ok(v.deltas.filter((d) => d === '').length >= 10, 'partial characters are held back');

    // Random sampling biased towards bytes >= 0x80 (lead and continuation bytes, mostly invalid sequences).
    const logitBias: Record<number, number> = {};
    for (let b = 0x80; b < 0x100; b++) logitBias[f.byteId[b]!] = 60;
    for (const ch of 'ab ') logitBias[f.byteId[ch.charCodeAt(0)]!] = 60;
    const r = await run(new Session(f.model), f, f.tok.encode('bytes', { addSpecial: true }), {
      maxTokens: 200,
      eogTokens: [],
      sampling: { seed: 5, temperature: 8 },
    });
    const biased = await run(new Session(f.model), f, f.tok.encode('bytes', { addSpecial: true }), {
      maxTokens: 200,
      eogTokens: [],
      sampling: { seed: 5, temperature: 8, logitBias },
    });
    for (const x of [r, biased]) {
      for (const d of x.deltas) assert.ok(wellFormed(d), JSON.stringify(d));
      const bytes = x.result.tokens.flatMap((t) => Array.from(f.tok.tokenToBytes(t, { special: false })));
      assert.equal(x.result.text, new TextDecoder().decode(Uint8Array.from(bytes)));
    }
    const multi = [...biased.result.text].filter((ch) => ch.codePointAt(0)! >= 0x80 && ch !== '\ufffd').length;
    assert.ok(multi >= 3, `the biased run produced ${multi} multi-byte characters`);
  }
});

test('an AbortSignal cancels promptly: before, during the prompt, and between tokens', async () => {
  const p = prompt();
  // Aborted by the consumer after the fifth token.
  const ac = new AbortController();
  const r = await run(new Session(step.model), step, p, {
    sampling: { seed: 2 },
    eogTokens: [],
    signal: ac.signal,
    onToken: (ev) => ev.index === 4 && ac.abort(),
  });
  assert.deepEqual([r.result.finishReason, r.result.finishDetail, r.result.tokens.length], ['cancelled', 'cancelled', 5]);

  // Aborted by a timer: generation must yield to the event loop for it to fire.
  const ac2 = new AbortController();
  const t0 = performance.now();
  setTimeout(() => ac2.abort(), 30);
  const s = new Session(step.model, { contextSize: 1024 });
  const t = await run(s, step, p, { sampling: { seed: 2 }, eogTokens: [], signal: ac2.signal });
  const ms = performance.now() - t0;
  assert.equal(t.result.finishReason, 'cancelled');
  assert.ok(t.result.tokens.length > 0 && t.result.tokens.length < 1024 - p.length, `${t.result.tokens.length} tokens`);
  assert.ok(ms < 2000, `cancelled after ${ms.toFixed(0)} ms`);

  // Already aborted: no work at all.
  const s2 = new Session(step.model);
  const a = await run(s2, step, p, { signal: AbortSignal.abort() });
  assert.deepEqual([a.result.finishReason, a.result.tokens.length, s2.tokens.length], ['cancelled', 0, 0]);

  // Aborted between prompt chunks: the cache keeps the chunks done.
  const long = Array.from({ length: 600 }, (_, i) => 20 + ((i * 37) % 3000));
  const ac3 = new AbortController();
  setImmediate(() => ac3.abort());
  const s3 = new Session(step.model);
  const c = await run(s3, step, long, { signal: ac3.signal });
  assert.deepEqual([c.result.finishReason, c.result.tokens.length, c.events[0]!.type], ['cancelled', 0, 'done']);
  assert.equal(s3.tokens.length, step.model.maxBatch);
  assert.deepEqual(s3.tokens, long.slice(0, step.model.maxBatch));
});

test('logprobs: the chosen token and the top alternatives, over the raw logits', async () => {
  const r = await run(new Session(step.model), step, prompt(), { maxTokens: 5, sampling: greedy, eogTokens: [], logprobs: 3 });
  for (const ev of r.tokenEvents) {
    const lp = ev.logprobs!;
    assert.equal(lp.id, ev.id);
    assert.equal(lp.top.length, 3);
    assert.equal(lp.top[0]!.id, ev.id, 'greedy picks the most likely token');
    assert.equal(lp.logprob, lp.top[0]!.logprob);
    assert.ok(lp.logprob <= 0 && lp.top[1]!.logprob <= lp.top[0]!.logprob);
  }
  const none = await run(new Session(step.model), step, prompt(), { maxTokens: 2, sampling: greedy });
  assert.ok(none.tokenEvents.every((e) => e.logprobs === undefined));
});

function maxDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

async function freshLogits(f: Fixture, p: readonly number[]): Promise<Float32Array> {
  return (await new Session(f.model).prefill(p))!.logits;
}

test('a continued conversation reuses the cached prefix and gets the same logits as a fresh prefill', async () => {
  const s = new Session(step.model);
  const p = prompt();
  const first = await run(s, step, p, { maxTokens: 10, sampling: greedy, eogTokens: [] });
  const p2 = [...p, ...first.result.tokens, ...step.tok.encode(' and then the dragon said', {})];
  const cont = await s.prefill(p2);
  assert.equal(cont!.reused, p.length + 9, 'prompt and all generated tokens but the last are reused');
  assert.equal(cont!.evaluated, p2.length - cont!.reused);
  const diff = maxDiff(cont!.logits, await freshLogits(step, p2));
  console.log(`# prefix reuse vs fresh prefill: max |Δlogit| = ${diff}`);
  assert.ok(diff <= 1e-5, `max difference ${diff}`);
  // Continuing through generate() gives the same tokens as a fresh session, and reports the reuse.
  const a = await run(s, step, p2, { maxTokens: 8, sampling: greedy, eogTokens: [] });
  const b = await run(new Session(step.model), step, p2, { maxTokens: 8, sampling: greedy, eogTokens: [] });
  assert.deepEqual(a.result.tokens, b.result.tokens);
  assert.equal(a.result.timings.cachedTokens, p2.length - 1);
  assert.equal(a.result.timings.prefillTokens, 1);
});

test('rolling back respects KvCache.maxRollback on sliding-window models, else re-prefills', async () => {
  const f = step4; // maxBatch 4: sliding rings hold window + 4, so at most 4 positions roll back
  const base = Array.from({ length: 60 }, (_, i) => 20 + ((i * 53) % 3000));
  const alt = (n: number, from: number) => [...base.slice(0, n), ...Array.from({ length: 60 - n }, (_, i) => 3100 + ((i * 7 + from) % 500))];
  const s = new Session(f.model);
  assert.equal(s.cache.maxRollback, 4);
  await s.prefill(base);
  const cases: [number[], number][] = [
    [alt(57, 1), 57], // roll back 3: reused
    [alt(57, 1), 59], // the same prompt again: all but the last token
    [alt(30, 2), 0], // roll back 30 > 4: from scratch
    [[...alt(30, 2).slice(0, 58), 9, 10], 58],
  ];
  for (const [p, reused] of cases) {
    const r = await s.prefill(p);
    assert.equal(r!.reused, reused);
    const diff = maxDiff(r!.logits, await freshLogits(f, p));
    assert.ok(diff <= 1e-5, `reused ${reused}: max difference ${diff}`);
    assert.deepEqual(s.tokens, p);
  }
  // Full-attention models roll back any distance.
  const l = new Session(llama.model);
  const lb = base.map((t) => t % 31000);
  await l.prefill(lb);
  const lp = [...lb.slice(0, 10), 5, 6, 7];
  const r = await l.prefill(lp);
  assert.equal(r!.reused, 10);
  assert.ok(maxDiff(r!.logits, await freshLogits(llama, lp)) <= 1e-5);
});

test('a newer generation on the same session supersedes an unfinished one', async () => {
  const s = new Session(step.model);
  const g1 = generate(s, step.tok, prompt(), { sampling: greedy, eogTokens: [], maxTokens: 50 });
  const firstEvent = (await g1.next()).value as GenerateEvent;
  assert.equal(firstEvent.type, 'prefill');
  await complete(s, step.tok, prompt(), { sampling: greedy, maxTokens: 3, eogTokens: [] });
  await assert.rejects(async () => {
    for (;;) if ((await g1.next()).done) break;
  }, /newer generation/);
  await assert.rejects(async () => run(s, step, [], {}), /empty/);
});
