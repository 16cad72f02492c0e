// The OpenAI API on the trained nano model (models/nano.gguf, the embedded default): the whole stack with
// weights that mean something. Greedy decoding is deterministic, so the model's behaviour on a question
// like its training tasks is a fixed fact: it reasons, calls the calculator with the question's numbers,
// and after the tool's result answers with it.
import { strict as assert } from 'node:assert';
import { after, before, it } from 'node:test';
import type OpenAI from 'openai';
import { nanoModelPath } from '../../../src/cli/default-model.js';
import { openModel, type OpenModel } from '../../../src/cli/open-model.js';
import type { ChatService } from '../../../src/server/chat-service.js';
import { createChatService } from '../../../src/server/engine/index.js';
import { startServer, type TestServer, calculatorTool as calculator } from './harness.js';

let opened: OpenModel;
let service: ChatService;
let server: TestServer;

before(async () => {
  const path = nanoModelPath();
  assert.ok(path, 'models/nano.gguf is part of the repository');
  opened = openModel(path, { quiet: true, threads: 1 });
  assert.equal(opened.randomWeights, false);
  service = createChatService({ model: opened.model, tokenizer: opened.tokenizer, contextSize: 1024, parallel: 1 });
  server = await startServer(service);
});
after(async () => {
  await server.close();
  await service.close();
  opened.close();
});

it('nano: an arithmetic question becomes a calculator call, and the tool result becomes the answer', async () => {
  const question: OpenAI.ChatCompletionMessageParam = { role: 'user', content: 'What is 1234 * 56?' };
  const first = await server.client.chat.completions.create({ model: 'nano', messages: [question], tools: [calculator], max_tokens: 120, temperature: 0 });
  const msg = first.choices[0]!.message;
  assert.equal(first.choices[0]!.finish_reason, 'tool_calls');
  const call = msg.tool_calls?.[0];
  assert.ok(call && call.type === 'function');
  assert.equal(call.function.name, 'calculator');
  const args = JSON.parse(call.function.arguments) as { expression: string };
  assert.equal(args.expression.replace(/\s+/g, ''), '1234*56');
  const reasoning = (msg as unknown as { reasoning_content: string }).reasoning_content;
  // the model was trained to name the operation and the tool in its reasoning, not to copy the numbers there
  assert.match(reasoning, /product.*calculator/);

  const second = await server.client.chat.completions.create({
    model: 'nano',
    // The reasoning goes back with the call, as the model was trained (and as reasoning-model clients do).
    messages: [question, { role: 'assistant', content: null, tool_calls: [call], reasoning_content: reasoning } as OpenAI.ChatCompletionAssistantMessageParam, { role: 'tool', tool_call_id: call.id, content: '69104' }],
    tools: [calculator],
    max_tokens: 120,
    temperature: 0,
  });
  assert.equal(second.choices[0]!.finish_reason, 'stop');
  assert.match(second.choices[0]!.message.content ?? '', /69,?104/);
});
