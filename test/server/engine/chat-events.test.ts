// What the ChatService emits, checked with the scripted model so the generated text is known: reasoning,
// content and parallel tool calls as the right events, multi-byte characters split across tokens, stop
// strings (content only), logprobs, the reasoning budget and the repetition guard, token limits, context
// overflow, tool_choice none, raw completions, and invalid requests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ChatError } from '../../../src/server/chat-service.js';
import type { ToolDefinition } from '../../../src/format/index.js';
import { collect, req, run, scripted, summarize, tinyTokenizer } from './helpers.js';

const tools: ToolDefinition[] = [
  { type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer' } }, required: ['city'] } } },
  { type: 'function', function: { name: 'get_time', parameters: { type: 'object', properties: { zone: { type: 'string' }, precise: { type: 'boolean' } } } } },
];

test('scripted reasoning, text and two parallel tool calls come out as the right events', async () => {
  const reply =
    'The user wants weather and time.\nI will call both.\n</think>\nChecking both now.\n' +
    '<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n<parameter=days>\n3\n</parameter>\n</function>\n</tool_call>' +
    '<tool_call>\n<function=get_time>\n<parameter=zone>\nCET\n</parameter>\n<parameter=precise>\ntrue\n</parameter>\n</function>\n</tool_call>';
  const { service, model } = scripted(() => reply);
  const s = await run(service, req('weather and time in Paris?', { tools }));
  assert.equal(s.reasoning, 'The user wants weather and time.\nI will call both.');
  assert.equal(s.content.trim(), 'Checking both now.');
  assert.deepEqual(
    s.toolCalls.map((c) => ({ index: c.index, name: c.name, args: JSON.parse(c.arguments) })),
    [
      { index: 0, name: 'get_weather', args: { city: 'Paris', days: 3 } },
      { index: 1, name: 'get_time', args: { zone: 'CET', precise: true } },
    ],
  );
  for (const c of s.toolCalls) assert.match(c.id, /^call_[0-9a-f]{24}$/);
  assert.equal(s.done.finishReason, 'tool_calls');
  // Reasoning streams before the answer, token by token, and is counted.
  const kinds = s.events.map((e) => e.type);
  assert.ok(kinds.lastIndexOf('reasoning') < kinds.indexOf('content'));
  assert.ok(kinds.filter((k) => k === 'reasoning').length > 3);
  assert.ok(s.done.usage.reasoningTokens > 5 && s.done.usage.reasoningTokens < s.done.usage.completionTokens);
  // The tools were in the prompt, in the template's tools section.
  assert.match(model.prompts[0]!.text, /<tools>\n\{"type": "function", "function": \{"name": "get_weather"/);
  await service.close();
});

test('parallel_tool_calls false ends the generation after the first complete call', async () => {
  const call = (city: string) => `<tool_call>\n<function=get_weather>\n<parameter=city>\n${city}\n</parameter>\n</function>\n</tool_call>`;
  const { service } = scripted(() => `r\n</think>\n${call('Paris')}${call('Rome')}`);
  const one = await run(service, req('weather', { tools, parallelToolCalls: false }));
  assert.deepEqual(one.toolCalls.map((c) => JSON.parse(c.arguments)), [{ city: 'Paris' }]);
  assert.equal(one.done.finishReason, 'tool_calls');
  const both = await run(service, req('weather', { tools }));
  assert.equal(both.toolCalls.length, 2);
  await service.close();
});

test('max tokens inside a tool call: the partial call is dropped with a note; a call the model left open stays text', async () => {
  const long = 'word '.repeat(40);
  const { service } = scripted(() => `r\n</think>\nOn it.\n<tool_call>\n<function=get_weather>\n<parameter=city>\n${long}\n</parameter>\n</function>\n</tool_call>`);
  const cut = await run(service, req('weather', { tools, maxTokens: 20 }));
  assert.equal(cut.done.finishReason, 'length');
  assert.equal(cut.toolCalls.length, 0);
  assert.equal(cut.content.trim(), 'On it.');
  assert.match(cut.done.note ?? '', /max_tokens was reached inside a tool call; the partial call was dropped/);
  await service.close();
  const { service: open } = scripted(() => 'r\n</think>\n<tool_call>\n<function=get_weather>');
  const left = await run(open, req('weather', { tools }));
  assert.equal(left.done.finishReason, 'stop');
  assert.match(left.content, /<tool_call>/);
  assert.equal(left.done.note, undefined);
  await open.close();
});

test('a constrained request keeps half its tokens for the answer when the reasoning budget would take them all', async () => {
  const { service } = scripted(() => ({ text: 'hmm', repeat: ' more' }), { loopGuard: false });
  const s = await run(service, req('json', { maxTokens: 40, responseFormat: { type: 'json_object' } }));
  assert.match(s.done.note ?? '', /reasoning budget of 20 tokens reached/);
  assert.ok(s.content.startsWith('{') || s.content.trimStart().startsWith('{'), s.content);
  await service.close();
});

test('multi-byte characters split across tokens stream without U+FFFD', async () => {
  const text = '日本語のテキスト🎉 ünïcödé ✓ 😀😀';
  const tok = tinyTokenizer();
  const ids = tok.encode(text);
  const splits = ids.filter((id) => {
    const b = tok.tokenToBytes(id);
    return new TextDecoder('utf-8', { fatal: false }).decode(b).includes('\uFFFD');
  });
  assert.ok(splits.length > 0, 'the text should have tokens that are partial characters');
  const { service } = scripted(() => `${text}\n</think>\n${text}`);
  const s = await run(service, req('unicode please'));
  for (const e of s.events) if (e.type === 'reasoning' || e.type === 'content') assert.ok(!e.text.includes('\uFFFD'), JSON.stringify(e.text));
  assert.equal(s.reasoning, text);
  assert.equal(s.content, text);
  await service.close();
});

test('stop strings end the content (not the reasoning), also when split across tokens', async () => {
  const { service } = scripted(() => 'I might say END here.\n</think>\nfirst part ENDING the rest');
  const s = await run(service, req('go', { stop: ['END'] }));
  assert.equal(s.reasoning, 'I might say END here.');
  assert.equal(s.content, 'first part ');
  assert.equal(s.done.finishReason, 'stop');
  assert.equal(s.done.stopSequence, 'END');
  // A stop string that spans tokens, and one that never matches (held text is released at the end).
  const t = await run(service, req('go', { stop: ['part EN', 'never matches'] }));
  assert.equal(t.content, 'first ');
  assert.equal(t.done.stopSequence, 'part EN');
  const u = await run(service, req('go', { stop: ['rest!'] }));
  assert.equal(u.content, 'first part ENDING the rest');
  assert.equal(u.done.finishReason, 'stop');
  assert.equal(u.done.stopSequence, undefined);
  await service.close();
});

test('logprobs come with each content event, for the tokens behind it', async () => {
  const { service } = scripted(() => 'thinking\n</think>\nsome content here');
  const s = await run(service, req('go', { logprobs: 2 }));
  const content = s.events.filter((e) => e.type === 'content');
  const lps = content.flatMap((e) => (e.type === 'content' ? e.logprobs ?? [] : []));
  // Every token after </think> is listed, the newline the parser drops with the tag included.
  assert.equal(lps.map((l) => l.token).join(''), '\nsome content here');
  for (const l of lps) {
    assert.ok(l.logprob <= 0 && l.logprob > -1e-6, `the scripted token is certain: ${l.logprob}`);
    assert.equal(l.top.length, 2);
    assert.equal(l.top[0]!.token, l.token);
    assert.deepEqual(l.bytes, [...new TextEncoder().encode(l.token)]);
  }
  for (const e of s.events) if (e.type === 'reasoning') assert.equal('logprobs' in e, false);
  await service.close();
});

test('the reasoning budget closes runaway reasoning with a note; the answer follows until max tokens', async () => {
  const { service } = scripted(() => ({ text: 'hmm', repeat: ' and more' }), { loopGuard: false });
  const s = await run(service, req('think forever', { reasoningBudget: 6, maxTokens: 20 }));
  assert.equal(s.done.finishReason, 'length');
  assert.match(s.done.note ?? '', /reasoning budget of 6 tokens reached/);
  assert.equal(s.done.usage.completionTokens, 20);
  assert.ok(s.done.usage.reasoningTokens >= 6 && s.done.usage.reasoningTokens <= 9, String(s.done.usage.reasoningTokens));
  assert.match(s.reasoning, /^hmm( and more)+$/);
  assert.ok(s.content.length > 0, 'generation went on after the forced </think>');
  // The service default applies when the request sets none.
  const { service: withDefault } = scripted(() => ({ text: 'hmm', repeat: ' and more' }), { loopGuard: false, reasoningBudget: 3 });
  const d = await run(withDefault, req('think forever', { maxTokens: 12 }));
  assert.match(d.done.note ?? '', /reasoning budget of 3 tokens/);
  await service.close();
  await withDefault.close();
});

test('the repetition guard ends a looping generation with length and a note', async () => {
  const { service } = scripted(() => ({ text: 'ok\n</think>\nstart', repeat: ' la di da' }), { loopGuard: { minTokens: 40, maxPeriod: 16 } });
  const s = await run(service, req('sing', { maxTokens: 1000 }));
  assert.equal(s.done.finishReason, 'length');
  assert.match(s.done.note ?? '', /repetition detected: the last \d+ tokens repeat a \d+-token cycle/);
  assert.ok(s.done.usage.completionTokens < 80, String(s.done.usage.completionTokens));
  // Text that merely repeats a word now and then is left alone.
  const { service: calm } = scripted(() => 'ok\n</think>\n' + Array.from({ length: 30 }, (_, i) => `item ${i} is fine`).join(', '), { loopGuard: { minTokens: 40, maxPeriod: 16 } });
  const c = await run(calm, req('list'));
  assert.equal(c.done.finishReason, 'stop');
  await service.close();
  await calm.close();
});

test('max tokens beyond the context is clamped and reported; a prompt that does not fit is refused', async () => {
  const { service } = scripted(() => 'r\n</think>\nanswer', { contextSize: 128 });
  const s = await run(service, req('hello', { maxTokens: 1_000_000 }));
  assert.equal(s.start.maxTokensClamped, true);
  assert.equal(s.start.maxTokens, 128 - s.start.promptTokens);
  const t = await run(service, req('hello', { maxTokens: 5 }));
  assert.equal(t.start.maxTokensClamped, false);
  assert.equal(t.start.maxTokens, 5);
  assert.equal(t.done.finishReason, 'length');
  const n = service.countTokens({ messages: [{ role: 'user', content: 'word '.repeat(200) }] });
  assert.throws(
    () => service.chat(req('word '.repeat(200))),
    (e: unknown) =>
      e instanceof ChatError &&
      e.kind === 'context_length' &&
      e.message === `prompt is too long: ${n} tokens > 127 maximum` &&
      e.details.promptTokens === n &&
      e.details.maxContext === 127,
  );
  await service.close();
});

test('tool_choice none leaves the tools out of the prompt and a stray call stays text', async () => {
  const call = '<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n</function>\n</tool_call>';
  const { service, model } = scripted(() => `r\n</think>\n${call}`);
  const s = await run(service, req('weather?', { tools, toolChoice: 'none' }));
  assert.equal(s.toolCalls.length, 0);
  assert.equal(s.content, call);
  assert.equal(s.done.finishReason, 'stop');
  assert.doesNotMatch(model.prompts[0]!.text, /# Tools/);
  // With no tools at all, call-shaped text is text too.
  const t = await run(service, req('weather?'));
  assert.equal(t.toolCalls.length, 0);
  assert.equal(t.content, call);
  await service.close();
});

test('complete() runs a raw prompt without the template; everything is content', async () => {
  const { service, model } = scripted(() => 'continued text</think> still content STOP x');
  const events = await collect(service.complete({ prompt: 'Once upon a time', signal: req('').signal, stop: ['STOP'] }));
  const s = summarize(events);
  assert.equal(s.reasoning, '');
  assert.equal(s.content, 'continued text</think> still content ');
  assert.equal(s.done.finishReason, 'stop');
  const p = model.prompts[0]!.text;
  assert.ok(p.endsWith('Once upon a time') && !p.includes('<|im_start|>'), p);
  await service.close();
});

test('bad requests are refused with ChatError invalid_request before any event', async () => {
  const { service } = scripted(() => 'r\n</think>\nx');
  const bad = [
    req('x', { temperature: Number.NaN }),
    req('x', { topP: 2 }),
    req('x', { maxTokens: 0 }),
    req('x', { logprobs: 50 }),
    req('x', { tools, toolChoice: { name: 'nope' } }),
    req('x', { toolChoice: 'required' }),
    req('x', { responseFormat: { type: 'json_schema', schema: { type: 'string', pattern: '^a+$' } } }),
    req('x', { responseFormat: { type: 'json_schema', schema: { type: 'wat' } } }),
    { messages: [], signal: req('').signal },
    { messages: [{ role: 'developer', content: 'x' }], signal: req('').signal } as never,
  ];
  for (const r of bad) assert.throws(() => service.chat(r), (e: unknown) => e instanceof ChatError && e.kind === 'invalid_request', JSON.stringify(r));
  assert.match(service.metrics(), new RegExp(`stepflash_requests_total\\{outcome="invalid_request"\\} ${bad.length}`));
  await service.close();
});

test('finished requests are garbage: nothing keeps a request (its sampler, parser, events) alive', async () => {
  // Node keeps an AbortSignal with listeners alive; a listener left on a finished job once leaked every
  // request's buffers (found by bench/load.mjs as a steadily growing RSS).
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const { service } = scripted(() => 'r\n</think>\nA short answer.');
  const refs: WeakRef<object>[] = [];
  for (let i = 0; i < 10; i++) {
    const events = service.chat(req(`question ${i}`));
    refs.push(new WeakRef(events as object));
    for await (const _ of events) void _;
  }
  await new Promise((r) => setImmediate(r));
  gc();
  await new Promise((r) => setTimeout(r, 10));
  gc();
  // The newest may still sit in the scheduler's last step; before the fix all ten stayed.
  assert.ok(refs.filter((r) => r.deref() !== undefined).length <= 1);
  await service.close();
});
