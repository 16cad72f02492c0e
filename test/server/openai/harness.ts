// Starts the HTTP app with the OpenAI routes on an ephemeral port and hands back a real `openai` client.
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
