import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildArguments, coerceParameter, schemaTypes } from '../../src/format/tool-arguments.js';
import { fn } from './helpers.js';

test('schemaTypes reads type, unions, enum and const, with Python spellings', () => {
  const types = (s: unknown) => [...schemaTypes(s)].sort();
  assert.deepEqual(types({ type: 'string' }), ['string']);
  assert.deepEqual(types({ type: ['integer', 'null'] }), ['integer', 'null']);
  assert.deepEqual(types({ anyOf: [{ type: 'number' }, { type: 'array' }] }), ['array', 'number']);
  assert.deepEqual(types({ enum: ['a', 1, null] }), ['integer', 'null', 'string']);
  assert.deepEqual(types({ const: true }), ['boolean']);
  assert.deepEqual(types({ type: 'int64' }), ['integer']);
  assert.deepEqual(types({ type: 'float' }), ['number']);
  assert.deepEqual(types({ type: 'bool' }), ['boolean']);
  assert.deepEqual(types({ type: 'dict[str, int]' }), ['object']);
  assert.deepEqual(types({ type: 'list' }), ['array']);
  assert.deepEqual(types({ description: 'untyped' }), []);
  assert.deepEqual(types(undefined), []);
});

test('coerceParameter', () => {
  const c = (text: string, schema: unknown) => coerceParameter(text, schema);
  assert.deepEqual(c(' 42 ', { type: 'string' }), { value: ' 42 ' });
  assert.deepEqual(c('42', { type: 'integer' }), { value: 42 });
  assert.deepEqual(c(' -7 ', { type: 'integer' }), { value: -7 });
  assert.deepEqual(c('2.50', { type: 'number' }), { value: 2.5 });
  assert.deepEqual(c('1e3', { type: 'number' }), { value: 1000 });
  assert.deepEqual(c('0x10', { type: 'integer' }), { value: '0x10', mismatch: 'integer' });
  assert.deepEqual(c('', { type: 'number' }), { value: '', mismatch: 'number' });
  assert.deepEqual(c('TRUE', { type: 'boolean' }), { value: true });
  assert.deepEqual(c('yes', { type: 'boolean' }), { value: 'yes', mismatch: 'boolean' });
  assert.deepEqual(c('[1, "a"]', { type: 'array' }), { value: [1, 'a'] });
  assert.deepEqual(c("['a', None]", { type: 'array' }), { value: ['a', null] });
  assert.deepEqual(c('{"a": [1e999]}', { type: 'object' }), { value: '{"a": [1e999]}', mismatch: 'object' });
  assert.deepEqual(c('5', { type: 'object' }), { value: '5', mismatch: 'object' });
  assert.deepEqual(c('null', { type: 'object' }), { value: null });
  assert.deepEqual(c('null', { type: 'string' }), { value: 'null' });
  assert.deepEqual(c('null', { type: ['string', 'null'] }), { value: null });
  assert.deepEqual(c('7', { type: ['integer', 'string'] }), { value: 7 });
  assert.deepEqual(c('seven', { type: ['integer', 'string'] }), { value: 'seven' });
  assert.deepEqual(c('celsius', { enum: ['celsius', 'fahrenheit'] }), { value: 'celsius' });
  assert.deepEqual(c('3', { enum: [1, 2, 3] }), { value: 3 });
  assert.deepEqual(c('null', {}), { value: null });
  assert.deepEqual(c('{"a": 1}', {}), { value: { a: 1 } });
  assert.deepEqual(c("{'a': 1}", {}), { value: { a: 1 } });
  assert.deepEqual(c('hello world', {}), { value: 'hello world' });
});

test('buildArguments keeps the model order and reports what it could not type', () => {
  const tool = fn('t', { a: { type: 'integer' }, b: { type: 'string' } });
  const warnings: string[] = [];
  const args = buildArguments('t', [['b', 'x'], ['a', '1'], ['c', '2'], ['a', 'oops']], tool, warnings);
  assert.deepEqual(Object.keys(args), ['b', 'a', 'c']);
  assert.deepEqual(args, { b: 'x', a: 'oops', c: '2' });
  assert.equal(warnings.length, 3);
  const noSchema: string[] = [];
  assert.deepEqual(buildArguments('t', [['a', '1']], fn('t'), noSchema), { a: '1' });
  assert.match(noSchema[0]!, /not declared/);
  const undeclaredTools: string[] = [];
  assert.deepEqual(buildArguments('t', [['a', '1']], undefined, undeclaredTools), { a: '1' });
  assert.deepEqual(undeclaredTools, []);
});
