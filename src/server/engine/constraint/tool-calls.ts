// The grammar of Step 3.5 tool calls, exactly as the chat template renders them and the format layer's
// ToolCallParser reads them back:
//
//   <tool_call>\n<function=NAME>\n<parameter=KEY>\nVALUE\n</parameter>\n...</function>\n</tool_call>
//
// NAME is one of the allowed tools; KEYs are the tool's declared parameters, each at most once, every
// required one present; VALUE is what the parser coerces to the parameter's schema type: free text for
// strings (never containing a tag that would end the parameter early), JSON numbers, true/false, null, and
// JSON objects/arrays that match the parameter's schema. Calls follow each other with at most a newline
// between them; the output may end after any complete call.
import type { ToolDefinition } from '../../../format/index.js';
import { isMapping } from '../../../format/python-json.js';
import { utf8Binary } from '../token-text.js';
import { COMPLETE, Frame, NONE, PUSH, STAY, type Outcome } from './frame.js';
import { ArrayFrame, NumberFrame, ObjectFrame, type JsonContext } from './json.js';
import type { ConstraintLimits } from './limits.js';
import { AltFrame, LiteralFrame, LiteralSetFrame, ThenFrame } from './literal.js';
import { SchemaCompiler, type SchemaNode } from './schema.js';
import { utf8Start, xmlGuardStep } from './text.js';

export interface ToolSpec {
  readonly name: string;
  readonly params: ReadonlyMap<string, SchemaNode>;
  readonly required: ReadonlySet<string>;
}

/** The tools' parameter schemas, compiled leniently (keywords that cannot be enforced are ignored). */
export function toolSpecs(tools: readonly ToolDefinition[]): ToolSpec[] {
  return tools.map((t) => {
    const schema = t.function.parameters;
    const params = new Map<string, SchemaNode>();
    const required = new Set<string>();
    if (isMapping(schema)) {
      const compiler = new SchemaCompiler(schema, false);
      const props = schema.properties;
      if (isMapping(props)) for (const [k, v] of Object.entries(props)) params.set(k, compiler.compile(v, `#/properties/${k}`, 0));
      if (Array.isArray(schema.required)) for (const r of schema.required) if (typeof r === 'string' && params.has(r)) required.add(r);
    }
    return { name: t.function.name, params, required };
  });
}

const CALL_OPEN = '<tool_call>\n<function=';
const CALL_CLOSE = '</function>\n</tool_call>';
const PARAM_OPEN = '<parameter=';
const PARAM_END = '\n</parameter>';
/** Whitespace before the first call and between calls. */
const MAX_GAP = 2;

/** One or more calls (up to maxCalls); the outermost frame of a tool-call constraint. */
export class ToolCallsFrame extends Frame {
  constructor(
    readonly tools: readonly ToolSpec[],
    readonly maxCalls: number,
    readonly ctx: JsonContext,
    readonly count = 0,
    readonly gap = 0,
  ) {
    super();
  }

  override canEnd(): boolean {
    return this.count >= 1;
  }

  feed(b: number): readonly Outcome[] {
    if (b === 0x0a || b === 0x20) {
      return this.gap < MAX_GAP ? [{ k: STAY, f: new ToolCallsFrame(this.tools, this.maxCalls, this.ctx, this.count, this.gap + 1) }] : NONE;
    }
    if (this.count >= this.maxCalls) return NONE;
    return [{ k: PUSH, f: this, child: new CallFrame(this.tools, this.ctx) }];
  }

  override childDone(): Frame {
    return new ToolCallsFrame(this.tools, this.maxCalls, this.ctx, this.count + 1, 0);
  }
}

/** `<tool_call>\n<function=NAME>\n` PARAMETERS `</function>\n</tool_call>`. Even phases read; odd ones wait for a child. */
class CallFrame extends Frame {
  constructor(readonly tools: readonly ToolSpec[], readonly ctx: JsonContext, readonly phase = 0, readonly tool: ToolSpec | null = null) {
    super();
  }

  feed(b: number): readonly Outcome[] {
    const next = (child: Frame): Outcome[] => [{ k: PUSH, f: new CallFrame(this.tools, this.ctx, this.phase + 1, this.tool), child }];
    switch (this.phase) {
      case 0:
        return next(new LiteralFrame(CALL_OPEN));
      case 2:
        return next(new LiteralSetFrame(this.tools.map((t) => utf8Binary(t.name + '>\n')), this.tools));
      case 4:
        return next(new ParamsFrame(this.tool!, new Set(), this.ctx));
    }
    return NONE;
  }

  override childDone(child: Frame): Frame | typeof COMPLETE {
    if (this.phase === 5) return COMPLETE;
    const tool = this.phase === 3 ? (child as LiteralSetFrame<ToolSpec>).tag : this.tool;
    return new CallFrame(this.tools, this.ctx, this.phase + 1, tool);
  }
}

/** The parameters, in any order, then the closing tags once every required one is there. */
class ParamsFrame extends Frame {
  constructor(readonly tool: ToolSpec, readonly used: ReadonlySet<string>, readonly ctx: JsonContext) {
    super();
  }

  feed(_b: number): readonly Outcome[] {
    const out: Outcome[] = [];
    const left = [...this.tool.params.keys()].filter((k) => !this.used.has(k));
    if (left.length > 0) out.push({ k: PUSH, f: this, child: new ParamFrame(this.tool, left, this.ctx) });
    if ([...this.tool.required].every((r) => this.used.has(r))) out.push({ k: PUSH, f: this, child: new LiteralFrame(CALL_CLOSE) });
    return out;
  }

  override childDone(child: Frame): Frame | typeof COMPLETE {
    if (child instanceof ParamFrame) return new ParamsFrame(this.tool, new Set([...this.used, child.name]), this.ctx);
    return COMPLETE;
  }
}

/** `<parameter=KEY>\n` VALUE `\n</parameter>\n`. */
class ParamFrame extends Frame {
  constructor(
    readonly tool: ToolSpec,
    readonly names: readonly string[],
    readonly ctx: JsonContext,
    readonly phase = 0,
    readonly name = '',
  ) {
    super();
  }

  feed(_b: number): readonly Outcome[] {
    const next = (child: Frame): Outcome[] => [{ k: PUSH, f: new ParamFrame(this.tool, this.names, this.ctx, this.phase + 1, this.name), child }];
    switch (this.phase) {
      case 0:
        return next(new LiteralFrame(PARAM_OPEN));
      case 2:
        return next(new LiteralSetFrame(this.names.map((n) => utf8Binary(n + '>\n')), this.names));
      case 4:
        return next(paramValue(this.tool.params.get(this.name)!, this.ctx));
      case 6:
        return next(new LiteralFrame('\n'));
    }
    return NONE;
  }

  override childDone(child: Frame): Frame | typeof COMPLETE {
    if (this.phase === 7) return COMPLETE;
    const name = this.phase === 3 ? (child as LiteralSetFrame<string>).tag : this.name;
    return new ParamFrame(this.tool, this.names, this.ctx, this.phase + 1, name);
  }
}

/** A parameter's value and the `\n</parameter>` after it, in each form the schema allows. */
function paramValue(node: SchemaNode, ctx: JsonContext): Frame {
  const options: Frame[] = [];
  const ended = (f: Frame) => new ThenFrame(f, PARAM_END);
  let freeText = false;
  const collect = (n: SchemaNode) => {
    if (n.anyOf) {
      for (const alt of n.anyOf) collect(alt);
      return;
    }
    if (n.literals) {
      // Strings verbatim (as the template prints them); other values as JSON, which the parser reads back.
      const texts = n.literals.map((l) => utf8Binary(typeof l.value === 'string' ? l.value : l.json));
      if (texts.some((t) => t === '')) options.push(new LiteralFrame(PARAM_END));
      const nonEmpty = texts.filter((t) => t !== '');
      if (nonEmpty.length > 0) options.push(ended(new LiteralSetFrame(nonEmpty, nonEmpty)));
      return;
    }
    const t = n.types;
    if (t.has('string')) {
      // Free text reads as a string, or as whatever else it spells when the schema allows more types.
      if (!freeText) options.push(new FreeTextFrame(n.minLength, Math.max(n.minLength, Math.min(n.maxLength, ctx.limits.maxStringChars))));
      freeText = true;
      return;
    }
    if (t.has('number')) options.push(ended(new NumberFrame(false, n.bounds, ctx.limits)));
    else if (t.has('integer')) options.push(ended(new NumberFrame(true, n.bounds, ctx.limits)));
    if (t.has('boolean')) options.push(ended(new LiteralSetFrame(['true', 'false'], [true, false])));
    if (t.has('null')) options.push(ended(new LiteralFrame('null')));
    if (t.has('object')) options.push(ended(new ObjectFrame(n, 1, ctx)));
    if (t.has('array')) options.push(ended(new ArrayFrame(n, 1, ctx)));
  };
  collect(node);
  return options.length === 1 ? options[0]! : new AltFrame(options);
}

/**
 * A string parameter's text up to and including `\n</parameter>`: any well-formed UTF-8 without control
 * characters (tab, newline, carriage return are fine) and without `</parameter`, `</function` or
 * `<parameter=`, of minLength..maxLength characters.
 */
export class FreeTextFrame extends Frame {
  constructor(
    readonly minLength: number,
    readonly maxLength: number,
    readonly count = 0,
    readonly cont = 0,
    readonly lo = 0x80,
    readonly hi = 0xbf,
    readonly tail = '',
  ) {
    super();
  }

  override plainRoom(): number {
    return this.cont === 0 && this.tail === '' ? this.maxLength - this.count : -1;
  }

  feed(b: number): readonly Outcome[] {
    if (this.cont > 0) {
      if (b < this.lo || b > this.hi) return NONE;
      return [{ k: STAY, f: new FreeTextFrame(this.minLength, this.maxLength, this.count, this.cont - 1, 0x80, 0xbf, '') }];
    }
    const out: Outcome[] = [];
    // A newline may be the start of the closing `\n</parameter>`...
    if (b === 0x0a && this.count >= this.minLength) for (const o of TERMINATOR.feed(b)) out.push(o);
    // ...or part of the text.
    if (this.count < this.maxLength && (b >= 0x20 || b === 0x09 || b === 0x0a || b === 0x0d) && b !== 0x7f) {
      const tail = xmlGuardStep(this.tail, b);
      if (tail !== null) {
        if (b < 0x80) out.push({ k: STAY, f: new FreeTextFrame(this.minLength, this.maxLength, this.count + 1, 0, 0x80, 0xbf, tail) });
        else {
          const s = utf8Start(b);
          if (s) out.push({ k: STAY, f: new FreeTextFrame(this.minLength, this.maxLength, this.count + 1, s.n, s.lo, s.hi, '') });
        }
      }
    }
    return out;
  }
}

const TERMINATOR = new LiteralFrame(PARAM_END);
