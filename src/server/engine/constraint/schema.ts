// JSON Schema, compiled to what the constrained decoder enforces. The supported subset is what structured
// output APIs use: `type` (one or several), `properties`, `required`, `additionalProperties` (false, true
// or a schema), `enum`, `const`, `items`, `anyOf`/`oneOf`, `allOf` (merged), local `$ref` into `$defs` /
// `definitions` (recursion allowed), `nullable`, `minLength`/`maxLength`, `minItems`/`maxItems`,
// `minProperties`/`maxProperties`, `minimum`/`maximum`/`exclusiveMinimum`/`exclusiveMaximum`.
// Annotations (`title`, `description`, `default`, `examples`, `format`, `$schema`, ...) are ignored.
//
// Strict mode (response_format) refuses keywords it cannot enforce (`pattern`, `multipleOf`, `not`, ...)
// with a message, rather than returning output that silently ignores them; lenient mode (tool parameter
// schemas, written for many stacks) ignores them.
//
// One choice worth knowing: when a schema lists `properties` and says nothing about
// `additionalProperties`, no other keys are generated (valid either way, and what callers mean).
import { isMapping } from '../../../format/python-json.js';

export type JsonType = 'object' | 'array' | 'string' | 'number' | 'integer' | 'boolean' | 'null';
const ALL_TYPES: readonly JsonType[] = ['object', 'array', 'string', 'number', 'integer', 'boolean', 'null'];

export interface NumberBounds {
  readonly min: number;
  readonly minExclusive: boolean;
  readonly max: number;
  readonly maxExclusive: boolean;
}

export interface SchemaNode {
  /** The JSON types allowed ('number' admits integers too). */
  types: ReadonlySet<JsonType>;
  /** enum / const: the only values allowed, as JSON texts with the values they stand for. */
  literals: readonly { readonly json: string; readonly value: unknown }[] | null;
  /** anyOf / oneOf: the value matches one of these (this node's own keywords are merged into each). */
  anyOf: readonly SchemaNode[] | null;
  properties: ReadonlyMap<string, SchemaNode>;
  required: ReadonlySet<string>;
  /** Schema of keys not in `properties`; null: no other keys. */
  additional: SchemaNode | null;
  minProperties: number;
  maxProperties: number;
  items: SchemaNode | null;
  minItems: number;
  maxItems: number;
  minLength: number;
  maxLength: number;
  bounds: NumberBounds | null;
}

export class SchemaError extends Error {
  override name = 'SchemaError';
}

const UNSUPPORTED = [
  'pattern', 'patternProperties', 'multipleOf', 'not', 'if', 'then', 'else', 'uniqueItems', 'contains', 'minContains',
  'maxContains', 'prefixItems', 'dependentRequired', 'dependentSchemas', 'dependencies', 'propertyNames',
  'unevaluatedProperties', 'unevaluatedItems', '$dynamicRef', '$recursiveRef',
];

const MAX_SCHEMA_NODES = 10_000;

export class SchemaCompiler {
  private readonly cache = new Map<object, SchemaNode>();
  private nodes = 0;

  constructor(private readonly root: unknown, private readonly strict: boolean) {}

  compileRoot(): SchemaNode {
    return this.compile(this.root, '#', 0);
  }

  /** The "anything" schema. */
  static any(): SchemaNode {
    return ANY_NODE;
  }

  compile(schema: unknown, path: string, refDepth: number): SchemaNode {
    if (schema === true || schema === undefined) return ANY_NODE;
    if (schema === false) throw new SchemaError(`${path}: the schema \`false\` admits no value`);
    if (!isMapping(schema)) throw new SchemaError(`${path}: a schema must be an object or a boolean`);
    const cached = this.cache.get(schema);
    if (cached) return cached;
    if (typeof schema.$ref === 'string' && !hasConstraints(withoutKeys(schema, ['$ref']))) {
      // A plain reference is its target's node itself (not a copy), so recursive schemas close on themselves.
      if (refDepth > 64) throw new SchemaError(`${path}: $ref chain too deep`);
      const target = this.compile(this.resolveRef(schema.$ref, path), schema.$ref, refDepth + 1);
      this.cache.set(schema, target);
      return target;
    }
    if (++this.nodes > MAX_SCHEMA_NODES) throw new SchemaError(`the schema is too large (more than ${MAX_SCHEMA_NODES} subschemas)`);
    // The node exists before its parts are compiled, so a recursive $ref finds it.
    const node = anyNode();
    this.cache.set(schema, node);
    Object.assign(node, this.build(schema, path, refDepth));
    return node;
  }

  private build(schema: Record<string, unknown>, path: string, refDepth: number): SchemaNode {
    if (this.strict) for (const k of UNSUPPORTED) if (k in schema && !(k === 'uniqueItems' && schema[k] === false))
      throw new SchemaError(`${path}: "${k}" is not supported by constrained decoding`);

    // A reference with sibling keywords, and allOf: the parts merged into one schema.
    if (typeof schema.$ref === 'string') {
      if (refDepth > 64) throw new SchemaError(`${path}: $ref chain too deep`);
      return this.build(this.deref(schema, path), path, refDepth + 1);
    }
    if (Array.isArray(schema.allOf)) {
      if (refDepth > 64) throw new SchemaError(`${path}: allOf nested too deep`);
      const parts = schema.allOf.map((p, i) => this.deref(p, `${path}/allOf/${i}`));
      return this.build(mergeAll([...parts, withoutKeys(schema, ['allOf'])]), path, refDepth + 1);
    }

    const node = anyNode();
    // Types: `type` (string or array), widened by `nullable`; absent, guessed from the keywords present.
    let types: Set<JsonType> | null = null;
    if (schema.type !== undefined) {
      const list = Array.isArray(schema.type) ? schema.type : [schema.type];
      types = new Set();
      for (const t of list) {
        if (typeof t !== 'string' || !ALL_TYPES.includes(t as JsonType)) throw new SchemaError(`${path}: unknown type ${JSON.stringify(t)}`);
        types.add(t as JsonType);
      }
    } else if (schema.properties !== undefined || schema.additionalProperties !== undefined || schema.required !== undefined) {
      types = new Set(['object']);
    } else if (schema.items !== undefined) {
      types = new Set(['array']);
    }
    if (types && schema.nullable === true) types.add('null');
    if (types) node.types = types;

    const alternatives = Array.isArray(schema.anyOf) ? schema.anyOf : Array.isArray(schema.oneOf) ? schema.oneOf : null;
    if (alternatives) {
      if (alternatives.length === 0) throw new SchemaError(`${path}: anyOf must not be empty`);
      const rest = withoutKeys(schema, ['anyOf', 'oneOf']);
      node.anyOf = alternatives.map((alt, i) => {
        const p = `${path}/anyOf/${i}`;
        return hasConstraints(rest) ? this.compile(mergeAll([rest, this.deref(alt, p)]), p, refDepth + 1) : this.compile(alt, p, refDepth);
      });
      return node;
    }

    if ('const' in schema || schema.enum !== undefined) {
      const values = 'const' in schema ? [schema.const] : schema.enum;
      if (!Array.isArray(values) || values.length === 0) throw new SchemaError(`${path}: enum must be a non-empty array`);
      const lits = values.filter((v) => !types || types.has(typeOf(v)) || (typeOf(v) === 'integer' && types.has('number')));
      if (lits.length === 0) throw new SchemaError(`${path}: no enum value has the schema's type`);
      node.literals = lits.map((value) => ({ json: JSON.stringify(value), value }));
      return node;
    }

    // Objects.
    const props = new Map<string, SchemaNode>();
    if (schema.properties !== undefined) {
      if (!isMapping(schema.properties)) throw new SchemaError(`${path}: properties must be an object`);
      for (const [k, v] of Object.entries(schema.properties)) props.set(k, this.compile(v, `${path}/properties/${k}`, refDepth));
    }
    node.properties = props;
    if (schema.required !== undefined) {
      if (!Array.isArray(schema.required) || !schema.required.every((r) => typeof r === 'string'))
        throw new SchemaError(`${path}: required must be an array of strings`);
      for (const r of schema.required as string[]) {
        if (!props.has(r)) {
          if (schema.additionalProperties === false || (schema.additionalProperties === undefined && props.size > 0))
            throw new SchemaError(`${path}: required property ${JSON.stringify(r)} is not among the properties`);
          props.set(r, ANY_NODE);
        }
      }
      node.required = new Set(schema.required as string[]);
    }
    const ap = schema.additionalProperties;
    node.additional = ap === false ? null : ap === undefined ? (props.size > 0 ? null : ANY_NODE) : this.compile(ap, `${path}/additionalProperties`, refDepth);
    node.minProperties = count(schema.minProperties, 0, path, 'minProperties');
    node.maxProperties = count(schema.maxProperties, Infinity, path, 'maxProperties');
    if (node.required.size > node.maxProperties) throw new SchemaError(`${path}: more required properties than maxProperties`);
    if (!node.additional && node.minProperties > props.size) throw new SchemaError(`${path}: minProperties exceeds the properties allowed`);

    // Arrays.
    if (schema.items !== undefined) {
      if (Array.isArray(schema.items)) throw new SchemaError(`${path}: tuple "items" arrays are not supported`);
      node.items = this.compile(schema.items, `${path}/items`, refDepth);
    }
    node.minItems = count(schema.minItems, 0, path, 'minItems');
    node.maxItems = count(schema.maxItems, Infinity, path, 'maxItems');
    if (node.minItems > node.maxItems) throw new SchemaError(`${path}: minItems exceeds maxItems`);

    // Strings.
    node.minLength = count(schema.minLength, 0, path, 'minLength');
    node.maxLength = count(schema.maxLength, Infinity, path, 'maxLength');
    if (node.minLength > node.maxLength) throw new SchemaError(`${path}: minLength exceeds maxLength`);

    // Numbers (draft-4 boolean exclusives and draft-6+ numeric ones).
    let min = -Infinity, max = Infinity, minEx = false, maxEx = false;
    if (typeof schema.minimum === 'number') min = schema.minimum;
    if (typeof schema.maximum === 'number') max = schema.maximum;
    if (schema.exclusiveMinimum === true) minEx = true;
    else if (typeof schema.exclusiveMinimum === 'number' && schema.exclusiveMinimum >= min) [min, minEx] = [schema.exclusiveMinimum, true];
    if (schema.exclusiveMaximum === true) maxEx = true;
    else if (typeof schema.exclusiveMaximum === 'number' && schema.exclusiveMaximum <= max) [max, maxEx] = [schema.exclusiveMaximum, true];
    if (min > -Infinity || max < Infinity) {
      if (min > max || (min === max && (minEx || maxEx))) throw new SchemaError(`${path}: the number range is empty`);
      node.bounds = { min, minExclusive: minEx, max, maxExclusive: maxEx };
      const onlyIntegers = types !== null && types.has('integer') && !types.has('number');
      if (onlyIntegers && Math.floor(maxEx ? max - 1e-9 : max) < Math.ceil(minEx ? min + 1e-9 : min))
        throw new SchemaError(`${path}: no integer lies in the range`);
    }
    return node;
  }

  /** A subschema with its $ref (if any) resolved, for merging. */
  private deref(schema: unknown, path: string, depth = 0): Record<string, unknown> {
    if (schema === true || schema === undefined) return {};
    if (!isMapping(schema)) throw new SchemaError(`${path}: a schema must be an object`);
    if (typeof schema.$ref === 'string') {
      if (depth > 64) throw new SchemaError(`${path}: $ref chain too deep`);
      const rest = withoutKeys(schema, ['$ref']);
      return mergeAll([this.deref(this.resolveRef(schema.$ref, path), schema.$ref, depth + 1), rest]);
    }
    return schema;
  }

  private resolveRef(ref: string, path: string): unknown {
    if (ref === '#') return this.root;
    if (!ref.startsWith('#/')) throw new SchemaError(`${path}: only local $refs ("#/...") are supported, got ${JSON.stringify(ref)}`);
    let at: unknown = this.root;
    for (const raw of ref.slice(2).split('/')) {
      const key = decodeURIComponent(raw).replaceAll('~1', '/').replaceAll('~0', '~');
      if (!isMapping(at) || !(key in at)) throw new SchemaError(`${path}: $ref ${JSON.stringify(ref)} points nowhere`);
      at = at[key];
    }
    return at;
  }
}

/** The schema that admits anything; its objects' values are open too. Shared, never modified. */
export const ANY_NODE: SchemaNode = freshAny();
(ANY_NODE as { additional: SchemaNode | null }).additional = ANY_NODE;

/** A new node that admits anything, to be narrowed by the compiler. */
function anyNode(): SchemaNode {
  return { ...freshAny(), additional: ANY_NODE };
}

function freshAny(): SchemaNode {
  return {
    types: new Set(ALL_TYPES),
    literals: null,
    anyOf: null,
    properties: new Map(),
    required: new Set(),
    additional: null,
    minProperties: 0,
    maxProperties: Infinity,
    items: null,
    minItems: 0,
    maxItems: Infinity,
    minLength: 0,
    maxLength: Infinity,
    bounds: null,
  };
}

const ANNOTATIONS = new Set(['title', 'description', 'default', 'examples', '$schema', '$id', '$comment', 'format', 'deprecated', 'readOnly', 'writeOnly', '$defs', 'definitions', 'strict', 'name']);

function hasConstraints(schema: Record<string, unknown>): boolean {
  return Object.keys(schema).some((k) => !ANNOTATIONS.has(k));
}

/** allOf: properties and required lists combined, other keywords taken from the last part that has them. */
function mergeAll(parts: readonly Record<string, unknown>[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const props: Record<string, unknown> = {};
  const required = new Set<string>();
  let sawProps = false;
  for (const p of parts) {
    for (const [k, v] of Object.entries(p)) {
      if (k === 'properties' && isMapping(v)) {
        Object.assign(props, v);
        sawProps = true;
      } else if (k === 'required' && Array.isArray(v)) {
        for (const r of v) if (typeof r === 'string') required.add(r);
      } else out[k] = v;
    }
  }
  if (sawProps) out.properties = props;
  if (required.size > 0) out.required = [...required];
  return out;
}

function withoutKeys(schema: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(schema).filter(([k]) => !keys.includes(k)));
}

function count(v: unknown, fallback: number, path: string, what: string): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new SchemaError(`${path}: ${what} must be a non-negative integer`);
  return v;
}

function typeOf(v: unknown): JsonType {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  if (typeof v === 'boolean') return 'boolean';
  if (typeof v === 'string') return 'string';
  return 'object';
}
