// Starts the HTTP app with the OpenAI routes on an ephemeral port and hands back a real `openai` client.
import { strict as assert } from 'node:assert';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import type { ChatService } from '../../../src/server/chat-service.js';
import { createApp, type AppOptions } from '../../../src/server/http/app.js';
import { openaiRoutes, type OpenAIRouteOptions } from '../../../src/server/api/openai/index.js';

export interface TestServer {
  readonly url: string;
  readonly client: OpenAI;
  close(): Promise<void>;
}

export async function startServer(
  service: ChatService,
  opts: { routes?: OpenAIRouteOptions; app?: Partial<Omit<AppOptions, 'service' | 'routes'>>; apiKey?: string } = {},
): Promise<TestServer> {
  const server = createApp({ service, routes: openaiRoutes(opts.routes), ...opts.app });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: opts.apiKey ?? 'test-key', maxRetries: 0, timeout: 20_000 });
  return {
    url,
    client,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Reads an SSE response body into its `data:` payloads (raw strings) and comments. */
export async function readSse(res: Response): Promise<{ data: string[]; comments: string[] }> {
  const text = await res.text();
  const data: string[] = [];
  const comments: string[] = [];
  for (const block of text.split('\n\n')) {
    if (block === '') continue;
    for (const line of block.split('\n')) {
      if (line.startsWith('data: ')) data.push(line.slice(6));
      else if (line.startsWith(':')) comments.push(line.slice(1).trim());
    }
  }
  return { data, comments };
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer test-key', ...headers }, body: JSON.stringify(body) });
}

/**
 * Checks a raw chat stream against OpenAI's grammar (stricter than the SDK, which tolerates much) and
 * returns what it assembles: one id/model throughout, the role first, exactly one chunk with a
 * finish_reason, after it at most the usage chunk, then [DONE]; every tool call opened by a delta with
 * index, id, type and name, its argument pieces concatenating to JSON.
 */
export function checkChatStream(data: readonly string[]): {
  content: string;
  reasoning: string;
  toolCalls: { id: string; name: string; arguments: string }[];
  finishReason: string;
  usage: Record<string, any> | undefined;
  final: Record<string, any>;
} {
  assert.equal(data.at(-1), '[DONE]', 'the stream ends with [DONE]');
  const chunks = data.slice(0, -1).map((d) => JSON.parse(d));
  assert.ok(chunks.length >= 2);
  for (const c of chunks) {
    assert.ok(!('error' in c), `error in stream: ${JSON.stringify(c)}`);
    assert.equal(c.object, 'chat.completion.chunk');
    assert.equal(c.id, chunks[0].id);
    assert.equal(c.model, chunks[0].model);
    assert.equal(c.created, chunks[0].created);
  }
  assert.equal(chunks[0].choices[0].delta.role, 'assistant');
  const finishAt = chunks.findIndex((c) => c.choices[0]?.finish_reason);
  assert.ok(finishAt > 0, 'a chunk carries finish_reason');
  const rest = chunks.slice(finishAt + 1);
  assert.ok(rest.length <= 1 && rest.every((c) => c.choices.length === 0 && c.usage), 'only the usage chunk follows the final chunk');
  let content = '';
  let reasoning = '';
  const calls: { id: string; name: string; arguments: string }[] = [];
  for (const c of chunks.slice(0, finishAt + 1)) {
    assert.equal(c.choices.length, 1);
    const d = c.choices[0].delta;
    content += d.content ?? '';
    reasoning += d.reasoning_content ?? '';
    for (const tc of d.tool_calls ?? []) {
      assert.equal(typeof tc.index, 'number');
      if (tc.id !== undefined) {
        assert.equal(tc.index, calls.length, 'tool calls open in index order');
        assert.equal(tc.type, 'function');
        calls.push({ id: tc.id, name: tc.function.name, arguments: tc.function.arguments });
      } else {
        assert.ok(calls[tc.index], 'argument pieces follow their header');
        calls[tc.index]!.arguments += tc.function.arguments;
      }
    }
  }
  for (const call of calls) assert.equal(typeof JSON.parse(call.arguments), 'object');
  const final = chunks[finishAt];
  assert.deepEqual(final.choices[0].delta, {});
  assert.ok(final.timings && typeof final.timings.predicted_n === 'number', 'the final chunk has timings');
  return { content, reasoning, toolCalls: calls, finishReason: final.choices[0].finish_reason, usage: rest[0]?.usage, final };
}

/** The calculator tool the trained nano model was taught, as an OpenAI tool definition. */
export const calculatorTool = {
  type: 'function' as const,
  function: {
    name: 'calculator',
    description: 'Evaluate an arithmetic expression',
    parameters: { type: 'object', properties: { expression: { type: 'string' } }, required: ['expression'] },
  },
};
