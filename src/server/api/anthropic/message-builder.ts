// The non-streaming response: the stream's events folded into one message, the way a client's stream
// accumulator does. Building it from the sequencer's events keeps streaming and non-streaming identical.
import { HttpError } from '../../http/errors.js';
import type { ContentBlockOut, MessageOut, StreamEvent } from './wire.js';

export class MessageBuilder {
  private message: MessageOut | undefined;
  private json = new Map<number, string>();

  add(ev: StreamEvent): void {
    if (ev.type === 'message_start') {
      this.message = structuredClone(ev.message);
      return;
    }
    const m = this.message;
    if (!m) throw new HttpError('internal', `${ev.type} before message_start`);
    switch (ev.type) {
      case 'content_block_start':
        m.content[ev.index] = { ...ev.content_block } as ContentBlockOut;
        break;
      case 'content_block_delta': {
        const block = m.content[ev.index];
        const d = ev.delta;
        if (d.type === 'text_delta' && block?.type === 'text') block.text += d.text;
        else if (d.type === 'thinking_delta' && block?.type === 'thinking') block.thinking += d.thinking;
        else if (d.type === 'signature_delta' && block?.type === 'thinking') block.signature = d.signature;
        else if (d.type === 'input_json_delta' && block?.type === 'tool_use') this.json.set(ev.index, (this.json.get(ev.index) ?? '') + d.partial_json);
        break;
      }
      case 'content_block_stop': {
        const block = m.content[ev.index];
        const text = this.json.get(ev.index);
        if (block?.type === 'tool_use' && text !== undefined) block.input = JSON.parse(text) as Record<string, unknown>;
        break;
      }
      case 'message_delta':
        m.stop_reason = ev.delta.stop_reason;
        m.stop_sequence = ev.delta.stop_sequence;
        m.usage = { ...ev.usage };
        if (ev.stepflash) m.stepflash = { ...m.stepflash, notes: [...(m.stepflash?.notes ?? []), ...ev.stepflash.notes] };
        break;
      case 'message_stop':
        break;
    }
  }

  /** The finished message; throws if the events never reached message_delta. */
  result(): MessageOut {
    if (!this.message || this.message.stop_reason === null) throw new HttpError('internal', 'generation ended without finishing the message');
    return this.message;
  }
}
