// Property tests of the stream: for any tool input, the input_json_delta fragments concatenate to JSON
// that parses to the input; for any order of reasoning, text and tool calls, the events keep the strict
// grammar and fold to the same message the non-streaming path builds.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { ChatEvent } from '../../../src/server/chat-service.js';
import { MessageBuilder, MessageSequencer } from '../../../src/server/api/anthropic/index.js';
import { ScriptedChatService, type ScriptedReply } from '../../helpers/scripted-service.js';
import { checkStream, rawStream, startServer, USER_HI, type TestServer } from './helpers.js';

// Strings with the characters that break hand-rolled JSON: quotes, backslashes, control and line
// separators, angle brackets, astral characters and lone surrogates.
const tricky = fc.string({
  unit: fc.oneof(
    fc.constantFrom('"', '\\', '\n', '\t', '\u0000', '\u2028', '<', '>', '\ud800', '\udfff', '😀', '{', '}'),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
  ),
  maxLength: 20,
});
const jsonValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    tricky,
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(tricky, tie('value'), { maxKeys: 4 }),
  ),
})).value;
const toolInput = fc.dictionary(tricky, jsonValue, { maxKeys: 6 });
// The engine's argument text: compact or pretty-printed.
const argumentsText = fc.tuple(toolInput, fc.constantFrom(undefined, 2)).map(([input, indent]) => JSON.stringify(input, null, indent));

const START: ChatEvent = { type: 'start', promptTokens: 10, cachedTokens: 2, maxTokens: 100, maxTokensClamped: false };
const done = (finishReason: 'stop' | 'tool_calls' | 'length'): ChatEvent => ({
  type: 'done',
  finishReason,
  usage: { promptTokens: 10, completionTokens: 5, reasoningTokens: 1, cachedTokens: 2 },
  timings: { prefillMs: 1, decodeMs: 1, decodeTokensPerSecond: 1 },
});

function run(events: readonly ChatEvent[], showThinking = true) {
  const seq = new MessageSequencer({ model: 'm', showThinking });
  const out = events.flatMap((e) => seq.push(e));
  const builder = new MessageBuilder();
  for (const e of out) builder.add(e);
  return { stream: out.map((e) => ({ event: e.type, data: JSON.parse(JSON.stringify(e)) })), message: builder.result() };
}

test('property: concatenated input_json_delta parses to the tool input', () => {
  fc.assert(
    fc.property(fc.array(argumentsText, { minLength: 1, maxLength: 4 }), (argsList) => {
      const events: ChatEvent[] = [START, ...argsList.map((a, index): ChatEvent => ({ type: 'tool_call', index, id: `c${index}`, name: 'f', arguments: a })), done('tool_calls')];
      const { stream, message } = run(events);
      const uses = message.content.filter((b) => b.type === 'tool_use');
      assert.equal(uses.length, argsList.length);
      argsList.forEach((args, k) => {
        const index = message.content.indexOf(uses[k]!);
        const json = stream
          .filter((e) => e.event === 'content_block_delta' && e.data.index === index)
          .map((e) => e.data.delta.partial_json)
          .join('');
        assert.deepEqual(JSON.parse(json), JSON.parse(args));
        assert.deepEqual(uses[k]!.input, JSON.parse(args));
      });
    }),
    { numRuns: 300 },
  );
});

const chatEvent: fc.Arbitrary<ChatEvent> = fc.oneof(
  tricky.map((text): ChatEvent => ({ type: 'reasoning', text })),
  tricky.map((text): ChatEvent => ({ type: 'content', text })),
  argumentsText.map((a): ChatEvent => ({ type: 'tool_call', index: 0, id: 'c', name: 'tool', arguments: a })),
);

test('property: any mix of reasoning, text and tool calls keeps the grammar, and streaming folds to the non-streaming message', () => {
  fc.assert(
    fc.property(fc.array(chatEvent, { maxLength: 12 }), fc.boolean(), fc.constantFrom('stop', 'length', 'tool_calls') as fc.Arbitrary<'stop' | 'length' | 'tool_calls'>, (body, showThinking, reason) => {
      const { stream, message } = run([START, ...body, done(reason)], showThinking);
      const folded = checkStream(stream);
      assert.deepEqual(folded.content, message.content);
      assert.equal(folded.stop_reason, message.stop_reason);
      // Text and reasoning survive whole, in order.
      const text = body.filter((e) => e.type === 'content').map((e) => (e as { text: string }).text).join('');
      assert.equal(message.content.filter((b) => b.type === 'text').map((b) => (b as { text: string }).text).join(''), text);
      const thinking = showThinking ? body.filter((e) => e.type === 'reasoning').map((e) => (e as { text: string }).text).join('') : '';
      assert.equal(message.content.filter((b) => b.type === 'thinking').map((b) => (b as { thinking: string }).thinking).join(''), thinking);
      if (reason === 'length') assert.equal(message.stop_reason, 'max_tokens');
      else if (body.some((e) => e.type === 'tool_call')) assert.equal(message.stop_reason, 'tool_use');
    }),
    { numRuns: 300 },
  );
});

let reply: ScriptedReply = {};
let server: TestServer;
before(async () => {
  server = await startServer(new ScriptedChatService(() => reply));
});
after(() => server.close());

test('property, over HTTP with the SDK: streamed tool inputs equal the engine\'s arguments', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(argumentsText, { minLength: 1, maxLength: 3 }), async (argsList) => {
      reply = { toolCalls: argsList.map((a, k) => ({ name: `t${k}`, arguments: a })) };
      const tools = argsList.map((_, k) => ({ name: `t${k}`, input_schema: { type: 'object' as const } }));
      const msg = await server.client.messages.stream({ model: 'm', max_tokens: 100, messages: USER_HI, tools }).finalMessage();
      assert.deepEqual(
        msg.content.map((b) => (b.type === 'tool_use' ? b.input : undefined)),
        argsList.map((a) => JSON.parse(a)),
      );
      const { events } = await rawStream(server.url, { model: 'm', max_tokens: 100, messages: USER_HI, tools, stream: true });
      assert.deepEqual(checkStream(events).content.map((b: any) => b.input), argsList.map((a) => JSON.parse(a)));
    }),
    { numRuns: 25 },
  );
});
