// Where the raw output leaves the reasoning block, by the same rule as the format layer's ReasoningParser:
// at the first `</think>`, or at a `<tool_call>` that comes first (Step sometimes calls a tool without
// closing its reasoning). The engine needs this on the token stream itself, before any text is released,
// to count reasoning tokens for the budget and to start constrained decoding right after `</think>`.
// Works on binary strings (one char per byte; the markers are ASCII).

const THINK_CLOSE = '</think>';
const TOOL_CALL = '<tool_call>';
const KEEP = Math.max(THINK_CLOSE.length, TOOL_CALL.length) - 1;

export interface ReasoningEnd {
  readonly marker: 'think' | 'tool_call';
  /**
   * The output after reasoning that this push already contains: what follows `</think>`, or the
   * `<tool_call>` tag itself and what follows it (the call belongs to the answer).
   */
  readonly rest: string;
}

export class ReasoningTracker {
  private tail = '';
  private done: boolean;

  constructor(startInReasoning = true) {
    this.done = !startInReasoning;
  }

  get inReasoning(): boolean {
    return !this.done;
  }

  /** What pushing `bytes` would do, without changing the tracker. */
  peek(bytes: string): ReasoningEnd | null {
    if (this.done) return null;
    const buf = this.tail + bytes;
    const close = buf.indexOf(THINK_CLOSE);
    const call = buf.indexOf(TOOL_CALL);
    if (close >= 0 && (call < 0 || close < call)) return { marker: 'think', rest: buf.slice(close + THINK_CLOSE.length) };
    if (call >= 0) return { marker: 'tool_call', rest: buf.slice(call) };
    return null;
  }

  push(bytes: string): ReasoningEnd | null {
    if (this.done) return null;
    const end = this.peek(bytes);
    if (end) {
      this.done = true;
      this.tail = '';
      return end;
    }
    const buf = this.tail + bytes;
    this.tail = buf.slice(Math.max(0, buf.length - KEEP));
    return null;
  }
}
