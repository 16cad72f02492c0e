// Serves an MCP server over Streamable HTTP on node:http, one session per client (the `Mcp-Session-Id`
// header): POST carries requests, GET opens the stream for server notifications, DELETE ends a session.
// Used by the edge executor (an agent offered as MCP tools) and by tests. Binds to loopback by default
// and checks the Host header (DNS-rebinding protection), since such a server runs tools on this machine.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';

export interface McpHttpHandle {
  readonly url: string;
  readonly port: number;
  /** Live sessions (one per connected client). */
  sessions(): number;
  close(): Promise<void>;
}

export interface McpHttpOptions {
  readonly host?: string;
  readonly port?: number;
  /** The path the endpoint answers on (default /mcp). */
  readonly path?: string;
}

function jsonError(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message }, id: null }));
}

/** `makeServer` builds a fresh MCP server for each session (an MCP server object serves one transport). */
export async function serveMcpHttp(makeServer: () => Server | McpServer, options: McpHttpOptions = {}): Promise<McpHttpHandle> {
  const host = options.host ?? '127.0.0.1';
  const path = options.path ?? '/mcp';
  const sessions = new Map<string, { transport: StreamableHTTPServerTransport; server: Server | McpServer }>();
  let port = 0;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname !== path) return jsonError(res, 404, `not found; the MCP endpoint is ${path}`);
    const id = req.headers['mcp-session-id'];
    const sessionId = Array.isArray(id) ? id[0] : id;
    if (sessionId) {
      const s = sessions.get(sessionId);
      if (!s) return jsonError(res, 404, 'unknown session');
      return s.transport.handleRequest(req, res);
    }
    if (req.method !== 'POST') return jsonError(res, 400, 'a request without a session must be an initialize POST');
    const server = makeServer();
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (sid) => {
        sessions.set(sid, { transport, server });
      },
      enableDnsRebindingProtection: true,
      allowedHosts: [`${host}:${port}`, `localhost:${port}`, `127.0.0.1:${port}`],
    });
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(transport.sessionId);
    };
    await server.connect(transport);
    await transport.handleRequest(req, res);
  };

  const http: HttpServer = createServer((req, res) => {
    handle(req, res).catch((e: Error) => {
      if (!res.headersSent) jsonError(res, 500, e.message);
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port ?? 0, host, () => resolve());
  });
  port = (http.address() as AddressInfo).port;
  return {
    url: `http://${host}:${port}${path}`,
    port,
    sessions: () => sessions.size,
    async close() {
      for (const s of sessions.values()) await s.server.close().catch(() => undefined);
      sessions.clear();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
