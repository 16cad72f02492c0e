// Engine events -> `chat.completion.chunk` events. The order clients rely on: a first chunk with the role,
// reasoning and content deltas as they come, each tool call as a header (index, id, type, name,
// arguments "") followed by its arguments in pieces that concatenate to the exact JSON text, a final
// chunk with finish_reason (plus `timings` and the `stepflash` notes), the usage chunk when
// stream_options.include_usage asked for it, then [DONE].
import type { ChatEvent } from '../../chat-service.js';
import type { ParsedChatCompletion } from './chat-request.js';
import { reasoningKeys } from './reasoning-format.js';
import type { SseWriter } from './sse.js';
import type { StreamHandlers } from './stream-pump.js';
import { chatLogprobs, finishReasonOf, Notes, splitText, timingsOf, usageOf, type DoneEvent } from './wire.js';

export interface ChunkBase {
  readonly id: string;
  readonly created: number;
  readonly model: string;
  readonly system_fingerprint: string;
}

export class ChatChunkWriter implements StreamHandlers {
  private readonly notes = new Notes();
  private readonly keys: readonly string[];
  private sawToolCalls = false;
  /** reasoning_format none/inline: a `<think>` was written to content and awaits its `</think>`. */
  private thinkOpen = false;
  private done: DoneEvent | undefined;

  constructor(
    private readonly base: ChunkBase,
    private readonly parsed: ParsedChatCompletion,
    private readonly argumentsChunkChars: number,
    private readonly signal: AbortSignal,
  ) {
    this.keys = reasoningKeys(parsed.reasoningField);
  }

  headers(): Record<string, string> {
    const note = this.notes.header();
    return note ? { 'x-stepflash-note': note } : {};
  }

  async onEvent(event: ChatEvent, sse: SseWriter): Promise<void> {
    switch (event.type) {
      case 'start':
        this.notes.onStart(event, this.parsed.requestedMaxTokens);
        return sse.data(this.chunk({ role: 'assistant', content: '' }));
      case 'reasoning':
        if (event.text === '') return;
        if (this.parsed.reasoningField === 'inline') {
          const open = this.thinkOpen ? '' : '<think>';
          this.thinkOpen = true;
          return sse.data(this.chunk({ content: open + event.text }));
        }
        return sse.data(this.chunk(Object.fromEntries(this.keys.map((k) => [k, event.text]))));
      case 'content': {
        const text = this.closeThink() + event.text;
        const logprobs = this.parsed.logprobs && event.logprobs ? chatLogprobs(event.logprobs) : null;
        if (text === '' && !logprobs) return;
        return sse.data(this.chunk({ content: text }, logprobs));
      }
      case 'tool_call': {
        await this.flushThink(sse);
        this.sawToolCalls = true;
        await sse.data(
          this.chunk({ tool_calls: [{ index: event.index, id: event.id, type: 'function', function: { name: event.name, arguments: '' } }] }),
        );
        for (const piece of splitText(event.arguments, this.argumentsChunkChars)) {
          await sse.data(this.chunk({ tool_calls: [{ index: event.index, function: { arguments: piece } }] }));
        }
        return;
      }
      case 'done': {
        if (event.finishReason === 'cancelled') {
          if (this.signal.aborted) return; // the client left; nobody to tell
          throw new Error('the server cancelled the generation before it finished');
        }
        await this.flushThink(sse);
        this.done = event;
        this.notes.onDone(event);
        const ext = this.notes.extension();
        return sse.data({
          ...this.chunk({}, null, finishReasonOf(event.finishReason, this.sawToolCalls)),
          timings: timingsOf(event),
          ...(ext ? { stepflash: ext } : {}),
        });
      }
    }
  }

  async onEnd(sse: SseWriter): Promise<void> {
    if (!this.done) {
      if (this.signal.aborted) return;
      throw new Error('the engine ended the stream without a finish reason');
    }
    if (this.parsed.includeUsage) {
      await sse.data({ ...this.header(), choices: [], usage: usageOf(this.done) });
    }
    await sse.done();
  }

  private header(): Record<string, unknown> {
    return { id: this.base.id, object: 'chat.completion.chunk', created: this.base.created, model: this.base.model, system_fingerprint: this.base.system_fingerprint };
  }

  private chunk(delta: Record<string, unknown>, logprobs: unknown = null, finishReason: string | null = null): Record<string, unknown> {
    return {
      ...this.header(),
      choices: [{ index: 0, delta, logprobs, finish_reason: finishReason }],
      // OpenAI: with include_usage, every chunk but the last carries `usage: null`.
      ...(this.parsed.includeUsage ? { usage: null } : {}),
    };
  }

  private closeThink(): string {
    if (!this.thinkOpen) return '';
    this.thinkOpen = false;
    return '</think>';
  }

  private async flushThink(sse: SseWriter): Promise<void> {
    const close = this.closeThink();
    if (close) await sse.data(this.chunk({ content: close }));
  }
}
