// The constrained-decoding grammars on their own: what they accept and refuse byte by byte, that they
// accept every JSON document within the limits (property test), and that random walks over the real
// vocabulary, always choosing among the tokens the mask allows, end in schema-valid JSON and in tool calls
// the format layer parses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { z } from 'zod';
import { Rng } from '../../../src/common/rng.js';
import { parseModelOutput, type ToolDefinition } from '../../../src/format/index.js';
import { OutputConstraint } from '../../../src/server/engine/constraint/constraint.js';
import { accepting, initial, stepBytes } from '../../../src/server/engine/constraint/frame.js';
import { buildGrammar, type ConstraintRequest } from '../../../src/server/engine/constraint/grammar.js';
import { resolveLimits, type ConstraintLimits } from '../../../src/server/engine/constraint/limits.js';
import { TokenTrie } from '../../../src/server/engine/constraint/token-trie.js';
import { TokenTexts, utf8Binary } from '../../../src/server/engine/token-text.js';
import { tinyTokenizer } from './helpers.js';

function verdict(req: ConstraintRequest, text: string, limits: ConstraintLimits = resolveLimits()): 'accept' | 'incomplete' | 'reject' {
  let s = initial(...buildGrammar(req, limits)!);
  const bin = utf8Binary(text);
  for (let i = 0; i < bin.length; i++) {
    s = stepBytes(s, bin[i]!);
    if (s.length === 0) return 'reject';
  }
  return accepting(s) ? 'accept' : 'incomplete';
}

const person = {
  type: 'object',
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 5 },
    age: { type: 'integer', minimum: 0, maximum: 150 },
    tags: { type: 'array', items: { enum: ['a', 'b', 12, 1] }, maxItems: 3 },
    score: { anyOf: [{ type: 'null' }, { type: 'number', exclusiveMinimum: 0.5, maximum: 10 }] },
    ok: { type: 'boolean' },
  },
  required: ['name', 'age'],
  additionalProperties: false,
};
const asSchema = (schema: unknown): ConstraintRequest => ({ responseFormat: { type: 'json_schema', schema } });

test('json_schema: accepts what the schema allows and refuses the rest at the first wrong byte', () => {
  const r = asSchema(person);
  for (const ok of ['{"name":"bob","age":42}', ' {\n  "age": 7,\n  "name": "ünï"\n}', '{"name":"b","age":150,"tags":["a",12,1],"score":null,"ok":false}', '{"name":"b","age":0,"score":0.51}', '{"name":"😀😀","age":1}'])
    assert.equal(verdict(r, ok), 'accept', ok);
  for (const bad of [
    '{"name":"bob"}', // required age missing
    '{"name":"","age":1}', // minLength
    '{"name":"toolong","age":1}', // maxLength
    '{"name":"b","age":151}',
    '{"name":"b","age":-1}',
    '{"name":"b","age":1.5}',
    '{"name":"b","age":042}',
    '{"name":"b","age":1,"tags":["a","b",1,12]}', // maxItems
    '{"name":"b","age":1,"tags":["c"]}',
    '{"name":"b","age":1,"score":0.5}',
    '{"name":"b","age":1,"zz":1}', // additionalProperties
    '{"name":"b","name":"c","age":1}', // duplicate key
    '{"name":"b","age":1}x', // trailing text
    '[1]',
  ])
    assert.equal(verdict(r, bad), 'reject', bad);
  assert.equal(verdict(r, '{"name":"b","age":1'), 'incomplete');
});

test('json_schema: $ref recursion, allOf, enums with common prefixes, nullable, bare types', () => {
  const list = { $defs: { N: { type: 'object', properties: { v: { type: 'integer' }, next: { anyOf: [{ $ref: '#/$defs/N' }, { type: 'null' }] } }, required: ['v', 'next'], additionalProperties: false } }, $ref: '#/$defs/N' };
  assert.equal(verdict(asSchema(list), '{"v":1,"next":{"v":2,"next":null}}'), 'accept');
  assert.equal(verdict(asSchema(list), '{"v":1,"next":{"v":2}}'), 'reject');
  const all = { allOf: [{ type: 'object', properties: { a: { type: 'integer' } }, required: ['a'] }, { properties: { b: { type: 'string' } }, required: ['b'] }] };
  assert.equal(verdict(asSchema(all), '{"b":"x","a":1}'), 'accept');
  assert.equal(verdict(asSchema(all), '{"a":1}'), 'reject');
  assert.equal(verdict(asSchema({ enum: [1, 12, 123] }), '12'), 'accept');
  assert.equal(verdict(asSchema({ enum: [1, 12, 123] }), '1234'), 'reject');
  assert.equal(verdict(asSchema({ type: 'string', nullable: true }), 'null'), 'accept');
  assert.equal(verdict(asSchema({ type: ['integer', 'boolean'] }), 'true'), 'accept');
  assert.equal(verdict(asSchema({ type: 'number', minimum: -2.5, maximum: -1 }), '-1.75'), 'accept');
  assert.equal(verdict(asSchema({ type: 'number', minimum: -2.5, maximum: -1 }), '-3'), 'reject');
  assert.equal(verdict(asSchema({ const: 'ü' }), '"ü"'), 'accept');
  assert.equal(verdict({ responseFormat: { type: 'json_object' } }, '[]'), 'reject');
  assert.equal(verdict({ responseFormat: { type: 'json_object' } }, '{"a":[1,{"b":null}],"c":-1.5e3,"d":"\\u00e9\\n"}'), 'accept');
});

test('json_object: every JSON object within the limits is accepted, compact or pretty (property)', () => {
  const limits = resolveLimits({ maxIntegerDigits: 40, maxFractionDigits: 40, maxExponentDigits: 3 });
  const req: ConstraintRequest = { responseFormat: { type: 'json_object' } };
  fc.assert(
    fc.property(fc.dictionary(fc.string({ unit: 'binary', maxLength: 8 }), fc.jsonValue({ maxDepth: 4 }), { maxKeys: 6 }), (obj) => {
      assert.equal(verdict(req, JSON.stringify(obj), limits), 'accept', JSON.stringify(obj));
      assert.equal(verdict(req, JSON.stringify(obj, null, 2), limits), 'accept');
    }),
    { numRuns: 150 },
  );
});

test('json_schema: values generated to fit the schema are accepted; broken ones are not (property)', () => {
  const valid = fc.record(
    {
      name: fc.string({ minLength: 1, maxLength: 5, unit: 'grapheme-ascii' }),
      age: fc.integer({ min: 0, max: 150 }),
      tags: fc.array(fc.constantFrom('a', 'b', 12, 1), { maxLength: 3 }),
      score: fc.oneof(fc.constant(null), fc.double({ min: 0.51, max: 10, noNaN: true }).map((x) => Math.round(x * 1e6) / 1e6)),
      ok: fc.boolean(),
    },
    { requiredKeys: ['name', 'age'] },
  );
  fc.assert(
    fc.property(valid, (v) => assert.equal(verdict(asSchema(person), JSON.stringify(v)), 'accept', JSON.stringify(v))),
    { numRuns: 200 },
  );
  fc.assert(
    fc.property(valid, fc.integer({ min: 151, max: 10_000 }), (v, age) => assert.equal(verdict(asSchema(person), JSON.stringify({ ...v, age })), 'reject')),
    { numRuns: 50 },
  );
});

test('tool calls: the template format, declared names and parameters, required ones present', () => {
  const tools: ToolDefinition[] = [
    { type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer' }, opts: { type: 'object', properties: { unit: { enum: ['c', 'f'] } } } }, required: ['city'] } } },
    { type: 'function', function: { name: 'noop' } },
  ];
  const r: ConstraintRequest = { tools, toolChoice: 'required' };
  const call = (name: string, params: string) => `<tool_call>\n<function=${name}>\n${params}</function>\n</tool_call>`;
  const param = (k: string, v: string) => `<parameter=${k}>\n${v}\n</parameter>\n`;
  assert.equal(verdict(r, call('get_weather', param('city', 'Paris'))), 'accept');
  assert.equal(verdict(r, '\n' + call('get_weather', param('days', '3') + param('city', 'New\nYork <b>') + param('opts', '{"unit": "c"}')) + call('noop', '')), 'accept');
  assert.equal(verdict(r, call('get_weather', '')), 'reject'); // city is required
  assert.equal(verdict(r, call('nope', '')), 'reject');
  assert.equal(verdict(r, call('get_weather', param('city', 'a</parameter>b'))), 'reject');
  assert.equal(verdict(r, call('get_weather', param('city', 'x') + param('city', 'y'))), 'reject');
  assert.equal(verdict(r, call('get_weather', param('city', 'x') + param('days', 'three'))), 'reject');
  assert.equal(verdict(r, call('get_weather', param('city', 'x') + param('opts', '{"unit": "k"}'))), 'reject');
  assert.equal(verdict(r, 'Sure! ' + call('noop', '')), 'reject');
  assert.equal(verdict(r, ''), 'incomplete');
  // Named: that tool, once.
  const named: ConstraintRequest = { tools, toolChoice: { name: 'noop' } };
  assert.equal(verdict(named, call('noop', '')), 'accept');
  assert.equal(verdict(named, call('get_weather', param('city', 'x'))), 'reject');
  assert.equal(verdict(named, call('noop', '') + call('noop', '')), 'reject');
  // No parallel calls: one.
  assert.equal(verdict({ ...r, parallelToolCalls: false }, call('noop', '') + call('noop', '')), 'reject');
  // json_schema with tools on auto: the JSON answer or calls.
  const either: ConstraintRequest = { tools, toolChoice: 'auto', responseFormat: { type: 'json_object' } };
  assert.equal(verdict(either, '{"a":1}'), 'accept');
  assert.equal(verdict(either, call('noop', '')), 'accept');
});

/** Chooses random allowed tokens (by the mask) until the grammar is complete; returns the text. */
function randomWalk(req: ConstraintRequest, limits: ConstraintLimits, seed: number, maxTokens: number): { text: string; finished: boolean } {
  const tok = tinyTokenizer();
  const texts = new TokenTexts(tok, tok.vocabSize);
  const trie = (randomWalk as { trie?: TokenTrie }).trie ?? ((randomWalk as { trie?: TokenTrie }).trie = new TokenTrie(texts));
  const eog = new Set(tok.eogIds);
  const c = new OutputConstraint(buildGrammar(req, limits)!, texts, () => trie, eog);
  const rng = new Rng(seed);
  const bytes: number[] = [];
  for (let i = 0; i < maxTokens; i++) {
    const mask = c.mask(tok.vocabSize);
    const allowed: number[] = [];
    mask.forEach((m, id) => m && allowed.push(id));
    assert.ok(allowed.length > 0, 'a live state always allows some token');
    const id = allowed[Math.floor(rng.next() * allowed.length)]!;
    assert.ok(c.allows(id), 'every masked token is accepted');
    if (eog.has(id)) return { text: new TextDecoder().decode(Uint8Array.from(bytes)), finished: true };
    c.acceptToken(id);
    for (const b of tok.tokenToBytes(id, { special: false })) bytes.push(b);
  }
  return { text: new TextDecoder().decode(Uint8Array.from(bytes)), finished: false };
}

const small = resolveLimits({ maxStringChars: 12, maxKeyChars: 8, maxItems: 3, maxProperties: 3, maxDepth: 2, maxWhitespace: 1, maxIntegerDigits: 6, maxFractionDigits: 4, maxToolCalls: 2 });

test('random walks over the vocabulary under a json_schema mask end in schema-valid JSON', () => {
  const schema = { ...person, properties: { ...person.properties, name: { type: 'string', minLength: 1 }, nested: { type: 'object', properties: { deep: { type: 'array', items: { type: 'number', minimum: 0 } } }, required: ['deep'] } } };
  const validate = z.fromJSONSchema(schema as never);
  for (let seed = 0; seed < 12; seed++) {
    const { text, finished } = randomWalk(asSchema(schema), small, seed, 400);
    assert.ok(finished, `seed ${seed} did not finish: ${text}`);
    const v = validate.safeParse(JSON.parse(text));
    assert.ok(v.success, `seed ${seed}: ${text}: ${JSON.stringify(v.error?.issues)}`);
  }
  for (let seed = 0; seed < 6; seed++) {
    const { text, finished } = randomWalk({ responseFormat: { type: 'json_object' } }, small, 100 + seed, 400);
    assert.ok(finished);
    const v = JSON.parse(text) as unknown;
    assert.ok(v !== null && typeof v === 'object' && !Array.isArray(v));
  }
});

test('random walks under tool_choice required end in tool calls the parser reads back, valid for their schemas', () => {
  const tools: ToolDefinition[] = [
    { type: 'function', function: { name: 'search', parameters: { type: 'object', properties: { query: { type: 'string' }, limit: { type: 'integer', minimum: 1, maximum: 50 }, exact: { type: 'boolean' }, filters: { type: 'object', properties: { lang: { enum: ['en', 'fr'] } }, required: ['lang'] } }, required: ['query'] } } },
    { type: 'function', function: { name: 'noop', parameters: { type: 'object', properties: {} } } },
  ];
  const validators = new Map(tools.map((t) => [t.function.name, z.fromJSONSchema(t.function.parameters as never)]));
  for (let seed = 0; seed < 12; seed++) {
    const { text, finished } = randomWalk({ tools, toolChoice: 'required' }, small, seed, 400);
    assert.ok(finished, `seed ${seed} did not finish: ${JSON.stringify(text)}`);
    const out = parseModelOutput(text, tools, { startInReasoning: false });
    assert.ok(out.toolCalls.length >= 1 && out.toolCalls.length <= 2, JSON.stringify(text));
    assert.equal(out.content.trim(), '', JSON.stringify(text));
    assert.deepEqual(out.warnings, []);
    for (const call of out.toolCalls) {
      const v = validators.get(call.name)!.safeParse(call.arguments);
      assert.ok(v.success, `seed ${seed}: ${JSON.stringify(call)}: ${JSON.stringify(v.error?.issues)}`);
    }
  }
});

test('the mask (trie walk, plain-text shortcut) allows exactly the tokens the grammar accepts', () => {
  const tok = tinyTokenizer();
  const texts = new TokenTexts(tok, tok.vocabSize);
  const trie = new TokenTrie(texts);
  const eog = new Set(tok.eogIds);
  const tools: ToolDefinition[] = [{ type: 'function', function: { name: 'bash', parameters: { type: 'object', properties: { command: { type: 'string', maxLength: 6 } }, required: ['command'] } } }];
  const cases: [ConstraintRequest, string][] = [
    [asSchema(person), ''],
    [asSchema(person), '{"name":"ab'],
    [asSchema(person), '{"name":"abcd'],
    [asSchema(person), '{"name":"a\\'],
    [asSchema(person), '{"name":"ab","age":1'],
    [asSchema(person), '{"name":"ab","age":1}'],
    [{ tools, toolChoice: 'required' }, '<tool_call>\n<function=bash>\n<parameter=command>\nls'],
    [{ tools, toolChoice: 'required' }, '<tool_call>\n<function=bash>\n<parameter=command>\nls </'],
    [{ responseFormat: { type: 'json_object' } }, '{"k":"v","'],
  ];
  for (const [r, prefix] of cases) {
    const c = new OutputConstraint(buildGrammar(r, resolveLimits())!, texts, () => trie, eog);
    c.acceptBytes(utf8Binary(prefix));
    const mask = c.mask(tok.vocabSize);
    for (let id = 0; id < tok.vocabSize; id++) {
      const expected = eog.has(id) ? c.canEnd : texts.bytes(id).length > 0 && c.acceptsBytes(texts.bytes(id));
      assert.equal(mask[id] === 1, expected, `${JSON.stringify(prefix)}: token ${id} ${JSON.stringify(tok.tokenToPiece(id))}`);
    }
  }
});
