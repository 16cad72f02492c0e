// The task tools: the Python-subset interpreter (checked against a real python3 where one is installed),
// the exact calculator, unit conversion and date differences, and the checker's number reading.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { calculator } from '../../src/train/data/calculator.js';
import { extractNumbers, normalizeText } from '../../src/train/data/check.js';
import { generateTasks } from '../../src/train/data/corpus.js';
import { dateDiff } from '../../src/train/data/dates.js';
import { runPython } from '../../src/train/data/pyexec.js';
import { executeTool } from '../../src/train/data/tools.js';
import { convertUnits } from '../../src/train/data/units.js';

// Programs in the subset, including what the tasks generate; each must print what CPython prints.
const PROGRAMS = [
  'print(2 ** 100)',
  'print(7 // 2, -7 // 2, 7 % 3, -7 % 3, 7 / 2)',
  'print(0.1 + 0.2)',
  'print(1e22, 1e16, 123456789.0, 1.5e-7)',
  "print(sorted([5, 3, 9, 1], reverse=True))",
  "print(sorted(['pear', 'apple', 'fig']))",
  "print('mississippi'.count('ss'), 'banana'.count('a'))",
  "x = [1, 2, 2, 3]\nprint(x.count(2), len(x), sum(x), max(x), min(x))",
  "s = 'Hello World'\nprint(s.lower(), s.upper(), s.split(), s[1:4], s[-1], s.find('o'))",
  "print(round(2.5), round(3.5), round(2.675, 2), abs(-3), int('42') + 1, float('1.5'))",
  "print(set([3, 1, 3, 2]), list('abc'), list(reversed([1, 2, 3])))",
  "print(', '.join(['a', 'b']), 'x' * 3, [0] * 2, 'a' < 'b', 1 == 1.0, None)",
  "print(str(12) + '3', 10 ** 20 // 7, 3 > 2, True + True)",
  "a = 5; b = 7; print(a * b)",
  'print(undefined_name)',
  'print(1 / 0)',
  "print('unterminated)",
  'print([1, 2][5])',
  "print(1 + 'a')",
];

const python = spawnSync('python3', ['-c', 'print(1)'], { encoding: 'utf8' }).stdout?.trim() === '1' ? 'python3' : undefined;

/** CPython's output for each program (one process): printed lines, then `Kind` of an error if one is raised. */
function cpython(programs: readonly string[]): string[] {
  const script = [
    'import io, json, sys, contextlib',
    'out = []',
    `for code in json.loads(${JSON.stringify(JSON.stringify(programs))}):`,
    '    buf = io.StringIO()',
    '    try:',
    '        with contextlib.redirect_stdout(buf):',
    '            exec(code, {})',
    '        out.append(buf.getvalue().rstrip("\\n"))',
    '    except Exception as e:',
    '        out.append(buf.getvalue() + type(e).__name__)',
    'print(json.dumps(out))',
  ].join('\n');
  const r = spawnSync(python!, ['-c', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as string[];
}

describe('python tool (pyexec)', () => {
  it('runs the subset: arithmetic, lists, strings, builtins, errors', () => {
    assert.equal(runPython('print(2 ** 100)'), '1267650600228229401496703205376');
    assert.equal(runPython("print(sorted([5, 3, 9], reverse=True))"), '[9, 5, 3]');
    assert.equal(runPython("print(sorted(['b', 'a']))"), "['a', 'b']");
    assert.equal(runPython("print('mississippi'.count('s'))"), '4');
    assert.equal(runPython('x = 3\nprint(x * 4)\nprint(x)'), '12\n3');
    assert.equal(runPython('print(nope)'), "NameError: name 'nope' is not defined");
    assert.equal(runPython('print(1 / 0)'), 'ZeroDivisionError: division by zero');
    assert.equal(runPython('print(1)\nprint(1 +)'), '1\nSyntaxError: invalid syntax');
    assert.match(runPython('import os'), /SyntaxError|NameError/);
    assert.match(runPython('x = 1\nwhile True: pass'), /Error/);
    assert.match(runPython('print(9 ** 99999)'), /MemoryError/);
    assert.match(runPython('x' .repeat(3000)), /longer than 2000/);
  });

  it('prints what CPython prints', { skip: python ? false : 'python3 is not installed' }, () => {
    const tasks = generateTasks({ split: 'train', count: 400, seed: 8 });
    const codes = tasks.flatMap((t) => t.steps.flatMap((s) => s.calls.filter((c) => c.name === 'python').map((c) => String(c.arguments.code))));
    assert.ok(codes.length > 50);
    // error messages differ between Python versions; the error's kind and the output before it must not
    const kind = (out: string) => out.replace(/(\w+Error): .*$/, '$1');
    const programs = [...codes, ...PROGRAMS];
    assert.deepEqual(programs.map((p) => kind(runPython(p))), cpython(programs));
  });
});

describe('calculator, units, dates', () => {
  it('computes exactly and reports errors as text', () => {
    assert.equal(calculator('123456789 * 987654321'), '121932631112635269');
    assert.equal(calculator('0.1 + 0.2'), '0.3');
    assert.equal(calculator('1 / 3'), '0.333333');
    assert.equal(calculator('2 / 3'), '0.666667');
    assert.equal(calculator('-2 ** 2'), '-4');
    assert.equal(calculator('(3 + 4) × 2 − 1 ÷ 4'), '13.75');
    assert.equal(calculator('1 / 0'), 'Error: division by zero');
    assert.match(calculator('1,250 + 1'), /^Error: unexpected ','/);
    assert.match(calculator('2 +'), /^Error: unexpected end/);
    assert.equal(executeTool('calculator', {}), 'Error: missing string parameter "expression"');
    assert.equal(executeTool('shell', { cmd: 'ls' }), 'Error: unknown tool "shell"');
  });

  it('converts units with exact factors', () => {
    assert.equal(convertUnits(1, 'mi', 'km'), '1.609344');
    assert.equal(convertUnits(100, 'C', 'F'), '212');
    assert.equal(convertUnits(32, 'fahrenheit', 'celsius'), '0');
    assert.equal(convertUnits(90, 'km/h', 'm/s'), '25');
    assert.equal(convertUnits('2.5', 'h', 'min'), '150');
    assert.match(convertUnits(1, 'kg', 'm'), /^Error: cannot convert mass \(kg\) to length \(m\)/);
    assert.match(convertUnits(1, 'parsec', 'm'), /^Error: unknown unit "parsec"/);
    assert.match(convertUnits('abc', 'm', 'km'), /^Error: value must be a number/);
  });

  it('counts days in the proleptic Gregorian calendar', () => {
    assert.equal(dateDiff('2024-01-01', '2025-01-01'), '366');
    assert.equal(dateDiff('2023-03-01', '2023-02-01'), '-28');
    assert.equal(dateDiff('1900-02-28', '1900-03-01'), '1');
    assert.equal(dateDiff('2000-02-28', '2000-03-01'), '2');
    assert.match(dateDiff('2023-02-30', '2023-03-01'), /^Error: invalid date "2023-02-30"/);
    assert.match(dateDiff('March 1', '2023-03-01'), /^Error: invalid date/);
  });

  it('reads numbers in answers as people write them', () => {
    assert.deepEqual(extractNumbers('It is 1,234,567.50 or -3, not 1,23.'), ['1234567.5', '-3', '1', '23']);
    assert.deepEqual(extractNumbers('2024-03-07'), ['2024', '3', '7']);
    assert.equal(normalizeText('37 × 482 − 5'), '37*482-5');
  });
});
