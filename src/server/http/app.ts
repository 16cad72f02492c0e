// The HTTP app: matches a request to a route, checks the API key, reads the JSON body under a size limit
// (invalid UTF-8 and malformed JSON are 400s, never a crash), gives the route an AbortSignal tied to the
// client's connection, and turns anything a route throws before its response starts into an error in
// the route's API shape. No framework: node:http is all this needs, and streaming stays unbuffered.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { ChatService } from '../chat-service.js';
import { HttpError, sendError, toHttpError } from './errors.js';
import type { ErrorShape, Route } from './route.js';

export interface AppOptions {
  readonly service: ChatService;
  readonly routes: readonly Route[];
  /** When set, every non-public route needs `Authorization: Bearer KEY` or `x-api-key: KEY`. */
  readonly apiKey?: string;
  /** Largest request body accepted (bytes); Claude Code's requests carry whole conversations. */
  readonly bodyLimitBytes?: number;
  /** One line per finished request (method, path, status, milliseconds). */
  readonly log?: (line: string) => void;
}

export const DEFAULT_BODY_LIMIT = 32 * 1024 * 1024;

export function createApp(opts: AppOptions): Server {
  const server = createServer((req, res) => {
    void handle(opts, req, res);
  });
  // Streams can be long; Node's defaults would cut a slow generation or a long prefill.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  server.keepAliveTimeout = 5_000;
  return server;
}

/** The error shape for a URL no route claims, by its API prefix. */
function shapeForPath(pathname: string): ErrorShape {
  if (pathname.startsWith('/v1/messages')) return 'anthropic';
  if (pathname.startsWith('/v1/')) return 'openai';
  return 'plain';
}

function matches(route: Route, pathname: string): boolean {
  return typeof route.path === 'string' ? route.path === pathname : route.path.test(pathname);
}

export function newRequestId(): string {
  return `req_${randomBytes(12).toString('hex')}`;
}

async function handle(opts: AppOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const started = Date.now();
  const requestId = newRequestId();
  res.setHeader('request-id', requestId);
  res.setHeader('x-request-id', requestId);
  const url = new URL(req.url ?? '/', 'http://localhost');
  const candidates = opts.routes.filter((r) => matches(r, url.pathname));
  const route = candidates.find((r) => r.method === req.method);
  const shape = route?.errors ?? candidates[0]?.errors ?? shapeForPath(url.pathname);

  const controller = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) controller.abort(new Error('client disconnected'));
  });

  try {
    if (!route) {
      if (candidates.length > 0) throw new HttpError('method_not_allowed', `method ${req.method} is not allowed on ${url.pathname}`);
      throw new HttpError('not_found', `no route for ${req.method} ${url.pathname}`);
    }
    if (opts.apiKey !== undefined && !route.public && !authorized(req, opts.apiKey)) {
      throw new HttpError('authentication', 'invalid or missing API key: send it as "Authorization: Bearer <key>" or "x-api-key: <key>"');
    }
    const body = req.method === 'POST' ? await readJsonBody(req, opts.bodyLimitBytes ?? DEFAULT_BODY_LIMIT) : undefined;
    await route.handler({ req, res, url, body, requestId, service: opts.service, signal: controller.signal });
  } catch (e) {
    const err = toHttpError(e);
    if (!res.headersSent) sendError(res, shape, err, requestId);
    else if (!res.writableEnded) res.end();
    if (err.kind === 'internal') opts.log?.(`error ${requestId}: ${(e as Error).stack ?? err.message}`);
  } finally {
    if (!res.writableEnded && !res.headersSent) sendError(res, shape, new HttpError('internal', 'the route sent no response'), requestId);
    opts.log?.(`${req.method} ${url.pathname} ${res.statusCode} ${Date.now() - started}ms ${requestId}`);
  }
}

function authorized(req: IncomingMessage, key: string): boolean {
  const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
  const header = req.headers['x-api-key'];
  const given = bearer ?? (typeof header === 'string' ? header : undefined);
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(key);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Reads and parses a JSON body; every failure is a 400 or 413 that says what was wrong. */
export async function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    throw new HttpError('too_large', `request body is ${declared} bytes; the limit is ${limit} (start the server with a larger --body-limit)`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      req.resume();
      throw new HttpError('too_large', `request body exceeds the limit of ${limit} bytes (start the server with a larger --body-limit)`);
    }
    chunks.push(chunk);
  }
  if (size === 0) throw new HttpError('invalid_request', 'request body is empty; expected a JSON object');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks, size));
  } catch {
    throw new HttpError('invalid_request', 'request body is not valid UTF-8');
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new HttpError('invalid_request', `request body is not valid JSON: ${(e as Error).message}`);
  }
}
