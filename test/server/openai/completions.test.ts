// POST /v1/completions and GET /v1/models through the real `openai` client.
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import type { ChatEvent, ChatRequest, ChatService } from '../../../src/server/chat-service.js';
import { ScriptedChatService, type ScriptedReply } from '../../helpers/scripted-service.js';
import { postJson, readSse, startServer, type TestServer } from './harness.js';

let reply: (req: ChatRequest) => ScriptedReply = () => ({ content: ['Hello'] });
const scripted = new ScriptedChatService((req) => reply(req));
const prompts: string[] = [];
// The scripted service turns complete() into a chat; record the raw prompt on the way.
const service: ChatService = Object.assign(Object.create(scripted) as ChatService, {
  complete(req: Parameters<ChatService['complete']>[0]): AsyncIterable<ChatEvent> {
    prompts.push(req.prompt);
    return scripted.complete(req);
  },
});
let server: TestServer;

before(async () => {
  server = await startServer(service);
});
after(async () => {
  await server.close();
});

describe('text completions', () => {
  it('completes a raw prompt with a text_completion object', async () => {
    reply = () => ({ content: [' world', '!'], promptTokens: 3 });
    const res = await server.client.completions.create({ model: 'x', prompt: '<|im_start|>Hello', max_tokens: 5, stop: ['\n'] });
    assert.match(res.id, /^cmpl-/);
    assert.equal(res.object, 'text_completion');
    assert.equal(res.model, scripted.modelName);
    assert.deepEqual(res.choices, [{ index: 0, text: ' world!', logprobs: null, finish_reason: 'stop' }]);
    assert.equal(res.usage?.prompt_tokens, 3);
    assert.equal(prompts.at(-1), '<|im_start|>Hello');
    const req = scripted.requests.at(-1)!;
    assert.equal(req.maxTokens, 5);
    assert.deepEqual(req.stop, ['\n']);
  });

  it('defaults max_tokens to 16 as OpenAI does, takes a one-string array, echoes the prompt', async () => {
    reply = () => ({ content: [' there'] });
    const res = await server.client.completions.create({ model: 'x', prompt: ['Hi'], echo: true });
    assert.equal(res.choices[0]!.text, 'Hi there');
    assert.equal(scripted.requests.at(-1)!.maxTokens, 16);
  });

  it('streams chunks, a final chunk with finish_reason and timings, usage on request, [DONE]', async () => {
    reply = () => ({ content: ['a', 'b', 'c'], finishReason: 'length' });
    const stream = await server.client.completions.create({ model: 'x', prompt: 'p', stream: true, stream_options: { include_usage: true }, max_tokens: 3 });
    const chunks = [];
    for await (const c of stream) chunks.push(c);
    assert.equal(chunks.map((c) => c.choices[0]?.text ?? '').join(''), 'abc');
    const final = chunks.at(-2)!;
    assert.equal(final.choices[0]!.finish_reason, 'length');
    assert.equal((final as unknown as { timings: { predicted_n: number } }).timings.predicted_n, 3);
    assert.deepEqual(chunks.at(-1)!.choices, []);
    assert.equal(chunks.at(-1)!.usage?.completion_tokens, 3);
    assert.ok(chunks.every((c) => c.object === 'text_completion'));
  });

  it('refuses what it cannot do, naming the field', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ prompt: 'p', suffix: 'tail' }, 'suffix'],
      [{ prompt: ['a', 'b'] }, 'prompt'],
      [{ prompt: [1, 2, 3] }, 'prompt'],
      [{}, 'prompt'],
      [{ prompt: 'p', n: 2 }, 'n'],
      [{ prompt: 'p', echo: true, logprobs: 2 }, 'echo'],
      [{ prompt: 'p', logprobs: 50 }, 'logprobs'],
    ];
    for (const [body, param] of cases) {
      await assert.rejects(
        server.client.completions.create({ model: 'x', ...body } as never),
        (e: unknown) => e instanceof OpenAI.BadRequestError && e.param === param && e.type === 'invalid_request_error',
        JSON.stringify(body),
      );
    }
  });

  it('returns legacy logprobs arrays', async () => {
    const lp = (token: string) => ({ token, logprob: -1, bytes: [...Buffer.from(token)], top: [{ token, logprob: -1, bytes: [...Buffer.from(token)] }] });
    const withLogprobs: ChatService = Object.assign(Object.create(scripted) as ChatService, {
      async *complete(): AsyncIterable<ChatEvent> {
        yield { type: 'start', promptTokens: 1, cachedTokens: 0, maxTokens: 2, maxTokensClamped: false };
        yield { type: 'content', text: 'ab', logprobs: [lp('a'), lp('b')] };
        yield { type: 'content', text: 'c', logprobs: [lp('c')] };
        yield { type: 'done', finishReason: 'length', usage: { promptTokens: 1, completionTokens: 3, reasoningTokens: 0, cachedTokens: 0 }, timings: { prefillMs: 1, decodeMs: 1, decodeTokensPerSecond: 1 } };
      },
    });
    const other = await startServer(withLogprobs);
    try {
      const res = await other.client.completions.create({ model: 'x', prompt: 'p', logprobs: 1 });
      assert.deepEqual(res.choices[0]!.logprobs, {
        tokens: ['a', 'b', 'c'],
        token_logprobs: [-1, -1, -1],
        top_logprobs: [{ a: -1 }, { b: -1 }, { c: -1 }],
        text_offset: [0, 1, 2],
      });
      const r = await postJson(`${other.url}/v1/completions`, { prompt: 'p', logprobs: 1, stream: true });
      const offsets = (await readSse(r)).data
        .slice(0, -1)
        .map((d) => JSON.parse(d).choices[0].logprobs?.text_offset)
        .filter(Boolean);
      assert.deepEqual(offsets, [[0, 1], [2]]);
    } finally {
      await other.close();
    }
  });
});

describe('models', () => {
  it('lists the served model', async () => {
    const page = await server.client.models.list();
    assert.deepEqual(
      page.data.map((m) => [m.id, m.object, m.owned_by]),
      [[scripted.modelName, 'model', 'stepflash']],
    );
    assert.equal((page.data[0] as unknown as { max_model_len: number }).max_model_len, scripted.contextSize);
  });

  it('answers any model id (every name maps to the served model)', async () => {
    const m = await server.client.models.retrieve('stepfun-ai/Step-3.5-Flash');
    assert.equal(m.id, 'stepfun-ai/Step-3.5-Flash');
    assert.equal((m as unknown as { root: string }).root, scripted.modelName);
  });
});
