// The `python` tool: a small interpreter for the subset of Python the tasks use, so that generating and
// evaluating needs no Python installation and every result is reproducible.
//
// Supported: int (arbitrary precision), float, str, list, bool, None literals; variables (`x = ...`, one
// statement per line or separated by `;`); + - * / // % ** and unary minus; comparisons == != < <= > >=;
// subscripts and slices; builtins print, len, sorted (reverse=), sum, min, max, abs, round, str, int,
// float, list, reversed, set (as a sorted list of unique items, printed as a set); str methods count,
// split, lower, upper, strip, replace, join, startswith, endswith, find; list methods count, index.
// Output is what Python would print (repr rules included). Anything else is reported the way Python
// reports it (`NameError: ...`, `SyntaxError: ...`) as the tool's text.
import { pyFloatRepr } from '../../format/python-json.js';

type PyValue = bigint | number | string | boolean | null | PyValue[] | PySet;
class PySet {
  constructor(readonly items: PyValue[]) {}
}

export class PyError extends Error {
  constructor(readonly kind: string, message: string) {
    super(message);
  }
}

const MAX_CODE = 2000;
const MAX_STEPS = 100_000;
const MAX_LEN = 100_000;

// ---- lexer ----

type Tok = { t: 'num' | 'str' | 'name' | 'op' | 'nl' | 'end'; v: string };

function lex(code: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  let depth = 0;
  while (i < code.length) {
    const c = code[i]!;
    if (c === '#') {
      while (i < code.length && code[i] !== '\n') i++;
      continue;
    }
    if (c === '\n' || c === ';') {
      if (depth === 0) out.push({ t: 'nl', v: c });
      i++;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r') {
      i++;
      continue;
    }
    const num = /^(?:\d[\d_]*(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)/.exec(code.slice(i, i + 400));
    if (num) {
      out.push({ t: 'num', v: num[0] });
      i += num[0].length;
      continue;
    }
    if (c === '"' || c === "'") {
      let j = i + 1;
      let s = '';
      for (;;) {
        if (j >= code.length || code[j] === '\n') throw new PyError('SyntaxError', 'unterminated string literal');
        const d = code[j]!;
        if (d === c) break;
        if (d === '\\') {
          const e = code[j + 1];
          const map: Record<string, string> = { n: '\n', t: '\t', '\\': '\\', "'": "'", '"': '"' };
          if (e !== undefined && e in map) {
            s += map[e];
            j += 2;
            continue;
          }
        }
        s += d;
        j++;
      }
      out.push({ t: 'str', v: s });
      i = j + 1;
      continue;
    }
    const name = /^[A-Za-z_]\w*/.exec(code.slice(i, i + 100));
    if (name) {
      out.push({ t: 'name', v: name[0] });
      i += name[0].length;
      continue;
    }
    const op = /^(?:\*\*|\/\/|==|!=|<=|>=|[-+*/%()[\],.=<>:])/.exec(code.slice(i, i + 2));
    if (op) {
      if ('([' .includes(op[0])) depth++;
      if (')]'.includes(op[0])) depth = Math.max(0, depth - 1);
      out.push({ t: 'op', v: op[0] });
      i += op[0].length;
      continue;
    }
    throw new PyError('SyntaxError', `invalid character '${c}'`);
  }
  out.push({ t: 'end', v: '' });
  return out;
}

// ---- values ----

function typeName(v: PyValue): string {
  if (typeof v === 'bigint') return 'int';
  if (typeof v === 'number') return 'float';
  if (typeof v === 'string') return 'str';
  if (typeof v === 'boolean') return 'bool';
  if (v === null) return 'NoneType';
  if (v instanceof PySet) return 'set';
  return 'list';
}

function strRepr(s: string): string {
  const q = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = q;
  for (const ch of s) {
    if (ch === '\\') out += '\\\\';
    else if (ch === q) out += '\\' + q;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else out += ch;
  }
  return out + q;
}

export function pyRepr(v: PyValue): string {
  if (typeof v === 'string') return strRepr(v);
  return pyToStr(v);
}

function pyToStr(v: PyValue): string {
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return pyFloatRepr(v);
  if (typeof v === 'string') return v;
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (v === null) return 'None';
  if (v instanceof PySet) return v.items.length === 0 ? 'set()' : '{' + v.items.map(pyRepr).join(', ') + '}';
  return '[' + v.map(pyRepr).join(', ') + ']';
}

const isNum = (v: PyValue): v is bigint | number | boolean => typeof v === 'bigint' || typeof v === 'number' || typeof v === 'boolean';
const toBig = (v: bigint | boolean) => (typeof v === 'boolean' ? (v ? 1n : 0n) : v);

function compare(a: PyValue, b: PyValue): number {
  if (isNum(a) && isNum(b)) {
    if (typeof a !== 'number' && typeof b !== 'number') {
      const x = toBig(a), y = toBig(b);
      return x < y ? -1 : x > y ? 1 : 0;
    }
    const x = Number(a), y = Number(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (typeof a === 'string' && typeof b === 'string') {
    // Python compares code points; for the BMP that is UTF-16 unit order
    return a < b ? -1 : a > b ? 1 : 0;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      const c = compare(a[i]!, b[i]!);
      if (c !== 0) return c;
    }
    return a.length - b.length;
  }
  throw new PyError('TypeError', `'<' not supported between instances of '${typeName(a)}' and '${typeName(b)}'`);
}

function equal(a: PyValue, b: PyValue): boolean {
  if (isNum(a) && isNum(b)) return compare(a, b) === 0;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => equal(x, b[i]!));
  return a === b;
}

function truthy(v: PyValue): boolean {
  if (Array.isArray(v)) return v.length > 0;
  if (v instanceof PySet) return v.items.length > 0;
  if (typeof v === 'string') return v.length > 0;
  if (typeof v === 'bigint') return v !== 0n;
  return Boolean(v);
}

function iterate(v: PyValue): PyValue[] {
  if (Array.isArray(v)) return v;
  if (v instanceof PySet) return v.items;
  if (typeof v === 'string') return [...v];
  throw new PyError('TypeError', `'${typeName(v)}' object is not iterable`);
}

function checkLen(n: number): void {
  if (n > MAX_LEN) throw new PyError('MemoryError', 'result too large');
}

function arith(op: string, a: PyValue, b: PyValue): PyValue {
  if (op === '+' && typeof a === 'string' && typeof b === 'string') {
    checkLen(a.length + b.length);
    return a + b;
  }
  if (op === '+' && Array.isArray(a) && Array.isArray(b)) {
    checkLen(a.length + b.length);
    return [...a, ...b];
  }
  if (op === '*' && (typeof a === 'string' || Array.isArray(a)) && (typeof b === 'bigint' || typeof b === 'boolean')) {
    const n = Number(toBig(b));
    checkLen(Math.max(0, n) * a.length);
    return typeof a === 'string' ? a.repeat(Math.max(0, n)) : Array.from({ length: Math.max(0, n) }, () => a).flat();
  }
  if (op === '*' && (typeof b === 'string' || Array.isArray(b)) && (typeof a === 'bigint' || typeof a === 'boolean')) return arith('*', b, a);
  if (!isNum(a) || !isNum(b)) {
    throw new PyError('TypeError', `unsupported operand type(s) for ${op}: '${typeName(a)}' and '${typeName(b)}'`);
  }
  if (typeof a !== 'number' && typeof b !== 'number' && op !== '/') {
    const x = toBig(a), y = toBig(b);
    switch (op) {
      case '+': return x + y;
      case '-': return x - y;
      case '*': return x * y;
      case '**':
        if (y < 0n) return Number(x) ** Number(y);
        if (y > 10000n) throw new PyError('MemoryError', 'exponent too large');
        return x ** y;
      case '//':
      case '%': {
        if (y === 0n) throw new PyError('ZeroDivisionError', 'integer division or modulo by zero');
        let q = x / y;
        if ((x % y !== 0n) && ((x < 0n) !== (y < 0n))) q -= 1n; // floor
        return op === '//' ? q : x - q * y;
      }
    }
  }
  const x = Number(a), y = Number(b);
  switch (op) {
    case '+': return x + y;
    case '-': return x - y;
    case '*': return x * y;
    case '**': return x ** y;
    case '/':
      if (y === 0) throw new PyError('ZeroDivisionError', 'division by zero');
      return x / y;
    case '//':
      if (y === 0) throw new PyError('ZeroDivisionError', 'float floor division by zero');
      return Math.floor(x / y);
    case '%':
      if (y === 0) throw new PyError('ZeroDivisionError', 'float modulo');
      return x - Math.floor(x / y) * y;
  }
  throw new PyError('SyntaxError', `unknown operator ${op}`);
}

// ---- parser + evaluator (one pass: the programs are tiny) ----

interface Arg {
  readonly name?: string;
  readonly value: PyValue;
}

class Interp {
  private p = 0;
  private steps = 0;
  readonly vars = new Map<string, PyValue>();
  readonly out: string[] = [];

  constructor(private readonly toks: Tok[]) {}

  private get tok(): Tok {
    return this.toks[this.p]!;
  }
  private isOp(v: string): boolean {
    return this.tok.t === 'op' && this.tok.v === v;
  }
  private expectOp(v: string): void {
    if (!this.isOp(v)) throw new PyError('SyntaxError', `expected '${v}'`);
    this.p++;
  }
  private atStatementEnd(): boolean {
    return this.tok.t === 'nl' || this.tok.t === 'end';
  }
  private tick(): void {
    if (++this.steps > MAX_STEPS) throw new PyError('TimeoutError', 'program ran too long');
  }

  run(): void {
    while (this.tok.t !== 'end') {
      if (this.tok.t === 'nl') {
        this.p++;
        continue;
      }
      const t1 = this.toks[this.p + 1]!;
      if (this.tok.t === 'name' && t1.t === 'op' && t1.v === '=') {
        const name = this.tok.v;
        this.p += 2;
        this.vars.set(name, this.expr());
      } else this.expr();
      // re-read through a widened type: TypeScript narrowed this.tok.t by the check above, not knowing
      // that parsing the expression moved the position
      if (!this.atStatementEnd()) throw new PyError('SyntaxError', 'invalid syntax');
    }
  }

  private expr(): PyValue {
    this.tick();
    let a = this.sum();
    const ops = ['==', '!=', '<', '<=', '>', '>='];
    if (this.tok.t === 'op' && ops.includes(this.tok.v)) {
      const op = this.tok.v;
      this.p++;
      const b = this.sum();
      switch (op) {
        case '==': a = equal(a, b); break;
        case '!=': a = !equal(a, b); break;
        case '<': a = compare(a, b) < 0; break;
        case '<=': a = compare(a, b) <= 0; break;
        case '>': a = compare(a, b) > 0; break;
        default: a = compare(a, b) >= 0;
      }
    }
    return a;
  }
  private sum(): PyValue {
    let a = this.product();
    while (this.isOp('+') || this.isOp('-')) {
      const op = this.tok.v;
      this.p++;
      a = arith(op, a, this.product());
    }
    return a;
  }
  private product(): PyValue {
    let a = this.unary();
    while (this.isOp('*') || this.isOp('/') || this.isOp('//') || this.isOp('%')) {
      const op = this.tok.v;
      this.p++;
      a = arith(op, a, this.unary());
    }
    return a;
  }
  private unary(): PyValue {
    if (this.isOp('-')) {
      this.p++;
      const v = this.unary();
      if (!isNum(v)) throw new PyError('TypeError', `bad operand type for unary -: '${typeName(v)}'`);
      return typeof v === 'number' ? -v : -toBig(v);
    }
    if (this.isOp('+')) {
      this.p++;
      return this.unary();
    }
    const base = this.postfix();
    if (this.isOp('**')) {
      this.p++;
      return arith('**', base, this.unary());
    }
    return base;
  }
  private postfix(): PyValue {
    let v = this.atom();
    for (;;) {
      if (this.isOp('[')) {
        this.p++;
        v = this.subscript(v);
      } else if (this.isOp('.')) {
        this.p++;
        if (this.tok.t !== 'name') throw new PyError('SyntaxError', 'invalid syntax');
        const name = this.tok.v;
        this.p++;
        this.expectOp('(');
        v = method(v, name, this.args());
      } else if (this.isOp('(')) {
        throw new PyError('TypeError', `'${typeName(v)}' object is not callable`);
      } else return v;
    }
  }
  private subscript(v: PyValue): PyValue {
    const seq = typeof v === 'string' ? v : Array.isArray(v) ? v : null;
    if (seq === null) throw new PyError('TypeError', `'${typeName(v)}' object is not subscriptable`);
    const idx = (x: PyValue) => {
      if (typeof x !== 'bigint' && typeof x !== 'boolean') throw new PyError('TypeError', 'indices must be integers');
      return Number(toBig(x));
    };
    let start: number | undefined;
    if (!this.isOp(':')) start = idx(this.expr());
    if (this.isOp(':')) {
      this.p++;
      let end: number | undefined;
      if (!this.isOp(']')) end = idx(this.expr());
      this.expectOp(']');
      const n = seq.length;
      const norm = (k: number | undefined, dflt: number) => (k === undefined ? dflt : k < 0 ? Math.max(0, n + k) : Math.min(n, k));
      return seq.slice(norm(start, 0), norm(end, n));
    }
    this.expectOp(']');
    const k = start! < 0 ? seq.length + start! : start!;
    if (k < 0 || k >= seq.length) throw new PyError('IndexError', `${typeName(v)} index out of range`);
    return seq[k]!;
  }
  private args(): Arg[] {
    const out: Arg[] = [];
    while (!this.isOp(')')) {
      const t1 = this.toks[this.p + 1]!;
      if (this.tok.t === 'name' && t1.t === 'op' && t1.v === '=') {
        const name = this.tok.v;
        this.p += 2;
        out.push({ name, value: this.expr() });
      } else out.push({ value: this.expr() });
      if (!this.isOp(',')) break;
      this.p++;
    }
    this.expectOp(')');
    return out;
  }
  private atom(): PyValue {
    const t = this.tok;
    this.p++;
    switch (t.t) {
      case 'num': {
        const s = t.v.replace(/_/g, '');
        return /[.eE]/.test(s) ? Number(s) : BigInt(s);
      }
      case 'str': {
        let s = t.v;
        while (this.tok.t === 'str') s += this.toks[this.p++]!.v; // implicit concatenation
        return s;
      }
      case 'name': {
        if (t.v === 'True') return true;
        if (t.v === 'False') return false;
        if (t.v === 'None') return null;
        if (this.isOp('(')) {
          this.p++;
          return this.call(t.v, this.args());
        }
        const v = this.vars.get(t.v);
        if (v === undefined) throw new PyError('NameError', `name '${t.v}' is not defined`);
        return v;
      }
      case 'op':
        if (t.v === '(') {
          const v = this.expr();
          this.expectOp(')');
          return v;
        }
        if (t.v === '[') {
          const items: PyValue[] = [];
          while (!this.isOp(']')) {
            items.push(this.expr());
            if (!this.isOp(',')) break;
            this.p++;
          }
          this.expectOp(']');
          return items;
        }
    }
    throw new PyError('SyntaxError', 'invalid syntax');
  }

  private call(name: string, args: Arg[]): PyValue {
    const pos = args.filter((a) => !a.name).map((a) => a.value);
    const kw = new Map(args.filter((a) => a.name).map((a) => [a.name!, a.value]));
    const arity = (min: number, max = min) => {
      if (pos.length < min || pos.length > max) throw new PyError('TypeError', `${name}() takes ${min === max ? min : `${min} to ${max}`} positional arguments but ${pos.length} were given`);
    };
    const noKw = () => {
      if (kw.size) throw new PyError('TypeError', `${name}() got an unexpected keyword argument '${[...kw.keys()][0]}'`);
    };
    switch (name) {
      case 'print': {
        const sep = kw.get('sep');
        this.out.push(pos.map(pyToStr).join(typeof sep === 'string' ? sep : ' '));
        return null;
      }
      case 'len': {
        arity(1);
        noKw();
        const v = pos[0]!;
        if (typeof v === 'string') return BigInt([...v].length);
        return BigInt(iterate(v).length);
      }
      case 'sorted': {
        arity(1);
        for (const k of kw.keys()) if (k !== 'reverse') throw new PyError('TypeError', `sorted() got an unexpected keyword argument '${k}'`);
        const items = [...iterate(pos[0]!)];
        items.sort(compare);
        if (truthy(kw.get('reverse') ?? false)) items.reverse();
        return items;
      }
      case 'reversed':
      case 'list': {
        arity(1);
        noKw();
        const items = [...iterate(pos[0]!)];
        return name === 'reversed' ? items.reverse() : items;
      }
      case 'set': {
        arity(1);
        noKw();
        const uniq: PyValue[] = [];
        for (const x of iterate(pos[0]!)) if (!uniq.some((y) => equal(x, y))) uniq.push(x);
        return new PySet(uniq.sort(compare));
      }
      case 'sum':
      case 'min':
      case 'max': {
        noKw();
        const items = pos.length === 1 ? iterate(pos[0]!) : pos;
        if (name === 'sum') return items.reduce<PyValue>((a, b) => arith('+', a, b), 0n);
        if (items.length === 0) throw new PyError('ValueError', `${name}() arg is an empty sequence`);
        return items.reduce((a, b) => (name === 'min' ? (compare(b, a) < 0 ? b : a) : compare(b, a) > 0 ? b : a));
      }
      case 'abs': {
        arity(1);
        const v = pos[0]!;
        if (!isNum(v)) throw new PyError('TypeError', `bad operand type for abs(): '${typeName(v)}'`);
        return typeof v === 'number' ? Math.abs(v) : toBig(v) < 0n ? -toBig(v) : toBig(v);
      }
      case 'round': {
        arity(1, 2);
        const v = pos[0]!;
        if (!isNum(v)) throw new PyError('TypeError', `type ${typeName(v)} doesn't define __round__ method`);
        if (typeof v !== 'number') return toBig(v);
        const nd = pos[1];
        if (nd === undefined || nd === null) return BigInt(roundHalfEven(v));
        const k = Number(toBig(nd as bigint));
        // Python rounds the exact binary value; toFixed does too for these magnitudes (no half-even on ties,
        // which only exact binary ties would show)
        return Number(v.toFixed(Math.max(0, Math.min(20, k))));
      }
      case 'str':
        arity(1);
        return pyToStr(pos[0]!);
      case 'int': {
        arity(1);
        const v = pos[0]!;
        if (typeof v === 'string') {
          if (!/^\s*[+-]?\d+\s*$/.test(v)) throw new PyError('ValueError', `invalid literal for int() with base 10: ${strRepr(v)}`);
          return BigInt(v.trim());
        }
        if (typeof v === 'number') return BigInt(Math.trunc(v));
        if (isNum(v)) return toBig(v);
        throw new PyError('TypeError', `int() argument must be a string or a number, not '${typeName(v)}'`);
      }
      case 'float': {
        arity(1);
        const v = pos[0]!;
        if (typeof v === 'string') {
          const x = Number(v.trim());
          if (v.trim() === '' || Number.isNaN(x)) throw new PyError('ValueError', `could not convert string to float: ${strRepr(v)}`);
          return x;
        }
        if (isNum(v)) return Number(v);
        throw new PyError('TypeError', `float() argument must be a string or a number, not '${typeName(v)}'`);
      }
    }
    throw new PyError('NameError', `name '${name}' is not defined`);
  }
}

function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

function method(v: PyValue, name: string, args: Arg[]): PyValue {
  const pos = args.map((a) => a.value);
  const str = (k: number) => {
    const x = pos[k];
    if (typeof x !== 'string') throw new PyError('TypeError', `must be str, not ${x === undefined ? 'nothing' : typeName(x)}`);
    return x;
  };
  if (typeof v === 'string') {
    switch (name) {
      case 'count': {
        const sub = str(0);
        if (sub === '') return BigInt([...v].length + 1);
        let n = 0n;
        for (let i = v.indexOf(sub); i >= 0; i = v.indexOf(sub, i + sub.length)) n++;
        return n;
      }
      case 'split': {
        if (pos.length === 0 || pos[0] === null) return v.split(/[\s]+/).filter((w) => w.length > 0);
        const sep = str(0);
        if (sep === '') throw new PyError('ValueError', 'empty separator');
        return v.split(sep);
      }
      case 'lower': return v.toLowerCase();
      case 'upper': return v.toUpperCase();
      case 'strip': return v.trim();
      case 'replace': return v.split(str(0)).join(str(1));
      case 'startswith': return v.startsWith(str(0));
      case 'endswith': return v.endsWith(str(0));
      case 'find': return BigInt(v.indexOf(str(0)));
      case 'join': {
        const items = iterate(pos[0] ?? null);
        if (!items.every((x) => typeof x === 'string')) throw new PyError('TypeError', 'sequence item: expected str instance');
        return items.join(v);
      }
    }
  } else if (Array.isArray(v)) {
    switch (name) {
      case 'count': return BigInt(v.filter((x) => equal(x, pos[0] ?? null)).length);
      case 'index': {
        const k = v.findIndex((x) => equal(x, pos[0] ?? null));
        if (k < 0) throw new PyError('ValueError', `${pyRepr(pos[0] ?? null)} is not in list`);
        return BigInt(k);
      }
    }
  }
  throw new PyError('AttributeError', `'${typeName(v)}' object has no attribute '${name}'`);
}

/**
 * Runs `code` and returns what the python tool answers: the printed lines, or the error as Python names it
 * (printed output before the error is kept, as a terminal would show it).
 */
export function runPython(code: string): string {
  if (code.length > MAX_CODE) return 'Error: code longer than 2000 characters';
  let interp: Interp | undefined;
  try {
    interp = new Interp(lex(code));
    interp.run();
    return interp.out.join('\n');
  } catch (e) {
    if (!(e instanceof PyError)) throw e;
    const before = interp ? interp.out.join('\n') : '';
    return (before ? before + '\n' : '') + `${e.kind}: ${e.message}`;
  }
}
