// End to end through the real ChatService (the Step 3.5 chat template, the default model's tokenizer, the
// batch scheduler, sampling, the reasoning and tool-call parsers, constrained decoding) with a scripted
// model that says known text (test/helpers/scripted-model.ts), driven by the real `openai` client.
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { openModel, type OpenModel } from '../../../src/cli/open-model.js';
import type { ChatService } from '../../../src/server/chat-service.js';
import { createChatService } from '../../../src/server/engine/index.js';
import { ScriptedModel, type ScriptedPrompt, type ScriptedReply } from '../../helpers/scripted-model.js';
import { checkChatStream, postJson, readSse, startServer, type TestServer } from './harness.js';

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

const weather = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'Current weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer' } }, required: ['city'] },
  },
};
const call = (city: string, days?: number) =>
  `<tool_call>\n<function=get_weather>\n<parameter=city>\n${city}\n</parameter>\n${days !== undefined ? `<parameter=days>\n${days}\n</parameter>\n` : ''}</function>\n</tool_call>`;
const url = () => `${server.url}/v1/chat/completions`;

describe('chat completions through the real service', () => {
  it('reasoning and text, streamed and not, agree', async () => {
    script = () => 'The user greets me.\n</think>\nHello there!';
    const body = { model: 'gpt-4o', messages: [{ role: 'user' as const, content: 'hi' }], max_tokens: 100 };
    const plain = await server.client.chat.completions.create(body);
    const msg = plain.choices[0]!.message as OpenAI.ChatCompletionMessage & { reasoning_content?: string };
    assert.equal(plain.model, service.modelName);
    assert.equal(plain.choices[0]!.finish_reason, 'stop');
    assert.equal(msg.reasoning_content?.trim(), 'The user greets me.');
    assert.equal(msg.content?.trim(), 'Hello there!');
    assert.ok(model.prompts.at(-1)!.text.endsWith('<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n<think>\n'));
    assert.equal(plain.usage!.total_tokens, plain.usage!.prompt_tokens + plain.usage!.completion_tokens);
    assert.ok(plain.usage!.completion_tokens_details!.reasoning_tokens! > 0);

    const streamed = checkChatStream((await readSse(await postJson(url(), { ...body, stream: true, stream_options: { include_usage: true } }))).data);
    assert.equal(streamed.reasoning, msg.reasoning_content);
    assert.equal(streamed.content, msg.content);
    assert.equal(streamed.usage!.completion_tokens, plain.usage!.completion_tokens);
    assert.equal(streamed.usage!.prompt_tokens, plain.usage!.prompt_tokens);

    const viaHelper = await server.client.chat.completions.stream(body).finalChatCompletion();
    assert.equal(viaHelper.choices[0]!.message.content, msg.content);
  });

  it('a tool call (typed by the schema), then the tool result turn', async () => {
    script = (p) => (p.text.includes('<tool_response>') ? 'The tool answered.\n</think>\nIt is sunny in Paris.' : `I need the weather tool.\n</think>\n${call('Paris', 3)}`);
    const first = await server.client.chat.completions
      .stream({ model: 'm', max_tokens: 300, tools: [weather], messages: [{ role: 'user', content: 'Weather in Paris?' }] })
      .finalChatCompletion();
    const choice = first.choices[0]!;
    assert.equal(choice.finish_reason, 'tool_calls');
    const tc = choice.message.tool_calls![0]!;
    assert.ok(tc.type === 'function');
    assert.equal(tc.function.name, 'get_weather');
    assert.deepEqual(JSON.parse(tc.function.arguments), { city: 'Paris', days: 3 }, 'days is an integer, as the schema says');

    const plainFirst = await server.client.chat.completions.create({ model: 'm', max_tokens: 300, tools: [weather], messages: [{ role: 'user', content: 'Weather in Paris?' }] });
    const reasoning = (plainFirst.choices[0]!.message as { reasoning_content?: string }).reasoning_content!;
    const second = await server.client.chat.completions.create({
      model: 'm',
      max_tokens: 300,
      tools: [weather],
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        { ...plainFirst.choices[0]!.message, reasoning_content: reasoning } as OpenAI.ChatCompletionAssistantMessageParam,
        { role: 'tool', tool_call_id: plainFirst.choices[0]!.message.tool_calls![0]!.id, content: 'sunny, 24C' },
      ],
    });
    assert.equal(second.choices[0]!.finish_reason, 'stop');
    assert.equal(second.choices[0]!.message.content?.trim(), 'It is sunny in Paris.');
    const prompt = model.prompts.at(-1)!.text;
    assert.ok(prompt.includes('<think>\nI need the weather tool.\n</think>\n'), 'the reasoning of the tool-call turn is back in the prompt');
    assert.ok(prompt.includes('<parameter=city>\nParis\n</parameter>'));
    assert.ok(prompt.includes('<|im_start|>tool_response\n<tool_response>sunny, 24C</tool_response><|im_end|>\n'));
  });

  it('parallel tool calls, streamed with an index each', async () => {
    script = () => `Two cities.\n</think>\n${call('Paris')}\n${call('Rome', 2)}`;
    const s = checkChatStream((await readSse(await postJson(url(), { stream: true, max_tokens: 300, tools: [weather], messages: [{ role: 'user', content: 'Paris and Rome?' }] }))).data);
    assert.equal(s.finishReason, 'tool_calls');
    assert.deepEqual(
      s.toolCalls.map((c) => [c.name, JSON.parse(c.arguments)]),
      [
        ['get_weather', { city: 'Paris' }],
        ['get_weather', { city: 'Rome', days: 2 }],
      ],
    );
    assert.notEqual(s.toolCalls[0]!.id, s.toolCalls[1]!.id);
  });

  it('tool_choice required and named reach the engine', async () => {
    script = () => `Must call.\n</think>\n${call('Oslo')}`;
    for (const tool_choice of ['required', { type: 'function', function: { name: 'get_weather' } }] as const) {
      const res = await server.client.chat.completions.create({ model: 'm', max_tokens: 300, tools: [weather], tool_choice, messages: [{ role: 'user', content: 'x' }] });
      assert.equal(res.choices[0]!.finish_reason, 'tool_calls');
      const c = res.choices[0]!.message.tool_calls![0]!;
      assert.ok(c.type === 'function');
      assert.deepEqual(JSON.parse(c.function.arguments), { city: 'Oslo' });
    }
  });

  it('json_schema output parses and matches the schema', async () => {
    script = () => 'A person.\n</think>\n{"name": "Ada", "age": 36}';
    const schema = { type: 'object', properties: { name: { type: 'string' }, age: { type: 'integer' } }, required: ['name', 'age'], additionalProperties: false };
    const res = await server.client.chat.completions.create({
      model: 'm',
      max_tokens: 200,
      messages: [{ role: 'user', content: 'Describe Ada.' }],
      response_format: { type: 'json_schema', json_schema: { name: 'person', schema, strict: true } },
    });
    assert.deepEqual(JSON.parse(res.choices[0]!.message.content!), { name: 'Ada', age: 36 });
  });

  it('stop sequences end the content at the match and are reported', async () => {
    script = () => 'Counting.\n</think>\nOne, two, STOP three, four.';
    const res = await server.client.chat.completions.create({ model: 'm', max_tokens: 200, stop: ['STOP'], messages: [{ role: 'user', content: 'count' }] });
    assert.equal(res.choices[0]!.finish_reason, 'stop');
    assert.equal(res.choices[0]!.message.content, 'One, two, ');
    assert.equal((res as unknown as { stepflash: { stop_sequence: string } }).stepflash.stop_sequence, 'STOP');
    const s = checkChatStream((await readSse(await postJson(url(), { stream: true, max_tokens: 200, stop: 'STOP', messages: [{ role: 'user', content: 'count' }] }))).data);
    assert.equal(s.content, 'One, two, ');
  });

  it('max_tokens cut-offs: in the text, and inside a tool call (the stream stays well formed)', async () => {
    script = () => 'Short.\n</think>\nThis answer goes on and on and on and on and on and on.';
    const cut = await server.client.chat.completions.stream({ model: 'm', max_tokens: 8, messages: [{ role: 'user', content: 'talk' }] }).finalChatCompletion();
    assert.equal(cut.choices[0]!.finish_reason, 'length');
    assert.equal(cut.usage, undefined);
    const plainCut = await server.client.chat.completions.create({ model: 'm', max_completion_tokens: 8, messages: [{ role: 'user', content: 'talk' }] });
    assert.equal(plainCut.usage!.completion_tokens, 8);

    const long = 'word '.repeat(40);
    script = () => `Call it.\n</think>\n<tool_call>\n<function=get_weather>\n<parameter=city>\n${long}\n</parameter>\n</function>\n</tool_call>`;
    const body = { model: 'm', max_tokens: 20, tools: [weather], messages: [{ role: 'user' as const, content: 'go' }] };
    const s = checkChatStream((await readSse(await postJson(url(), { ...body, stream: true }))).data);
    assert.equal(s.finishReason, 'length');
    const viaHelper = await server.client.chat.completions.stream(body).finalChatCompletion();
    assert.equal(viaHelper.choices[0]!.finish_reason, 'length');
    for (const c of viaHelper.choices[0]!.message.tool_calls ?? []) if (c.type === 'function') JSON.parse(c.function.arguments);
  });

  it('logprobs of the content tokens, with alternatives', async () => {
    script = () => 'Hm.\n</think>\nYes indeed.';
    const res = await server.client.chat.completions.create({ model: 'm', max_tokens: 50, logprobs: true, top_logprobs: 2, messages: [{ role: 'user', content: 'ok?' }] });
    const lp = res.choices[0]!.logprobs!.content!;
    assert.ok(lp.length > 0);
    assert.equal(lp.map((t) => t.token).join('').trim(), res.choices[0]!.message.content!.trim());
    for (const t of lp) {
      assert.ok(t.logprob <= 0);
      assert.equal(t.top_logprobs.length, 2);
      assert.deepEqual(t.bytes, [...Buffer.from(t.token)]);
    }
  });

  it('max_tokens beyond the context is clamped and reported', async () => {
    script = () => 'Ok.\n</think>\nFine.';
    const { data, response } = await server.client.chat.completions
      .create({ model: 'm', max_tokens: 32000, messages: [{ role: 'user', content: 'hi' }] })
      .withResponse();
    const report = (data as unknown as { stepflash: { max_tokens: { requested: number; granted: number } } }).stepflash;
    assert.equal(report.max_tokens.requested, 32000);
    assert.equal(report.max_tokens.granted, CONTEXT - data.usage!.prompt_tokens);
    assert.match(response.headers.get('x-stepflash-note') ?? '', /^max_tokens 32000 was reduced to \d+/);
  });

  it('a prompt over the context: 400 context_length_exceeded with the numbers, streamed or not', async () => {
    const big = 'lorem ipsum dolor sit amet '.repeat(400);
    for (const stream of [false, true]) {
      await assert.rejects(server.client.chat.completions.create({ model: 'm', max_tokens: 10, stream, messages: [{ role: 'user', content: big }] }), (e: unknown) => {
        assert.ok(e instanceof OpenAI.BadRequestError);
        assert.equal(e.code, 'context_length_exceeded');
        assert.match(e.message, /maximum context length is \d+ tokens\. However, your messages resulted in \d+ tokens/);
        const [, max, got] = /length is (\d+) tokens.*resulted in (\d+) tokens/.exec(e.message)!;
        assert.ok(Number(got) > Number(max));
        return true;
      });
    }
  });

  it('a full queue answers 429; clients that leave free their slots', async () => {
    script = () => ({ text: 'Busy.\n</think>\n', repeat: 'la ' });
    const release = model.stall();
    const controllers = [new AbortController(), new AbortController(), new AbortController()];
    const body = { model: 'm', max_tokens: 500, messages: [{ role: 'user' as const, content: 'sing' }] };
    // Two slots and one queue place: three requests are taken, the fourth is refused.
    const taken = controllers.map((c) => server.client.chat.completions.create({ ...body, stream: true }, { signal: c.signal }).catch((e: unknown) => e));
    await new Promise((r) => setTimeout(r, 150));
    await assert.rejects(server.client.chat.completions.create(body), (e: unknown) => {
      assert.ok(e instanceof OpenAI.RateLimitError);
      assert.equal(e.status, 429);
      return true;
    });
    for (const c of controllers) c.abort();
    release();
    await Promise.all(taken);
    script = () => 'Free.\n</think>\nAgain.';
    const again = await Promise.all([0, 1].map(() => server.client.chat.completions.create({ model: 'm', max_tokens: 50, messages: [{ role: 'user', content: 'next' }] })));
    for (const r of again) assert.equal(r.choices[0]!.message.content?.trim(), 'Again.');
  });
});

describe('text completions through the real service', () => {
  it('completes a raw prompt without the chat template', async () => {
    script = () => ' and the rest.';
    const res = await server.client.completions.create({ model: 'm', prompt: 'Once upon a time', max_tokens: 30 });
    assert.equal(res.choices[0]!.text, ' and the rest.');
    assert.equal(res.choices[0]!.finish_reason, 'stop');
    assert.equal(model.prompts.at(-1)!.text.includes('<|im_start|>'), false);
    const stream = await server.client.completions.create({ model: 'm', prompt: 'Once upon a time', max_tokens: 30, stream: true });
    let text = '';
    for await (const c of stream) text += c.choices[0]?.text ?? '';
    assert.equal(text, ' and the rest.');
  });
});
