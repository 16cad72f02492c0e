// Anthropic request -> ChatRequest, checked directly and through the real Step 3.5 chat template (the
// mapped conversation must render: tool calls, tool responses in order, reasoning where the template keeps it).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { renderChat } from '../../../src/format/index.js';
import { toChatRequest, toCountRequest } from '../../../src/server/api/anthropic/request.js';
import { IMAGE_PLACEHOLDER } from '../../../src/server/api/anthropic/messages.js';
import { MessagesRequestSchema, type MessagesRequest } from '../../../src/server/api/anthropic/schemas.js';

const parse = (body: Record<string, unknown>): MessagesRequest => MessagesRequestSchema.parse({ model: 'm', max_tokens: 100, ...body });

describe('content blocks', () => {
  test('documents, search results and tool-result images become text', () => {
    const { chat } = toChatRequest(
      parse({
        messages: [
          {
            role: 'user',
            content: [
              { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'The sky is blue.' }, title: 'facts.txt', citations: { enabled: true } },
              { type: 'search_result', source: 'https://example.com', title: 'Example', content: [{ type: 'text', text: 'snippet' }] },
              { type: 'document', source: { type: 'content', content: [{ type: 'text', text: 'inline doc' }] } },
              { type: 'text', text: 'Summarise.' },
            ],
          },
          { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_s', name: 'Screenshot', input: '{"full": true}' }] },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_s', content: [{ type: 'text', text: 'captured' }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'x' } }] }] },
        ],
      }),
    );
    assert.deepEqual(chat.messages, [
      { role: 'user', content: 'facts.txt\nThe sky is blue.\nExample (https://example.com)\nsnippet\ninline doc\nSummarise.' },
      { role: 'assistant', content: '', tool_calls: [{ id: 'toolu_s', type: 'function', function: { name: 'Screenshot', arguments: { full: true } } }] },
      { role: 'tool', tool_call_id: 'toolu_s', content: `captured\n${IMAGE_PLACEHOLDER}` },
    ]);
  });

  test('several thinking blocks join; redacted ones vanish; an empty system list adds nothing', () => {
    const { chat } = toChatRequest(
      parse({
        system: [],
        messages: [
          { role: 'user', content: 'q' },
          {
            role: 'assistant',
            content: [
              { type: 'thinking', thinking: 'first', signature: 'x' },
              { type: 'tool_use', id: 'a', name: 'f', input: {} },
              { type: 'redacted_thinking', data: 'zzz' },
              { type: 'thinking', thinking: 'second' },
              { type: 'tool_use', id: 'b', name: 'f', input: { n: 1 } },
            ],
          },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'zzz-unknown', content: 'orphan' }, { type: 'tool_result', tool_use_id: 'b' }, { type: 'tool_result', tool_use_id: 'a', content: 'A' }] },
          { role: 'user', content: 'another user turn' },
        ],
      }),
    );
    const [, assistant, ...rest] = chat.messages;
    assert.equal(assistant!.reasoning_content, 'first\n\nsecond');
    assert.deepEqual(rest, [
      { role: 'tool', tool_call_id: 'a', content: 'A' },
      { role: 'tool', tool_call_id: 'b', content: '' },
      { role: 'tool', tool_call_id: 'zzz-unknown', content: 'orphan' },
      { role: 'user', content: 'another user turn' },
    ]);
  });

  test('stop sequences lose empty strings; tool_choice none keeps the tools', () => {
    const { chat } = toChatRequest(
      parse({
        messages: [{ role: 'user', content: 'x' }],
        stop_sequences: ['', 'END'],
        tools: [{ name: 'f', input_schema: { type: 'object' } }],
        tool_choice: { type: 'none' },
      }),
    );
    assert.deepEqual(chat.stop, ['END']);
    assert.equal(chat.tools?.length, 1);
    assert.equal(chat.toolChoice, 'none');
  });
});

describe('through the real chat template', () => {
  const body = parse({
    system: 'You are terse.',
    tools: [{ name: 'get_weather', description: 'Weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }],
    thinking: { type: 'enabled', budget_tokens: 2048 },
    messages: [
      { role: 'user', content: 'Weather in Paris and Rome?' },
      {
        role: 'assistant',
        content: [
          { type: 'thinking', thinking: 'Two cities, two calls.', signature: 'anything' },
          { type: 'text', text: 'Checking both.' },
          { type: 'tool_use', id: 'toolu_P', name: 'get_weather', input: { city: 'Paris' } },
          { type: 'tool_use', id: 'toolu_R', name: 'get_weather', input: { city: 'Rome' } },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'toolu_R', content: 'Rome: 25C' },
          { type: 'tool_result', tool_use_id: 'toolu_P', content: [{ type: 'text', text: 'Paris: 18C' }] },
        ],
      },
    ],
  });

  test('tool calls and results render in order, and the reasoning is kept after the last user query', () => {
    const { chat } = toChatRequest(body);
    const prompt = renderChat(chat.messages, { tools: chat.tools ?? null, addGenerationPrompt: true });
    assert.ok(prompt.startsWith('<|im_start|>system\nYou are terse.\n\n# Tools'));
    assert.ok(prompt.includes('"name": "get_weather"'));
    assert.ok(
      prompt.includes(
        '<|im_start|>assistant\n<think>\nTwo cities, two calls.\n</think>\nChecking both.' +
          '<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n</function>\n</tool_call>' +
          '<tool_call>\n<function=get_weather>\n<parameter=city>\nRome\n</parameter>\n</function>\n</tool_call><|im_end|>\n',
      ),
      prompt,
    );
    assert.ok(prompt.includes('<|im_start|>tool_response\n<tool_response>Paris: 18C</tool_response><tool_response>Rome: 25C</tool_response><|im_end|>\n'));
    assert.ok(prompt.endsWith('<|im_start|>assistant\n<think>\n'));
    assert.equal(chat.reasoningBudget, 2048);
  });

  test('count_tokens maps the same conversation (max_tokens and sampling aside)', () => {
    const { max_tokens: _m, ...countBody } = body;
    const counted = toCountRequest(countBody);
    const { chat } = toChatRequest(body);
    assert.deepEqual(counted, { messages: chat.messages, tools: chat.tools });
  });
});
