// Test helpers for the Anthropic API: a real server on port 0 with the anthropic routes, an SDK client
// pointed at it, a raw SSE reader, and a strict checker of the stream's event order (stricter than the
// SDK's accumulator, which ignores deltas for blocks it does not know).
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import Anthropic from '@anthropic-ai/sdk';
import { createApp } from '../../../src/server/http/app.js';
import type { ChatService } from '../../../src/server/chat-service.js';
import { anthropicRoutes, type AnthropicRoutesOptions } from '../../../src/server/api/anthropic/index.js';

export interface TestServer {
  readonly url: string;
  readonly client: Anthropic;
  close(): Promise<void>;
}

export async function startServer(service: ChatService, opts: { apiKey?: string; routes?: AnthropicRoutesOptions } = {}): Promise<TestServer> {
  const server = createApp({ service, routes: anthropicRoutes(opts.routes), ...(opts.apiKey ? { apiKey: opts.apiKey } : {}) });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = new Anthropic({ baseURL: url, apiKey: opts.apiKey ?? 'test-key', maxRetries: 0 });
  return {
    url,
    client,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface RawEvent {
  readonly event: string;
  readonly data: any;
}

/** POSTs a body and reads the whole SSE response into events (checking each `event:` names its data's type). */
export async function rawStream(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; events: RawEvent[] }> {
  const res = await fetch(`${url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': 'test-key', ...headers },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.headers.get('content-type')?.startsWith('text/event-stream')) return { status: res.status, headers: res.headers, events: [{ event: 'http', data: JSON.parse(text) }] };
  const events: RawEvent[] = [];
  for (const chunk of text.split('\n\n')) {
    if (chunk.trim() === '') continue;
    let event = '';
    let data = '';
    for (const line of chunk.split('\n')) {
      if (line.startsWith('event: ')) event = line.slice(7);
      else if (line.startsWith('data: ')) data += line.slice(6);
      else assert.fail(`unexpected SSE line ${JSON.stringify(line)}`);
    }
    const parsed = JSON.parse(data);
    assert.equal(parsed.type, event, 'the event name and the data type agree');
    events.push({ event, data: parsed });
  }
  return { status: res.status, headers: res.headers, events };
}

const DELTA_FOR: Record<string, readonly string[]> = {
  thinking: ['thinking_delta', 'signature_delta'],
  text: ['text_delta'],
  tool_use: ['input_json_delta'],
};

/**
 * Asserts the exact Messages stream grammar and returns the message it assembles:
 * message_start, then blocks with consecutive indices (start, deltas of the block's kind, for thinking one
 * signature_delta last, stop), message_delta, message_stop; `ping` anywhere, nothing else.
 */
export function checkStream(events: readonly RawEvent[]): any {
  const seq = events.filter((e) => e.event !== 'ping');
  for (const e of seq) {
    assert.ok(
      ['message_start', 'content_block_start', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop'].includes(e.event),
      `unexpected event type ${e.event}`,
    );
  }
  assert.equal(seq[0]?.event, 'message_start', 'the stream starts with message_start');
  const message = structuredClone(seq[0]!.data.message);
  assert.deepEqual(message.content, []);
  assert.equal(message.stop_reason, null);
  assert.equal(typeof message.usage.input_tokens, 'number', 'message_start carries usage.input_tokens');
  assert.match(message.id, /^msg_/);
  let i = 1;
  let index = 0;
  while (seq[i]?.event === 'content_block_start') {
    const start = seq[i++]!.data;
    assert.equal(start.index, index, 'block indices are consecutive from 0');
    const block = structuredClone(start.content_block);
    const kind = block.type as string;
    assert.ok(kind in DELTA_FOR, `unknown block type ${kind}`);
    let json = '';
    let signatures = 0;
    let deltas = 0;
    while (seq[i]?.event === 'content_block_delta') {
      const d = seq[i++]!.data;
      assert.equal(d.index, index, 'deltas belong to the open block');
      assert.ok(DELTA_FOR[kind]!.includes(d.delta.type), `${d.delta.type} in a ${kind} block`);
      assert.equal(signatures, 0, 'nothing follows the signature_delta but the stop');
      deltas++;
      if (d.delta.type === 'thinking_delta') block.thinking += d.delta.thinking;
      else if (d.delta.type === 'text_delta') block.text += d.delta.text;
      else if (d.delta.type === 'input_json_delta') json += d.delta.partial_json;
      else if (d.delta.type === 'signature_delta') {
        signatures++;
        assert.ok(d.delta.signature.length > 0, 'signatures are non-empty');
        block.signature = d.delta.signature;
      }
    }
    assert.ok(deltas > 0, 'every block has at least one delta');
    if (kind === 'thinking') assert.equal(signatures, 1, 'a thinking block ends with one signature_delta');
    if (kind === 'tool_use') {
      assert.match(block.id, /^toolu_/);
      assert.deepEqual(block.input, {});
      block.input = JSON.parse(json);
    }
    assert.equal(seq[i]?.event, 'content_block_stop', `block ${index} is stopped before anything else`);
    assert.equal(seq[i++]!.data.index, index);
    message.content.push(block);
    index++;
  }
  assert.equal(seq[i]?.event, 'message_delta', 'message_delta follows the last block');
  const md = seq[i++]!.data;
  assert.ok(['end_turn', 'max_tokens', 'stop_sequence', 'tool_use'].includes(md.delta.stop_reason));
  assert.equal(typeof md.usage.output_tokens, 'number');
  message.stop_reason = md.delta.stop_reason;
  message.stop_sequence = md.delta.stop_sequence;
  message.usage = { ...message.usage, ...md.usage };
  assert.equal(seq[i]?.event, 'message_stop', 'message_stop ends the stream');
  assert.equal(i, seq.length - 1, 'nothing after message_stop');
  return message;
}

export const USER_HI = [{ role: 'user' as const, content: 'hi' }];
