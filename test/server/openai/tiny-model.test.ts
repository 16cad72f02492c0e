// The OpenAI API on the real tiny random-weight model (src/cli/default-model.ts, tinyRandomModelPath): a real forward
// pass behind the whole stack. Its text is meaningless, so what is checked is the protocol and what the
// engine enforces whatever the weights say: JSON-schema output and a required tool call.
import { strict as assert } from 'node:assert';
import { after, before, it } from 'node:test';
import { tinyRandomModelPath } from '../../../src/cli/default-model.js';
import { openModel, type OpenModel } from '../../../src/cli/open-model.js';
import type { ChatService } from '../../../src/server/chat-service.js';
import { createChatService } from '../../../src/server/engine/index.js';
import { checkChatStream, postJson, readSse, startServer, type TestServer } from './harness.js';

let opened: OpenModel;
let service: ChatService;
let server: TestServer;

before(async () => {
  opened = openModel(tinyRandomModelPath(), { quiet: true, threads: 1 });
  service = createChatService({ model: opened.model, tokenizer: opened.tokenizer, contextSize: 512, parallel: 2 });
  server = await startServer(service);
});
after(async () => {
  await server.close();
  await service.close();
  opened.close();
});

const messages = [
  { role: 'system' as const, content: 'You are a test.' },
  { role: 'user' as const, content: 'Say something.' },
];

it('tiny random model: text, streamed and not, the protocol holds', async () => {
  const plain = await server.client.chat.completions.create({ model: 'gpt-4o-mini', messages, max_tokens: 12, seed: 1 });
  assert.equal(plain.model, service.modelName);
  assert.ok(['stop', 'length'].includes(plain.choices[0]!.finish_reason));
  assert.ok(plain.usage!.completion_tokens >= 1 && plain.usage!.completion_tokens <= 12);
  const s = checkChatStream((await readSse(await postJson(`${server.url}/v1/chat/completions`, { messages, max_tokens: 12, seed: 1, stream: true, stream_options: { include_usage: true } }))).data);
  assert.equal(s.usage!.prompt_tokens, plain.usage!.prompt_tokens);
  assert.ok(s.final.timings.predicted_per_second > 0);
  const viaHelper = await server.client.chat.completions.stream({ model: 'x', messages, max_tokens: 12 }).finalChatCompletion();
  assert.equal(viaHelper.choices[0]!.message.role, 'assistant');
});

it('tiny random model: json_schema output is valid JSON of the schema', async () => {
  const schema = { type: 'object', properties: { ok: { type: 'boolean' }, level: { enum: ['low', 'high'] } }, required: ['ok', 'level'], additionalProperties: false };
  const res = await server.client.chat.completions.create({
    model: 'm',
    messages,
    max_tokens: 120,
    reasoning_budget: 4,
    response_format: { type: 'json_schema', json_schema: { name: 'answer', schema, strict: true } },
  } as never);
  const choice = res.choices[0]!;
  assert.equal(choice.finish_reason, 'stop', JSON.stringify(choice));
  const value = JSON.parse(choice.message.content!);
  assert.deepEqual(Object.keys(value).sort(), ['level', 'ok']);
  assert.equal(typeof value.ok, 'boolean');
  assert.ok(['low', 'high'].includes(value.level));
});

it('tiny random model: tool_choice required yields a call whose arguments match the tool', async () => {
  const tools = [
    {
      type: 'function' as const,
      function: { name: 'set_flag', parameters: { type: 'object', properties: { on: { type: 'boolean' } }, required: ['on'] } },
    },
  ];
  const s = checkChatStream(
    (await readSse(await postJson(`${server.url}/v1/chat/completions`, { messages, tools, tool_choice: 'required', max_tokens: 120, reasoning_budget: 4, stream: true }))).data,
  );
  assert.ok(['tool_calls', 'length'].includes(s.finishReason), s.finishReason);
  assert.ok(s.toolCalls.length >= 1, JSON.stringify(s));
  for (const c of s.toolCalls) {
    assert.equal(c.name, 'set_flag');
    assert.equal(typeof JSON.parse(c.arguments).on, 'boolean');
  }
});
