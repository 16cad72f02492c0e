// A small JSON Schema checker for tool arguments and final answers: the keywords tool schemas use
// (type, enum, const, required, properties, additionalProperties, items, length and range bounds,
// pattern, anyOf/oneOf/allOf). Unknown keywords are ignored rather than failing a valid answer.
import type { JsonSchema } from '../tool.js';

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function matchesType(v: unknown, t: string): boolean {
  const actual = typeOf(v);
  return actual === t || (t === 'number' && actual === 'integer');
}

/** Problems found, each "path: what is wrong"; empty when the value satisfies the schema. */
export function validate(value: unknown, schema: JsonSchema, path = '$', out: string[] = []): string[] {
  if (out.length >= 20) return out;
  const s = schema as Record<string, unknown>;
  if (s.type !== undefined) {
    const types = Array.isArray(s.type) ? (s.type as string[]) : [s.type as string];
    if (!types.some((t) => matchesType(value, t))) {
      out.push(`${path}: expected ${types.join(' or ')}, got ${typeOf(value)}`);
      return out;
    }
  }
  if (Array.isArray(s.enum) && !s.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) out.push(`${path}: must be one of ${JSON.stringify(s.enum)}`);
  if ('const' in s && JSON.stringify(s.const) !== JSON.stringify(value)) out.push(`${path}: must be ${JSON.stringify(s.const)}`);
  if (typeof value === 'string') {
    if (typeof s.minLength === 'number' && value.length < s.minLength) out.push(`${path}: shorter than ${s.minLength} characters`);
    if (typeof s.maxLength === 'number' && value.length > s.maxLength) out.push(`${path}: longer than ${s.maxLength} characters`);
    if (typeof s.pattern === 'string') {
      try {
        if (!new RegExp(s.pattern, 'u').test(value)) out.push(`${path}: does not match /${s.pattern}/`);
      } catch {
        // a pattern JavaScript cannot compile is not the answer's fault
      }
    }
  }
  if (typeof value === 'number') {
    if (typeof s.minimum === 'number' && value < s.minimum) out.push(`${path}: less than ${s.minimum}`);
    if (typeof s.maximum === 'number' && value > s.maximum) out.push(`${path}: greater than ${s.maximum}`);
  }
  if (Array.isArray(value)) {
    if (typeof s.minItems === 'number' && value.length < s.minItems) out.push(`${path}: fewer than ${s.minItems} items`);
    if (typeof s.maxItems === 'number' && value.length > s.maxItems) out.push(`${path}: more than ${s.maxItems} items`);
    if (s.items && typeof s.items === 'object') value.forEach((v, i) => validate(v, s.items as JsonSchema, `${path}[${i}]`, out));
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const obj = value as Record<string, unknown>;
    const props = (s.properties ?? {}) as Record<string, JsonSchema>;
    for (const r of (s.required as string[] | undefined) ?? []) if (!(r in obj)) out.push(`${path}: missing required property "${r}"`);
    for (const [k, v] of Object.entries(obj)) {
      if (props[k]) validate(v, props[k]!, `${path}.${k}`, out);
      else if (s.additionalProperties === false) out.push(`${path}: unexpected property "${k}"`);
      else if (s.additionalProperties && typeof s.additionalProperties === 'object') validate(v, s.additionalProperties as JsonSchema, `${path}.${k}`, out);
    }
  }
  if (Array.isArray(s.allOf)) for (const sub of s.allOf as JsonSchema[]) validate(value, sub, path, out);
  for (const key of ['anyOf', 'oneOf'] as const) {
    const subs = s[key] as JsonSchema[] | undefined;
    if (Array.isArray(subs) && !subs.some((sub) => validate(value, sub, path).length === 0)) out.push(`${path}: matches none of the ${key} alternatives`);
  }
  return out;
}

/**
 * The JSON value in a model's final answer: the whole text, else a ```json fence, else the outermost
 * {...} or [...] span. Throws with a reason when there is none.
 */
export function extractJson(text: string): unknown {
  const t = text.trim();
  const tries: string[] = [t];
  const fence = /```(?:json)?\s*\n([\s\S]*?)```/.exec(t);
  if (fence) tries.push(fence[1]!.trim());
  for (const [open, close] of [['{', '}'], ['[', ']']] as const) {
    const a = t.indexOf(open);
    const b = t.lastIndexOf(close);
    if (a >= 0 && b > a) tries.push(t.slice(a, b + 1));
  }
  let last: Error | undefined;
  for (const s of tries) {
    try {
      return JSON.parse(s);
    } catch (e) {
      last = e as Error;
    }
  }
  throw new Error(`the answer is not JSON (${last?.message ?? 'empty'})`);
}
