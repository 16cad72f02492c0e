// Runs one engine request as an SSE stream. The first engine event decides how the response starts:
// an error thrown before it (prompt too long, queue full, bad request) is still a plain JSON error with
// the right status, because the headers are not out yet. Only if the engine stays silent longer than the
// heartbeat interval (a long prefill, a full queue) does the stream start early with a keep-alive
// comment; after that, errors travel as `data: {"error": ...}` and the connection closes.
import type { ChatEvent } from '../../chat-service.js';
import type { RouteContext } from '../../http/route.js';
import { streamErrorData, toOpenAIError } from './openai-errors.js';
import { SseWriter } from './sse.js';

export interface StreamHandlers {
  /** Extra response headers, asked for when the stream starts (the first write, usually the first event's). */
  headers(): Record<string, string>;
  /** Writes the chunks for one engine event. */
  onEvent(event: ChatEvent, sse: SseWriter): Promise<void>;
  /** After the engine's last event: the usage chunk, [DONE]. Not called after an error or a disconnect. */
  onEnd(sse: SseWriter): Promise<void>;
}

export async function runStream(
  ctx: RouteContext,
  heartbeatMs: number,
  promptParam: 'messages' | 'prompt',
  open: () => AsyncIterable<ChatEvent>,
  handlers: StreamHandlers,
): Promise<void> {
  const sse = new SseWriter(ctx.res, () => handlers.headers());
  let iterator: AsyncIterator<ChatEvent> | undefined;
  try {
    iterator = open()[Symbol.asyncIterator]();
    sse.startHeartbeat(heartbeatMs);
    for (;;) {
      const step = await iterator.next();
      if (step.done) break;
      if (!sse.open) return;
      await handlers.onEvent(step.value, sse);
    }
    if (!sse.open) return;
    await handlers.onEnd(sse);
  } catch (e) {
    if (!sse.started) throw toOpenAIError(e, promptParam);
    if (sse.open) await sse.data(streamErrorData(e, promptParam, ctx.requestId));
  } finally {
    sse.stopHeartbeat();
    if (sse.started) sse.end();
    // Lets the engine release the request if we stopped reading early (client gone, write failed).
    await iterator?.return?.().catch(() => undefined);
  }
}
