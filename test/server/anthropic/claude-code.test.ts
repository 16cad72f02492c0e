// Requests shaped like Claude Code's (2.1.332 capture, serving-and-agents.md §1.2): POST
// /v1/messages?beta=true with its beta headers, system blocks with cache_control, tools with $schema and a
// deferred one, adaptive thinking, context_management, output_config, a metadata user_id, a
// mid-conversation system message; then the tool-use turn that echoes a foreign signature back.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ScriptedChatService, type ScriptedReply } from '../../helpers/scripted-service.js';
import type { ChatRequest } from '../../../src/server/chat-service.js';
import { checkStream, rawStream, startServer, type TestServer } from './helpers.js';

let reply: ScriptedReply = {};
const service = new ScriptedChatService(() => reply);
let server: TestServer;
const lastRequest = (): ChatRequest => service.requests[service.requests.length - 1]!;

before(async () => {
  server = await startServer(service, { apiKey: 'cc-token' });
});
after(() => server.close());

const HEADERS = {
  authorization: 'Bearer cc-token',
  'anthropic-version': '2023-06-01',
  'anthropic-beta':
    'claude-code-20250219,interleaved-thinking-2025-05-14,context-management-2025-06-27,mid-conversation-tool-changes-2026-07-01,thinking-token-count-2026-05-13,advanced-tool-use-2025-11-20,effort-2025-11-24,thinking-display-updates-2026-08-18',
  'x-claude-code-session-id': '2b0c4a8e-0000-4000-8000-000000000000',
  'x-app': 'cli',
  'user-agent': 'claude-cli/2.1.332 (external, sdk-cli)',
  'x-stainless-timeout': '600',
};

const bashSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  properties: { command: { type: 'string', description: 'The command to execute' }, timeout: { type: 'number' } },
  required: ['command'],
  additionalProperties: false,
};

const TOOLS = [
  { name: 'Bash', description: 'Executes a given bash command', input_schema: bashSchema },
  {
    name: 'Read',
    description: 'Reads a file',
    input_schema: { $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'object', properties: { file_path: { type: 'string' } }, required: ['file_path'], additionalProperties: false },
    cache_control: { type: 'ephemeral' },
  },
  { name: 'NotebookEdit', description: 'Edits a notebook', input_schema: { type: 'object', properties: {} }, defer_loading: true },
  { name: 'ToolSearch', description: 'Finds deferred tools', input_schema: { type: 'object', properties: { query: { type: 'string' } } } },
];

function claudeCodeBody(messages: unknown[]): Record<string, unknown> {
  return {
    model: 'claude-sonnet-4-5-20250929',
    messages,
    system: [
      { type: 'text', text: "You are Claude Code, Anthropic's official CLI for Claude.", cache_control: { type: 'ephemeral' } },
      { type: 'text', text: 'You are an interactive CLI tool that helps users with software engineering tasks.', cache_control: { type: 'ephemeral' } },
    ],
    tools: TOOLS,
    metadata: { user_id: JSON.stringify({ device_id: 'abc', session_id: 'def' }) },
    max_tokens: 32000,
    thinking: { type: 'adaptive', display: 'updates' },
    context_management: { edits: [{ type: 'clear_thinking_20251015', keep: 'all' }] },
    output_config: { effort: 'high' },
    stream: true,
  };
}

const turn1 = [
  { role: 'user', content: [{ type: 'text', text: '<system-reminder>\nAs you answer, use the context.\n</system-reminder>' }, { type: 'text', text: 'say hi', cache_control: { type: 'ephemeral' } }] },
  { role: 'system', content: 'Environment: cwd /tmp/project, platform linux' },
];

test('turn 1: the whole Claude Code request is accepted and streamed as Claude Code expects', async () => {
  reply = { reasoning: ['The user wants a greeting.'], content: ['hi'], promptTokens: 3000 };
  const res = await fetch(`${server.url}/v1/messages?beta=true`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...HEADERS },
    body: JSON.stringify(claudeCodeBody(turn1)),
  });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('request-id') ?? '', /^req_/);
  const { events } = await rawStream(server.url, claudeCodeBody(turn1), { ...HEADERS, 'x-api-key': 'ignored-when-bearer-is-right' });
  const msg = checkStream(events);
  assert.deepEqual(msg.content.map((b: any) => b.type), ['thinking', 'text']);
  assert.equal(msg.usage.input_tokens, 3000);
  assert.equal(msg.stop_reason, 'end_turn');
  const { notes } = msg.stepflash;
  assert.match(notes[0], /max_tokens 32000 was reduced to 1096/);

  const req = lastRequest();
  assert.equal(req.reasoningBudget, undefined, 'adaptive thinking is unbounded');
  assert.deepEqual(req.messages, [
    { role: 'system', content: "You are Claude Code, Anthropic's official CLI for Claude.\nYou are an interactive CLI tool that helps users with software engineering tasks." },
    { role: 'user', content: '<system-reminder>\nAs you answer, use the context.\n</system-reminder>\nsay hi' },
    { role: 'system', content: 'Environment: cwd /tmp/project, platform linux' },
  ]);
  const names = req.tools!.map((t) => t.function.name);
  assert.deepEqual(names, ['Bash', 'Read', 'ToolSearch'], 'the deferred tool stays out until referenced');
  const { $schema: _dropped, ...withoutSchema } = bashSchema;
  assert.deepEqual(req.tools![0]!.function.parameters, withoutSchema);
  assert.deepEqual(Object.keys(req.tools![0]!.function.parameters!), ['type', 'properties', 'required', 'additionalProperties'], "the client's key order");
});

test('turn 2: thinking with a foreign signature, tool_use, tool_result with cache_control; a tool_reference loads the deferred tool', async () => {
  reply = { reasoning: ['It printed hi.'], content: ['Done: hi'] };
  const messages = [
    ...turn1,
    {
      role: 'assistant',
      content: [
        { type: 'thinking', thinking: 'I will run echo.', signature: 'local-sig' },
        { type: 'tool_use', id: 'toolu_01ABC', name: 'Bash', input: { command: 'echo hi' } },
      ],
    },
    {
      role: 'user',
      content: [
        { type: 'tool_result', tool_use_id: 'toolu_01ABC', content: 'hi', is_error: false, cache_control: { type: 'ephemeral' } },
      ],
    },
    { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_02', name: 'ToolSearch', input: { query: 'notebook' } }] },
    {
      role: 'user',
      content: [{ type: 'tool_result', tool_use_id: 'toolu_02', content: [{ type: 'tool_reference', tool_name: 'NotebookEdit' }, { type: 'text', text: '<functions>...</functions>' }] }],
    },
  ];
  const { events } = await rawStream(server.url, claudeCodeBody(messages), HEADERS);
  const msg = checkStream(events);
  assert.deepEqual(msg.content.map((b: any) => b.type), ['thinking', 'text']);
  const req = lastRequest();
  assert.deepEqual(req.messages.slice(3), [
    { role: 'assistant', content: '', reasoning_content: 'I will run echo.', tool_calls: [{ id: 'toolu_01ABC', type: 'function', function: { name: 'Bash', arguments: { command: 'echo hi' } } }] },
    { role: 'tool', tool_call_id: 'toolu_01ABC', content: 'hi' },
    { role: 'assistant', content: '', tool_calls: [{ id: 'toolu_02', type: 'function', function: { name: 'ToolSearch', arguments: { query: 'notebook' } } }] },
    { role: 'tool', tool_call_id: 'toolu_02', content: 'Tool loaded: NotebookEdit\n<functions>...</functions>' },
  ]);
  assert.deepEqual(req.tools!.map((t) => t.function.name), ['Bash', 'Read', 'NotebookEdit', 'ToolSearch']);
});

test('server tools (web search) are ignored with a note; count_tokens takes the same body', async () => {
  reply = { content: ['ok'] };
  const body: Record<string, unknown> = { ...claudeCodeBody(turn1), stream: false, tools: [...TOOLS, { type: 'web_search_20250305', name: 'web_search', max_uses: 5 }] };
  const res = await fetch(`${server.url}/v1/messages?beta=true`, { method: 'POST', headers: { 'content-type': 'application/json', ...HEADERS }, body: JSON.stringify(body) });
  assert.equal(res.status, 200);
  const msg = await res.json();
  assert.ok(msg.stepflash.notes.includes('server tools are not available here and were ignored: web_search (web_search_20250305)'));
  assert.match(res.headers.get('x-stepflash-note') ?? '', /web_search/);

  const { max_tokens: _m, stream: _s, ...countBody } = body;
  const counted = await fetch(`${server.url}/v1/messages/count_tokens?beta=true`, { method: 'POST', headers: { 'content-type': 'application/json', ...HEADERS }, body: JSON.stringify(countBody) });
  assert.equal(counted.status, 200);
  const { input_tokens } = await counted.json();
  assert.ok(Number.isInteger(input_tokens) && input_tokens > 0);
});

test('the same request through the SDK beta client (messages.stream + finalMessage)', async () => {
  reply = { reasoning: ['Plan: call Bash.'], toolCalls: [{ name: 'Bash', arguments: '{"command":"ls -la","timeout":1000}' }] };
  const { stream: _s, ...params } = claudeCodeBody(turn1);
  const msg = await server.client.beta.messages
    .stream({ ...(params as any), betas: ['claude-code-20250219', 'interleaved-thinking-2025-05-14'] }, { headers: { authorization: 'Bearer cc-token' } })
    .finalMessage();
  assert.equal(msg.stop_reason, 'tool_use');
  const use = msg.content.find((b) => b.type === 'tool_use');
  assert.ok(use && use.type === 'tool_use');
  assert.deepEqual(use.input, { command: 'ls -la', timeout: 1000 });
});
