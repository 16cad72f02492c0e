// The loop's small parts on their own: backoff and retry-after, the SSE reader, the JSON schema checker
// and answer extraction, output capping, and the context helpers.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backoffDelay, retryAfterMs, retryableStatus } from '../../src/agent/loop/backoff.js';
import { ContextMeter, discardOldToolOutputs, estimateTokens, tailStart, transcript } from '../../src/agent/loop/context.js';
import { extractJson, validate } from '../../src/agent/loop/schema.js';
import { sseData } from '../../src/agent/loop/sse.js';
import type { ChatMessage } from '../../src/agent/loop/types.js';
import { OutputCap } from '../../src/agent/tools/output-cap.js';

describe('agent loop parts', () => {
  test('backoff: exponential with jitter in [ceiling/2, ceiling], capped; retry-after wins', () => {
    const p = { maxRetries: 4, baseDelayMs: 100, maxDelayMs: 1000 };
    assert.equal(backoffDelay(p, 1, undefined, () => 0), 50);
    assert.equal(backoffDelay(p, 1, undefined, () => 1), 100);
    assert.equal(backoffDelay(p, 3, undefined, () => 1), 400);
    assert.equal(backoffDelay(p, 10, undefined, () => 1), 1000);
    assert.equal(backoffDelay(p, 1, 5000), 5000, 'a server hint beyond maxDelayMs is honoured');
    assert.equal(backoffDelay(p, 1, 10 * 60_000), 60_000, 'up to a minute');
    const now = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(retryAfterMs(new Headers({ 'retry-after': '2' }), now), 2000);
    assert.equal(retryAfterMs(new Headers({ 'retry-after': 'Thu, 01 Jan 2026 00:00:03 GMT' }), now), 3000);
    assert.equal(retryAfterMs(new Headers({ 'retry-after-ms': '250', 'retry-after': '9' }), now), 250);
    assert.equal(retryAfterMs(new Headers({ 'retry-after': 'soon' }), now), undefined);
    assert.deepEqual([429, 500, 503, 529, 408, 400, 401, 404].map(retryableStatus), [true, true, true, true, true, false, false, false]);
  });

  test('SSE: CRLF, comments, multi-line data, split chunks, a last event without a blank line', async () => {
    const raw = ': keep-alive\r\n\r\ndata: {"a":\r\ndata: 1}\r\n\r\nevent: x\ndata: two\n\ndata: [DONE]';
    const enc = new TextEncoder().encode(raw);
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < enc.length; i += 3) c.enqueue(enc.subarray(i, i + 3));
        c.close();
      },
    });
    const out: string[] = [];
    for await (const d of sseData(body)) out.push(d);
    assert.deepEqual(out, ['{"a":\n1}', 'two', '[DONE]']);
  });

  test('schema: types, required, enums, bounds, nested paths, anyOf', () => {
    const s = {
      type: 'object',
      properties: {
        n: { type: 'integer', minimum: 1 },
        tags: { type: 'array', items: { type: 'string', enum: ['a', 'b'] }, maxItems: 2 },
        o: { type: 'object', properties: { x: { type: ['string', 'null'] } }, additionalProperties: false },
        u: { anyOf: [{ type: 'string' }, { type: 'number' }] },
      },
      required: ['n'],
    };
    assert.deepEqual(validate({ n: 2, tags: ['a'], o: { x: null }, u: 3 }, s), []);
    assert.deepEqual(validate({ n: 0.5, tags: ['c', 'a', 'b'], o: { y: 1 }, u: true }, s), [
      '$.n: expected integer, got number',
      '$.tags: more than 2 items',
      '$.tags[0]: must be one of ["a","b"]',
      '$.o: unexpected property "y"',
      '$.u: matches none of the anyOf alternatives',
    ]);
    assert.deepEqual(validate({}, s), ['$: missing required property "n"']);
    assert.equal(validate(3, { type: 'number' }).length, 0, 'an integer is a number');
  });

  test('extractJson: whole text, fenced, embedded; a clear error otherwise', () => {
    assert.deepEqual(extractJson(' {"a": 1} '), { a: 1 });
    assert.deepEqual(extractJson('Here:\n```json\n[1, 2]\n```\nthanks'), [1, 2]);
    assert.deepEqual(extractJson('The result is {"ok": true}.'), { ok: true });
    assert.throws(() => extractJson('no json'), /the answer is not JSON/);
  });

  test('OutputCap keeps the head and tail of a long stream in bounded memory', () => {
    const cap = new OutputCap(10);
    for (let i = 0; i < 1000; i++) cap.push(Buffer.from(`${i % 10}`));
    assert.equal(cap.total, 1000);
    assert.equal(cap.truncated, true);
    assert.equal(cap.text(), '01234\n[... 990 bytes cut: output is limited to 10 bytes, first and last halves kept ...]\n56789');
    const small = new OutputCap(10);
    small.push(Buffer.from('hello'));
    assert.equal(small.text(), 'hello');
  });

  test('context helpers: estimate, measured size, discard stubs, the kept tail, the transcript', () => {
    const msgs: ChatMessage[] = [
      { role: 'system', content: 's' },
      { role: 'user', content: 'task' },
      { role: 'assistant', content: null, reasoning_content: 'r'.repeat(100), tool_calls: [{ id: 'a', type: 'function', function: { name: 'f', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'a', content: 'x'.repeat(400) },
      { role: 'assistant', content: null, tool_calls: [{ id: 'b', type: 'function', function: { name: 'g', arguments: '{"q":1}' } }] },
      { role: 'tool', tool_call_id: 'b', content: 'y'.repeat(400) },
    ];
    assert.ok(estimateTokens(msgs) > 200 && estimateTokens(msgs) < 400);
    const meter = new ContextMeter();
    meter.measured(1000, 4);
    assert.equal(meter.tokens(msgs), 1000 + estimateTokens(msgs.slice(4)));
    meter.invalidate();
    assert.equal(meter.tokens(msgs), estimateTokens(msgs));
    const d = discardOldToolOutputs(msgs, 1);
    assert.equal(d[3]!.content, '[discarded to save context: the f output was 400 characters; call again if it is still needed]');
    assert.equal(d[5]!.content, 'y'.repeat(400));
    assert.equal((d[2] as { reasoning_content?: string }).reasoning_content, undefined);
    assert.equal(tailStart(msgs), 4);
    assert.equal(transcript(msgs.slice(2, 4), 100), `[Assistant tool call] f({})\n[Tool result] ${'x'.repeat(50)}\n[... 300 characters cut ...]\n${'x'.repeat(50)}`);
  });
});
