// Errors in Anthropic's shape, as the SDK surfaces them: validation (400 naming the field), the overflow
// wording Claude Code matches on, 529 overloaded, 401, and requests this text-only model cannot serve.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import { ScriptedChatService, type ScriptedReply } from '../../helpers/scripted-service.js';
import { ChatError } from '../../../src/server/chat-service.js';
import { startServer, USER_HI, type TestServer } from './helpers.js';

let reply: ScriptedReply = { content: ['ok'] };
const service = new ScriptedChatService(() => reply);
let server: TestServer;

before(async () => {
  server = await startServer(service);
});
after(() => server.close());

/** Runs a create call expected to fail; returns the SDK error. */
async function failure(params: unknown, opts: { stream?: boolean } = {}): Promise<InstanceType<typeof Anthropic.APIError>> {
  try {
    if (opts.stream) await server.client.messages.stream(params as any).finalMessage();
    else await server.client.messages.create(params as any);
  } catch (e) {
    assert.ok(e instanceof Anthropic.APIError, `expected an APIError, got ${e}`);
    return e;
  }
  assert.fail('the request succeeded');
}

function errorOf(e: InstanceType<typeof Anthropic.APIError>): { type: string; message: string } {
  const body = e.error as any;
  assert.equal(body.type, 'error');
  assert.match(body.request_id, /^req_/);
  return body.error;
}

async function rawPost(path: string, body: string, headers: Record<string, string> = {}): Promise<{ status: number; json: any }> {
  const res = await fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  return { status: res.status, json: await res.json() };
}

describe('validation: 400 invalid_request_error naming the field', () => {
  const cases: [string, unknown, string][] = [
    ['missing max_tokens', { model: 'm', messages: USER_HI }, 'max_tokens: required'],
    ['max_tokens as a string', { model: 'm', max_tokens: 'lots', messages: USER_HI }, 'max_tokens: expected number, received string'],
    ['max_tokens zero', { model: 'm', max_tokens: 0, messages: USER_HI }, 'max_tokens: Too small: expected number to be >=1'],
    ['no messages', { model: 'm', max_tokens: 5, messages: [] }, 'messages: must hold at least one message'],
    ['a bad role', { model: 'm', max_tokens: 5, messages: [{ role: 'bot', content: 'x' }] }, 'messages[0].role: must be "user", "assistant" or "system"'],
    ['content a number', { model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 5 }] }, 'messages[0].content: must be a string or an array of content blocks'],
    [
      'a text block with a number',
      { model: 'm', max_tokens: 5, messages: [{ role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 7 }] }] },
      'messages[0].content[1].text: expected string, received number',
    ],
    [
      'an unknown block type',
      { model: 'm', max_tokens: 5, messages: [{ role: 'user', content: [{ type: 'audio', data: 'x' }] }] },
      'messages[0].content[0].type: unsupported content block type "audio" (supported: text, image, document, search_result, tool_use, tool_result, thinking, redacted_thinking)',
    ],
    ['temperature out of range', { model: 'm', max_tokens: 5, messages: USER_HI, temperature: 3 }, 'temperature: Too big: expected number to be <=2'],
    ['stop_sequences not a list', { model: 'm', max_tokens: 5, messages: USER_HI, stop_sequences: 'STOP' }, 'stop_sequences: expected array, received string'],
    ['a bad tool_choice', { model: 'm', max_tokens: 5, messages: USER_HI, tool_choice: { type: 'sometimes' } }, 'tool_choice.type: type must be "auto", "any", "tool" or "none"'],
    ['a bad thinking type', { model: 'm', max_tokens: 5, messages: USER_HI, thinking: { type: 'maybe' } }, 'thinking.type: type must be "enabled", "disabled" or "adaptive"'],
    ['enabled thinking without a budget', { model: 'm', max_tokens: 5, messages: USER_HI, thinking: { type: 'enabled' } }, 'thinking.budget_tokens: expected number, received undefined'],
    [
      'a custom tool without input_schema',
      { model: 'm', max_tokens: 5, messages: USER_HI, tools: [{ name: 'f' }] },
      'tools[0].input_schema: required for a custom tool',
    ],
    [
      'a tool name with spaces',
      { model: 'm', max_tokens: 5, messages: USER_HI, tools: [{ name: 'my tool', input_schema: { type: 'object' } }] },
      'tools[0].name: tool names must be 1-256 characters without whitespace, < or >',
    ],
    [
      'tool_choice naming a missing tool',
      { model: 'm', max_tokens: 5, messages: USER_HI, tools: [{ name: 'f', input_schema: {} }], tool_choice: { type: 'tool', name: 'g' } },
      'tool_choice.name: no tool named "g" in tools',
    ],
    ['tool_choice any without tools', { model: 'm', max_tokens: 5, messages: USER_HI, tool_choice: { type: 'any' } }, 'tool_choice: "any" requires at least one tool in tools'],
    [
      'a system block that is not text',
      { model: 'm', max_tokens: 5, messages: USER_HI, system: [{ type: 'image', source: {} }] },
      'system[0].type: system blocks must be text blocks',
    ],
    [
      'an image block (text-only model)',
      {
        model: 'm',
        max_tokens: 5,
        messages: [{ role: 'user', content: [{ type: 'text', text: 'what is this?' }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBOR' } }] }],
      },
      'messages[0].content[1]: image blocks are not supported: this model reads text only',
    ],
    [
      'a PDF document',
      { model: 'm', max_tokens: 5, messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBE' } }] }] },
      'messages[0].content[0].source: document sources of type "base64" are not supported: this model reads plain-text documents only',
    ],
    [
      'tool_use in a user message',
      { model: 'm', max_tokens: 5, messages: [{ role: 'user', content: [{ type: 'tool_use', id: 'toolu_1', name: 'f', input: {} }] }] },
      'messages[0].content[0]: tool_use blocks belong in assistant messages, not user messages',
    ],
    [
      'an assistant prefill',
      { model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: '{' }] },
      'messages[1]: the last message is from the assistant; continuing a partial assistant turn (prefill) is not supported, end with a user message',
    ],
    [
      'tool_use input not an object',
      {
        model: 'm',
        max_tokens: 5,
        messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: [{ type: 'tool_use', id: 't', name: 'f', input: '[1]' }] }, { role: 'user', content: 'b' }],
      },
      'messages[1].content[0].input: must be an object',
    ],
  ];
  for (const [name, params, message] of cases) {
    test(name, async () => {
      const e = await failure(params);
      assert.ok(e instanceof Anthropic.BadRequestError);
      assert.equal(e.status, 400);
      assert.deepEqual(errorOf(e), { type: 'invalid_request_error', message });
    });
  }

  test('streaming requests fail the same way, before the stream starts', async () => {
    const e = await failure({ model: 'm', max_tokens: 'x', messages: USER_HI }, { stream: true });
    assert.ok(e instanceof Anthropic.BadRequestError);
    assert.equal(errorOf(e).message, 'max_tokens: expected number, received string');
  });

  test('malformed JSON, a non-object body, invalid UTF-8', async () => {
    let r = await rawPost('/v1/messages', '{"model": "m", "max_tokens": ');
    assert.equal(r.status, 400);
    assert.equal(r.json.type, 'error');
    assert.equal(r.json.error.type, 'invalid_request_error');
    assert.match(r.json.error.message, /^request body is not valid JSON/);
    r = await rawPost('/v1/messages', '[1, 2]');
    assert.equal(r.status, 400);
    assert.equal(r.json.error.message, 'request body must be a JSON object');
    const res = await fetch(`${server.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: Buffer.from([0x7b, 0xff, 0x7d]) });
    assert.equal(res.status, 400);
    assert.equal((await res.json()).error.message, 'request body is not valid UTF-8');
  });

  test('count_tokens validates too', async () => {
    const r = await rawPost('/v1/messages/count_tokens', JSON.stringify({ model: 'm', messages: [{ role: 'user', content: [{ type: 'text' }] }] }));
    assert.equal(r.status, 400);
    assert.equal(r.json.error.message, 'messages[0].content[0].text: expected string, received undefined');
    try {
      await server.client.messages.countTokens({ model: 'm', messages: 'hi' } as any);
      assert.fail('accepted');
    } catch (e) {
      assert.ok(e instanceof Anthropic.BadRequestError);
    }
  });
});

describe('service errors', () => {
  test('prompt too long: 400 with exactly Anthropic\'s wording, streaming and not', async () => {
    // The message is rebuilt from the details: whatever the service wrote, clients see the exact text.
    reply = { error: new ChatError('context_length', 'the prompt does not fit', { promptTokens: 5000, maxContext: 4096 }) };
    for (const stream of [false, true]) {
      const e = await failure({ model: 'm', max_tokens: 10, messages: USER_HI }, { stream });
      assert.ok(e instanceof Anthropic.BadRequestError);
      assert.deepEqual(errorOf(e), { type: 'invalid_request_error', message: 'prompt is too long: 5000 tokens > 4096 maximum' });
    }
  });

  test('queue full: 529 overloaded_error (OverloadedError in the SDK), streaming and not', async () => {
    reply = { error: new ChatError('overloaded', 'all slots are busy and the queue is full') };
    for (const stream of [false, true]) {
      const e = await failure({ model: 'm', max_tokens: 10, messages: USER_HI }, { stream });
      assert.ok(e instanceof Anthropic.OverloadedError, `got ${e.constructor.name}`);
      assert.equal(e.status, 529);
      assert.deepEqual(errorOf(e), { type: 'overloaded_error', message: 'all slots are busy and the queue is full' });
      assert.equal(e.headers?.get('retry-after'), '1');
    }
  });

  test('an invalid request found by the service: 400', async () => {
    reply = { error: new ChatError('invalid_request', 'tool "x" has an invalid schema') };
    const e = await failure({ model: 'm', max_tokens: 10, messages: USER_HI });
    assert.deepEqual(errorOf(e), { type: 'invalid_request_error', message: 'tool "x" has an invalid schema' });
    reply = { content: ['ok'] };
  });
});

describe('authentication', () => {
  let locked: TestServer;
  before(async () => {
    locked = await startServer(service, { apiKey: 'sekrit' });
  });
  after(() => locked.close());

  test('a wrong key: 401 authentication_error (AuthenticationError)', async () => {
    const client = new Anthropic({ baseURL: locked.url, apiKey: 'wrong', maxRetries: 0 });
    try {
      await client.messages.create({ model: 'm', max_tokens: 5, messages: USER_HI });
      assert.fail('accepted');
    } catch (e) {
      assert.ok(e instanceof Anthropic.AuthenticationError);
      assert.equal(errorOf(e).type, 'authentication_error');
    }
    const res = await fetch(`${locked.url}/v1/messages/count_tokens`, { method: 'POST', body: '{}' });
    assert.equal(res.status, 401);
  });

  test('the right key as x-api-key (apiKey) or as a Bearer token (authToken)', async () => {
    reply = { content: ['ok'] };
    const viaKey = new Anthropic({ baseURL: locked.url, apiKey: 'sekrit', maxRetries: 0 });
    assert.equal((await viaKey.messages.create({ model: 'm', max_tokens: 5, messages: USER_HI })).stop_reason, 'end_turn');
    const viaToken = new Anthropic({ baseURL: locked.url, apiKey: null, authToken: 'sekrit', maxRetries: 0 });
    assert.equal((await viaToken.messages.create({ model: 'm', max_tokens: 5, messages: USER_HI })).stop_reason, 'end_turn');
  });
});
