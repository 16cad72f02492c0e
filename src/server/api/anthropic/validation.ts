// Turns a zod failure into one 400 message that names the field, e.g.
// `messages[2].content[0].text: expected string, received number`. Zod reports a failed union as
// "Invalid input" with every branch's issues; the useful one is the branch that got furthest into the
// value (a content array whose third block is wrong says more than "expected string").
import type { z } from 'zod';
import { HttpError } from '../../http/errors.js';

type Issue = z.core.$ZodIssue;

export function parseRequest<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new HttpError('invalid_request', 'request body must be a JSON object');
  }
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  throw new HttpError('invalid_request', describeIssue(r.error.issues[0]!, []));
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out;
}

/** The deepest issue under a union (by full path length), with its path made absolute. */
function deepest(issue: Issue, prefix: readonly PropertyKey[]): { issue: Issue; path: PropertyKey[] } {
  const path = [...prefix, ...issue.path];
  if (issue.code !== 'invalid_union' || issue.errors.length === 0) return { issue, path };
  let best: { issue: Issue; path: PropertyKey[] } | undefined;
  for (const branch of issue.errors) {
    if (branch.length === 0) continue;
    const d = deepest(branch[0]!, path);
    if (!best || d.path.length > best.path.length) best = d;
  }
  // No branch got past the union itself: the union's own message (or the list of accepted types) is better.
  return best && best.path.length > path.length ? best : { issue, path };
}

function describeIssue(issue: Issue, prefix: readonly PropertyKey[]): string {
  const { issue: leaf, path } = deepest(issue, prefix);
  const where = formatPath(path) || 'request body';
  let message = leaf.message.replace(/^Invalid input: /, '');
  // Every branch of a union failed at the union itself, and the union has no message of its own: list
  // what would have been accepted.
  if (leaf.code === 'invalid_union' && leaf.message === 'Invalid input') {
    const firsts = leaf.errors.map((b) => b[0]).filter((i): i is Issue => i !== undefined && i.code === 'invalid_type');
    const expected = firsts.map((i) => (i as { expected: string }).expected);
    const received = firsts.length > 0 ? /received (\w+)/.exec(firsts[0]!.message)?.[1] : undefined;
    if (expected.length > 0) message = `expected ${expected.join(' or ')}${received ? `, received ${received}` : ''}`;
  }
  return `${where}: ${message}`;
}
