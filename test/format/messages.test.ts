import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChatMessageSchema, parseChatMessages, parseToolDefinitions, type ChatMessage } from '../../src/format/messages.js';
import { renderChat } from '../../src/format/chat-template.js';

test('an OpenAI conversation validates', () => {
  const messages = parseChatMessages([
    { role: 'system', content: 'sys' },
    { role: 'user', content: [{ type: 'text', text: 'hi' }, { type: 'image_url', image_url: { url: 'data:...', detail: 'low' } }] },
    {
      role: 'assistant',
      content: null,
      reasoning_content: 'why',
      tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{"a": 1}' } }],
    },
    { role: 'tool', tool_call_id: 'call_1', content: 'result' },
    { role: 'assistant', content: 'done', tool_calls: [{ function: { name: 'g', arguments: { b: 2 } } }] },
  ]);
  assert.equal(messages.length, 5);
  assert.equal(messages[4]!.tool_calls![0]!.type, 'function');
});

test('`reasoning` is folded into reasoning_content', () => {
  const m = ChatMessageSchema.parse({ role: 'assistant', content: 'x', reasoning: 'r' });
  assert.deepEqual(m, { role: 'assistant', content: 'x', reasoning_content: 'r' });
  const both = ChatMessageSchema.parse({ role: 'assistant', content: 'x', reasoning: 'r', reasoning_content: 'rc' });
  assert.equal(both.reasoning_content, 'rc');
  assert.equal('reasoning' in both, false);
});

test('invalid messages are rejected with a path', () => {
  for (const bad of [
    [],
    [{ role: 'developer', content: 'x' }],
    [{ role: 'user', content: 5 }],
    [{ role: 'user', content: [{ type: 'audio' }] }],
    [{ role: 'assistant', tool_calls: [{ function: { arguments: '{}' } }] }],
    [{ role: 'assistant', tool_calls: [{ function: { name: 'f', arguments: [1] } }] }],
  ])
    assert.throws(() => parseChatMessages(bad), JSON.stringify(bad));
});

test('tool definitions come back as the caller sent them', () => {
  const tools = [{ function: { parameters: { type: 'object' }, name: 'f', strict: true }, type: 'function' }];
  const parsed = parseToolDefinitions(tools);
  assert.equal(parsed, tools);
  assert.deepEqual(Object.keys(parsed[0]!), ['function', 'type']);
  assert.throws(() => parseToolDefinitions([{ type: 'function', function: { name: 'has space' } }]));
  assert.throws(() => parseToolDefinitions([{ type: 'function', function: { name: 'a<b' } }]));
  assert.throws(() => parseToolDefinitions([{ type: 'custom', function: { name: 'f' } }]));
});

test('validated messages render like the raw ones', () => {
  const raw = [
    { role: 'user', content: 'Q', name: 'n' },
    { role: 'assistant', content: null, reasoning: 'r', tool_calls: [{ type: 'function', function: { name: 'f', arguments: '{"x": 1.0}' } }], extra: 1 },
    { role: 'tool', content: [{ type: 'text', text: 'ok' }] },
  ];
  const validated: ChatMessage[] = parseChatMessages(raw);
  assert.equal(renderChat(validated), renderChat(raw as never));
  assert.match(renderChat(validated), /<think>\nr\n<\/think>\n<tool_call>\n<function=f>\n<parameter=x>\n1\.0\n/);
});
