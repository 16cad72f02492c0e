// The Messages API on the real tiny random-weight model (src/cli/default-model.ts, tinyRandomModelPath): the whole stack
// with a real forward pass. Its text is meaningless, so only the protocol is checked: the stream's grammar,
// the SDK's helpers, stop reasons, token accounting.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { tinyRandomModelPath } from '../../../src/cli/default-model.js';
import { openModel, type OpenModel } from '../../../src/cli/open-model.js';
import { createChatService } from '../../../src/server/engine/index.js';
import type { ChatService } from '../../../src/server/chat-service.js';
import { checkStream, rawStream, startServer, type TestServer } from './helpers.js';

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

const params = {
  model: 'claude-haiku-4-5',
  max_tokens: 12,
  system: [{ type: 'text' as const, text: 'You are a test.', cache_control: { type: 'ephemeral' as const } }],
  thinking: { type: 'adaptive' } as any,
  tools: [{ name: 'echo', input_schema: { type: 'object' as const, properties: { text: { type: 'string' } } } }],
  messages: [{ role: 'user' as const, content: 'Say something.' }],
};

test('tiny random model: streamed and not, the protocol holds', async () => {
  const { input_tokens } = await server.client.messages.countTokens(params);
  for (let i = 0; i < 3; i++) {
    const { events } = await rawStream(server.url, { ...params, stream: true });
    const msg = checkStream(events);
    assert.ok(['max_tokens', 'end_turn', 'tool_use'].includes(msg.stop_reason));
    assert.ok(msg.usage.output_tokens >= 1 && msg.usage.output_tokens <= 12);
    assert.equal(msg.usage.input_tokens + msg.usage.cache_read_input_tokens, input_tokens);
  }
  const streamed = await server.client.messages.stream(params).finalMessage();
  assert.equal(streamed.role, 'assistant');
  assert.ok(streamed.usage.output_tokens <= 12);
  const plain = await server.client.messages.create(params);
  assert.ok(['max_tokens', 'end_turn', 'tool_use'].includes(plain.stop_reason!));
  assert.equal(plain.model, service.modelName);
});
