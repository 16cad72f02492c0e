// Stream lifecycle: a client that leaves frees its request, keep-alive comments during a silent engine,
// errors after such a comment, and backpressure-free delivery of every chunk.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import OpenAI from 'openai';
import { ChatError, type ChatEvent, type ChatRequest, type ChatService } from '../../../src/server/chat-service.js';
import { ScriptedChatService } from '../../helpers/scripted-service.js';
import { postJson, readSse, startServer } from './harness.js';

const user = [{ role: 'user' as const, content: 'q' }];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A service whose first event comes after `delayMs`, or which fails then with `error`. */
function slowStart(delayMs: number, error?: ChatError): ChatService {
  const base = new ScriptedChatService(() => ({ content: ['late'] }));
  return Object.assign(Object.create(base) as ChatService, {
    chat(req: ChatRequest): AsyncIterable<ChatEvent> {
      const inner = base.chat(req);
      return (async function* () {
        await sleep(delayMs);
        if (error) throw error;
        yield* inner;
      })();
    },
  });
}

describe('stream lifecycle', () => {
  it('a client abort mid-stream aborts the engine request', async () => {
    const service = new ScriptedChatService(() => ({ content: Array.from({ length: 200 }, (_, i) => `t${i} `), delayMs: 10 }));
    const server = await startServer(service);
    try {
      const stream = await server.client.chat.completions.create({ model: 'm', messages: user, stream: true });
      let n = 0;
      for await (const _ of stream) if (++n === 3) break; // break aborts the HTTP request
      const req = service.requests.at(-1)!;
      for (let i = 0; i < 100 && !req.signal.aborted; i++) await sleep(10);
      assert.equal(req.signal.aborted, true);
      for (let i = 0; i < 100 && service.cancelled === 0; i++) await sleep(10);
      assert.equal(service.cancelled, 1, 'the engine saw the abort and stopped');
    } finally {
      await server.close();
    }
  });

  it('a non-streamed request whose client leaves is aborted too', async () => {
    const service = new ScriptedChatService(() => ({ content: Array.from({ length: 200 }, () => 'x'), delayMs: 10 }));
    const server = await startServer(service);
    try {
      const controller = new AbortController();
      const pending = server.client.chat.completions.create({ model: 'm', messages: user }, { signal: controller.signal });
      for (let i = 0; i < 200 && service.requests.length === 0; i++) await sleep(10);
      await sleep(30);
      controller.abort();
      await assert.rejects(pending, OpenAI.APIUserAbortError);
      const req = service.requests.at(-1)!;
      for (let i = 0; i < 100 && !req.signal.aborted; i++) await sleep(10);
      assert.equal(req.signal.aborted, true);
    } finally {
      await server.close();
    }
  });

  it('sends keep-alive comments while the engine is silent, then the stream as usual', async () => {
    const server = await startServer(slowStart(300), { routes: { heartbeatMs: 50 } });
    try {
      const res = await postJson(`${server.url}/v1/chat/completions`, { messages: user, stream: true });
      assert.equal(res.status, 200);
      const { data, comments } = await readSse(res);
      assert.ok(comments.filter((c) => c === 'keep-alive').length >= 2, `comments: ${comments.join(',')}`);
      assert.equal(data.at(-1), '[DONE]');
      const final = await server.client.chat.completions.stream({ model: 'm', messages: user }).finalChatCompletion();
      assert.equal(final.choices[0]!.message.content, 'late');
    } finally {
      await server.close();
    }
  });

  it('an engine error after a keep-alive went out arrives as a data: error', async () => {
    const server = await startServer(slowStart(200, new ChatError('overloaded', 'queue full')), { routes: { heartbeatMs: 40 } });
    try {
      const stream = await server.client.chat.completions.create({ model: 'm', messages: user, stream: true });
      await assert.rejects(
        (async () => {
          for await (const _ of stream);
        })(),
        (e: unknown) => e instanceof OpenAI.APIError && /queue full/.test(e.message),
      );
    } finally {
      await server.close();
    }
  });

  it('an engine error before the first event stays a plain JSON error when it comes quickly', async () => {
    const server = await startServer(slowStart(20, new ChatError('overloaded', 'queue full')), { routes: { heartbeatMs: 2000 } });
    try {
      await assert.rejects(server.client.chat.completions.create({ model: 'm', messages: user, stream: true }), OpenAI.RateLimitError);
    } finally {
      await server.close();
    }
  });

  it('max_tokens cut-off while a tool call was being written: finish_reason length, no broken call', async () => {
    const service = new ScriptedChatService(() => ({ reasoning: ['I will call'], content: [], finishReason: 'length' }));
    const server = await startServer(service);
    try {
      const final = await server.client.chat.completions
        .stream({ model: 'm', messages: user, max_tokens: 8, tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }] })
        .finalChatCompletion();
      assert.equal(final.choices[0]!.finish_reason, 'length');
      assert.equal(final.choices[0]!.message.tool_calls, undefined);
    } finally {
      await server.close();
    }
  });

  it('parallel tool calls carry their own index on every delta', async () => {
    const service = new ScriptedChatService(() => ({
      toolCalls: [
        { name: 'a', arguments: '{"x":1}' },
        { name: 'b', arguments: '{"y":"two"}' },
        { name: 'a', arguments: '{}' },
      ],
    }));
    const server = await startServer(service, { routes: { toolArgumentsChunkChars: 3 } });
    try {
      const { data } = await readSse(await postJson(`${server.url}/v1/chat/completions`, { messages: user, stream: true }));
      const byIndex = new Map<number, string>();
      for (const d of data.slice(0, -1)) {
        for (const tc of JSON.parse(d).choices[0]?.delta.tool_calls ?? []) {
          assert.equal(typeof tc.index, 'number');
          byIndex.set(tc.index, (byIndex.get(tc.index) ?? '') + tc.function.arguments);
        }
      }
      assert.deepEqual([...byIndex.entries()], [[0, '{"x":1}'], [1, '{"y":"two"}'], [2, '{}']]);
      assert.equal(JSON.parse(data.at(-2)!).choices[0].finish_reason, 'tool_calls');
    } finally {
      await server.close();
    }
  });
});
