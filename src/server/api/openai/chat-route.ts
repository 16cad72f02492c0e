// POST /v1/chat/completions. The served model answers whatever `model` names (there is one model; its
// name goes back in every response), streamed (stream-pump.ts + chat-stream.ts) or as one JSON object.
import type { ChatEvent, TokenLogprob } from '../../chat-service.js';
import { sendJson } from '../../http/errors.js';
import type { Route, RouteContext } from '../../http/route.js';
import { parseChatCompletion, type ParsedChatCompletion } from './chat-request.js';
import { ChatChunkWriter } from './chat-stream.js';
import { toOpenAIError } from './openai-errors.js';
import type { ResolvedOpenAIOptions } from './options.js';
import { reasoningKeys } from './reasoning-format.js';
import { runStream } from './stream-pump.js';
import { chatLogprobs, fingerprintFor, finishReasonOf, newId, Notes, nowSeconds, timingsOf, usageOf, type DoneEvent } from './wire.js';

export function chatCompletionsRoute(opts: ResolvedOpenAIOptions): Route {
  return {
    method: 'POST',
    path: '/v1/chat/completions',
    errors: 'openai',
    async handler(ctx) {
      const parsed = parseChatCompletion(ctx.body, opts.reasoningField);
      const base = {
        id: newId('chatcmpl'),
        created: nowSeconds(),
        model: ctx.service.modelName,
        system_fingerprint: fingerprintFor(ctx.service.modelName, opts.systemFingerprint),
      };
      const open = (): AsyncIterable<ChatEvent> => ctx.service.chat({ ...parsed.request, signal: ctx.signal });
      if (parsed.stream) {
        const writer = new ChatChunkWriter(base, parsed, opts.toolArgumentsChunkChars, ctx.signal);
        await runStream(ctx, opts.heartbeatMs, 'messages', open, writer);
      } else {
        await respondWhole(ctx, parsed, base, open);
      }
    },
  };
}

async function respondWhole(
  ctx: RouteContext,
  parsed: ParsedChatCompletion,
  base: { id: string; created: number; model: string; system_fingerprint: string },
  open: () => AsyncIterable<ChatEvent>,
): Promise<void> {
  const notes = new Notes();
  let reasoning = '';
  let content = '';
  const logprobs: TokenLogprob[] = [];
  const calls: Extract<ChatEvent, { type: 'tool_call' }>[] = [];
  let done: DoneEvent | undefined;
  try {
    for await (const event of open()) {
      if (event.type === 'start') notes.onStart(event, parsed.requestedMaxTokens);
      else if (event.type === 'reasoning') reasoning += event.text;
      else if (event.type === 'content') {
        content += event.text;
        if (event.logprobs) logprobs.push(...event.logprobs);
      } else if (event.type === 'tool_call') calls.push(event);
      else done = event;
    }
  } catch (e) {
    throw toOpenAIError(e, 'messages');
  }
  if (ctx.signal.aborted) return; // the client left; the engine stopped for it
  if (!done || done.finishReason === 'cancelled') throw new Error('the engine ended the request without a finish reason');
  notes.onDone(done);

  calls.sort((a, b) => a.index - b.index);
  const message: Record<string, unknown> = { role: 'assistant' };
  if (parsed.reasoningField === 'inline' && reasoning !== '') content = `<think>${reasoning}</think>${content}`;
  message.content = content === '' && calls.length > 0 ? null : content;
  message.refusal = null;
  if (reasoning !== '') for (const key of reasoningKeys(parsed.reasoningField)) message[key] = reasoning;
  if (calls.length > 0) {
    message.tool_calls = calls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } }));
  }
  const ext = notes.extension();
  const header = notes.header();
  sendJson(
    ctx.res,
    200,
    {
      ...base,
      object: 'chat.completion',
      choices: [
        {
          index: 0,
          message,
          logprobs: parsed.logprobs ? chatLogprobs(logprobs) : null,
          finish_reason: finishReasonOf(done.finishReason, calls.length > 0),
        },
      ],
      usage: usageOf(done),
      timings: timingsOf(done),
      ...(ext ? { stepflash: ext } : {}),
    },
    header ? { 'x-stepflash-note': header } : {},
  );
}
