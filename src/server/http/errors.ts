// Errors in each API's own shape. A route (or the app, before a route runs) throws HttpError with a
// protocol-neutral kind; the kind maps to the status code and error type that the route's clients expect
// (the OpenAI and Anthropic SDKs decide what to retry, and Claude Code what to compact, from these).
import type { ServerResponse } from 'node:http';
import { ChatError } from '../chat-service.js';
import type { ErrorShape } from './route.js';

export type ErrorKind =
  | 'invalid_request'
  | 'authentication'
  | 'permission'
  | 'not_found'
  | 'method_not_allowed'
  | 'too_large'
  | 'context_length'
  | 'overloaded'
  | 'internal';

export class HttpError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    /** OpenAI's `param` (the offending request field), when known. */
    readonly param?: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

interface Mapping {
  readonly status: number;
  readonly type: string;
  readonly code?: string;
}

const OPENAI: Record<ErrorKind, Mapping> = {
  invalid_request: { status: 400, type: 'invalid_request_error' },
  authentication: { status: 401, type: 'invalid_request_error', code: 'invalid_api_key' },
  permission: { status: 403, type: 'invalid_request_error' },
  not_found: { status: 404, type: 'invalid_request_error', code: 'not_found' },
  method_not_allowed: { status: 405, type: 'invalid_request_error' },
  too_large: { status: 413, type: 'invalid_request_error', code: 'request_too_large' },
  context_length: { status: 400, type: 'invalid_request_error', code: 'context_length_exceeded' },
  overloaded: { status: 429, type: 'rate_limit_error', code: 'rate_limit_exceeded' },
  internal: { status: 500, type: 'server_error' },
};

const ANTHROPIC: Record<ErrorKind, Mapping> = {
  invalid_request: { status: 400, type: 'invalid_request_error' },
  authentication: { status: 401, type: 'authentication_error' },
  permission: { status: 403, type: 'permission_error' },
  not_found: { status: 404, type: 'not_found_error' },
  method_not_allowed: { status: 405, type: 'invalid_request_error' },
  too_large: { status: 413, type: 'request_too_large' },
  context_length: { status: 400, type: 'invalid_request_error' },
  overloaded: { status: 529, type: 'overloaded_error' },
  internal: { status: 500, type: 'api_error' },
};

/** Converts anything thrown by a route into an HttpError (a ChatError keeps its kind). */
export function toHttpError(e: unknown): HttpError {
  if (e instanceof HttpError) return e;
  if (e instanceof ChatError) return new HttpError(e.kind, e.message);
  return new HttpError('internal', e instanceof Error ? e.message : String(e));
}

/** The status code and JSON body for an error in the given shape. */
export function errorBody(shape: ErrorShape, err: HttpError, requestId: string): { status: number; body: unknown } {
  if (shape === 'anthropic') {
    const m = ANTHROPIC[err.kind];
    return { status: m.status, body: { type: 'error', error: { type: m.type, message: err.message }, request_id: requestId } };
  }
  const m = OPENAI[err.kind];
  if (shape === 'openai') {
    return { status: m.status, body: { error: { message: err.message, type: m.type, param: err.param ?? null, code: m.code ?? null } } };
  }
  return { status: m.status, body: { error: err.message } };
}

/**
 * The error event sent after a stream has started (headers already out): OpenAI clients read a `data:`
 * line with an `error` key, Anthropic clients an `event: error`.
 */
export function streamErrorPayload(shape: ErrorShape, err: HttpError, requestId: string): unknown {
  return errorBody(shape, err, requestId).body;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

export function sendError(res: ServerResponse, shape: ErrorShape, err: HttpError, requestId: string): void {
  const { status, body } = errorBody(shape, err, requestId);
  const headers: Record<string, string> = {};
  if (err.kind === 'overloaded') headers['retry-after'] = '1';
  if (err.kind === 'method_not_allowed') headers['allow'] = 'GET, POST';
  sendJson(res, status, body, headers);
}
