// Request validation failures as OpenAI reports them: 400 invalid_request_error with `param` naming the
// offending field in the client's own notation (`messages[2].content`), and a message that says what was
// expected. Clients log the message; agents show it to the user; nobody should need to guess.
import type { z } from 'zod';
import { HttpError } from '../../http/errors.js';

/** `['messages', 2, 'content']` -> `messages[2].content`. */
export function paramPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += (out === '' ? '' : '.') + String(p);
  }
  return out;
}

/** A 400 for one request field. */
export function invalidParam(param: string, message: string): HttpError {
  return new HttpError('invalid_request', `Invalid value for '${param}': ${message}`, param);
}

/** Parses `body` with `schema`, or throws a 400 naming the first offending field. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError('invalid_request', 'request body must be a JSON object');
  }
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const param = paramPath(issue.path);
  if (issue.code === 'invalid_type' && issue.message.endsWith('received undefined') && param !== '') {
    throw new HttpError('invalid_request', `Missing required parameter: '${param}'`, param);
  }
  if (param === '') throw new HttpError('invalid_request', `Invalid request: ${issue.message}`);
  throw invalidParam(param, issue.message);
}
