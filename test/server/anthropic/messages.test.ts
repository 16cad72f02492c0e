// POST /v1/messages through the real @anthropic-ai/sdk client, against a scripted service: what the SDK
// sees for text, thinking (with signatures), tool use, stops and max_tokens, streaming and not.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type Anthropic from '@anthropic-ai/sdk';
import { ScriptedChatService, type ScriptedReply } from '../../helpers/scripted-service.js';
import type { ChatRequest } from '../../../src/server/chat-service.js';
import { thinkingSignature } from '../../../src/server/api/anthropic/index.js';
import { checkStream, rawStream, startServer, USER_HI, type TestServer } from './helpers.js';

let reply: ScriptedReply = {};
const service = new ScriptedChatService(() => reply);
let server: TestServer;
let client: Anthropic;
const lastRequest = (): ChatRequest => service.requests[service.requests.length - 1]!;

before(async () => {
  server = await startServer(service);
  client = server.client;
});
after(() => server.close());

describe('text', () => {
  test('non-streaming: one text block, end_turn, usage', async () => {
    reply = { reasoning: ['hmm'], content: ['Hello', ', world'], promptTokens: 12 };
    const msg = await client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 100, messages: USER_HI });
    assert.match(msg.id, /^msg_/);
    assert.equal(msg.type, 'message');
    assert.equal(msg.role, 'assistant');
    assert.equal(msg.model, service.modelName, 'any model name is served by the one model');
    assert.deepEqual(msg.content, [{ type: 'text', text: 'Hello, world' }], 'no thinking blocks unless thinking was asked for');
    assert.equal(msg.stop_reason, 'end_turn');
    assert.equal(msg.stop_sequence, null);
    assert.deepEqual(msg.usage, { input_tokens: 12, output_tokens: 3, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 });
    assert.equal(lastRequest().maxTokens, 100);
  });

  test('streaming: messages.create({stream: true}) yields the events in order', async () => {
    reply = { content: ['a', 'b', 'c'] };
    const stream = await client.messages.create({ model: 'm', max_tokens: 50, messages: USER_HI, stream: true });
    const types: string[] = [];
    let text = '';
    for await (const ev of stream) {
      types.push(ev.type);
      if (ev.type === 'content_block_delta' && ev.delta.type === 'text_delta') text += ev.delta.text;
    }
    assert.deepEqual(types, [
      'message_start',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    assert.equal(text, 'abc');
  });

  test('messages.stream(): finalMessage() and the text helper', async () => {
    reply = { content: ['Hel', 'lo'] };
    const pieces: string[] = [];
    const stream = client.messages.stream({ model: 'm', max_tokens: 50, messages: USER_HI }).on('text', (t) => pieces.push(t));
    const msg = await stream.finalMessage();
    assert.deepEqual(pieces, ['Hel', 'lo']);
    assert.deepEqual(msg.content, [{ type: 'text', text: 'Hello' }]);
    assert.equal(await stream.finalText(), 'Hello');
    assert.equal(msg.usage.output_tokens, 2);
  });
});

describe('thinking', () => {
  test('adaptive: a thinking block with a signature before the text, streaming and not', async () => {
    reply = { reasoning: ['Let me ', 'think.'], content: ['42'] };
    const body = { model: 'm', max_tokens: 200, messages: USER_HI, thinking: { type: 'adaptive' as const } };
    const msg = await client.messages.create(body);
    assert.equal(msg.content.length, 2);
    const [thinking, text] = msg.content;
    assert.equal(thinking!.type, 'thinking');
    if (thinking!.type !== 'thinking') return;
    assert.equal(thinking.thinking, 'Let me think.');
    assert.ok(thinking.signature.length > 20);
    assert.equal(thinking.signature, thinkingSignature('Let me think.'), 'an HMAC of the thinking text under the process key');
    assert.deepEqual(text, { type: 'text', text: '42' });

    const seen: string[] = [];
    const signatures: string[] = [];
    const stream = client.messages
      .stream(body)
      .on('thinking', (delta) => seen.push(delta))
      .on('signature', (s) => signatures.push(s));
    const streamed = await stream.finalMessage();
    assert.deepEqual(seen, ['Let me ', 'think.']);
    assert.deepEqual(signatures, [thinking.signature]);
    assert.deepEqual(streamed.content, msg.content, 'streaming and non-streaming build the same content');
  });

  test('enabled: budget_tokens becomes the reasoning budget', async () => {
    reply = { reasoning: ['x'], content: ['y'] };
    const msg = await client.messages.create({ model: 'm', max_tokens: 3000, messages: USER_HI, thinking: { type: 'enabled', budget_tokens: 1024 } });
    assert.equal(lastRequest().reasoningBudget, 1024);
    assert.deepEqual(msg.content.map((b) => b.type), ['thinking', 'text']);
  });

  test('disabled: the reasoning is left out and a note says so', async () => {
    reply = { reasoning: ['secret'], content: ['ok'] };
    const msg = await client.messages.create({ model: 'm', max_tokens: 100, messages: USER_HI, thinking: { type: 'disabled' } });
    assert.deepEqual(msg.content, [{ type: 'text', text: 'ok' }]);
    const notes = (msg as any).stepflash.notes as string[];
    assert.ok(notes.some((n) => /cannot be switched off/.test(n)));
    assert.equal(lastRequest().reasoningBudget, undefined);
  });

  test('thinking blocks come back as reasoning_content, with any signature (or none); redacted_thinking is skipped', async () => {
    reply = { content: ['done'] };
    await client.messages.create({
      model: 'm',
      max_tokens: 100,
      thinking: { type: 'adaptive' } as any,
      messages: [
        { role: 'user', content: 'list files' },
        {
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: 'I should run ls.', signature: 'local-sig' },
            { type: 'redacted_thinking', data: 'opaque' },
            { type: 'tool_use', id: 'toolu_1', name: 'Bash', input: { command: 'ls' } },
          ],
        },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'a.txt' }] },
        { role: 'assistant', content: [{ type: 'thinking', thinking: 'unsigned', signature: '' } as any, { type: 'text', text: 'a.txt' }] },
        { role: 'user', content: 'thanks' },
      ],
    });
    const msgs = lastRequest().messages;
    assert.deepEqual(msgs[1], {
      role: 'assistant',
      content: '',
      reasoning_content: 'I should run ls.',
      tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'Bash', arguments: { command: 'ls' } } }],
    });
    assert.deepEqual(msgs[2], { role: 'tool', tool_call_id: 'toolu_1', content: 'a.txt' });
    assert.equal(msgs[3]!.reasoning_content, 'unsigned');
  });
});

describe('tool use', () => {
  const tools = [
    { name: 'get_weather', description: 'Weather for a city', input_schema: { type: 'object' as const, properties: { city: { type: 'string' } }, required: ['city'] } },
    { name: 'get_time', input_schema: { type: 'object' as const, properties: { tz: { type: 'string' } } } },
  ];

  test('a single tool_use: toolu_ id, input object, stop_reason tool_use', async () => {
    reply = { reasoning: ['need weather'], content: ['Checking.'], toolCalls: [{ name: 'get_weather', arguments: '{"city":"Paris"}' }] };
    const msg = await client.messages.create({ model: 'm', max_tokens: 500, tools, messages: [{ role: 'user', content: 'weather in Paris?' }] });
    assert.equal(msg.stop_reason, 'tool_use');
    assert.deepEqual(msg.content.map((b) => b.type), ['text', 'tool_use']);
    const use = msg.content[1]!;
    assert.ok(use.type === 'tool_use');
    assert.match(use.id, /^toolu_[A-Za-z0-9]{24}$/);
    assert.equal(use.name, 'get_weather');
    assert.deepEqual(use.input, { city: 'Paris' });
    const req = lastRequest();
    assert.deepEqual(req.tools, [
      { type: 'function', function: { name: 'get_weather', description: 'Weather for a city', parameters: tools[0]!.input_schema } },
      { type: 'function', function: { name: 'get_time', parameters: tools[1]!.input_schema } },
    ]);
  });

  test('parallel tool_use blocks, streamed: inputJson events and parsed inputs', async () => {
    reply = {
      reasoning: ['two calls'],
      toolCalls: [
        { name: 'get_weather', arguments: '{"city":"Paris"}' },
        { name: 'get_time', arguments: '{"tz":"Europe/Paris","extra":{"nested":[1,2,{"a":"\\u00e9\\"<>"}]}}' },
      ],
    };
    const jsonPieces: string[] = [];
    const stream = client.messages
      .stream({ model: 'm', max_tokens: 500, tools, thinking: { type: 'adaptive' } as any, messages: [{ role: 'user', content: 'both' }] })
      .on('inputJson', (partial) => jsonPieces.push(partial));
    const msg = await stream.finalMessage();
    assert.equal(msg.stop_reason, 'tool_use');
    assert.deepEqual(msg.content.map((b) => b.type), ['thinking', 'tool_use', 'tool_use']);
    const [, a, b] = msg.content as Anthropic.ToolUseBlock[];
    assert.deepEqual(a!.input, { city: 'Paris' });
    assert.deepEqual(b!.input, { tz: 'Europe/Paris', extra: { nested: [1, 2, { a: 'é"<>' }] } });
    assert.notEqual(a!.id, b!.id);
    assert.equal(jsonPieces.length, 2);
  });

  test('tool_choice maps to the service: any -> required, tool -> named, none, disable_parallel_tool_use', async () => {
    reply = { content: ['x'] };
    const base = { model: 'm', max_tokens: 50, tools, messages: USER_HI };
    await client.messages.create({ ...base, tool_choice: { type: 'any' } });
    assert.equal(lastRequest().toolChoice, 'required');
    await client.messages.create({ ...base, tool_choice: { type: 'tool', name: 'get_time', disable_parallel_tool_use: true } });
    assert.deepEqual(lastRequest().toolChoice, { name: 'get_time' });
    assert.equal(lastRequest().parallelToolCalls, false);
    await client.messages.create({ ...base, tool_choice: { type: 'none' } });
    assert.equal(lastRequest().toolChoice, 'none');
    await client.messages.create({ ...base, tool_choice: { type: 'auto' } });
    assert.equal(lastRequest().toolChoice, 'auto');
    assert.equal(lastRequest().parallelToolCalls, undefined);
  });

  test('tool results become tool messages in the order of the tool_use blocks', async () => {
    reply = { content: ['It is sunny and noon.'] };
    const msg = await client.messages.create({
      model: 'm',
      max_tokens: 100,
      tools,
      messages: [
        { role: 'user', content: 'both' },
        {
          role: 'assistant',
          content: [
            { type: 'tool_use', id: 'toolu_A', name: 'get_weather', input: { city: 'Paris' } },
            { type: 'tool_use', id: 'toolu_B', name: 'get_time', input: {} },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'toolu_B', content: [{ type: 'text', text: '12:00' }] },
            { type: 'tool_result', tool_use_id: 'toolu_A', content: 'sunny', is_error: false },
          ],
        },
      ],
    });
    assert.equal(msg.content[0]!.type, 'text');
    const m = lastRequest().messages;
    assert.deepEqual(m.slice(2), [
      { role: 'tool', tool_call_id: 'toolu_A', content: 'sunny' },
      { role: 'tool', tool_call_id: 'toolu_B', content: '12:00' },
    ]);
  });

  test('is_error results are marked for the model; text after the results stays a user turn', async () => {
    reply = { content: ['sorry'] };
    await client.messages.create({
      model: 'm',
      max_tokens: 100,
      tools,
      messages: [
        { role: 'user', content: 'go' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_A', name: 'get_time', input: {} }] },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'toolu_A', content: 'timeout', is_error: true },
            { type: 'text', text: 'try again' },
          ],
        },
      ],
    });
    assert.deepEqual(lastRequest().messages.slice(2), [
      { role: 'tool', tool_call_id: 'toolu_A', content: 'Error: timeout' },
      { role: 'user', content: 'try again' },
    ]);
  });
});

describe('stops and limits', () => {
  test('stop_sequences: the matched one is reported', async () => {
    reply = { content: ['1, 2, '], stopSequence: 'STOP' };
    const msg = await client.messages.create({ model: 'm', max_tokens: 100, messages: USER_HI, stop_sequences: ['STOP', 'END'] });
    assert.deepEqual(lastRequest().stop, ['STOP', 'END']);
    assert.equal(msg.stop_reason, 'stop_sequence');
    assert.equal(msg.stop_sequence, 'STOP');
    const streamed = await client.messages.stream({ model: 'm', max_tokens: 100, messages: USER_HI, stop_sequences: ['STOP'] }).finalMessage();
    assert.equal(streamed.stop_reason, 'stop_sequence');
    assert.equal(streamed.stop_sequence, 'STOP');
  });

  test('max_tokens cut-off: stop_reason max_tokens, streaming and not', async () => {
    reply = { reasoning: ['long'], content: ['partial'], finishReason: 'length' };
    const msg = await client.messages.create({ model: 'm', max_tokens: 2, messages: USER_HI });
    assert.equal(msg.stop_reason, 'max_tokens');
    const streamed = await client.messages.stream({ model: 'm', max_tokens: 2, messages: USER_HI }).finalMessage();
    assert.equal(streamed.stop_reason, 'max_tokens');
    assert.deepEqual(streamed.content, [{ type: 'text', text: 'partial' }]);
  });

  test('max_tokens beyond the context is clamped and reported (x-stepflash-note header and stepflash field)', async () => {
    reply = { content: ['ok'], promptTokens: 1000 };
    const note = 'max_tokens 32000 was reduced to 3096: the prompt takes 1000 tokens of the context';
    // The SDK refuses a non-streaming request this large unless given an explicit timeout.
    const { data, response } = await client.messages.create({ model: 'm', max_tokens: 32000, messages: USER_HI }, { timeout: 60_000 }).withResponse();
    assert.equal(lastRequest().maxTokens, 32000, 'the service clamps; the route passes the request on');
    assert.equal(response.headers.get('x-stepflash-note'), note);
    assert.deepEqual((data as any).stepflash, { notes: [note], max_tokens: { requested: 32000, granted: 3096 } });

    const stream = client.messages.stream({ model: 'm', max_tokens: 32000, messages: USER_HI });
    let started: any;
    stream.on('streamEvent', (ev) => {
      if (ev.type === 'message_start') started = ev.message;
    });
    const final = await stream.finalMessage();
    assert.deepEqual(started.stepflash, { notes: [note], max_tokens: { requested: 32000, granted: 3096 } });
    assert.deepEqual((final as any).stepflash, started.stepflash, 'the SDK keeps the extra field');
    const { response: raw } = await stream.withResponse();
    assert.equal(raw.headers.get('x-stepflash-note'), note);
  });

  test('nothing to report: no stepflash field, no header', async () => {
    reply = { content: ['ok'] };
    const { data, response } = await client.messages.create({ model: 'm', max_tokens: 10, messages: USER_HI }).withResponse();
    assert.equal('stepflash' in data, false);
    assert.equal(response.headers.get('x-stepflash-note'), null);
  });

  test('a loop-guard note is reported on the message (stepflash.notes) and in message_delta', async () => {
    reply = { reasoning: ['again again again'], finishReason: 'length', note: 'repetition detected: generation stopped' };
    const msg = await client.messages.create({ model: 'm', max_tokens: 100, messages: USER_HI });
    assert.equal(msg.stop_reason, 'max_tokens');
    assert.deepEqual((msg as any).stepflash.notes, ['repetition detected: generation stopped']);
    const { events } = await rawStream(server.url, { model: 'm', max_tokens: 100, messages: USER_HI, stream: true });
    const delta = events.find((e) => e.event === 'message_delta')!.data;
    assert.deepEqual(delta.stepflash, { notes: ['repetition detected: generation stopped'] });
  });

  test('sampling parameters and metadata pass through; unknown fields are accepted', async () => {
    reply = { content: ['x'] };
    await client.messages.create({
      model: 'm',
      max_tokens: 10,
      messages: USER_HI,
      temperature: 0.7,
      top_p: 0.9,
      top_k: 40,
      metadata: { user_id: 'u1' },
      service_tier: 'auto',
      some_future_field: { x: 1 },
    } as any);
    const r = lastRequest();
    assert.equal(r.temperature, 0.7);
    assert.equal(r.topP, 0.9);
    assert.equal(r.topK, 40);
  });
});

describe('beta and count_tokens', () => {
  test('client.beta.messages.create (POST /v1/messages?beta=true), streaming and not', async () => {
    reply = { reasoning: ['r'], content: ['beta ok'] };
    const msg = await client.beta.messages.create({
      model: 'm',
      max_tokens: 100,
      messages: USER_HI,
      thinking: { type: 'enabled', budget_tokens: 1024 },
      betas: ['interleaved-thinking-2025-05-14', 'context-management-2025-06-27'],
    });
    assert.deepEqual(msg.content.map((b) => b.type), ['thinking', 'text']);
    const streamed = await client.beta.messages.stream({ model: 'm', max_tokens: 100, messages: USER_HI, betas: ['claude-code-20250219'] }).finalMessage();
    assert.deepEqual(streamed.content, [{ type: 'text', text: 'beta ok', citations: null } as any].map(({ citations: _c, ...b }) => b));
  });

  test('count_tokens: the prompt the request would render; max_tokens not needed', async () => {
    const body = { model: 'm', messages: [{ role: 'user' as const, content: 'count me' }], system: 'be brief' };
    const counted = await client.messages.countTokens(body);
    const expected = service.countTokens({ messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'count me' }] });
    assert.deepEqual(counted, { input_tokens: expected });
    const beta = await client.beta.messages.countTokens({ ...body, betas: ['token-counting-2024-11-01'] });
    assert.equal(beta.input_tokens, expected);
  });
});

test('raw stream: the strict grammar holds for thinking + text + tools, and headers are unbuffered', async () => {
  reply = { reasoning: ['a', 'b'], content: ['c'], toolCalls: [{ name: 'f', arguments: '{"x":1}' }, { name: 'g', arguments: '{}' }] };
  const { status, headers, events } = await rawStream(server.url, {
    model: 'm',
    max_tokens: 100,
    stream: true,
    thinking: { type: 'adaptive' },
    tools: [
      { name: 'f', input_schema: { type: 'object' } },
      { name: 'g', input_schema: { type: 'object' } },
    ],
    messages: USER_HI,
  });
  assert.equal(status, 200);
  assert.equal(headers.get('cache-control'), 'no-cache');
  assert.equal(headers.get('x-accel-buffering'), 'no');
  assert.match(headers.get('request-id') ?? '', /^req_/);
  const msg = checkStream(events);
  assert.deepEqual(
    msg.content.map((b: any) => b.type),
    ['thinking', 'text', 'tool_use', 'tool_use'],
  );
  assert.equal(msg.content[0].thinking, 'ab');
  assert.deepEqual(msg.content[3].input, {});
  assert.equal(msg.stop_reason, 'tool_use');
  assert.equal(events[1]!.event, 'ping', 'one ping right after message_start');
});
