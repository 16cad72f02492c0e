// The one state machine that turns the service's ChatEvents into the Messages stream's events. It owns
// the block indices, so they are consecutive and each block is started, filled and stopped before the
// next begins (clients break on anything else: "Content block not found", "Unexpected event order").
// Non-streaming responses are built by folding the same events (message-builder.ts), so both modes agree.
//
//   message_start (usage.input_tokens filled)
//   per block: content_block_start, content_block_delta..., content_block_stop
//     thinking: thinking_delta..., then one signature_delta just before the stop
//     text:     text_delta...
//     tool_use: input_json_delta (the input's JSON; the service hands over whole calls)
//   message_delta (stop_reason, stop_sequence, usage.output_tokens), message_stop
import type { ChatEvent } from '../../chat-service.js';
import { HttpError } from '../../http/errors.js';
import { messageId, toolUseId } from './ids.js';
import { thinkingSignature } from './signature.js';
import type { StepflashReport, StopReason, StreamEvent, Usage } from './wire.js';

export interface SequencerOptions {
  readonly model: string;
  readonly showThinking: boolean;
  /** The max_tokens the client asked for, to word the clamping note. */
  readonly requestedMaxTokens?: number;
  /** Notes from mapping the request (ignored server tools, ...). */
  readonly notes?: readonly string[];
  /** Signature key; the process key by default. */
  readonly signatureKey?: Uint8Array;
}

type Open = { kind: 'thinking'; index: number; text: string } | { kind: 'text'; index: number };

export class MessageSequencer {
  private started = false;
  private finished = false;
  private nextIndex = 0;
  private open: Open | undefined;
  private toolUses = 0;
  private cachedTokens = 0;
  private promptTokens = 0;

  constructor(private readonly opts: SequencerOptions) {}

  get hasStarted(): boolean {
    return this.started;
  }

  get hasFinished(): boolean {
    return this.finished;
  }

  push(ev: ChatEvent): StreamEvent[] {
    if (this.finished) return [];
    if (ev.type === 'start') return this.start(ev);
    if (!this.started) throw new HttpError('internal', `the engine sent ${ev.type} before start`);
    switch (ev.type) {
      case 'reasoning':
        if (!this.opts.showThinking || ev.text === '') return [];
        return this.appendTo('thinking', ev.text);
      case 'content':
        if (ev.text === '') return [];
        return this.appendTo('text', ev.text);
      case 'tool_call':
        return this.toolUse(ev.name, ev.arguments);
      case 'done':
        return this.done(ev);
    }
  }

  private start(ev: Extract<ChatEvent, { type: 'start' }>): StreamEvent[] {
    if (this.started) return [];
    this.started = true;
    this.promptTokens = ev.promptTokens;
    this.cachedTokens = ev.cachedTokens;
    const notes = [...(this.opts.notes ?? [])];
    const requested = this.opts.requestedMaxTokens ?? null;
    if (ev.maxTokensClamped) {
      notes.push(
        requested !== null
          ? `max_tokens ${requested} was reduced to ${ev.maxTokens}: the prompt takes ${ev.promptTokens} tokens of the context`
          : `max_tokens was set to ${ev.maxTokens}: the prompt takes ${ev.promptTokens} tokens of the context`,
      );
    }
    const stepflash: StepflashReport | undefined =
      notes.length === 0 ? undefined : { notes, ...(ev.maxTokensClamped ? { max_tokens: { requested, granted: ev.maxTokens } } : {}) };
    return [
      {
        type: 'message_start',
        message: {
          id: messageId(),
          type: 'message',
          role: 'assistant',
          model: this.opts.model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: this.usage(0),
          ...(stepflash ? { stepflash } : {}),
        },
      },
    ];
  }

  private usage(outputTokens: number): Usage {
    return {
      input_tokens: Math.max(0, this.promptTokens - this.cachedTokens),
      output_tokens: outputTokens,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: this.cachedTokens,
    };
  }

  private appendTo(kind: 'thinking' | 'text', text: string): StreamEvent[] {
    const out: StreamEvent[] = [];
    if (this.open?.kind !== kind) {
      out.push(...this.closeOpen());
      const index = this.nextIndex++;
      this.open = kind === 'thinking' ? { kind, index, text: '' } : { kind, index };
      out.push({
        type: 'content_block_start',
        index,
        content_block: kind === 'thinking' ? { type: 'thinking', thinking: '', signature: '' } : { type: 'text', text: '' },
      });
    }
    const open = this.open!;
    if (open.kind === 'thinking') {
      open.text += text;
      out.push({ type: 'content_block_delta', index: open.index, delta: { type: 'thinking_delta', thinking: text } });
    } else {
      out.push({ type: 'content_block_delta', index: open.index, delta: { type: 'text_delta', text } });
    }
    return out;
  }

  private closeOpen(): StreamEvent[] {
    const open = this.open;
    if (!open) return [];
    this.open = undefined;
    const out: StreamEvent[] = [];
    if (open.kind === 'thinking') {
      const signature = thinkingSignature(open.text, this.opts.signatureKey);
      out.push({ type: 'content_block_delta', index: open.index, delta: { type: 'signature_delta', signature } });
    }
    out.push({ type: 'content_block_stop', index: open.index });
    return out;
  }

  private toolUse(name: string, args: string): StreamEvent[] {
    const input = toolInputJson(name, args);
    const index = this.nextIndex++;
    this.toolUses++;
    return [
      ...this.closeOpen(),
      { type: 'content_block_start', index, content_block: { type: 'tool_use', id: toolUseId(), name, input: {} } },
      { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: input } },
      { type: 'content_block_stop', index },
    ];
  }

  private done(ev: Extract<ChatEvent, { type: 'done' }>): StreamEvent[] {
    this.finished = true;
    this.promptTokens = ev.usage.promptTokens;
    this.cachedTokens = ev.usage.cachedTokens;
    const stopReason = this.stopReason(ev);
    return [
      ...this.closeOpen(),
      {
        type: 'message_delta',
        delta: { stop_reason: stopReason, stop_sequence: stopReason === 'stop_sequence' ? ev.stopSequence! : null },
        usage: this.usage(ev.usage.completionTokens),
        ...(ev.note ? { stepflash: { notes: [ev.note] } } : {}),
      },
      { type: 'message_stop' },
    ];
  }

  private stopReason(ev: Extract<ChatEvent, { type: 'done' }>): StopReason {
    if (ev.finishReason === 'length') return 'max_tokens';
    if (ev.finishReason === 'tool_calls' || this.toolUses > 0) return 'tool_use';
    if (ev.stopSequence !== undefined) return 'stop_sequence';
    return 'end_turn';
  }
}

/**
 * The tool input as JSON text. The service promises a JSON object; it is re-serialised so the streamed
 * text and the non-streaming `input` are the same object by construction.
 */
function toolInputJson(name: string, args: string): string {
  if (args.trim() === '') return '{}';
  let value: unknown;
  try {
    value = JSON.parse(args);
  } catch {
    value = undefined;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new HttpError('internal', `the engine produced arguments for tool ${JSON.stringify(name)} that are not a JSON object`);
  }
  return JSON.stringify(value);
}
