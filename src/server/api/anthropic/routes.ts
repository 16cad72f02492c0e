// POST /v1/messages and POST /v1/messages/count_tokens.
//
// Errors the service raises before generating (prompt too long, queue full, bad request) must reach the
// client as real HTTP errors: Claude Code compacts on a 400 "prompt is too long" and retries a 529. So a
// streaming request waits for the service's first event before sending the 200. If that takes longer than
// `headerWaitMs` (a long queue wait), the stream opens anyway and pings until generation starts, and a
// later failure arrives as an `event: error`.
import type { ChatEvent, ChatService } from '../../chat-service.js';
import { HttpError, sendJson, streamErrorPayload } from '../../http/errors.js';
import type { Route, RouteContext } from '../../http/route.js';
import { toAnthropicError } from './errors.js';
import { MessageBuilder } from './message-builder.js';
import { toChatRequest, toCountRequest } from './request.js';
import { CountTokensRequestSchema, MessagesRequestSchema } from './schemas.js';
import { MessageSequencer } from './sequencer.js';
import { SseWriter } from './sse.js';
import type { StepflashReport } from './wire.js';
import { parseRequest } from './validation.js';

export interface AnthropicRoutesOptions {
  /** Quiet time after which a stream sends a `ping` (default 5 s). */
  readonly keepAliveMs?: number;
  /** How long a streaming request waits for generation to start before it opens the stream (default 2 s). */
  readonly headerWaitMs?: number;
  /** The key thinking signatures are made with (default: random per process). */
  readonly signatureKey?: Uint8Array;
}

export function anthropicRoutes(options: AnthropicRoutesOptions = {}): Route[] {
  return [
    { method: 'POST', path: '/v1/messages', errors: 'anthropic', handler: (ctx) => messages(ctx, options) },
    { method: 'POST', path: '/v1/messages/count_tokens', errors: 'anthropic', handler: countTokens },
  ];
}

/** Errors the client should see as they are (HttpError, ChatError, template errors); anything else stays itself for the app to log. */
function clientError(e: unknown): unknown {
  const err = toAnthropicError(e);
  return err.kind === 'internal' && !(e instanceof HttpError) ? e : err;
}

function countTokens(ctx: RouteContext): void {
  const body = parseRequest(CountTokensRequestSchema, ctx.body);
  try {
    sendJson(ctx.res, 200, { input_tokens: ctx.service.countTokens(toCountRequest(body)) });
  } catch (e) {
    throw clientError(e);
  }
}

async function messages(ctx: RouteContext, options: AnthropicRoutesOptions): Promise<void> {
  const body = parseRequest(MessagesRequestSchema, ctx.body);
  const mapped = toChatRequest(body);
  const sequencer = new MessageSequencer({
    model: ctx.service.modelName,
    showThinking: mapped.showThinking,
    requestedMaxTokens: body.max_tokens,
    notes: mapped.notes,
    ...(options.signatureKey ? { signatureKey: options.signatureKey } : {}),
  });
  let events: AsyncIterator<ChatEvent>;
  try {
    events = ctx.service.chat({ ...mapped.chat, signal: ctx.signal })[Symbol.asyncIterator]();
  } catch (e) {
    throw clientError(e);
  }
  if (body.stream) await stream(ctx, events, sequencer, options);
  else await respond(ctx, events, sequencer);
}

/** The notes as one `x-stepflash-note` header (printable ASCII: headers carry no UTF-8 reliably), as the OpenAI routes send it. */
function noteHeader(report: StepflashReport | undefined): Record<string, string> {
  if (!report || report.notes.length === 0) return {};
  return { 'x-stepflash-note': report.notes.join('; ').replace(/[^\x20-\x7e]/g, '?').slice(0, 1000) };
}

async function respond(ctx: RouteContext, events: AsyncIterator<ChatEvent>, sequencer: MessageSequencer): Promise<void> {
  const builder = new MessageBuilder();
  try {
    for (;;) {
      const r = await events.next();
      if (r.done) break;
      for (const ev of sequencer.push(r.value)) builder.add(ev);
    }
  } catch (e) {
    throw clientError(e);
  }
  if (ctx.signal.aborted) return; // the client is gone; the service has stopped
  const message = builder.result();
  sendJson(ctx.res, 200, message, noteHeader(message.stepflash));
}

const NOT_YET = Symbol('not yet');

async function stream(ctx: RouteContext, events: AsyncIterator<ChatEvent>, sequencer: MessageSequencer, options: AnthropicRoutesOptions): Promise<void> {
  const sse = new SseWriter(ctx.res, options.keepAliveMs ?? 5000);
  const first = events.next();
  first.catch(() => {}); // observed below; this only keeps an early rejection from being reported as unhandled
  let timer: NodeJS.Timeout | undefined;
  let waited: IteratorResult<ChatEvent> | typeof NOT_YET;
  try {
    waited = await Promise.race([
      first,
      new Promise<typeof NOT_YET>((resolve) => (timer = setTimeout(() => resolve(NOT_YET), options.headerWaitMs ?? 2000))),
    ]);
  } catch (e) {
    throw clientError(e); // before the 200: a real HTTP error
  } finally {
    clearTimeout(timer);
  }

  try {
    if (waited === NOT_YET) {
      sse.open();
      await sse.send({ type: 'ping' });
    }
    let next: IteratorResult<ChatEvent> = waited === NOT_YET ? await first : waited;
    for (;;) {
      if (next.done) break;
      for (const out of sequencer.push(next.value)) {
        if (!sse.isOpen) sse.open(out.type === 'message_start' ? noteHeader(out.message.stepflash) : {});
        await sse.send(out);
        // Anthropic's own streams ping right after message_start; clients are used to it there.
        if (out.type === 'message_start') await sse.send({ type: 'ping' });
      }
      if (ctx.signal.aborted) break;
      next = await events.next();
    }
    if (!sequencer.hasFinished && !ctx.signal.aborted) throw new HttpError('internal', 'generation ended without finishing the message');
  } catch (e) {
    const err = toAnthropicError(e);
    if (!sse.isOpen) throw clientError(e);
    await sse.send(streamErrorPayload('anthropic', err, ctx.requestId) as { type: string });
    if (err.kind === 'internal') throw e; // for the app's log; the stream is already answered
  } finally {
    sse.end();
    if (ctx.signal.aborted) await events.return?.().catch(() => {});
  }
}
