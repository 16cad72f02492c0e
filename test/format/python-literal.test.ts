import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePythonLiteral } from '../../src/format/python-literal.js';

test('Python literals that JSON can hold', () => {
  const cases: [string, unknown][] = [
    ["{'a': 1, 'b': True, 'c': None, 'd': False}", { a: 1, b: true, c: null, d: false }],
    ["[1, 2.5, -3, +4, 1e3, .5, 1_000, 0x1F, 0o17, 0b101]", [1, 2.5, -3, 4, 1000, 0.5, 1000, 31, 15, 5]],
    ["(1, 'two')", [1, 'two']],
    ['(1,)', [1]],
    ['(5)', 5],
    ['()', []],
    ['{1, 2}', [1, 2]],
    ['{}', {}],
    ['[1, 2,]', [1, 2]],
    ["{1: 'int key', True: 'b', None: 'n', 2.5: 'f'}", { '1': 'int key', true: 'b', null: 'n', '2.5': 'f' }],
    ["'it\\'s' \"q\\\"\" 'concat'", 'it\'sq"concat'],
    ["'\\n\\t\\\\ \\x41 \\u00e9 \\U0001F600 \\101 \\d'", '\n\t\\ A é 😀 A \\d'],
    ["r'raw\\n\\'s'", "raw\\n\\'s"],
    ["u'unicode'", 'unicode'],
    ["'''triple\n'quoted'\n'''", "triple\n'quoted'\n"],
    ['"""a"b"""', 'a"b'],
    ["[\n  1,  # comment\n  2\n]", [1, 2]],
    ['  -  7  ', -7],
    ["{'nested': {'list': [{'x': (None,)}]}}", { nested: { list: [{ x: [null] }] } }],
  ];
  for (const [src, want] of cases) assert.deepEqual(parsePythonLiteral(src), want, src);
});

test('not literals, or not JSON', () => {
  for (const src of ['', 'abc', 'true', 'null', '007', '1j', '1e999', 'inf', "{'a': nan}", '[1 2]', "'open", "{'a' 1}", "{(1, 2): 3}", "b'bytes'", 'f(1)', '1 2', "'\\N{DASH}'", '[' .repeat(300) + ']'.repeat(300), "'line\nbreak'"])
    assert.equal(parsePythonLiteral(src), undefined, src);
});

test('__proto__ keys become own properties', () => {
  const v = parsePythonLiteral("{'__proto__': {'polluted': 1}}") as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(v), Object.prototype);
  assert.deepEqual(Object.keys(v), ['__proto__']);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});
