// Frames for JSON values that match a compiled schema (schema.ts): objects, arrays, strings, numbers and
// literals, byte by byte. Whitespace is allowed where JSON allows it, in bounded runs. Every bound a schema
// leaves open is capped by the limits (limits.ts), and each frame refuses a byte that would leave it unable
// to finish (a required key still missing, a number that can no longer reach its range), so any live state
// can be completed.
import { COMPLETE, DONE, Frame, NONE, PASS, PASS_ONLY, PUSH, STAY, type Outcome } from './frame.js';
import type { ConstraintLimits } from './limits.js';
import { LiteralFrame, LiteralSetFrame } from './literal.js';
import { ANY_NODE as ANY, type NumberBounds, type SchemaNode } from './schema.js';
import { isJsonWhitespace, utf8Start, xmlGuardStep } from './text.js';
import { utf8Binary } from '../token-text.js';

export interface JsonContext {
  readonly limits: ConstraintLimits;
  /** Inside a tool-call parameter: strings must not contain the tags that would end the parameter. */
  readonly xmlSafe: boolean;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const isDigit = (b: number) => b >= 0x30 && b <= 0x39;
const isHex = (b: number) => isDigit(b) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66);
const ESCAPES = new Set([...'"\\/bfnrt'].map((c) => c.charCodeAt(0)));

function clone<T extends object>(f: T): T {
  return Object.assign(Object.create(Object.getPrototypeOf(f)), f) as T;
}

/** Outcomes of starting a value of `node` with byte `b`. */
export function startValue(node: SchemaNode, depth: number, ctx: JsonContext, b: number): readonly Outcome[] {
  if (node.anyOf) {
    const out: Outcome[] = [];
    for (const alt of node.anyOf) for (const o of startValue(alt, depth, ctx, b)) out.push(o);
    return out;
  }
  if (node.literals) return literalFrame(node).feed(b);
  const t = node.types;
  switch (b) {
    case 0x7b: // {
      return t.has('object') ? new ObjectFrame(node, depth, ctx).feed(b) : NONE;
    case 0x5b: // [
      return t.has('array') ? new ArrayFrame(node, depth, ctx).feed(b) : NONE;
    case QUOTE:
      return t.has('string') ? new StringFrame(node.minLength, Math.max(node.minLength, Math.min(node.maxLength, ctx.limits.maxStringChars)), ctx.xmlSafe).feed(b) : NONE;
    case 0x74: // t
    case 0x66: // f
      return t.has('boolean') ? BOOLEANS.feed(b) : NONE;
    case 0x6e: // n
      return t.has('null') ? NULL.feed(b) : NONE;
  }
  if (b === 0x2d || isDigit(b)) {
    if (t.has('number')) return new NumberFrame(false, node.bounds, ctx.limits).feed(b);
    if (t.has('integer')) return new NumberFrame(true, node.bounds, ctx.limits).feed(b);
  }
  return NONE;
}

const BOOLEANS = new LiteralSetFrame(['true', 'false'], [true, false]);
const NULL = new LiteralFrame('null');
const literalFrames = new WeakMap<SchemaNode, LiteralSetFrame>();

function literalFrame(node: SchemaNode): LiteralSetFrame {
  let f = literalFrames.get(node);
  if (!f) {
    f = new LiteralSetFrame(node.literals!.map((l) => utf8Binary(l.json)), node.literals!.map((l) => l.value));
    literalFrames.set(node, f);
  }
  return f;
}

/** A value of `node` yet to begin (what a container pushes for each member). */
export class ValueStartFrame extends Frame {
  constructor(readonly node: SchemaNode, readonly depth: number, readonly ctx: JsonContext) {
    super();
  }

  feed(b: number): readonly Outcome[] {
    return startValue(this.node, this.depth, this.ctx, b);
  }
}

/** The whole output: optional leading whitespace, then one value, then nothing. */
export class JsonRootFrame extends Frame {
  constructor(readonly node: SchemaNode, readonly ctx: JsonContext, readonly ws = 0) {
    super();
  }

  feed(b: number): readonly Outcome[] {
    if (isJsonWhitespace(b)) return this.ws < this.ctx.limits.maxWhitespace ? [{ k: STAY, f: new JsonRootFrame(this.node, this.ctx, this.ws + 1) }] : NONE;
    return [{ k: PUSH, f: this, child: new ValueStartFrame(this.node, 0, this.ctx) }];
  }

  override childDone(): typeof COMPLETE {
    return COMPLETE;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Strings

export class StringFrame extends Frame {
  opened = false;
  /** Characters so far (code points; an escape is one). */
  count = 0;
  /** 1 right after a backslash. */
  escape = 0;
  /** Hex digits of a \u escape still to come. */
  hex = 0;
  /** Continuation bytes of a UTF-8 character still to come, and the range of the next one. */
  cont = 0;
  lo = 0x80;
  hi = 0xbf;
  /** The raw bytes between the quotes, kept for object keys. */
  raw: string | null = null;
  /** Decoded texts the string may not be (keys already used or declared). */
  forbid: ReadonlySet<string> | null = null;
  /** xmlGuardStep's tail, when the string sits inside a tool-call parameter. */
  tail: string | null;

  constructor(readonly minLength: number, readonly maxLength: number, xmlSafe: boolean) {
    super();
    this.tail = xmlSafe ? '' : null;
  }

  override plainRoom(): number {
    const plain = this.opened && this.escape === 0 && this.hex === 0 && this.cont === 0 && (this.tail === null || this.tail === '');
    return plain ? this.maxLength - this.count : -1;
  }

  private copy(): StringFrame {
    const f = new StringFrame(this.minLength, this.maxLength, false);
    f.opened = this.opened;
    f.count = this.count;
    f.escape = this.escape;
    f.hex = this.hex;
    f.cont = this.cont;
    f.lo = this.lo;
    f.hi = this.hi;
    f.raw = this.raw;
    f.forbid = this.forbid;
    f.tail = this.tail;
    return f;
  }

  /** The string's value (valid once closed). */
  decoded(): string {
    return JSON.parse('"' + Buffer.from(this.raw ?? '', 'latin1').toString('utf8') + '"') as string;
  }

  feed(b: number): readonly Outcome[] {
    if (!this.opened) {
      if (b !== QUOTE) return NONE;
      const f = this.copy();
      f.opened = true;
      return [{ k: STAY, f }];
    }
    let tail = this.tail;
    if (tail !== null) {
      tail = xmlGuardStep(tail, b);
      if (tail === null) return NONE;
    }
    const f = this.copy();
    f.tail = tail;
    if (f.raw !== null && !(b === QUOTE && this.escape === 0 && this.hex === 0 && this.cont === 0)) f.raw += String.fromCharCode(b);
    if (this.cont > 0) {
      if (b < this.lo || b > this.hi) return NONE;
      f.cont--;
      f.lo = 0x80;
      f.hi = 0xbf;
      return [{ k: STAY, f }];
    }
    if (this.escape) {
      if (b === 0x75) f.hex = 4; // \u
      else if (!ESCAPES.has(b)) return NONE;
      f.escape = 0;
      return [{ k: STAY, f }];
    }
    if (this.hex > 0) {
      if (!isHex(b)) return NONE;
      f.hex--;
      return [{ k: STAY, f }];
    }
    if (b === QUOTE) {
      if (this.count < this.minLength) return NONE;
      if (this.forbid && this.forbid.has(this.decoded())) return NONE;
      return [{ k: DONE, f }];
    }
    if (this.count >= this.maxLength) return NONE;
    f.count++;
    if (b === BACKSLASH) {
      f.escape = 1;
      return [{ k: STAY, f }];
    }
    if (b < 0x20) return NONE;
    if (b >= 0x80) {
      const s = utf8Start(b);
      if (!s) return NONE;
      f.cont = s.n;
      f.lo = s.lo;
      f.hi = s.hi;
    }
    return [{ k: STAY, f }];
  }
}

/** A key the schema does not declare: any string but the keys declared or already used. */
export function freeKeyFrame(maxChars: number, forbid: ReadonlySet<string>, xmlSafe: boolean): StringFrame {
  const f = new StringFrame(0, maxChars, xmlSafe);
  f.raw = '';
  f.forbid = forbid;
  return f;
}

// ---------------------------------------------------------------------------------------------------------
// Numbers

const enum Num {
  Start,
  Sign,
  Zero,
  Int,
  Dot,
  Frac,
  Exp,
  ExpSign,
  ExpDigits,
}

export class NumberFrame extends Frame {
  phase = Num.Start;
  neg = false;
  int = '';
  frac = '';
  exp = 0;

  constructor(readonly integer: boolean, readonly bounds: NumberBounds | null, readonly limits: ConstraintLimits) {
    super();
  }

  override canEnd(): boolean {
    const p = this.phase;
    if (p !== Num.Zero && p !== Num.Int && p !== Num.Frac && p !== Num.ExpDigits) return false;
    return this.bounds === null || inBounds(Number((this.neg ? '-' : '') + this.int + (this.frac ? '.' + this.frac : '')), this.bounds);
  }

  feed(b: number): readonly Outcome[] {
    const next = this.advance(b);
    const out: Outcome[] = [];
    if (next && (this.bounds === null || next.viable())) out.push({ k: STAY, f: next });
    if (this.canEnd()) out.push({ k: PASS });
    return out.length === 0 ? NONE : out.length === 1 && out[0]!.k === PASS ? PASS_ONLY : out;
  }

  private advance(b: number): NumberFrame | null {
    const L = this.limits;
    const f = clone(this);
    const digit = isDigit(b);
    // Exponents only without bounds: with them, the reachable range is worked out from the digits alone.
    const expOk = !this.integer && this.bounds === null && L.maxExponentDigits > 0;
    switch (this.phase) {
      case Num.Start:
      case Num.Sign:
        if (b === 0x2d && this.phase === Num.Start) {
          f.neg = true;
          f.phase = Num.Sign;
          return f;
        }
        if (!digit) return null;
        f.int = String.fromCharCode(b);
        f.phase = b === 0x30 ? Num.Zero : Num.Int;
        return f;
      case Num.Zero:
      case Num.Int:
        if (digit && this.phase === Num.Int && this.int.length < L.maxIntegerDigits) {
          f.int += String.fromCharCode(b);
          return f;
        }
        if (b === 0x2e && !this.integer && L.maxFractionDigits > 0) {
          f.phase = Num.Dot;
          return f;
        }
        if ((b === 0x65 || b === 0x45) && expOk) {
          f.phase = Num.Exp;
          return f;
        }
        return null;
      case Num.Dot:
      case Num.Frac:
        if (digit && this.frac.length < L.maxFractionDigits) {
          f.frac += String.fromCharCode(b);
          f.phase = Num.Frac;
          return f;
        }
        if (this.phase === Num.Frac && (b === 0x65 || b === 0x45) && expOk) {
          f.phase = Num.Exp;
          return f;
        }
        return null;
      case Num.Exp:
      case Num.ExpSign:
        if ((b === 0x2b || b === 0x2d) && this.phase === Num.Exp) {
          f.phase = Num.ExpSign;
          return f;
        }
        if (!digit) return null;
        f.exp = 1;
        f.phase = Num.ExpDigits;
        return f;
      case Num.ExpDigits:
        if (!digit || this.exp >= L.maxExponentDigits) return null;
        f.exp++;
        return f;
    }
  }

  /** Whether some completion of this prefix lies within the bounds. */
  private viable(): boolean {
    const B = this.bounds!;
    const sign = this.neg ? -1 : 1;
    const test = (lo: number, loOpen: boolean, hi: number, hiOpen: boolean) =>
      sign > 0 ? meets(lo, loOpen, hi, hiOpen, B, this.integer) : meets(-hi, hiOpen, -lo, loOpen, B, this.integer);
    if (this.int === '') return test(0, false, Infinity, false);
    const d = Number(this.int);
    if (this.phase === Num.Dot || this.phase === Num.Frac) {
      const v = Number(this.int + '.' + (this.frac || '0'));
      const room = this.limits.maxFractionDigits - this.frac.length;
      return room > 0 ? test(v, false, v + 10 ** -this.frac.length, true) : test(v, false, v, false);
    }
    const room = this.phase === Num.Zero ? 0 : this.limits.maxIntegerDigits - this.int.length;
    const fractions = !this.integer && this.limits.maxFractionDigits > 0;
    for (let j = 0; j <= room; j++) {
      const scale = 10 ** j;
      const lo = d * scale;
      if (j > 0 && d === 0) break;
      if (fractions ? test(lo, false, lo + scale, true) : test(lo, false, lo + scale - 1, false)) return true;
    }
    return false;
  }
}

function inBounds(v: number, B: NumberBounds): boolean {
  return (v > B.min || (v === B.min && !B.minExclusive)) && (v < B.max || (v === B.max && !B.maxExclusive));
}

/** Whether [lo, hi] (ends open as flagged) meets the bounds, in an integer when `integer`. */
function meets(lo: number, loOpen: boolean, hi: number, hiOpen: boolean, B: NumberBounds, integer: boolean): boolean {
  let a = lo, aOpen = loOpen;
  if (B.min > a || (B.min === a && B.minExclusive)) [a, aOpen] = [B.min, B.minExclusive];
  let z = hi, zOpen = hiOpen;
  if (B.max < z || (B.max === z && B.maxExclusive)) [z, zOpen] = [B.max, B.maxExclusive];
  if (integer) {
    const first = aOpen ? Math.floor(a) + 1 : Math.ceil(a);
    const last = zOpen ? Math.ceil(z) - 1 : Math.floor(z);
    return first <= last;
  }
  return a < z || (a === z && !aOpen && !zOpen);
}

// ---------------------------------------------------------------------------------------------------------
// Arrays

const enum Arr {
  Init,
  Open,
  Item,
  After,
}

export class ArrayFrame extends Frame {
  phase = Arr.Init;
  ws = 0;
  count = 0;
  readonly maxItems: number;

  constructor(readonly node: SchemaNode, readonly depth: number, readonly ctx: JsonContext) {
    super();
    const L = ctx.limits;
    this.maxItems = depth >= L.maxDepth ? node.minItems : Math.max(node.minItems, Math.min(node.maxItems, L.maxItems));
  }

  feed(b: number): readonly Outcome[] {
    if (this.phase === Arr.Init) return b === 0x5b ? [{ k: STAY, f: this.with(Arr.Open) }] : NONE;
    if (isJsonWhitespace(b)) {
      if (this.ws >= this.ctx.limits.maxWhitespace) return NONE;
      const f = clone(this);
      f.ws++;
      return [{ k: STAY, f }];
    }
    const closing = b === 0x5d;
    switch (this.phase) {
      case Arr.Open:
        if (closing) return this.node.minItems === 0 ? [{ k: DONE, f: this }] : NONE;
        return this.count < this.maxItems ? this.item(b) : NONE;
      case Arr.Item:
        return this.item(b);
      case Arr.After:
        if (closing) return this.count >= this.node.minItems ? [{ k: DONE, f: this }] : NONE;
        if (b === 0x2c && this.count < this.maxItems) return [{ k: STAY, f: this.with(Arr.Item) }];
        return NONE;
    }
    return NONE;
  }

  private item(_b: number): readonly Outcome[] {
    const child = new ValueStartFrame(this.node.items ?? ANY, this.depth + 1, this.ctx);
    return [{ k: PUSH, f: this, child }];
  }

  override childDone(): Frame {
    const f = this.with(Arr.After);
    f.count++;
    return f;
  }

  private with(phase: Arr): ArrayFrame {
    const f = clone(this);
    f.phase = phase;
    f.ws = 0;
    return f;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Objects

const enum Obj {
  Init,
  Open,
  Key,
  Colon,
  Value,
  After,
  Comma,
}

export class ObjectFrame extends Frame {
  phase = Obj.Init;
  ws = 0;
  used: ReadonlySet<string> = new Set();
  key = '';
  readonly maxProperties: number;

  constructor(readonly node: SchemaNode, readonly depth: number, readonly ctx: JsonContext) {
    super();
    this.maxProperties = Math.max(node.required.size, node.minProperties, Math.min(node.maxProperties, ctx.limits.maxProperties));
  }

  private get requiredLeft(): number {
    let n = 0;
    for (const r of this.node.required) if (!this.used.has(r)) n++;
    return n;
  }

  /** Whether a key that is not required may come next. */
  private optionalAllowed(): boolean {
    const deepOk = this.depth < this.ctx.limits.maxDepth || this.used.size < this.node.minProperties;
    return deepOk && this.maxProperties - this.used.size > this.requiredLeft;
  }

  private keyStart(): Frame | null {
    const optional = this.optionalAllowed();
    const names: string[] = [];
    for (const name of this.node.properties.keys()) {
      if (this.used.has(name)) continue;
      if (optional || this.node.required.has(name)) names.push(name);
    }
    const alts: Frame[] = [];
    if (names.length > 0) alts.push(new LiteralSetFrame(names.map((n) => utf8Binary(JSON.stringify(n))), names));
    if (optional && this.node.additional) {
      const forbid = new Set([...this.node.properties.keys(), ...this.used]);
      let longest = 0;
      for (const n of forbid) longest = Math.max(longest, [...n].length);
      alts.push(freeKeyFrame(Math.max(this.ctx.limits.maxKeyChars, longest + 1), forbid, this.ctx.xmlSafe));
    }
    return alts.length === 0 ? null : alts.length === 1 ? alts[0]! : new KeyAltFrame(alts);
  }

  private closable(): boolean {
    return this.requiredLeft === 0 && this.used.size >= this.node.minProperties;
  }

  feed(b: number): readonly Outcome[] {
    if (this.phase === Obj.Init) return b === 0x7b ? [{ k: STAY, f: this.with(Obj.Open) }] : NONE;
    if (isJsonWhitespace(b)) {
      if (this.ws >= this.ctx.limits.maxWhitespace) return NONE;
      const f = clone(this);
      f.ws++;
      return [{ k: STAY, f }];
    }
    switch (this.phase) {
      case Obj.Open:
      case Obj.Comma: {
        if (b === 0x7d && this.phase === Obj.Open) return this.closable() ? [{ k: DONE, f: this }] : NONE;
        if (b !== QUOTE) return NONE;
        const key = this.keyStart();
        return key ? [{ k: PUSH, f: this.with(Obj.Key), child: key }] : NONE;
      }
      case Obj.Colon:
        return b === 0x3a ? [{ k: STAY, f: this.with(Obj.Value) }] : NONE;
      case Obj.Value: {
        const node = this.node.properties.get(this.key) ?? this.node.additional ?? ANY;
        return [{ k: PUSH, f: this, child: new ValueStartFrame(node, this.depth + 1, this.ctx) }];
      }
      case Obj.After:
        if (b === 0x7d) return this.closable() ? [{ k: DONE, f: this }] : NONE;
        if (b === 0x2c && this.keyStart() !== null) return [{ k: STAY, f: this.with(Obj.Comma) }];
        return NONE;
    }
    return NONE;
  }

  override childDone(child: Frame): Frame {
    if (this.phase === Obj.Key) {
      const name = child instanceof StringFrame ? child.decoded() : (child as LiteralSetFrame<string>).tag;
      const f = this.with(Obj.Colon);
      f.key = name;
      f.used = new Set([...this.used, name]);
      return f;
    }
    return this.with(Obj.After);
  }

  private with(phase: Obj): ObjectFrame {
    const f = clone(this);
    f.phase = phase;
    f.ws = 0;
    return f;
  }
}

/** A key: one of the declared names, or a free string; both start at the quote. */
class KeyAltFrame extends Frame {
  constructor(readonly alts: readonly Frame[]) {
    super();
  }

  feed(b: number): readonly Outcome[] {
    const out: Outcome[] = [];
    for (const a of this.alts) for (const o of a.feed(b)) out.push(o);
    return out;
  }
}
