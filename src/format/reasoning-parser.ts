// Splits the model's streamed output into reasoning and content. The prompt ends with the open
// `<think>\n` block (the template has no way to turn thinking off), so the output starts inside reasoning
// and normally says `...\n</think>\n` before the answer. Reasoning also ends at `<tool_call>`: Step
// sometimes calls a tool without closing its reasoning, and a parser that waits for `</think>` then hides
// the call inside the reasoning (the SGLang bug fixed by sgl-project/sglang#38892).
import { partialMarkerStart } from './markers.js';

export interface ReasoningPiece {
  kind: 'reasoning' | 'content';
  text: string;
}

export interface ReasoningParserOptions {
  /** True (the default) when the prompt ends with the open `<think>` block, as the Step template's does. */
  startInReasoning?: boolean;
}

const THINK_OPEN = '<think>';
const THINK_CLOSE = '</think>';
const TOOL_CALL = '<tool_call>';
const ENDS = [THINK_CLOSE, TOOL_CALL];

export class ReasoningParser {
  private mode: 'reasoning' | 'content';
  private buf = '';
  /** A model that repeats the prefilled `<think>` gets it dropped once, at the very start. */
  private atStart: boolean;
  /** One `\n` after `</think>` (or after a repeated `<think>`) belongs to the tag, not to the text. */
  private skipNewline = false;
  private endReason: 'think' | 'tool_call' | null = null;

  constructor(options: ReasoningParserOptions = {}) {
    const start = options.startInReasoning ?? true;
    this.mode = start ? 'reasoning' : 'content';
    this.atStart = start;
  }

  /** Whether the text so far has not left the reasoning block. */
  get inReasoning(): boolean {
    return this.mode === 'reasoning';
  }

  /** What ended the reasoning: `</think>`, a `<tool_call>` before any `</think>`, or nothing yet. */
  get endedBy(): 'think' | 'tool_call' | null {
    return this.endReason;
  }

  push(text: string): ReasoningPiece[] {
    const out: ReasoningPiece[] = [];
    this.buf += text;
    this.run(out, false);
    return out;
  }

  /** Flushes what was held back; reasoning cut off by the end of the stream is returned as reasoning. */
  end(): ReasoningPiece[] {
    const out: ReasoningPiece[] = [];
    this.run(out, true);
    return out;
  }

  private run(out: ReasoningPiece[], final: boolean): void {
    const emit = (kind: ReasoningPiece['kind'], text: string) => {
      if (text) out.push({ kind, text });
    };
    for (;;) {
      if (this.atStart) {
        if (!final && this.buf.length < THINK_OPEN.length && THINK_OPEN.startsWith(this.buf)) return;
        if (this.buf.startsWith(THINK_OPEN)) {
          this.buf = this.buf.slice(THINK_OPEN.length);
          this.skipNewline = true;
        }
        this.atStart = false;
      }
      if (this.skipNewline) {
        if (this.buf === '' && !final) return;
        if (this.buf.startsWith('\n')) this.buf = this.buf.slice(1);
        this.skipNewline = false;
      }
      if (this.mode === 'content') {
        emit('content', this.buf);
        this.buf = '';
        return;
      }
      const close = this.buf.indexOf(THINK_CLOSE);
      const call = this.buf.indexOf(TOOL_CALL);
      if (close >= 0 && (call < 0 || close < call)) {
        emit('reasoning', dropOneNewline(this.buf.slice(0, close)));
        this.buf = this.buf.slice(close + THINK_CLOSE.length);
        this.mode = 'content';
        this.endReason = 'think';
        this.skipNewline = true;
        continue;
      }
      if (call >= 0) {
        // The newline before the call goes too, so reasoning reads the same whichever tag ended it.
        emit('reasoning', dropOneNewline(this.buf.slice(0, call)));
        this.buf = this.buf.slice(call);
        this.mode = 'content';
        this.endReason = 'tool_call';
        continue;
      }
      if (final) {
        emit('reasoning', this.buf);
        this.buf = '';
        return;
      }
      // Hold back a tag that may be completing, and the `\n` before it, which the tag would swallow.
      let hold = partialMarkerStart(this.buf, 0, ENDS);
      if (hold < 0) hold = this.buf.length;
      if (hold > 0 && this.buf[hold - 1] === '\n') hold--;
      emit('reasoning', this.buf.slice(0, hold));
      this.buf = this.buf.slice(hold);
      return;
    }
  }
}

function dropOneNewline(s: string): string {
  return s.endsWith('\n') ? s.slice(0, -1) : s;
}
