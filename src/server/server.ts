// The whole server: every API's routes on one HTTP app over one ChatService. `stepflash serve` and the
// end-to-end tests start it the same way, so what the tests check is what users run.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { anthropicRoutes, type AnthropicRoutesOptions } from './api/anthropic/index.js';
import { openaiRoutes, type OpenAIRouteOptions } from './api/openai/index.js';
import { tokenizeRoutes } from './api/tokenize.js';
import type { ChatService } from './chat-service.js';
import { engineRoutes } from './engine/routes.js';
import { createApp } from './http/app.js';
import type { Route } from './http/route.js';
import { webRoutes } from './web/index.js';

export interface ServerOptions {
  readonly service: ChatService;
  /** Default 127.0.0.1: a local model server is not exposed to the network unless asked. */
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port?: number;
  readonly apiKey?: string;
  readonly bodyLimitBytes?: number;
  readonly openai?: OpenAIRouteOptions;
  readonly anthropic?: AnthropicRoutesOptions;
  /** Serve the web chat at `/` (default true). */
  readonly webChat?: boolean;
  readonly log?: (line: string) => void;
}

export interface RunningServer {
  readonly server: Server;
  /** http://host:port, with the port actually bound. */
  readonly url: string;
  /** Stops accepting connections, ends open ones, and closes the service. */
  close(): Promise<void>;
}

export function serverRoutes(opts: Pick<ServerOptions, 'openai' | 'anthropic' | 'webChat'> = {}): Route[] {
  return [
    ...openaiRoutes(opts.openai),
    ...anthropicRoutes(opts.anthropic),
    ...engineRoutes(),
    ...tokenizeRoutes(),
    ...(opts.webChat === false ? [] : webRoutes()),
  ];
}

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const server = createApp({
    service: opts.service,
    routes: serverRoutes(opts),
    apiKey: opts.apiKey,
    bodyLimitBytes: opts.bodyLimitBytes,
    log: opts.log,
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 8080, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const shownHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  let closing: Promise<void> | null = null;
  return {
    server,
    url: `http://${shownHost}:${port}`,
    close: () =>
      (closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await closed;
        await opts.service.close();
      })()),
  };
}
