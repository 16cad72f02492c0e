// Finds Step 3.5's XML tool calls in streamed content text:
//
//   <tool_call>\n<function=NAME>\n<parameter=KEY>\nVALUE\n</parameter>\n...</function>\n</tool_call>
//
// A call is buffered and emitted whole once its end is certain (vLLM's step3p5 parser streams the same
// way), so a consumer never sees half a call; text outside calls streams as it arrives. The parser repairs
// the mistakes Step is known to make only where a later tag proves where the broken part ends (the rule of
// SGLang's Step3p5Detector), and otherwise leaves the text as content:
//   - a missing `</parameter>` before `</function>` (proven by the `</tool_call>` after it) or before the
//     next `<parameter=KEY>` of a parameter the tool declares (vllm-project/vllm#57699);
//   - a missing `</function>` before `</tool_call>` or before the next call, a missing `</tool_call>`;
//   - a missing `>` after `<function=NAME` or `<parameter=KEY` (the name ends at the newline);
//   - `<function NAME>` without the `=`;
//   - a `<function=NAME>` block without its `<tool_call>` wrapper, for a declared tool only.
// Inside an open parameter value every other tag is text: a shell command may well contain `<tool_call>`.
// A call still open when the stream ends, or naming a tool that was not declared, comes back as content.
import type { ToolDefinition } from './messages.js';
import { isPartialOfAny } from './markers.js';
import { buildArguments } from './tool-arguments.js';

export interface ParsedToolCall {
  /** `call_` and 24 hex digits, like vLLM's ids. */
  id: string;
  name: string;
  /** Always a JSON-serialisable object. */
  arguments: Record<string, unknown>;
}

export type ToolParserEvent =
  | { type: 'content'; text: string }
  | { type: 'tool_call'; index: number; call: ParsedToolCall };

export interface ToolCallParserOptions {
  /**
   * The request's tools. Names outside this list are not calls; parameters are typed by each schema.
   * Undefined or null: any name is accepted and every value stays a string.
   */
  tools?: readonly ToolDefinition[] | null;
  /** Id source; defaults to `call_` + 24 random hex digits. */
  generateId?: () => string;
}

export function randomCallId(): string {
  const bytes = new Uint8Array(12);
  globalThis.crypto.getRandomValues(bytes);
  let hex = '';
  for (const b of bytes) hex += b.toString(16).padStart(2, '0');
  return 'call_' + hex;
}

const TOOL_CALL = '<tool_call>';
const TOOL_CALL_END = '</tool_call>';
const FUNCTION = ['<function=', '<function '];
const FUNCTION_END = '</function>';
const PARAMETER = ['<parameter=', '<parameter '];
const PARAMETER_END = '</parameter>';
const THINK_CLOSE = '</think>';
// Longer than any sane tool or parameter name: past this, `<function=...` without `>` or newline is text.
const MAX_NAME = 256;

const enum State {
  Text,
  CallOpen, // after <tool_call>, before <function=
  FuncName,
  FuncBody, // between parameters
  ParamName,
  ParamValue,
  FuncClosed, // after </function>, before </tool_call>
}

const startsWithAny = (s: string, at: number, tags: readonly string[]) => tags.some((t) => s.startsWith(t, at));

function skipWhitespace(s: string, at: number): number {
  while (at < s.length && /\s/.test(s[at]!)) at++;
  return at;
}

/** Position of the first `>` or `\n` at or after `from`, or -1. */
function nameEnd(s: string, from: number): number {
  for (let i = from; i < s.length; i++) if (s[i] === '>' || s[i] === '\n') return i;
  return -1;
}

const validName = (name: string) => name.length > 0 && !/[\s<>]/.test(name);

export class ToolCallParser {
  private readonly tools: Map<string, ToolDefinition> | null;
  private readonly generateId: () => string;
  private buf = '';
  private pos = 0;
  private state = State.Text;
  private ended = false;
  private out: ToolParserEvent[] = [];
  private callCount = 0;
  private truncatedCall = false;
  readonly warnings: string[] = [];

  // Text outside calls: a run of whitespace is held until it is known not to sit between calls.
  private segmentHasText = false;
  private heldWhitespace = '';
  private skipNewline = false;
  /** Set when reasoning ended at a `<tool_call>`: a later stray `</think>` then closes it and is dropped. */
  private strayThinkClose = false;

  // The call being read; while one is open, buf starts at its opening tag.
  private whitespaceBeforeCall = '';
  private funcName = '';
  private wrapped = false;
  private params: [string, string][] = [];
  private paramName = '';
  private valueStart = 0;
  private scan = 0;

  constructor(options: ToolCallParserOptions = {}) {
    this.tools = options.tools ? new Map(options.tools.map((t) => [t.function.name, t])) : null;
    this.generateId = options.generateId ?? randomCallId;
  }

  /** Whether the stream ended inside a call (which was then returned as content). */
  get endedInToolCall(): boolean {
    return this.truncatedCall;
  }

  /** Drop the next `</think>` seen outside a call (with the newline after it): reasoning already ended. */
  expectStrayThinkClose(): void {
    this.strayThinkClose = true;
  }

  push(text: string): ToolParserEvent[] {
    this.buf += text;
    return this.drain();
  }

  /**
   * The output is complete. A call still open is never returned half-made: by default whatever was read of
   * it goes back out as text (the model ended there, so it is what the model said); with `dropOpenCall`
   * it is discarded (the output was cut off, e.g. by max_tokens, and its text would only mislead).
   */
  end(options: { dropOpenCall?: boolean } = {}): ToolParserEvent[] {
    this.ended = true;
    this.run();
    if (this.state !== State.Text) {
      this.truncatedCall = true;
      const what = `the output ended inside a tool call${this.funcName ? ` to ${JSON.stringify(this.funcName)}` : ''}`;
      if (options.dropOpenCall) {
        this.warnings.push(`${what}; the partial call was dropped`);
        this.state = State.Text;
        this.buf = '';
        this.pos = 0;
        this.whitespaceBeforeCall = '';
      } else {
        this.warnings.push(`${what}; returned as content`);
        this.rejectCall(this.buf.length);
      }
      this.run();
    }
    if (!this.segmentHasText && this.callCount === 0) this.emitContent(this.heldWhitespace);
    this.heldWhitespace = '';
    return this.drain(false);
  }

  private drain(run = true): ToolParserEvent[] {
    if (run) this.run();
    if (this.state === State.Text) {
      this.buf = this.buf.slice(this.pos);
      this.pos = 0;
    }
    const out = this.out;
    this.out = [];
    return out;
  }

  private run(): void {
    while (this.step());
  }

  /** Advances by one decision; false when the text so far cannot decide the next one. */
  private step(): boolean {
    switch (this.state) {
      case State.Text:
        return this.stepText();
      case State.CallOpen:
        return this.stepCallOpen();
      case State.FuncName:
      case State.ParamName:
        return this.stepName();
      case State.FuncBody:
        return this.stepFuncBody();
      case State.ParamValue:
        return this.stepParamValue();
      case State.FuncClosed:
        return this.stepFuncClosed();
    }
  }

  private get bareCallsAllowed(): boolean {
    return this.tools !== null && this.tools.size > 0;
  }

  private stepText(): boolean {
    const { buf } = this;
    if (this.skipNewline) {
      if (this.pos >= buf.length && !this.ended) return false;
      if (buf[this.pos] === '\n') this.pos++;
      this.skipNewline = false;
    }
    const lt = buf.indexOf('<', this.pos);
    if (lt < 0) {
      this.emitText(buf.slice(this.pos));
      this.pos = buf.length;
      return false;
    }
    this.emitText(buf.slice(this.pos, lt));
    this.pos = lt;
    if (buf.startsWith(TOOL_CALL, lt)) {
      this.beginCall(lt + TOOL_CALL.length, State.CallOpen);
      return true;
    }
    if (this.strayThinkClose && buf.startsWith(THINK_CLOSE, lt)) {
      this.strayThinkClose = false;
      this.pos = lt + THINK_CLOSE.length;
      this.skipNewline = true;
      if (!this.segmentHasText) this.heldWhitespace = '';
      return true;
    }
    if (this.bareCallsAllowed && startsWithAny(buf, lt, FUNCTION)) {
      const from = lt + FUNCTION[0]!.length;
      const end = nameEnd(buf, from);
      if (end < 0 && !this.ended && buf.length - from <= MAX_NAME) return false;
      if (end >= 0 && this.tools!.has(buf.slice(from, end).trim())) {
        this.beginCall(from, State.FuncName);
        if (buf.startsWith(FUNCTION[1]!, lt)) this.repaired('<function NAME> without "="');
        return true;
      }
    } else if (!this.ended && isPartialOfAny(buf, lt, this.textMarkers())) return false;
    this.emitText('<');
    this.pos = lt + 1;
    return true;
  }

  private textMarkers(): string[] {
    const m = [TOOL_CALL];
    if (this.strayThinkClose) m.push(THINK_CLOSE);
    if (this.bareCallsAllowed) m.push(...FUNCTION);
    return m;
  }

  private stepCallOpen(): boolean {
    const at = skipWhitespace(this.buf, this.pos);
    if (startsWithAny(this.buf, at, FUNCTION)) {
      if (this.buf.startsWith(FUNCTION[1]!, at)) this.repaired('<function NAME> without "="');
      this.pos = at + FUNCTION[0]!.length;
      this.state = State.FuncName;
      return true;
    }
    if (at >= this.buf.length || isPartialOfAny(this.buf, at, [...FUNCTION, TOOL_CALL_END])) return false;
    // `<tool_call>` followed by anything but a function (prose about the tag, an empty call): not a call.
    this.rejectCall(this.buf.startsWith(TOOL_CALL_END, at) ? at + TOOL_CALL_END.length : at);
    return true;
  }

  private stepName(): boolean {
    const end = nameEnd(this.buf, this.pos);
    if (end < 0) {
      if (this.buf.length - this.pos <= MAX_NAME) return false;
      this.rejectCall(this.pos);
      return true;
    }
    const name = this.buf.slice(this.pos, end).trim();
    if (!validName(name)) {
      this.rejectCall(this.pos);
      return true;
    }
    // Without the `>` the name ends at the newline, which then reads as the usual one after the tag.
    this.pos = this.buf[end] === '>' ? end + 1 : end;
    const missing = this.buf[end] !== '>';
    if (this.state === State.FuncName) {
      this.funcName = name;
      this.state = State.FuncBody;
      if (missing) this.repaired('missing ">" after <function=NAME');
    } else {
      if (missing) this.repaired(`missing ">" after <parameter=${name}`);
      this.paramName = name;
      this.valueStart = this.scan = this.pos;
      this.state = State.ParamValue;
    }
    return true;
  }

  private stepFuncBody(): boolean {
    const { buf } = this;
    const at = skipWhitespace(buf, this.pos);
    if (at >= buf.length) return false;
    if (startsWithAny(buf, at, PARAMETER)) {
      this.pos = at + PARAMETER[0]!.length;
      this.state = State.ParamName;
      return true;
    }
    if (buf.startsWith(FUNCTION_END, at)) {
      this.pos = at + FUNCTION_END.length;
      this.state = State.FuncClosed;
      return true;
    }
    if (buf.startsWith(TOOL_CALL_END, at)) {
      this.pos = at + TOOL_CALL_END.length;
      this.repaired('missing </function>');
      this.finishCall();
      return true;
    }
    if (buf.startsWith(TOOL_CALL, at) || startsWithAny(buf, at, FUNCTION)) {
      // The next call starts: this function is complete though never closed.
      this.pos = at;
      this.repaired(this.wrapped ? 'missing </function> and </tool_call>' : 'missing </function>');
      this.finishCall();
      return true;
    }
    if (isPartialOfAny(buf, at, [...PARAMETER, FUNCTION_END, TOOL_CALL_END, TOOL_CALL, ...FUNCTION])) return false;
    // Stray text between parameters carries no argument; skip to the next tag.
    const next = buf.indexOf('<', at + 1);
    this.pos = next < 0 ? buf.length : next;
    return true;
  }

  private stepParamValue(): boolean {
    const { buf } = this;
    for (;;) {
      const lt = buf.indexOf('<', this.scan);
      if (lt < 0) {
        this.scan = buf.length;
        return false;
      }
      if (buf.startsWith(PARAMETER_END, lt)) {
        this.addParam(lt);
        this.pos = lt + PARAMETER_END.length;
        this.state = State.FuncBody;
        return true;
      }
      if (buf.startsWith(FUNCTION_END, lt)) {
        // `</function>` ends the value only when what follows proves the call is over.
        const after = skipWhitespace(buf, lt + FUNCTION_END.length);
        if (buf.startsWith(TOOL_CALL_END, after) || buf.startsWith(TOOL_CALL, after)) {
          this.repaired(`missing </parameter> after ${this.paramName}`);
          this.addParam(lt);
          this.pos = buf.startsWith(TOOL_CALL_END, after) ? after + TOOL_CALL_END.length : after;
          this.finishCall();
          return true;
        }
        if (after >= buf.length || isPartialOfAny(buf, after, [TOOL_CALL_END, TOOL_CALL])) {
          this.scan = lt;
          return false;
        }
      } else if (lt > this.valueStart && buf[lt - 1] === '\n' && startsWithAny(buf, lt, PARAMETER)) {
        // The next parameter of this tool, on its own line: this value lacked its `</parameter>`.
        const from = lt + PARAMETER[0]!.length;
        const end = nameEnd(buf, from);
        if (end < 0 && buf.length - from <= MAX_NAME) {
          this.scan = lt;
          return false;
        }
        if (end >= 0 && this.isDeclaredParam(buf.slice(from, end).trim())) {
          this.repaired(`missing </parameter> after ${this.paramName}`);
          this.addParam(lt);
          this.pos = lt;
          this.state = State.FuncBody;
          return true;
        }
      } else if (isPartialOfAny(buf, lt, [PARAMETER_END, FUNCTION_END, ...PARAMETER])) {
        this.scan = lt;
        return false;
      }
      this.scan = lt + 1;
    }
  }

  private stepFuncClosed(): boolean {
    const at = skipWhitespace(this.buf, this.pos);
    if (this.buf.startsWith(TOOL_CALL_END, at)) this.pos = at + TOOL_CALL_END.length;
    else if (!this.ended && (at >= this.buf.length || isPartialOfAny(this.buf, at, [TOOL_CALL_END]))) return false;
    else if (this.wrapped) this.repaired('missing </tool_call>');
    this.finishCall();
    return true;
  }

  private isDeclaredParam(name: string): boolean {
    const props = this.tools?.get(this.funcName)?.function.parameters?.properties;
    if (props && typeof props === 'object') return Object.prototype.hasOwnProperty.call(props, name);
    // No schema to check against: accept a plain identifier.
    return /^[A-Za-z_][\w.-]*$/.test(name);
  }

  private addParam(valueEnd: number): void {
    let value = this.buf.slice(this.valueStart, valueEnd);
    if (value.startsWith('\n')) value = value.slice(1);
    if (value.endsWith('\n')) value = value.slice(0, -1);
    this.params.push([this.paramName, value]);
  }

  private beginCall(pos: number, state: State): void {
    // From its opening tag on, a call keeps its raw text until it is emitted or given back as content.
    const start = this.pos;
    this.buf = this.buf.slice(start);
    this.pos = pos - start;
    this.state = state;
    this.whitespaceBeforeCall = this.segmentHasText ? '' : this.heldWhitespace;
    this.heldWhitespace = '';
    this.funcName = '';
    this.params = [];
    this.wrapped = state === State.CallOpen;
    if (!this.wrapped) this.repaired('no <tool_call> around <function=...>');
  }

  private repaired(what: string): void {
    this.warnings.push(`repaired a tool call${this.funcName ? ` to ${JSON.stringify(this.funcName)}` : ''}: ${what}`);
  }

  private finishCall(): void {
    const name = this.funcName;
    const tool = this.tools?.get(name);
    if (this.tools && !tool) {
      this.warnings.push(`the model called ${JSON.stringify(name)}, which is not a declared tool; returned as content`);
      this.rejectCall(this.pos);
      return;
    }
    const args = buildArguments(name, this.params, tool, this.warnings);
    this.out.push({ type: 'tool_call', index: this.callCount++, call: { id: this.generateId(), name, arguments: args } });
    this.state = State.Text;
    this.segmentHasText = false;
    this.heldWhitespace = '';
    this.buf = this.buf.slice(this.pos);
    this.pos = 0;
  }

  /** Gives the call's text up to `upto` back as content and resumes scanning there. */
  private rejectCall(upto: number): void {
    const raw = this.buf.slice(0, upto);
    this.state = State.Text;
    this.pos = upto;
    this.emitText(this.whitespaceBeforeCall + raw);
    this.whitespaceBeforeCall = '';
  }

  private emitText(text: string): void {
    if (!text) return;
    if (this.segmentHasText) return this.emitContent(text);
    if (!/\S/.test(text)) {
      this.heldWhitespace += text;
      return;
    }
    this.segmentHasText = true;
    this.emitContent(this.heldWhitespace + text);
    this.heldWhitespace = '';
  }

  private emitContent(text: string): void {
    if (!text) return;
    const last = this.out[this.out.length - 1];
    if (last?.type === 'content') last.text += text;
    else this.out.push({ type: 'content', text });
  }
}
