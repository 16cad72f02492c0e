// The model's output, chunk by chunk, as typed events: reasoning and content as they arrive, tool calls
// whole. One object per generation; the server turns events into SSE deltas, the agent into turns.
import type { ToolDefinition } from './messages.js';
import { ReasoningParser } from './reasoning-parser.js';
import { ToolCallParser, type ParsedToolCall } from './tool-call-parser.js';

export type OutputEvent =
  | { type: 'reasoning'; text: string }
  | { type: 'content'; text: string }
  | { type: 'tool_call'; index: number; call: ParsedToolCall };

export interface ParsedOutput {
  reasoning: string;
  content: string;
  toolCalls: ParsedToolCall[];
  /** The stream stopped before `</think>` (everything is then reasoning). */
  endedInReasoning: boolean;
  /** The stream stopped inside a tool call, whose text was returned as content. */
  endedInToolCall: boolean;
  /** Repairs of malformed calls, values kept as text, text given back: worth logging, not failing. */
  warnings: string[];
}

export interface OutputParserOptions {
  /** The request's tools; see ToolCallParserOptions.tools. */
  tools?: readonly ToolDefinition[] | null;
  /** True (the default) when the prompt ends inside `<think>`, as the Step generation prompt does. */
  startInReasoning?: boolean;
  generateId?: () => string;
}

export class OutputParser {
  private readonly reasoningParser: ReasoningParser;
  private readonly toolParser: ToolCallParser;
  private reasoning = '';
  private content = '';
  private readonly toolCalls: ParsedToolCall[] = [];
  private finished = false;
  private strayThinkArmed = false;

  constructor(options: OutputParserOptions = {}) {
    this.reasoningParser = new ReasoningParser({ startInReasoning: options.startInReasoning });
    this.toolParser = new ToolCallParser({ tools: options.tools, generateId: options.generateId });
  }

  push(text: string): OutputEvent[] {
    if (this.finished) throw new Error('OutputParser: push() after end()');
    const events: OutputEvent[] = [];
    for (const piece of this.reasoningParser.push(text)) this.route(piece.kind, piece.text, events);
    return events;
  }

  /** `dropOpenCall`: the output was cut off; a tool call still open is dropped, not returned as text. */
  end(options: { dropOpenCall?: boolean } = {}): OutputEvent[] {
    if (this.finished) return [];
    this.finished = true;
    const events: OutputEvent[] = [];
    for (const piece of this.reasoningParser.end()) this.route(piece.kind, piece.text, events);
    this.record(this.toolParser.end(options), events);
    return events;
  }

  /** What the output amounts to so far; final once end() has been called. */
  result(): ParsedOutput {
    return {
      reasoning: this.reasoning,
      content: this.content,
      toolCalls: [...this.toolCalls],
      endedInReasoning: this.finished && this.reasoningParser.inReasoning,
      endedInToolCall: this.toolParser.endedInToolCall,
      warnings: [...this.toolParser.warnings],
    };
  }

  private route(kind: 'reasoning' | 'content', text: string, events: OutputEvent[]): void {
    if (kind === 'reasoning') {
      this.reasoning += text;
      events.push({ type: 'reasoning', text });
      return;
    }
    if (!this.strayThinkArmed && this.reasoningParser.endedBy === 'tool_call') {
      this.strayThinkArmed = true;
      this.toolParser.expectStrayThinkClose();
    }
    this.record(this.toolParser.push(text), events);
  }

  private record(toolEvents: ReturnType<ToolCallParser['push']>, events: OutputEvent[]): void {
    for (const e of toolEvents) {
      if (e.type === 'content') this.content += e.text;
      else this.toolCalls.push(e.call);
      events.push(e);
    }
  }
}

/** Parses a complete output in one go, through the same code as the streaming path. */
export function parseModelOutput(
  text: string,
  tools?: readonly ToolDefinition[] | null,
  options: Omit<OutputParserOptions, 'tools'> = {},
): ParsedOutput {
  const parser = new OutputParser({ ...options, tools });
  parser.push(text);
  parser.end();
  return parser.result();
}
