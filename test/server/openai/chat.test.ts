// POST /v1/chat/completions through the real `openai` client against scripted engine events: what each
// wire shape looks like to the SDK (plain and streamed, its stream helper included).
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import type { ChatRequest } from '../../../src/server/chat-service.js';
import { ScriptedChatService, type ScriptedReply } from '../../helpers/scripted-service.js';
import { postJson, readSse, startServer, type TestServer } from './harness.js';

let reply: (req: ChatRequest) => ScriptedReply = () => ({ content: ['Hello'] });
const service = new ScriptedChatService((req) => reply(req));
let server: TestServer;

before(async () => {
  server = await startServer(service);
});
after(async () => {
  await server.close();
});

const weather = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'Weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

describe('chat completions, not streamed', () => {
  it('returns text with OpenAI ids, the served model name, usage and timings', async () => {
    reply = () => ({ reasoning: ['Let me ', 'think.'], content: ['Hello', ', world'], promptTokens: 12 });
    const res = await server.client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }] });
    assert.match(res.id, /^chatcmpl-[A-Za-z0-9]+$/);
    assert.equal(res.object, 'chat.completion');
    assert.equal(res.model, service.modelName);
    assert.equal(typeof res.created, 'number');
    assert.match(res.system_fingerprint ?? '', /^fp_/);
    const choice = res.choices[0]!;
    assert.equal(choice.finish_reason, 'stop');
    assert.equal(choice.message.role, 'assistant');
    assert.equal(choice.message.content, 'Hello, world');
    assert.equal((choice.message as unknown as Record<string, unknown>).reasoning_content, 'Let me think.');
    assert.equal(choice.logprobs, null);
    assert.deepEqual(res.usage, {
      prompt_tokens: 12,
      completion_tokens: 4,
      total_tokens: 16,
      prompt_tokens_details: { cached_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 2 },
    });
    const timings = (res as unknown as { timings: Record<string, number> }).timings;
    assert.deepEqual(Object.keys(timings).sort(), ['cache_n', 'predicted_ms', 'predicted_n', 'predicted_per_second', 'prompt_ms', 'prompt_n']);
    assert.equal(timings.predicted_n, 4);
    assert.equal((res as unknown as Record<string, unknown>).stepflash, undefined);
  });

  it('maps the request: developer -> system, parts joined, reasoning sent back under any name, sampling fields', async () => {
    reply = () => ({ content: ['ok'] });
    await server.client.chat.completions.create({
      model: 'anything',
      messages: [
        { role: 'developer', content: 'Be brief.' },
        { role: 'user', content: [{ type: 'text', text: 'Hello ' }, { type: 'text', text: 'there' }] },
        { role: 'assistant', content: 'Hi', reasoning: 'greeting' } as never,
        { role: 'user', content: 'Again' },
      ],
      temperature: 0.5,
      top_p: 0.9,
      seed: 7,
      stop: 'END',
      max_completion_tokens: 100,
      presence_penalty: 0.1,
      frequency_penalty: 0.2,
      // extra_body fields of vLLM / llama.cpp
      top_k: 40,
      min_p: 0.05,
    } as never);
    const req = service.requests.at(-1)!;
    assert.deepEqual(req.messages, [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hello there' },
      { role: 'assistant', content: 'Hi', reasoning_content: 'greeting' },
      { role: 'user', content: 'Again' },
    ]);
    assert.equal(req.temperature, 0.5);
    assert.equal(req.topP, 0.9);
    assert.equal(req.topK, 40);
    assert.equal(req.minP, 0.05);
    assert.equal(req.seed, 7);
    assert.deepEqual(req.stop, ['END']);
    assert.equal(req.maxTokens, 100);
    assert.equal(req.presencePenalty, 0.1);
    assert.equal(req.frequencyPenalty, 0.2);
    assert.ok(req.signal instanceof AbortSignal);
  });

  it('returns tool calls with content null and finish_reason tool_calls', async () => {
    reply = () => ({
      reasoning: ['Need weather.'],
      toolCalls: [
        { name: 'get_weather', arguments: '{"city":"Paris"}', id: 'call_a' },
        { name: 'get_weather', arguments: '{"city":"Tokyo"}', id: 'call_b' },
      ],
    });
    const res = await server.client.chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: 'Weather in Paris and Tokyo?' }],
      tools: [weather],
      tool_choice: 'auto',
      parallel_tool_calls: true,
    });
    const choice = res.choices[0]!;
    assert.equal(choice.finish_reason, 'tool_calls');
    assert.equal(choice.message.content, null);
    assert.deepEqual(choice.message.tool_calls, [
      { id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
      { id: 'call_b', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Tokyo"}' } },
    ]);
    const req = service.requests.at(-1)!;
    assert.equal(req.tools?.length, 1);
    assert.equal(req.toolChoice, 'auto');
    assert.equal(req.parallelToolCalls, true);
  });

  it('sends tool results back: tool_calls and tool messages reach the engine', async () => {
    reply = () => ({ content: ['It is sunny.'] });
    const res = await server.client.chat.completions.create({
      model: 'm',
      tools: [weather],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        {
          role: 'assistant',
          content: null,
          reasoning_content: 'Call the tool.',
          tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
        } as never,
        { role: 'tool', tool_call_id: 'call_1', content: '{"sky":"clear"}' },
      ],
    });
    assert.equal(res.choices[0]!.message.content, 'It is sunny.');
    const req = service.requests.at(-1)!;
    assert.deepEqual(req.toolChoice, { name: 'get_weather' });
    assert.deepEqual(req.messages.slice(1), [
      {
        role: 'assistant',
        content: null,
        reasoning_content: 'Call the tool.',
        tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
      },
      { role: 'tool', content: '{"sky":"clear"}', tool_call_id: 'call_1' },
    ]);
  });

  it('names reasoning per server option and per request (reasoning_format)', async () => {
    reply = () => ({ reasoning: ['hmm'], content: ['A'] });
    const other = await startServer(service, { routes: { reasoningField: 'reasoning' } });
    try {
      const a = (await other.client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'q' }] })).choices[0]!.message as unknown as Record<string, unknown>;
      assert.equal(a.reasoning, 'hmm');
      assert.equal(a.reasoning_content, undefined);
      const b = (await other.client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'q' }], reasoning_format: 'deepseek' } as never)).choices[0]!
        .message as unknown as Record<string, unknown>;
      assert.equal(b.reasoning_content, 'hmm');
      assert.equal(b.reasoning, undefined);
      const c = (await other.client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'q' }], reasoning_format: 'both' } as never)).choices[0]!
        .message as unknown as Record<string, unknown>;
      assert.equal(c.reasoning_content, 'hmm');
      assert.equal(c.reasoning, 'hmm');
      const d = (await other.client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'q' }], reasoning_format: 'none' } as never)).choices[0]!
        .message as unknown as Record<string, unknown>;
      assert.equal(d.content, '<think>hmm</think>A');
      assert.equal(d.reasoning, undefined);
    } finally {
      await other.close();
    }
  });

  it('reports a clamped max_tokens and an engine note in `stepflash` and a header', async () => {
    reply = () => ({ content: ['x'], promptTokens: 96, finishReason: 'length', note: 'reasoning budget of 10 tokens reached' });
    const { data, response } = await server.client.chat.completions
      .create({ model: 'm', messages: [{ role: 'user', content: 'q' }], max_tokens: 100_000 })
      .withResponse();
    const ext = (data as unknown as { stepflash: { notes: string[]; max_tokens: unknown } }).stepflash;
    assert.deepEqual(ext.max_tokens, { requested: 100_000, granted: 4000 });
    assert.equal(ext.notes.length, 2);
    assert.match(ext.notes[0]!, /max_tokens 100000 was reduced to 4000/);
    assert.equal(ext.notes[1], 'reasoning budget of 10 tokens reached');
    assert.match(response.headers.get('x-stepflash-note') ?? '', /reduced to 4000.*reasoning budget/);
    assert.equal(data.choices[0]!.finish_reason, 'length');
  });

  it('returns logprobs in OpenAI\'s shape', async () => {
    const service2 = new ScriptedChatService(() => ({ content: [] }));
    // The scripted service carries no logprobs; wrap it to add some.
    const withLogprobs = Object.assign(Object.create(service2) as ScriptedChatService, {
      chat: async function* (req: ChatRequest) {
        yield { type: 'start' as const, promptTokens: 3, cachedTokens: 0, maxTokens: 10, maxTokensClamped: false };
        yield {
          type: 'content' as const,
          text: 'Hi',
          logprobs: [{ token: 'Hi', logprob: -0.5, bytes: [72, 105], top: [{ token: 'Hi', logprob: -0.5, bytes: [72, 105] }, { token: 'Yo', logprob: -1.5, bytes: [89, 111] }] }],
        };
        yield {
          type: 'done' as const,
          finishReason: 'stop' as const,
          usage: { promptTokens: 3, completionTokens: 1, reasoningTokens: 0, cachedTokens: 0 },
          timings: { prefillMs: 1, decodeMs: 1, decodeTokensPerSecond: 1000 },
        };
        void req;
      },
    });
    const other = await startServer(withLogprobs);
    try {
      const res = await other.client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'q' }], logprobs: true, top_logprobs: 2 });
      assert.deepEqual(res.choices[0]!.logprobs, {
        content: [
          {
            token: 'Hi',
            logprob: -0.5,
            bytes: [72, 105],
            top_logprobs: [
              { token: 'Hi', logprob: -0.5, bytes: [72, 105] },
              { token: 'Yo', logprob: -1.5, bytes: [89, 111] },
            ],
          },
        ],
        refusal: null,
      });
      const stream = await other.client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'q' }], logprobs: true, top_logprobs: 2, stream: true });
      const seen: unknown[] = [];
      for await (const chunk of stream) if (chunk.choices[0]?.logprobs) seen.push(...(chunk.choices[0].logprobs.content ?? []));
      assert.equal(seen.length, 1);
    } finally {
      await other.close();
    }
  });

  it('passes json_schema response formats to the engine', async () => {
    reply = () => ({ content: ['{"a":1}'] });
    const schema = { type: 'object', properties: { a: { type: 'integer' } }, required: ['a'], additionalProperties: false };
    const res = await server.client.chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: 'q' }],
      response_format: { type: 'json_schema', json_schema: { name: 'thing', schema, strict: true } },
    });
    assert.deepEqual(JSON.parse(res.choices[0]!.message.content!), { a: 1 });
    assert.deepEqual(service.requests.at(-1)!.responseFormat, { type: 'json_schema', schema, name: 'thing' });
    await server.client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'q' }], response_format: { type: 'json_object' } });
    assert.deepEqual(service.requests.at(-1)!.responseFormat, { type: 'json_object' });
  });
});

describe('chat completions, streamed', () => {
  it('streams role, reasoning, content, finish chunk with timings, usage chunk, [DONE]', async () => {
    reply = () => ({ reasoning: ['a', 'b'], content: ['Hel', 'lo'], promptTokens: 5 });
    const res = await postJson(`${server.url}/v1/chat/completions`, {
      model: 'm',
      messages: [{ role: 'user', content: 'q' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    assert.equal(res.headers.get('cache-control'), 'no-cache');
    assert.equal(res.headers.get('x-accel-buffering'), 'no');
    const { data } = await readSse(res);
    assert.equal(data.at(-1), '[DONE]');
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d));
    const ids = new Set(chunks.map((c) => c.id));
    assert.equal(ids.size, 1);
    for (const c of chunks) {
      assert.equal(c.object, 'chat.completion.chunk');
      assert.equal(c.model, service.modelName);
    }
    assert.deepEqual(chunks[0].choices[0].delta, { role: 'assistant', content: '' });
    assert.deepEqual(chunks.slice(1, 5).map((c) => c.choices[0].delta), [
      { reasoning_content: 'a' },
      { reasoning_content: 'b' },
      { content: 'Hel' },
      { content: 'lo' },
    ]);
    const final = chunks[5];
    assert.deepEqual(final.choices[0], { index: 0, delta: {}, logprobs: null, finish_reason: 'stop' });
    assert.equal(final.usage, null);
    assert.equal(final.timings.predicted_n, 4);
    const usage = chunks[6];
    assert.deepEqual(usage.choices, []);
    assert.equal(usage.usage.prompt_tokens, 5);
    assert.equal(usage.usage.completion_tokens_details.reasoning_tokens, 2);
    assert.equal(chunks.length, 7);
  });

  it('omits usage without include_usage', async () => {
    reply = () => ({ content: ['x'] });
    const stream = await server.client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'q' }], stream: true });
    const chunks = [];
    for await (const c of stream) chunks.push(c);
    assert.ok(chunks.every((c) => !('usage' in c)));
    assert.equal(chunks.at(-1)!.choices[0]!.finish_reason, 'stop');
  });

  it('the SDK stream helper assembles text and reasoning; finalChatCompletion does not throw', async () => {
    reply = () => ({ reasoning: ['r'], content: ['one ', 'two'] });
    const stream = server.client.chat.completions.stream({ model: 'm', messages: [{ role: 'user', content: 'q' }], stream_options: { include_usage: true } });
    let text = '';
    stream.on('content', (delta) => (text += delta));
    const final = await stream.finalChatCompletion();
    assert.equal(text, 'one two');
    assert.equal(final.choices[0]!.message.content, 'one two');
    assert.equal(final.choices[0]!.finish_reason, 'stop');
    assert.equal(final.model, service.modelName);
    assert.equal(final.usage?.total_tokens, final.usage!.prompt_tokens + final.usage!.completion_tokens);
    assert.equal((final as unknown as { timings: { predicted_n: number } }).timings.predicted_n, 3);
  });

  it('streams single and parallel tool calls the stream helper assembles', async () => {
    const calls = [
      { name: 'get_weather', arguments: '{"city":"Paris"}', id: 'call_p' },
      { name: 'get_weather', arguments: '{"city":"東京 \\"quoted\\" 🌧"}', id: 'call_t' },
    ];
    for (const n of [1, 2]) {
      reply = () => ({ reasoning: ['think'], content: [], toolCalls: calls.slice(0, n) });
      const stream = server.client.chat.completions.stream({ model: 'm', messages: [{ role: 'user', content: 'q' }], tools: [weather] });
      const done: string[] = [];
      stream.on('tool_calls.function.arguments.done', (e) => done.push(e.arguments));
      const final = await stream.finalChatCompletion();
      const choice = final.choices[0]!;
      assert.equal(choice.finish_reason, 'tool_calls');
      assert.deepEqual(
        choice.message.tool_calls!.map((c) => (c.type === 'function' ? [c.id, c.function.name, JSON.parse(c.function.arguments)] : null)),
        calls.slice(0, n).map((c) => [c.id, c.name, JSON.parse(c.arguments)]),
      );
      assert.deepEqual(done, calls.slice(0, n).map((c) => c.arguments));
    }
  });

  it('cuts long tool-call arguments into pieces that concatenate exactly', async () => {
    const args = JSON.stringify({ code: 'x'.repeat(2000) + '😀'.repeat(300) });
    reply = () => ({ toolCalls: [{ name: 'get_weather', arguments: args }] });
    const res = await postJson(`${server.url}/v1/chat/completions`, { model: 'm', messages: [{ role: 'user', content: 'q' }], tools: [weather], stream: true });
    const { data } = await readSse(res);
    const deltas = data.slice(0, -1).map((d) => JSON.parse(d).choices[0].delta).filter((d) => d.tool_calls);
    assert.ok(deltas.length > 3);
    assert.deepEqual(deltas[0].tool_calls[0], { index: 0, id: 'call_0', type: 'function', function: { name: 'get_weather', arguments: '' } });
    assert.equal(deltas.map((d) => d.tool_calls[0].function.arguments).join(''), args);
    assert.ok(deltas.every((d) => d.tool_calls[0].index === 0));
  });

  it('puts the stepflash notes on the final chunk and the clamp in a header', async () => {
    reply = () => ({ content: ['x'], promptTokens: 96, note: 'repetition guard: the last 64 tokens repeat', finishReason: 'length' });
    const res = await postJson(`${server.url}/v1/chat/completions`, { model: 'm', messages: [{ role: 'user', content: 'q' }], max_tokens: 9999, stream: true });
    assert.match(res.headers.get('x-stepflash-note') ?? '', /max_tokens 9999 was reduced to 4000/);
    const { data } = await readSse(res);
    const final = JSON.parse(data.at(-2)!);
    assert.equal(final.choices[0].finish_reason, 'length');
    assert.deepEqual(final.stepflash.max_tokens, { requested: 9999, granted: 4000 });
    assert.equal(final.stepflash.notes[1], 'repetition guard: the last 64 tokens repeat');
  });

  it('inline reasoning (reasoning_format none) wraps the reasoning in <think> in content', async () => {
    reply = () => ({ reasoning: ['a', 'b'], content: ['C'] });
    const stream = server.client.chat.completions.stream({ model: 'm', messages: [{ role: 'user', content: 'q' }], reasoning_format: 'none' } as never);
    const final = await stream.finalChatCompletion();
    assert.equal(final.choices[0]!.message.content, '<think>ab</think>C');
  });
});
