import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { PyFloat, parseJsonKeepFloats, pyFloatRepr, pyJsonDumps, pyStr } from '../../src/format/python-json.js';

// Values checked against CPython by the test below when python3 is present; kept inline so the test still
// means something without it.
const FLOATS: [number, string][] = [
  [1, '1.0'], [2.5, '2.5'], [0.1, '0.1'], [1e-5, '1e-05'], [0.0001, '0.0001'], [0.00012345, '0.00012345'],
  [1e16, '1e+16'], [1.5e16, '1.5e+16'], [1e15, '1000000000000000.0'], [123456789.125, '123456789.125'],
  [1234567890123456.8, '1234567890123456.8'], [12345678901234567, '1.2345678901234568e+16'], [1e22, '1e+22'],
  [5e-324, '5e-324'], [1.7976931348623157e308, '1.7976931348623157e+308'], [-0.5, '-0.5'], [-0, '-0.0'],
  [0, '0.0'], [1 / 3, '0.3333333333333333'], [100, '100.0'], [-1e-7, '-1e-07'], [2.5e-7, '2.5e-07'],
];

test('Python float repr', () => {
  for (const [x, s] of FLOATS) assert.equal(pyFloatRepr(x), s, String(x));
  assert.equal(pyFloatRepr(NaN), 'nan');
  assert.equal(pyFloatRepr(-Infinity), '-inf');
});

test('Python float repr agrees with CPython on random doubles', (t) => {
  const bits = new DataView(new ArrayBuffer(8));
  let seed = 7;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
  const xs: number[] = [];
  while (xs.length < 3000) {
    // Random bit patterns cover every exponent; rounded decimals and powers of ten cover the "nice" values.
    bits.setUint32(0, next());
    bits.setUint32(4, next());
    const x = bits.getFloat64(0);
    if (!Number.isFinite(x)) continue;
    xs.push(x, Math.round((next() / 2 ** 32) * 1e6) / 1000, 10 ** ((next() % 60) - 30));
  }
  let python: string;
  try {
    python = execFileSync('python3', ['-c', 'import json,sys; print("\\n".join(repr(float(x)) for x in json.load(sys.stdin)))'], {
      input: JSON.stringify(xs),
      encoding: 'utf8',
    });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    t.skip('python3 not available');
    return;
  }
  const expected = python.trimEnd().split('\n');
  assert.equal(expected.length, xs.length);
  xs.forEach((x, i) => assert.equal(pyFloatRepr(x), expected[i], `${x}`));
});

test('str() of scalars', () => {
  assert.equal(pyStr('s'), 's');
  assert.equal(pyStr(true), 'True');
  assert.equal(pyStr(false), 'False');
  assert.equal(pyStr(null), 'None');
  assert.equal(pyStr(42), '42');
  assert.equal(pyStr(-0), '0');
  assert.equal(pyStr(1e21), '1000000000000000000000');
  assert.equal(pyStr(new PyFloat(3)), '3.0');
  assert.equal(pyStr(0.5), '0.5');
  assert.throws(() => pyStr([1]), TypeError);
});

test('json.dumps(ensure_ascii=False)', () => {
  assert.equal(pyJsonDumps({ a: 1, b: [true, null, 'x'], c: {} }), '{"a": 1, "b": [true, null, "x"], "c": {}}');
  assert.equal(pyJsonDumps({ f: new PyFloat(1), g: 1e-5, h: 1e16, nan: NaN, inf: -Infinity }), '{"f": 1.0, "g": 1e-05, "h": 10000000000000000, "nan": NaN, "inf": -Infinity}');
  assert.equal(pyJsonDumps('é 东 "q" \\ \n\r\t\b\f \u0001 \u001f \u007f \u2028 \ud83d\ude00'), '"é 东 \\"q\\" \\\\ \\n\\r\\t\\b\\f \\u0001 \\u001f \u007f \u2028 \ud83d\ude00"');
  // A lone surrogate stays raw, as in Python (JSON.stringify would escape it).
  assert.equal(pyJsonDumps('\ud800'), '"\ud800"');
  assert.equal(pyJsonDumps({ skip: undefined, keep: 1 }), '{"keep": 1}');
  assert.equal(pyJsonDumps([undefined]), '[null]');
  assert.equal(pyJsonDumps({ z: 1, a: 2 }), '{"z": 1, "a": 2}');
});

test('parseJsonKeepFloats keeps integral floats as PyFloat', () => {
  const v = parseJsonKeepFloats('{"a": 1.0, "b": 1, "c": 2.5, "d": 1e3, "e": -0.0, "f": [0.0, "s", true, null, {}], "g": -12}') as Record<string, unknown>;
  assert.deepEqual(v.a, new PyFloat(1));
  assert.equal(v.b, 1);
  assert.equal(v.c, 2.5);
  assert.deepEqual(v.d, new PyFloat(1000));
  assert.ok(v.e instanceof PyFloat && Object.is(v.e.value, -0));
  assert.deepEqual(v.f, [new PyFloat(0), 's', true, null, {}]);
  assert.equal(v.g, -12);
  assert.equal(pyJsonDumps(v), '{"a": 1.0, "b": 1, "c": 2.5, "d": 1000.0, "e": -0.0, "f": [0.0, "s", true, null, {}], "g": -12}');
  assert.equal(JSON.stringify(v.a), '1');
});

test('parseJsonKeepFloats agrees with JSON.parse and rejects what it rejects', () => {
  const texts = ['"\\u00e9\\n\\"x\\\\"', ' [ 1 , { "k" : "v" } ] ', '{"__proto__": {"x": 1}}', '{"a": 1, "a": 2}', '0', '-1.5e-3', '"\\ud800"'];
  for (const t of texts) assert.deepEqual(parseJsonKeepFloats(t), JSON.parse(t), t);
  const proto = parseJsonKeepFloats('{"__proto__": {"x": 1}}') as object;
  assert.equal(Object.getPrototypeOf(proto), Object.prototype);
  for (const bad of ['', '{', '[1,]', '{"a" 1}', '01', '1.', '.5', '"a\nb"', 'tru', 'nul', '"\\x"', '1 2', "{'a': 1}", 'NaN'])
    assert.throws(() => parseJsonKeepFloats(bad), SyntaxError, JSON.stringify(bad));
});
