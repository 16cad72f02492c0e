// End to end through the real ChatService: the Step 3.5 chat template, the tokenizer of the tiny default
// model, the batch scheduler, sampling, the reasoning and tool-call parsers, and a scripted model that
// says known text (test/helpers/scripted-model.ts), driven with the real @anthropic-ai/sdk client.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import { openModel, type OpenModel } from '../../../src/cli/open-model.js';
import { createChatService } from '../../../src/server/engine/index.js';
import type { ChatService } from '../../../src/server/chat-service.js';
import { ScriptedModel, type ScriptedPrompt, type ScriptedReply } from '../../helpers/scripted-model.js';
import { checkStream, rawStream, startServer, type TestServer } from './helpers.js';

let opened: OpenModel;
let model: ScriptedModel;
let service: ChatService;
let server: TestServer;
let script: (p: ScriptedPrompt) => ScriptedReply = () => 'Thinking.\n</think>\nHello!';

const CONTEXT = 1024;

before(async () => {
  opened = openModel(undefined, { quiet: true, threads: 1 });
  model = new ScriptedModel(opened.tokenizer, (p) => script(p));
  service = createChatService({ model, tokenizer: opened.tokenizer, contextSize: CONTEXT, parallel: 2, queueSize: 1 });
  server = await startServer(service);
});
after(async () => {
  await server.close();
  await service.close();
  opened.close();
});

const weatherTool = {
  name: 'get_weather',
  description: 'Current weather for a city',
  input_schema: { type: 'object' as const, properties: { city: { type: 'string' }, days: { type: 'integer' } }, required: ['city'] },
};
const call = (city: string, days?: number) =>
  `<tool_call>\n<function=get_weather>\n<parameter=city>\n${city}\n</parameter>\n${days !== undefined ? `<parameter=days>\n${days}\n</parameter>\n` : ''}</function>\n</tool_call>`;

describe('through the real service', () => {
  test('thinking and text, streamed and not; usage matches count_tokens', async () => {
    script = () => 'The user greets me.\n</think>\nHello there!';
    const params = { model: 'claude-sonnet-4-5', max_tokens: 200, thinking: { type: 'adaptive' } as any, messages: [{ role: 'user' as const, content: 'hi' }] };
    const msg = await server.client.messages.create(params);
    assert.equal(msg.model, service.modelName);
    assert.equal(msg.stop_reason, 'end_turn');
    assert.deepEqual(
      msg.content.map((b) => b.type),
      ['thinking', 'text'],
    );
    const [thinking, text] = msg.content as [Anthropic.ThinkingBlock, Anthropic.TextBlock];
    assert.equal(thinking.thinking.trim(), 'The user greets me.');
    assert.ok(thinking.signature.length > 0);
    assert.equal(text.text.trim(), 'Hello there!');
    assert.ok(model.prompts.at(-1)!.text.endsWith('<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n<think>\n'));

    const { input_tokens } = await server.client.messages.countTokens({ model: 'x', messages: params.messages });
    assert.equal(msg.usage.input_tokens + (msg.usage.cache_read_input_tokens ?? 0), input_tokens);
    assert.ok(msg.usage.output_tokens > 5);

    const streamed = await server.client.messages.stream(params).finalMessage();
    assert.deepEqual(
      streamed.content.map((b) => (b.type === 'thinking' ? { ...b, signature: '' } : b)),
      msg.content.map((b) => (b.type === 'thinking' ? { ...b, signature: '' } : b)),
    );
    const { events } = await rawStream(server.url, { ...params, stream: true });
    checkStream(events);
  });

  test('a tool call, then the tool result turn with the thinking block and its signature sent back', async () => {
    script = (p) =>
      p.text.includes('<tool_response>')
        ? 'The tool answered.\n</think>\nIt is sunny in Paris.'
        : `I need the weather tool.\n</think>\n${call('Paris', 3)}`;
    const first = await server.client.messages.stream({
      model: 'm',
      max_tokens: 300,
      thinking: { type: 'enabled', budget_tokens: 1024 },
      tools: [weatherTool],
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
    }).finalMessage();
    assert.equal(first.stop_reason, 'tool_use');
    const use = first.content.find((b) => b.type === 'tool_use') as Anthropic.ToolUseBlock;
    assert.equal(use.name, 'get_weather');
    assert.deepEqual(use.input, { city: 'Paris', days: 3 }, 'typed by the schema: days is an integer');
    assert.match(use.id, /^toolu_/);

    const second = await server.client.messages.create({
      model: 'm',
      max_tokens: 300,
      thinking: { type: 'enabled', budget_tokens: 1024 },
      tools: [weatherTool],
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: first.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: 'sunny, 24C' }] },
      ],
    });
    assert.equal(second.stop_reason, 'end_turn');
    assert.equal((second.content.at(-1) as Anthropic.TextBlock).text.trim(), 'It is sunny in Paris.');
    const prompt = model.prompts.at(-1)!.text;
    assert.ok(prompt.includes('<think>\nI need the weather tool.\n</think>\n'), 'the reasoning of the tool-call turn is back in the prompt');
    assert.ok(prompt.includes('<parameter=city>\nParis\n</parameter>'));
    assert.ok(prompt.includes('<|im_start|>tool_response\n<tool_response>sunny, 24C</tool_response><|im_end|>\n'));
  });

  test('parallel tool calls stream as consecutive tool_use blocks', async () => {
    script = () => `Two cities.\n</think>\n${call('Paris')}\n${call('Rome', 2)}`;
    const { events } = await rawStream(server.url, {
      model: 'm',
      max_tokens: 300,
      stream: true,
      tools: [weatherTool],
      messages: [{ role: 'user', content: 'Paris and Rome?' }],
    });
    const msg = checkStream(events);
    assert.equal(msg.stop_reason, 'tool_use');
    assert.deepEqual(
      msg.content.filter((b: any) => b.type === 'tool_use').map((b: any) => b.input),
      [{ city: 'Paris' }, { city: 'Rome', days: 2 }],
    );
  });

  test('stop_sequences end the text at the match', async () => {
    script = () => 'Counting.\n</think>\nOne, two, STOP three, four.';
    const msg = await server.client.messages.create({ model: 'm', max_tokens: 200, stop_sequences: ['STOP'], messages: [{ role: 'user', content: 'count' }] });
    assert.equal(msg.stop_reason, 'stop_sequence');
    assert.equal(msg.stop_sequence, 'STOP');
    assert.deepEqual(msg.content, [{ type: 'text', text: 'One, two, ' }]);
  });

  test('max_tokens cut-offs: in the text, and inside a tool call (the stream stays well formed)', async () => {
    script = () => 'Short.\n</think>\nThis answer goes on and on and on and on and on and on.';
    const cut = await server.client.messages.stream({ model: 'm', max_tokens: 8, messages: [{ role: 'user', content: 'talk' }] }).finalMessage();
    assert.equal(cut.stop_reason, 'max_tokens');
    assert.equal(cut.usage.output_tokens, 8);

    const long = 'word '.repeat(40);
    script = () => `Call it.\n</think>\n<tool_call>\n<function=get_weather>\n<parameter=city>\n${long}\n</parameter>\n</function>\n</tool_call>`;
    const params = { model: 'm', max_tokens: 20, tools: [weatherTool], messages: [{ role: 'user' as const, content: 'go' }] };
    const { events } = await rawStream(server.url, { ...params, stream: true });
    const msg = checkStream(events);
    assert.equal(msg.stop_reason, 'max_tokens');
    // The service hands over whole calls only; what it makes of a cut one (today: text), the stream stays valid.
    for (const b of msg.content) if (b.type === 'tool_use') assert.equal(typeof b.input, 'object');
    const viaSdk = await server.client.messages.stream(params).finalMessage();
    assert.equal(viaSdk.stop_reason, 'max_tokens');
    const plain = await server.client.messages.create(params);
    assert.deepEqual(plain.content.map((b) => b.type), viaSdk.content.map((b) => b.type));
  });

  test('a reasoning budget ends the reasoning with a note', async () => {
    script = () => ({ text: 'I keep thinking', repeat: ' and thinking' });
    const msg = await server.client.messages.create({
      model: 'm',
      max_tokens: 60,
      thinking: { type: 'enabled', budget_tokens: 10 },
      messages: [{ role: 'user', content: 'think' }],
    });
    const notes: string[] = (msg as any).stepflash?.notes ?? [];
    assert.ok(notes.some((n) => /reasoning budget of 10 tokens reached/.test(n)), JSON.stringify(notes));
  });

  test('max_tokens beyond the context is clamped and reported', async () => {
    script = () => 'Ok.\n</think>\nFine.';
    const { data, response } = await server.client.messages
      .create({ model: 'm', max_tokens: 32000, messages: [{ role: 'user', content: 'hi' }] }, { timeout: 30_000 })
      .withResponse();
    const report = (data as any).stepflash;
    assert.equal(report.max_tokens.requested, 32000);
    const promptTokens = data.usage.input_tokens + (data.usage.cache_read_input_tokens ?? 0);
    assert.equal(report.max_tokens.granted, CONTEXT - promptTokens);
    assert.match(response.headers.get('x-stepflash-note') ?? '', /^max_tokens 32000 was reduced to \d+/);
  });

  test('a prompt over the context: 400 with Anthropic\'s exact wording, streamed or not', async () => {
    const big = 'lorem ipsum dolor sit amet '.repeat(400);
    const body = { model: 'm', max_tokens: 10, messages: [{ role: 'user' as const, content: big }] };
    const { input_tokens } = await server.client.messages.countTokens(body);
    assert.ok(input_tokens > CONTEXT);
    for (const stream of [false, true]) {
      await assert.rejects(stream ? server.client.messages.stream(body).finalMessage() : server.client.messages.create(body), (e: unknown) => {
        assert.ok(e instanceof Anthropic.BadRequestError);
        assert.equal((e.error as any).error.message, `prompt is too long: ${input_tokens} tokens > ${CONTEXT - 1} maximum`);
        return true;
      });
    }
  });

  test('a full queue answers 529; a client that leaves frees its slot', async () => {
    script = () => ({ text: 'Busy.\n</think>\n', repeat: 'la ' });
    const release = model.stall();
    const controllers = [new AbortController(), new AbortController(), new AbortController()];
    const body = { model: 'm', max_tokens: 500, messages: [{ role: 'user' as const, content: 'sing' }] };
    // Two slots and one queue place: three requests are taken, the fourth is refused.
    const taken = controllers.map((c) => server.client.messages.create({ ...body, stream: true }, { signal: c.signal }).catch((e: unknown) => e));
    await new Promise((r) => setTimeout(r, 100));
    await assert.rejects(server.client.messages.create(body), (e: unknown) => {
      assert.ok(e instanceof Anthropic.OverloadedError);
      assert.equal(e.status, 529);
      assert.equal((e.error as any).error.type, 'overloaded_error');
      return true;
    });
    for (const c of controllers) c.abort();
    release();
    await Promise.all(taken);
    script = () => 'Free.\n</think>\nAgain.';
    const after = await server.client.messages.create({ model: 'm', max_tokens: 50, messages: [{ role: 'user', content: 'next' }] });
    assert.equal((after.content.at(-1) as Anthropic.TextBlock).text.trim(), 'Again.');
  });
});
