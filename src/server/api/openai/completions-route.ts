// POST /v1/completions: `text_completion` objects, streamed (chunks of the same object type, a final one
// with finish_reason and timings, the usage chunk on request, [DONE]) or whole.
import type { ChatEvent, TokenLogprob } from '../../chat-service.js';
import { sendJson } from '../../http/errors.js';
import type { Route, RouteContext } from '../../http/route.js';
import { parseCompletion, type ParsedCompletion } from './completions-request.js';
import { toOpenAIError } from './openai-errors.js';
import type { ResolvedOpenAIOptions } from './options.js';
import type { SseWriter } from './sse.js';
import { runStream, type StreamHandlers } from './stream-pump.js';
import { fingerprintFor, finishReasonOf, newId, Notes, nowSeconds, textLogprobs, timingsOf, usageOf, type DoneEvent } from './wire.js';

interface Base {
  readonly id: string;
  readonly object: 'text_completion';
  readonly created: number;
  readonly model: string;
  readonly system_fingerprint: string;
}

export function completionsRoute(opts: ResolvedOpenAIOptions): Route {
  return {
    method: 'POST',
    path: '/v1/completions',
    errors: 'openai',
    async handler(ctx) {
      const parsed = parseCompletion(ctx.body, opts.completionsDefaultMaxTokens);
      const base: Base = {
        id: newId('cmpl'),
        object: 'text_completion',
        created: nowSeconds(),
        model: ctx.service.modelName,
        system_fingerprint: fingerprintFor(ctx.service.modelName, opts.systemFingerprint),
      };
      const open = (): AsyncIterable<ChatEvent> => ctx.service.complete({ ...parsed.request, signal: ctx.signal });
      if (parsed.stream) await runStream(ctx, opts.heartbeatMs, 'prompt', open, new TextChunkWriter(base, parsed, ctx.signal));
      else await respondWhole(ctx, parsed, base, open);
    },
  };
}

/** The generated text of an event: reasoning too, since an untemplated completion has no split. */
function textOf(event: ChatEvent): string {
  return event.type === 'content' || event.type === 'reasoning' ? event.text : '';
}

class TextChunkWriter implements StreamHandlers {
  private readonly notes = new Notes();
  private offset = 0;
  private done: DoneEvent | undefined;

  constructor(
    private readonly base: Base,
    private readonly parsed: ParsedCompletion,
    private readonly signal: AbortSignal,
  ) {}

  headers(): Record<string, string> {
    const note = this.notes.header();
    return note ? { 'x-stepflash-note': note } : {};
  }

  async onEvent(event: ChatEvent, sse: SseWriter): Promise<void> {
    if (event.type === 'start') {
      this.notes.onStart(event, this.parsed.requestedMaxTokens);
      if (this.parsed.echo) return this.write(sse, this.parsed.request.prompt, undefined);
      return;
    }
    if (event.type === 'done') {
      if (event.finishReason === 'cancelled') {
        if (this.signal.aborted) return;
        throw new Error('the server cancelled the generation before it finished');
      }
      this.done = event;
      this.notes.onDone(event);
      const ext = this.notes.extension();
      return sse.data({
        ...this.chunk('', null, finishReasonOf(event.finishReason, false)),
        timings: timingsOf(event),
        ...(ext ? { stepflash: ext } : {}),
      });
    }
    const text = textOf(event);
    if (text !== '') await this.write(sse, text, event.type === 'content' ? event.logprobs : undefined);
  }

  async onEnd(sse: SseWriter): Promise<void> {
    if (!this.done) {
      if (this.signal.aborted) return;
      throw new Error('the engine ended the stream without a finish reason');
    }
    if (this.parsed.includeUsage) await sse.data({ ...this.base, choices: [], usage: usageOf(this.done) });
    await sse.done();
  }

  private async write(sse: SseWriter, text: string, logprobs: readonly TokenLogprob[] | undefined): Promise<void> {
    const lp = this.parsed.logprobs !== undefined && logprobs ? textLogprobs(logprobs, this.offset) : null;
    this.offset += text.length;
    await sse.data(this.chunk(text, lp, null));
  }

  private chunk(text: string, logprobs: unknown, finishReason: string | null): Record<string, unknown> {
    return {
      ...this.base,
      choices: [{ index: 0, text, logprobs, finish_reason: finishReason }],
      ...(this.parsed.includeUsage ? { usage: null } : {}),
    };
  }
}

async function respondWhole(ctx: RouteContext, parsed: ParsedCompletion, base: Base, open: () => AsyncIterable<ChatEvent>): Promise<void> {
  const notes = new Notes();
  let text = parsed.echo ? parsed.request.prompt : '';
  const logprobs: TokenLogprob[] = [];
  let done: DoneEvent | undefined;
  try {
    for await (const event of open()) {
      if (event.type === 'start') notes.onStart(event, parsed.requestedMaxTokens);
      else if (event.type === 'done') done = event;
      else {
        text += textOf(event);
        if (event.type === 'content' && event.logprobs) logprobs.push(...event.logprobs);
      }
    }
  } catch (e) {
    throw toOpenAIError(e, 'prompt');
  }
  if (ctx.signal.aborted) return;
  if (!done || done.finishReason === 'cancelled') throw new Error('the engine ended the request without a finish reason');
  notes.onDone(done);
  const ext = notes.extension();
  const header = notes.header();
  sendJson(
    ctx.res,
    200,
    {
      ...base,
      choices: [
        {
          index: 0,
          text,
          logprobs: parsed.logprobs !== undefined ? textLogprobs(logprobs, 0) : null,
          finish_reason: finishReasonOf(done.finishReason, false),
        },
      ],
      usage: usageOf(done),
      timings: timingsOf(done),
      ...(ext ? { stepflash: ext } : {}),
    },
    header ? { 'x-stepflash-note': header } : {},
  );
}
