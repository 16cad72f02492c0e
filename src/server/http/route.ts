// The contract between the HTTP app and the API modules (OpenAI, Anthropic, web chat): each module
// exports a list of routes; the app matches them, checks the API key, reads and parses JSON bodies with a
// size limit, and reports errors before a response starts in the route's own API shape.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ChatService } from '../chat-service.js';

export type ErrorShape = 'openai' | 'anthropic' | 'plain';

export interface RouteContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly url: URL;
  /** The parsed JSON body (POST routes), already size-checked and valid UTF-8 JSON. */
  readonly body: unknown;
  /** Returned to clients (Anthropic: request-id header and request_id in errors). */
  readonly requestId: string;
  readonly service: ChatService;
  /** Aborted when the client disconnects: pass it on so generation stops and the slot is freed. */
  readonly signal: AbortSignal;
}

export interface Route {
  readonly method: 'GET' | 'POST';
  /** Matched against the URL pathname (query strings such as `?beta=true` are ignored). */
  readonly path: string | RegExp;
  /** The error shape for failures before the response starts (bad JSON, auth, body too large). */
  readonly errors: ErrorShape;
  /** Routes that need no API key (the web chat's static assets, /health). */
  readonly public?: boolean;
  handler(ctx: RouteContext): Promise<void> | void;
}
