// A reader for Python literals (what `ast.literal_eval` accepts, restricted to values JSON can hold).
// The model learned its tool-call format from templates that print arguments with Python's str(), so an
// object argument sometimes arrives as `{'path': 'a.txt', 'force': True}` rather than JSON; vLLM and
// SGLang fall back to literal_eval for such values, and so does the tool-call parser here.

/** Parses a Python literal into a JSON-compatible value; returns undefined when `src` is not one. */
export function parsePythonLiteral(src: string): unknown {
  try {
    const p = new LiteralReader(src);
    const v = p.value(0);
    p.ws();
    return p.done() ? v : undefined;
  } catch (e) {
    if (e instanceof LiteralError) return undefined;
    throw e;
  }
}

class LiteralError extends Error {}

const SIMPLE_ESCAPES: Record<string, string> = {
  '\\': '\\', "'": "'", '"': '"', n: '\n', r: '\r', t: '\t', b: '\b', f: '\f', v: '\v', a: '\x07', '\n': '',
};

class LiteralReader {
  private i = 0;
  constructor(private readonly s: string) {}

  done(): boolean {
    return this.i === this.s.length;
  }

  private fail(): never {
    throw new LiteralError();
  }

  ws(): void {
    // Inside brackets Python joins lines, so newlines are plain whitespace here; comments are allowed.
    for (;;) {
      const c = this.s[this.i];
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f') this.i++;
      else if (c === '\\' && this.s[this.i + 1] === '\n') this.i += 2;
      else if (c === '#') while (this.i < this.s.length && this.s[this.i] !== '\n') this.i++;
      else return;
    }
  }

  value(depth: number): unknown {
    if (depth > 256) this.fail();
    this.ws();
    const c = this.s[this.i];
    if (c === '{') return this.dictOrSet(depth);
    if (c === '[') return this.sequence(']', depth);
    if (c === '(') return this.tuple(depth);
    if (c === '-' || c === '+') {
      this.i++;
      this.ws();
      const n = this.number();
      return c === '-' ? -n : n;
    }
    if (c !== undefined && /[0-9.]/.test(c)) return this.number();
    const word = /[A-Za-z_]\w*/y;
    word.lastIndex = this.i;
    const m = word.exec(this.s);
    if (m) {
      const w = m[0];
      if (w === 'True' || w === 'False' || w === 'None') {
        this.i += w.length;
        return w === 'True' ? true : w === 'False' ? false : null;
      }
      const q = this.s[this.i + w.length];
      if (/^[rRuU]$/.test(w) && (q === '"' || q === "'")) return this.strings();
      this.fail();
    }
    if (c === '"' || c === "'") return this.strings();
    this.fail();
  }

  /** Adjacent string literals concatenate, as in Python source. */
  private strings(): string {
    let out = this.string();
    for (;;) {
      const save = this.i;
      this.ws();
      const m = /[rRuU]?["']/y;
      m.lastIndex = this.i;
      if (!m.exec(this.s)) {
        this.i = save;
        return out;
      }
      out += this.string();
    }
  }

  private string(): string {
    const raw = this.s[this.i] === 'r' || this.s[this.i] === 'R';
    if (/[rRuU]/.test(this.s[this.i]!)) this.i++;
    const q = this.s[this.i]!;
    const triple = this.s.startsWith(q.repeat(3), this.i);
    const close = triple ? q.repeat(3) : q;
    this.i += close.length;
    let out = '';
    for (;;) {
      if (this.i >= this.s.length) this.fail();
      if (this.s.startsWith(close, this.i)) {
        this.i += close.length;
        return out;
      }
      const c = this.s[this.i]!;
      if (c === '\n' && !triple) this.fail();
      if (c !== '\\') {
        out += c;
        this.i++;
        continue;
      }
      const e = this.s[this.i + 1];
      if (e === undefined) this.fail();
      if (raw) {
        // A raw string keeps the backslash, but it still stops the next quote from closing the string.
        out += '\\' + e;
        this.i += 2;
        continue;
      }
      this.i += 2;
      if (e in SIMPLE_ESCAPES) out += SIMPLE_ESCAPES[e];
      else if (e === 'x') out += this.hexEscape(2);
      else if (e === 'u') out += this.hexEscape(4);
      else if (e === 'U') out += this.hexEscape(8);
      else if (/[0-7]/.test(e)) {
        let j = this.i - 1;
        let digits = '';
        while (digits.length < 3 && /[0-7]/.test(this.s[j] ?? '')) digits += this.s[j++];
        this.i = j;
        out += String.fromCodePoint(parseInt(digits, 8));
      } else if (e === 'N') this.fail();
      else out += '\\' + e; // Python keeps unknown escapes such as \d verbatim.
    }
  }

  private hexEscape(n: number): string {
    const h = this.s.slice(this.i, this.i + n);
    if (h.length !== n || !/^[0-9a-fA-F]+$/.test(h)) this.fail();
    this.i += n;
    const cp = parseInt(h, 16);
    if (cp > 0x10ffff) this.fail();
    return String.fromCodePoint(cp);
  }

  private number(): number {
    const re = /0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|(?:\d(?:_?\d)*)?(?:\.(?:\d(?:_?\d)*)?)?(?:[eE][+-]?\d(?:_?\d)*)?/y;
    re.lastIndex = this.i;
    const t = re.exec(this.s)?.[0] ?? '';
    if (!/\d/.test(t) || /^\.?[eE]/.test(t)) this.fail();
    // Complex literals (`1j`) and names glued to digits are not JSON values.
    if (/[\w.]/.test(this.s[this.i + t.length] ?? '')) this.fail();
    this.i += t.length;
    const clean = t.replace(/_/g, '');
    let n: number;
    if (/^0[xX]/.test(clean)) n = parseInt(clean.slice(2), 16);
    else if (/^0[oO]/.test(clean)) n = parseInt(clean.slice(2), 8);
    else if (/^0[bB]/.test(clean)) n = parseInt(clean.slice(2), 2);
    // Python rejects leading zeros on a non-zero int (`007`); floats may have them.
    else if (/^0+[1-9]\d*$/.test(clean)) this.fail();
    else n = Number(clean);
    if (!Number.isFinite(n)) this.fail();
    return n;
  }

  /** The items after the first of a bracketed display: `(, item)* ,? close`. */
  private rest(close: string, out: unknown[], depth: number): unknown[] {
    for (;;) {
      this.ws();
      if (this.s[this.i] === close) {
        this.i++;
        return out;
      }
      if (this.s[this.i] !== ',') this.fail();
      this.i++;
      this.ws();
      if (this.s[this.i] === close) {
        this.i++;
        return out;
      }
      out.push(this.value(depth + 1));
    }
  }

  private sequence(close: string, depth: number): unknown[] {
    this.i++;
    this.ws();
    if (this.s[this.i] === close) {
      this.i++;
      return [];
    }
    return this.rest(close, [this.value(depth + 1)], depth);
  }

  private tuple(depth: number): unknown {
    // `(x)` is just x; `(x,)` and `(x, y)` are tuples, which JSON can only hold as arrays.
    this.i++;
    this.ws();
    if (this.s[this.i] === ')') {
      this.i++;
      return [];
    }
    const first = this.value(depth + 1);
    this.ws();
    if (this.s[this.i] === ')') {
      this.i++;
      return first;
    }
    return this.rest(')', [first], depth);
  }

  private dictOrSet(depth: number): unknown {
    this.i++;
    this.ws();
    if (this.s[this.i] === '}') {
      this.i++;
      return {};
    }
    const first = this.value(depth + 1);
    this.ws();
    // A set literal: JSON has no sets, an array is the nearest thing.
    if (this.s[this.i] !== ':') return this.rest('}', [first], depth);
    const obj: Record<string, unknown> = {};
    let key = first;
    for (;;) {
      this.i++; // the ':'
      setKey(obj, jsonKey(key), this.value(depth + 1));
      this.ws();
      if (this.s[this.i] === ',') {
        this.i++;
        this.ws();
      } else if (this.s[this.i] !== '}') this.fail();
      if (this.s[this.i] === '}') {
        this.i++;
        return obj;
      }
      key = this.value(depth + 1);
      this.ws();
      if (this.s[this.i] !== ':') this.fail();
    }
  }
}

/** The key json.dumps would write for a Python dict key; containers cannot be keys. */
function jsonKey(k: unknown): string {
  if (typeof k === 'string') return k;
  if (k === true) return 'true';
  if (k === false) return 'false';
  if (k === null) return 'null';
  if (typeof k === 'number') return String(k);
  throw new LiteralError();
}

function setKey(obj: Record<string, unknown>, key: string, v: unknown): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value: v, enumerable: true, writable: true, configurable: true });
  else obj[key] = v;
}
