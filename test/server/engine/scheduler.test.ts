// The batch scheduler, driven through the real ChatService with the scripted model (so what each request
// says is known): requests share forward passes, late requests join between steps, long prompts are
// prefilled in chunks beside other requests' decoding, disconnects free slots at once, a full queue is
// refused, prompt prefixes are reused, and a stalled forward pass shows up in health().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChatError, type ChatEvent } from '../../../src/server/chat-service.js';
import { collect, req, run, scripted, sleep, summarize } from './helpers.js';

/** Reads events until `until` says stop; returns them and the iterator to continue with. */
async function readUntil(events: AsyncIterable<ChatEvent>, until: (ev: ChatEvent, seen: ChatEvent[]) => boolean) {
  const it = events[Symbol.asyncIterator]();
  const seen: ChatEvent[] = [];
  for (;;) {
    const r = await it.next();
    if (r.done) return { seen, it, ended: true };
    seen.push(r.value);
    if (until(r.value, seen)) return { seen, it, ended: false };
  }
}

async function drain(it: AsyncIterator<ChatEvent>, seen: ChatEvent[]): Promise<ChatEvent[]> {
  for (;;) {
    const r = await it.next();
    if (r.done) return seen;
    seen.push(r.value);
  }
}

test('several requests decode together in one forward pass per step', async () => {
  const { service, model } = scripted((p) => (p.text.includes('first') ? 'one two three\n</think>\nalpha beta gamma' : 'x\n</think>\ndelta epsilon'), {
    parallel: 3,
    model: { delayMs: 2 },
  });
  const [a, b, c] = await Promise.all([run(service, req('first')), run(service, req('second')), run(service, req('third'))]);
  assert.equal(a.content, 'alpha beta gamma');
  assert.equal(b.content, 'delta epsilon');
  assert.equal(c.content, 'delta epsilon');
  // Some passes carried all three sequences.
  assert.ok(model.passes.some((p) => p.length === 3), `passes: ${JSON.stringify(model.passes)}`);
  await service.close();
});

test('a late request joins between steps and finishes before an early long one', async () => {
  const { service, model } = scripted((p) => (p.text.includes('long') ? { text: 'go', repeat: ' on' } : 'ok\n</think>\nshort answer'), {
    parallel: 2,
    model: { delayMs: 2 },
  });
  const long = service.chat(req('long', { maxTokens: 80 }));
  const first = await readUntil(long, (_e, seen) => seen.length >= 6);
  assert.equal(first.ended, false);
  const passesBefore = model.passes.length;
  const short = await run(service, req('short please'));
  assert.equal(short.content, 'short answer');
  const rest = summarize(await drain(first.it, first.seen));
  assert.equal(rest.done.finishReason, 'length');
  assert.equal(rest.done.usage.completionTokens, 80);
  // While the short request ran, passes carried both sequences.
  assert.ok(model.passes.slice(passesBefore).some((p) => p.length === 2));
  await service.close();
});

test('a long prompt is prefilled in chunks while another request keeps decoding', async () => {
  const { service, model } = scripted((p) => (p.text.includes('decoder') ? { text: 'a', repeat: ' b' } : 'done\n</think>\nfine'), {
    parallel: 2,
    stepTokens: 16,
    model: { delayMs: 1 },
  });
  const dec = service.chat(req('decoder', { maxTokens: 60 }));
  const first = await readUntil(dec, (_e, seen) => seen.length >= 3);
  const from = model.passes.length;
  const long = await run(service, req('word '.repeat(150)));
  assert.equal(long.content, 'fine');
  assert.ok(long.start.promptTokens > 150);
  const during = model.passes.slice(from);
  // The prompt went in chunks of at most 15 (16 minus the other sequence's decode token), each beside a decode token.
  const mixed = during.filter((p) => p.length === 2 && p.includes(1) && Math.max(...p) > 1);
  assert.ok(mixed.length >= 8, `passes: ${JSON.stringify(during)}`);
  assert.ok(during.every((p) => p.reduce((a, b) => a + b, 0) <= 16));
  await drain(first.it, first.seen);
  await service.close();
});

test('a client that disconnects frees its slot before the next step', async () => {
  const { service } = scripted((p) => (p.text.includes('forever') ? { text: 'x', repeat: ' y' } : 'q\n</think>\nnext one'), {
    parallel: 1,
    queueSize: 1,
    loopGuard: false,
    model: { delayMs: 2 },
  });
  const ac = new AbortController();
  const a = service.chat(req('forever', { signal: ac.signal, maxTokens: 100000 }));
  const first = await readUntil(a, (_e, seen) => seen.length >= 4);
  const bPromise = collect(service.chat(req('waiting')));
  await sleep(20);
  const t0 = performance.now();
  ac.abort();
  const b = summarize(await bPromise);
  assert.equal(b.content, 'next one');
  assert.ok(performance.now() - t0 < 2000);
  const aEvents = await drain(first.it, first.seen);
  const last = aEvents[aEvents.length - 1]!;
  assert.ok(last.type === 'done' && last.finishReason === 'cancelled', JSON.stringify(last));
  await service.close();
});

test('a consumer that stops reading frees the slot too', async () => {
  const { service } = scripted((p) => (p.text.includes('endless') ? { text: 'x', repeat: ' y' } : 'q\n</think>\nserved'), {
    parallel: 1,
    loopGuard: false,
    model: { delayMs: 1 },
  });
  for await (const ev of service.chat(req('endless', { maxTokens: 100000 }))) if (ev.type === 'reasoning') break;
  const b = await run(service, req('after'));
  assert.equal(b.content, 'served');
  await service.close();
});

test('a full queue refuses new requests with ChatError overloaded, before any event', async () => {
  const { service } = scripted((p) => (p.text.includes('busy') ? { text: 'x', repeat: ' y' } : 'ok\n</think>\nfine'), {
    parallel: 1,
    queueSize: 1,
    loopGuard: false,
    model: { delayMs: 2 },
  });
  const ac = new AbortController();
  const a = service.chat(req('busy', { signal: ac.signal, maxTokens: 100000 }));
  const first = await readUntil(a, (e) => e.type === 'reasoning');
  const queued = collect(service.chat(req('queued')));
  assert.throws(
    () => service.chat(req('one too many')),
    (e: unknown) => e instanceof ChatError && e.kind === 'overloaded' && /busy/.test(e.message),
  );
  ac.abort();
  await drain(first.it, first.seen);
  assert.equal(summarize(await queued).content, 'fine');
  assert.equal((await run(service, req('now there is room'))).content, 'fine');
  assert.match(service.metrics(), /stepflash_requests_total\{outcome="overloaded"\} 1/);
  await service.close();
});

test('a request that gives up while queued leaves the queue at once', async () => {
  const { service } = scripted((p) => (p.text.includes('busy') ? { text: 'x', repeat: ' y' } : 'ok\n</think>\nfine'), {
    parallel: 1,
    queueSize: 1,
    loopGuard: false,
    model: { delayMs: 2 },
  });
  const busy = new AbortController();
  const first = await readUntil(service.chat(req('busy', { signal: busy.signal, maxTokens: 100000 })), (e) => e.type === 'reasoning');
  const gaveUp = new AbortController();
  const queued = collect(service.chat(req('queued', { signal: gaveUp.signal })));
  gaveUp.abort();
  const evs = await queued;
  assert.equal(evs.length, 1);
  assert.ok(evs[0]!.type === 'done' && evs[0]!.finishReason === 'cancelled');
  // Its place in the queue is free again.
  const next = collect(service.chat(req('queued again')));
  busy.abort();
  await drain(first.it, first.seen);
  assert.equal(summarize(await next).content, 'fine');
  await service.close();
});

test('prompt prefixes are reused across requests and reported in cachedTokens', async () => {
  const { service } = scripted(() => 'r\n</think>\nanswer', { parallel: 2 });
  const system = { role: 'system' as const, content: 'You are a helpful assistant. '.repeat(8) };
  const turn1 = [system, { role: 'user' as const, content: 'first question' }];
  const a = await run(service, { messages: turn1, signal: req('').signal });
  assert.equal(a.start.cachedTokens, 0);
  // The same prompt again: everything but the last token comes from the cache.
  const again = await run(service, { messages: turn1, signal: req('').signal });
  assert.equal(again.start.cachedTokens, again.start.promptTokens - 1);
  assert.equal(again.done.usage.cachedTokens, again.start.cachedTokens);
  // Another conversation takes the other slot; the next turn of the first still finds its cache.
  const other = await run(service, req('something else entirely'));
  assert.equal(other.start.cachedTokens, 0);
  const turn2 = [...turn1, { role: 'assistant' as const, content: 'answer' }, { role: 'user' as const, content: 'second question' }];
  const b = await run(service, { messages: turn2, signal: req('').signal });
  assert.ok(b.start.cachedTokens >= a.start.promptTokens - 4, `cached ${b.start.cachedTokens} of ${b.start.promptTokens}, turn 1 was ${a.start.promptTokens}`);
  await service.close();
});

test('health() reports a wedged engine while a forward pass stalls, and recovers', async () => {
  const { service, model } = scripted(() => 'r\n</think>\nanswer', { stallSeconds: 0.05 });
  assert.equal(service.health().ok, true);
  const release = model.stall();
  const pending = collect(service.chat(req('hello')));
  await sleep(120);
  const h = service.health();
  assert.equal(h.ok, false);
  assert.match(h.detail, /wedged/);
  assert.match(service.metrics(), /stepflash_engine_healthy 0/);
  release();
  assert.equal(summarize(await pending).content, 'answer');
  assert.equal(service.health().ok, true);
  await service.close();
  assert.equal(service.health().ok, false);
});
