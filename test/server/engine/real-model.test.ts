// The ChatService on the real embedded tiny model (random weights: the text is gibberish, the mechanics are
// not): batched decoding gives the same greedy tokens as one request at a time, seeds reproduce, prefix
// reuse changes nothing in the output, and the reasoning budget closes reasoning a random model never ends.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChatService } from '../../../src/server/chat-service.js';
import { createChatService } from '../../../src/server/engine/index.js';
import type { LoadedModel } from '../../../src/model/load.js';
import type { Tokenizer } from '../../../src/tokenizer/index.js';
import { loadTiny, req, run, type Summary } from './helpers.js';

let loaded: LoadedModel;
let tokenizer: Tokenizer;

before(() => {
  ({ loaded, tokenizer } = loadTiny());
});

after(() => loaded?.close());

const service = (parallel: number, extra: Partial<Parameters<typeof createChatService>[0]> = {}): ChatService =>
  createChatService({ model: loaded.model, tokenizer, parallel, contextSize: 1024, loopGuard: false, ...extra });

/** The whole generated text: reasoning and content (a random model rarely leaves the reasoning). */
const text = (s: Summary) => s.reasoning + '\u0000' + s.content;

const prompts = ['What is the capital of France?', 'Write a haiku about rain.', 'List three prime numbers and explain why they are prime.'];

test('batched decoding gives the same greedy tokens as one request at a time', async () => {
  const greedy = { temperature: 0, maxTokens: 24 };
  const one = service(1);
  const alone: string[] = [];
  for (const p of prompts) alone.push(text(await run(one, req(p, greedy))));
  await one.close();
  // All three at once (prompts of different lengths, so prefill chunks and decode tokens share passes).
  const three = service(3);
  const together = await Promise.all(prompts.map((p) => run(three, req(p, greedy))));
  assert.deepEqual(together.map(text), alone);
  // Staggered: a request joining while the others decode.
  const late = run(three, req(prompts[1]!, greedy));
  const early = await Promise.all([run(three, req(prompts[0]!, greedy)), run(three, req(prompts[2]!, greedy))]);
  assert.deepEqual([text(early[0]!), text(await late), text(early[1]!)], alone);
  await three.close();
});

test('a seed reproduces a sampled generation; another seed gives another', async () => {
  const s = service(2);
  const opts = { temperature: 1, topP: 0.95, maxTokens: 24 };
  const a = await run(s, req('Tell me a story.', { ...opts, seed: 42 }));
  const b = await run(s, req('Tell me a story.', { ...opts, seed: 42 }));
  const c = await run(s, req('Tell me a story.', { ...opts, seed: 43 }));
  assert.equal(text(a), text(b));
  assert.notEqual(text(a), text(c));
  // The second run reused the cached prompt and still produced the same tokens.
  assert.ok(b.start.cachedTokens > 0);
  await s.close();
});

test('prompt-prefix reuse does not change the output', async () => {
  const greedy = { temperature: 0, maxTokens: 16 };
  const messages = [
    { role: 'system' as const, content: 'You are terse.' },
    { role: 'user' as const, content: 'Name a color.' },
  ];
  const cold = service(1);
  const fresh = await run(cold, { messages: [...messages, { role: 'assistant', content: 'Blue.' }, { role: 'user', content: 'Another?' }], signal: req('').signal, ...greedy });
  await cold.close();
  const warm = service(1);
  await run(warm, { messages, signal: req('').signal, ...greedy });
  const reused = await run(warm, { messages: [...messages, { role: 'assistant', content: 'Blue.' }, { role: 'user', content: 'Another?' }], signal: req('').signal, ...greedy });
  assert.ok(reused.start.cachedTokens > 10, String(reused.start.cachedTokens));
  assert.equal(text(reused), text(fresh));
  await warm.close();
});

test('a random model never ends its reasoning; the budget closes it and the answer follows', async () => {
  const s = service(1);
  const r = await run(s, req('Think about it.', { seed: 7, reasoningBudget: 8, maxTokens: 30 }));
  assert.match(r.done.note ?? '', /reasoning budget of 8 tokens reached/);
  assert.ok(r.done.usage.reasoningTokens >= 8 && r.done.usage.reasoningTokens <= 11);
  assert.equal(r.done.finishReason, 'length');
  assert.equal(r.done.usage.completionTokens, 30);
  assert.ok(r.content.length > 0);
  await s.close();
});
