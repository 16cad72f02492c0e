// Turning the text of `<parameter=KEY>VALUE</parameter>` into a JSON value. The format carries no types
// (the template prints strings verbatim, other scalars with Python's str(), containers as JSON), so the
// tool's JSON schema decides, as in the vLLM and SGLang step3p5 parsers. A value that does not fit its
// declared type is kept as the model's text, with a warning, rather than guessed at or dropped.
import type { ToolDefinition } from './messages.js';
import { parsePythonLiteral } from './python-literal.js';
import { isMapping } from './python-json.js';

type JsonType = 'string' | 'integer' | 'number' | 'boolean' | 'object' | 'array' | 'null';

// Schemas written for other stacks use Python or SQL spellings; vLLM accepts the same aliases.
function normaliseType(t: string): JsonType | undefined {
  const s = t.trim().toLowerCase();
  if (['string', 'str', 'text', 'varchar', 'char', 'enum'].includes(s)) return 'string';
  if (/^(int|uint|long|short|unsigned)/.test(s)) return 'integer';
  if (/^(num|float|double|decimal)/.test(s)) return 'number';
  if (['boolean', 'bool', 'binary'].includes(s)) return 'boolean';
  if (s === 'object' || s.startsWith('dict') || s === 'map') return 'object';
  if (s === 'array' || s === 'arr' || s.startsWith('list') || s === 'tuple') return 'array';
  if (s === 'null' || s === 'none') return 'null';
  return undefined;
}

function valueType(v: unknown): JsonType {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  if (typeof v === 'boolean') return 'boolean';
  if (typeof v === 'string') return 'string';
  return 'object';
}

/** The JSON types a schema admits (empty when it does not say): `type`, `anyOf`/`oneOf`/`allOf`, `enum`, `const`. */
export function schemaTypes(schema: unknown, out = new Set<JsonType>(), depth = 0): Set<JsonType> {
  if (!isMapping(schema) || depth > 8) return out;
  const before = out.size;
  const types = Array.isArray(schema.type) ? schema.type : [schema.type];
  for (const t of types) if (typeof t === 'string') {
    const n = normaliseType(t);
    if (n) out.add(n);
  }
  for (const key of ['anyOf', 'oneOf', 'allOf'] as const) {
    const subs = schema[key];
    if (Array.isArray(subs)) for (const s of subs) schemaTypes(s, out, depth + 1);
  }
  if (out.size === before) {
    if (Array.isArray(schema.enum)) for (const v of schema.enum) out.add(valueType(v));
    else if ('const' in schema) out.add(valueType(schema.const));
  }
  return out;
}

const INTEGER = /^[+-]?\d+$/;
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** JSON.parse, or undefined when the text is not JSON or holds a number JSON cannot write back (1e999). */
function parseJson(text: string): unknown {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  return finite(v) ? v : undefined;
}

function finite(v: unknown): boolean {
  if (typeof v === 'number') return Number.isFinite(v);
  if (v !== null && typeof v === 'object') return Object.values(v).every(finite);
  return true;
}

function parseContainer(text: string): unknown {
  let v = parseJson(text);
  if (v === null || typeof v !== 'object') v = parsePythonLiteral(text);
  return v !== null && typeof v === 'object' ? v : undefined;
}

export interface Coerced {
  value: unknown;
  /** Set when the text fits none of the declared types; `value` is then the text itself. */
  mismatch?: string;
}

/** Converts one parameter's text by its property schema (the text has its framing newlines stripped already). */
export function coerceParameter(text: string, propertySchema: unknown): Coerced {
  const types = schemaTypes(propertySchema);
  const t = text.trim();
  if (types.size === 0) {
    // An untyped property: take the text as JSON or a Python literal when it is one, else as a string.
    let v = parseJson(t);
    if (v === undefined) v = parsePythonLiteral(t);
    return { value: v === undefined ? text : v };
  }
  if (types.size === 1 && types.has('string')) return { value: text };
  if ((t === 'null' || t === 'None') && (types.has('null') || !types.has('string'))) return { value: null };
  if (types.has('boolean') && /^(true|false|1|0)$/i.test(t)) return { value: /^(true|1)$/i.test(t) };
  if (types.has('integer') || types.has('number')) {
    // An integer property given `3.0` or `2.5` keeps the number: vLLM falls back to float the same way.
    if (INTEGER.test(t) || NUMBER.test(t)) {
      const n = Number(t);
      if (Number.isFinite(n)) return { value: n };
    }
  }
  if (types.has('object') || types.has('array')) {
    const v = parseContainer(t);
    if (v !== undefined) return { value: v };
  }
  if (types.has('string')) return { value: text };
  return { value: text, mismatch: [...types].join(' or ') };
}

/**
 * Builds a call's `arguments` from its parameters in the order the model wrote them. With `tool`
 * undefined (no tools were declared) every value stays a string; a parameter the tool's schema does not
 * declare stays a string with a warning. A repeated parameter keeps its last value.
 */
export function buildArguments(
  name: string,
  params: readonly (readonly [string, string])[],
  tool: ToolDefinition | undefined,
  warnings: string[],
): Record<string, unknown> {
  const args: Record<string, unknown> = {};
  const props = tool?.function.parameters?.properties;
  for (const [key, text] of params) {
    let value: unknown = text;
    if (tool) {
      if (isMapping(props) && Object.prototype.hasOwnProperty.call(props, key)) {
        const c = coerceParameter(text, props[key]);
        value = c.value;
        if (c.mismatch)
          warnings.push(`tool ${JSON.stringify(name)}: parameter ${JSON.stringify(key)} is not a valid ${c.mismatch}; kept as a string`);
      } else {
        warnings.push(`tool ${JSON.stringify(name)}: parameter ${JSON.stringify(key)} is not declared in its schema; kept as a string`);
      }
    }
    if (Object.prototype.hasOwnProperty.call(args, key))
      warnings.push(`tool ${JSON.stringify(name)}: parameter ${JSON.stringify(key)} given twice; the last value wins`);
    Object.defineProperty(args, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return args;
}
