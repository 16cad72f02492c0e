// GET /health and GET /metrics over real HTTP (the app core with engineRoutes): /health answers 200 while
// the engine makes progress and 503 when a forward pass stalls; /metrics is valid Prometheus text whose
// counters move with the requests served.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { createApp } from '../../../src/server/http/app.js';
import { engineRoutes } from '../../../src/server/engine/index.js';
import type { ChatService } from '../../../src/server/chat-service.js';
import { collect, req, run, scripted, sleep } from './helpers.js';

async function serve(service: ChatService, apiKey?: string): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createApp({ service, routes: engineRoutes(), ...(apiKey ? { apiKey } : {}) });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(() => r())) };
}

interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

/** Parses the Prometheus text format strictly enough to catch malformed output. */
function parsePrometheus(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  const helps = new Set<string>();
  assert.ok(text.endsWith('\n'), 'the exposition ends with a newline');
  for (const line of text.split('\n').slice(0, -1)) {
    let m = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (m) {
      assert.ok(!helps.has(m[1]!), `duplicate HELP for ${m[1]}`);
      helps.add(m[1]!);
      continue;
    }
    m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (m) {
      assert.ok(!types.has(m[1]!), `duplicate TYPE for ${m[1]}`);
      types.set(m[1]!, m[2]!);
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?[0-9.e+-]+|NaN|\+Inf|-Inf)$/.exec(line);
    assert.ok(m, `not a valid exposition line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    if (m[2]) {
      for (const part of m[2].split(',')) {
        const lm = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"$/.exec(part);
        assert.ok(lm, `bad label ${part}`);
        labels[lm[1]!] = lm[2]!;
      }
    }
    const name = m[1]!;
    const family = name.replace(/_(bucket|sum|count)$/, '');
    assert.ok(types.has(name) || types.get(family) === 'histogram', `sample ${name} has no TYPE line before it`);
    samples.push({ name, labels, value: m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3]) });
  }
  // Histogram buckets are cumulative and end at +Inf = count.
  for (const [family, type] of types) {
    if (type !== 'histogram') continue;
    const buckets = samples.filter((s) => s.name === `${family}_bucket`);
    assert.ok(buckets.length > 1 && buckets[buckets.length - 1]!.labels.le === '+Inf');
    for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i]!.value >= buckets[i - 1]!.value);
    assert.equal(buckets[buckets.length - 1]!.value, samples.find((s) => s.name === `${family}_count`)!.value);
  }
  return { samples, types };
}

const value = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

test('/metrics is Prometheus text and its counters move with requests', async () => {
  const { service } = scripted(() => 'thinking it over\n</think>\nthe answer', { parallel: 2 });
  const http = await serve(service);
  try {
    const before = await fetch(`${http.url}/metrics`);
    assert.equal(before.status, 200);
    assert.equal(before.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    const b = parsePrometheus(await before.text()).samples;
    assert.equal(value(b, 'stepflash_requests_total', { outcome: 'stop' }), 0);
    assert.equal(value(b, 'stepflash_slots'), 2);
    // Drafting with real counts is tested on the nano model (test/server/openai/nano-draft.test.ts).
    assert.equal(value(b, 'stepflash_draft_max_tokens'), 0);
    assert.ok(Number.isNaN(value(b, 'stepflash_draft_acceptance_ratio')));

    const results = await Promise.all([run(service, req('one')), run(service, req('two', { maxTokens: 3 }))]);
    const after = parsePrometheus(await (await fetch(`${http.url}/metrics`)).text());
    const a = after.samples;
    assert.equal(after.types.get('stepflash_requests_total'), 'counter');
    assert.equal(after.types.get('stepflash_time_to_first_token_seconds'), 'histogram');
    assert.equal(value(a, 'stepflash_requests_total', { outcome: 'stop' }), 1);
    assert.equal(value(a, 'stepflash_requests_total', { outcome: 'length' }), 1);
    const prompt = results.reduce((n, r) => n + r.done.usage.promptTokens, 0);
    const completion = results.reduce((n, r) => n + r.done.usage.completionTokens, 0);
    assert.equal(value(a, 'stepflash_prompt_tokens_total'), prompt);
    assert.equal(value(a, 'stepflash_completion_tokens_total'), completion);
    assert.ok(value(a, 'stepflash_reasoning_tokens_total')! > 0);
    assert.equal(value(a, 'stepflash_time_to_first_token_seconds_count'), 2);
    assert.ok(value(a, 'stepflash_steps_total')! > 0);
    assert.ok(value(a, 'stepflash_step_tokens_total')! >= prompt);
    assert.equal(value(a, 'stepflash_active_slots'), 0);
    assert.equal(value(a, 'stepflash_queue_depth'), 0);
    assert.equal(value(a, 'stepflash_engine_healthy'), 1);
    assert.equal(value(a, 'stepflash_draft_tokens_total'), 0);
  } finally {
    await http.close();
    await service.close();
  }
});

test('drafting needs MTP heads: a model without them is refused with draft > 0', () => {
  assert.throws(() => scripted(() => 'x', { draft: 3 }), /no MTP \(nextn\) heads, so it cannot draft/);
});

test('/health is 200 while the engine works and 503 while a forward pass is stalled', async () => {
  const { service, model } = scripted(() => 'r\n</think>\nanswer', { stallSeconds: 0.05 });
  const http = await serve(service, 'secret-key');
  try {
    const ok = await fetch(`${http.url}/health`);
    assert.equal(ok.status, 200);
    const okBody = (await ok.json()) as { status: string; detail: string; model: string };
    assert.equal(okBody.status, 'ok');
    assert.equal(okBody.model, service.modelName);
    // /health needs no key; /metrics does.
    assert.equal((await fetch(`${http.url}/metrics`)).status, 401);
    assert.equal((await fetch(`${http.url}/metrics`, { headers: { authorization: 'Bearer secret-key' } })).status, 200);

    const release = model.stall();
    const pending = collect(service.chat(req('hello')));
    await sleep(150);
    const wedged = await fetch(`${http.url}/health`);
    assert.equal(wedged.status, 503);
    const body = (await wedged.json()) as { status: string; detail: string };
    assert.equal(body.status, 'error');
    assert.match(body.detail, /engine wedged: a forward pass has been running for/);
    release();
    await pending;
    assert.equal((await fetch(`${http.url}/health`)).status, 200);
  } finally {
    await http.close();
    await service.close();
  }
});
