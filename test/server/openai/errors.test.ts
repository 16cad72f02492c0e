// Errors as the `openai` client sees them: its error classes, status codes, `param` and `code`, for bad
// input at every level (bytes, JSON, types, values), auth, size, context overflow and overload, before
// and after a stream has started.
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { ChatError, type ChatEvent, type ChatRequest, type ChatService } from '../../../src/server/chat-service.js';
import { ScriptedChatService, type ScriptedReply } from '../../helpers/scripted-service.js';
import { readSse, startServer, type TestServer } from './harness.js';

let reply: (req: ChatRequest) => ScriptedReply = () => ({ content: ['ok'] });
const service = new ScriptedChatService((req) => reply(req));
let server: TestServer;

before(async () => {
  server = await startServer(service, { apiKey: 'sekret', app: { apiKey: 'sekret', bodyLimitBytes: 64 * 1024 } });
});
after(async () => {
  await server.close();
});

const user = [{ role: 'user' as const, content: 'q' }];

async function raw(body: BodyInit, headers: Record<string, string> = {}): Promise<{ status: number; json: { error: { message: string; type: string; param: string | null; code: string | null } } }> {
  const res = await fetch(`${server.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer sekret', ...headers }, body });
  return { status: res.status, json: (await res.json()) as never };
}

function badRequest(param: string | null, message?: RegExp) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof OpenAI.BadRequestError, `expected BadRequestError, got ${String(e)}`);
    assert.equal(e.status, 400);
    assert.equal(e.type, 'invalid_request_error');
    assert.equal(e.param, param);
    if (message) assert.match(e.message, message);
    return true;
  };
}

describe('malformed bodies', () => {
  it('bad JSON, invalid UTF-8, an empty body and a non-object are 400s in OpenAI shape', async () => {
    for (const body of ['{"model": "m", "messages": [', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), '', '[1,2]']) {
      const { status, json } = await raw(body);
      assert.equal(status, 400, String(body));
      assert.equal(json.error.type, 'invalid_request_error');
      assert.ok(json.error.message.length > 10);
    }
  });

  it('a body over the limit is a 413', async () => {
    await assert.rejects(
      server.client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x'.repeat(100_000) }] }),
      (e: unknown) => e instanceof OpenAI.APIError && e.status === 413 && /limit/.test(e.message),
    );
  });

  it('a wrong API key is a 401 AuthenticationError', async () => {
    const bad = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'wrong', maxRetries: 0 });
    await assert.rejects(bad.chat.completions.create({ model: 'm', messages: user }), (e: unknown) => e instanceof OpenAI.AuthenticationError && e.status === 401);
    await assert.rejects(bad.models.list(), (e: unknown) => e instanceof OpenAI.AuthenticationError);
  });
});

describe('validation names the field', () => {
  const cases: [string, Record<string, unknown>, string | null, RegExp?][] = [
    ['missing messages', { model: 'm' }, 'messages', /Missing required parameter/],
    ['empty messages', { messages: [] }, 'messages', /at least one/],
    ['temperature type', { messages: user, temperature: 'hot' }, 'temperature', /expected number/],
    ['temperature range', { messages: user, temperature: 3 }, 'temperature'],
    ['max_tokens zero', { messages: user, max_tokens: 0 }, 'max_tokens'],
    ['stream type', { messages: user, stream: 'yes' }, 'stream'],
    ['stop type', { messages: user, stop: 5 }, 'stop', /string or an array/],
    ['empty stop', { messages: user, stop: ['a', ''] }, 'stop[1]'],
    ['bad role', { messages: [{ role: 'robot', content: 'x' }] }, 'messages[0].role'],
    ['function role', { messages: [{ role: 'function', name: 'f', content: 'x' }] }, 'messages[0].role', /deprecated/],
    ['content type', { messages: [{ role: 'user', content: 42 }] }, 'messages[0].content'],
    ['image part', { messages: [{ role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'image_url', image_url: { url: 'data:' } }] }] }, 'messages[0].content[1].type', /text only/],
    ['text part without text', { messages: [{ role: 'user', content: [{ type: 'text' }] }] }, 'messages[0].content[0].text'],
    ['bad tool-call arguments', { messages: [{ role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{oops' } }] }] }, 'messages[0].tool_calls[0].function.arguments', /not valid JSON/],
    ['n = 2', { messages: user, n: 2 }, 'n', /only n=1/],
    ['logit_bias', { messages: user, logit_bias: { '50256': -100 } }, 'logit_bias'],
    ['top_logprobs alone', { messages: user, top_logprobs: 3 }, 'top_logprobs', /requires logprobs/],
    ['top_logprobs range', { messages: user, logprobs: true, top_logprobs: 21 }, 'top_logprobs'],
    ['tool type', { messages: user, tools: [{ type: 'web_search' }] }, 'tools[0].type'],
    ['tool name', { messages: user, tools: [{ type: 'function', function: { name: 'has space' } }] }, 'tools[0].function.name'],
    ['duplicate tool', { messages: user, tools: [{ type: 'function', function: { name: 'f' } }, { type: 'function', function: { name: 'f' } }] }, 'tools[1].function.name', /duplicate/],
    ['unknown named tool', { messages: user, tools: [{ type: 'function', function: { name: 'f' } }], tool_choice: { type: 'function', function: { name: 'g' } } }, 'tool_choice.function.name', /no tool named "g"/],
    ['required without tools', { messages: user, tool_choice: 'required' }, 'tool_choice'],
    ['tool_choice value', { messages: user, tool_choice: 'sometimes' }, 'tool_choice'],
    ['response_format type', { messages: user, response_format: { type: 'yaml' } }, 'response_format.type'],
    ['reasoning_format value', { messages: user, reasoning_format: 'xml' }, 'reasoning_format', /deepseek/],
    ['legacy functions', { messages: user, functions: [{ name: 'f' }] }, 'functions', /tools/],
    ['audio output', { messages: user, modalities: ['text', 'audio'] }, 'modalities'],
  ];
  for (const [name, body, param, message] of cases) {
    it(name, async () => {
      await assert.rejects(server.client.chat.completions.create({ model: 'm', ...body } as never), badRequest(param, message));
    });
  }

  it('accepts fields it does not use (user, metadata, store, reasoning_effort, nulls)', async () => {
    reply = () => ({ content: ['ok'] });
    const res = await server.client.chat.completions.create({
      model: 'm',
      messages: user,
      user: 'u1',
      metadata: { a: 'b' },
      store: false,
      reasoning_effort: 'high',
      service_tier: 'auto',
      temperature: null,
      stop: null,
      tools: [],
    } as never);
    assert.equal(res.choices[0]!.message.content, 'ok');
  });
});

describe('engine errors', () => {
  it('context overflow: 400 context_length_exceeded with the numbers', async () => {
    reply = () => ({ error: new ChatError('context_length', 'prompt too long', { promptTokens: 5000, maxContext: 4096 }) });
    for (const stream of [false, true]) {
      await assert.rejects(server.client.chat.completions.create({ model: 'm', messages: user, stream }), (e: unknown) => {
        assert.ok(e instanceof OpenAI.BadRequestError);
        assert.equal(e.code, 'context_length_exceeded');
        assert.equal(e.param, 'messages');
        assert.match(e.message, /maximum context length is 4096 tokens.*resulted in 5000 tokens/);
        return true;
      });
    }
  });

  it('overloaded: 429 RateLimitError with retry-after', async () => {
    reply = () => ({ error: new ChatError('overloaded', 'the request queue is full (8 waiting)') });
    await assert.rejects(server.client.chat.completions.create({ model: 'm', messages: user }), (e: unknown) => {
      assert.ok(e instanceof OpenAI.RateLimitError);
      assert.equal(e.status, 429);
      assert.equal(e.headers?.get('retry-after'), '1');
      return true;
    });
  });

  it('an engine invalid_request is a 400 with its message', async () => {
    reply = () => ({ error: new ChatError('invalid_request', 'response_format: the schema uses "patternProperties", which is not supported') });
    await assert.rejects(server.client.chat.completions.create({ model: 'm', messages: user }), badRequest(null, /patternProperties/));
  });

  it('an error after the stream started arrives as a data: error the SDK throws', async () => {
    const failing: ChatService = Object.assign(Object.create(service) as ChatService, {
      async *chat(): AsyncIterable<ChatEvent> {
        yield { type: 'start', promptTokens: 1, cachedTokens: 0, maxTokens: 10, maxTokensClamped: false };
        yield { type: 'content', text: 'partial' };
        throw new Error('the backend lost its device');
      },
    });
    const other = await startServer(failing);
    try {
      const stream = await other.client.chat.completions.create({ model: 'm', messages: user, stream: true });
      const seen: string[] = [];
      await assert.rejects(
        (async () => {
          for await (const c of stream) seen.push(c.choices[0]?.delta.content ?? '');
        })(),
        (e: unknown) => e instanceof OpenAI.APIError && /lost its device/.test(e.message),
      );
      assert.equal(seen.join(''), 'partial');
      const res = await fetch(`${other.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ messages: user, stream: true }) });
      const { data } = await readSse(res);
      const last = JSON.parse(data.at(-1)!);
      assert.deepEqual(Object.keys(last), ['error']);
      assert.equal(last.error.type, 'server_error');
      assert.ok(!data.includes('[DONE]'));
    } finally {
      await other.close();
    }
  });
});
