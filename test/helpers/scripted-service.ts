// A ChatService that replays scripted events instead of running a model, for testing the API layers'
// wire formats (what each SDK sees for reasoning, tool calls, stops and errors) without depending on
// what a random-weight model happens to say. End-to-end tests use the real service.
import { ChatError, type ChatEvent, type ChatRequest, type ChatService, type FinishReason } from '../../src/server/chat-service.js';

export interface ScriptedReply {
  readonly reasoning?: readonly string[];
  readonly content?: readonly string[];
  readonly toolCalls?: readonly { readonly name: string; readonly arguments: string; readonly id?: string }[];
  readonly finishReason?: FinishReason;
  readonly stopSequence?: string;
  readonly promptTokens?: number;
  readonly note?: string;
  /** Throw this before any event (as the real service does for overflow, overload, bad input). */
  readonly error?: ChatError;
  /** Milliseconds between events, to test disconnects mid-stream. */
  readonly delayMs?: number;
}

export class ScriptedChatService implements ChatService {
  readonly modelName = 'step3.5-flash-scripted';
  readonly contextSize = 4096;
  readonly requests: ChatRequest[] = [];
  cancelled = 0;

  constructor(private readonly script: (req: ChatRequest) => ScriptedReply) {}

  countTokens(req: Pick<ChatRequest, 'messages' | 'tools'>): number {
    return Math.ceil(JSON.stringify(req).length / 4);
  }

  chat(req: ChatRequest): AsyncIterable<ChatEvent> {
    this.requests.push(req);
    const reply = this.script(req);
    if (reply.error) throw reply.error;
    return this.replay(req, reply);
  }

  complete(req: Parameters<ChatService['complete']>[0]): AsyncIterable<ChatEvent> {
    const asChat: ChatRequest = { ...req, messages: [{ role: 'user', content: req.prompt }] };
    return this.chat(asChat);
  }

  private async *replay(req: ChatRequest, reply: ScriptedReply): AsyncIterable<ChatEvent> {
    const promptTokens = reply.promptTokens ?? this.countTokens(req);
    const maxTokens = Math.min(req.maxTokens ?? this.contextSize - promptTokens, this.contextSize - promptTokens);
    yield { type: 'start', promptTokens, cachedTokens: 0, maxTokens, maxTokensClamped: maxTokens !== (req.maxTokens ?? maxTokens) };
    let completionTokens = 0;
    let reasoningTokens = 0;
    const pause = async (): Promise<boolean> => {
      if (reply.delayMs) await new Promise((r) => setTimeout(r, reply.delayMs));
      if (req.signal.aborted) this.cancelled++;
      return req.signal.aborted;
    };
    for (const text of reply.reasoning ?? []) {
      if (await pause()) return;
      reasoningTokens++;
      completionTokens++;
      yield { type: 'reasoning', text };
    }
    for (const text of reply.content ?? []) {
      if (await pause()) return;
      completionTokens++;
      yield { type: 'content', text };
    }
    let index = 0;
    for (const call of reply.toolCalls ?? []) {
      if (await pause()) return;
      completionTokens += 4;
      yield { type: 'tool_call', index, id: call.id ?? `call_${index}`, name: call.name, arguments: call.arguments };
      index++;
    }
    const finishReason = reply.finishReason ?? ((reply.toolCalls?.length ?? 0) > 0 ? 'tool_calls' : 'stop');
    yield {
      type: 'done',
      finishReason,
      ...(reply.stopSequence !== undefined ? { stopSequence: reply.stopSequence } : {}),
      ...(reply.note !== undefined ? { note: reply.note } : {}),
      usage: { promptTokens, completionTokens, reasoningTokens, cachedTokens: 0 },
      timings: { prefillMs: 1, decodeMs: completionTokens, decodeTokensPerSecond: 1000 },
    };
  }

  health(): { ok: boolean; detail: string } {
    return { ok: true, detail: 'scripted' };
  }

  metrics(): string {
    return `stepflash_requests_total ${this.requests.length}\n`;
  }

  async close(): Promise<void> {}
}
