// Shared pieces of the engine tests: the embedded tiny random model (one thread: the test machine is small
// and shared), its tokenizer, scripted services, and reading a chat's events.
import { tinyRandomModelPath } from '../../../src/cli/default-model.js';
import type { ChatEvent, ChatRequest, ChatService } from '../../../src/server/chat-service.js';
import { createChatService, type ChatServiceOptions } from '../../../src/server/engine/index.js';
import { loadModel, type LoadedModel } from '../../../src/model/load.js';
import { GGUFFile } from '../../../src/gguf/reader.js';
import { Tokenizer } from '../../../src/tokenizer/index.js';
import { ScriptedModel, type ScriptedModelOptions, type ScriptedPrompt, type ScriptedReply } from '../../helpers/scripted-model.js';

let tokenizer: Tokenizer | null = null;

/** The default model's tokenizer (byte-level BPE with the Step chat tokens). */
export function tinyTokenizer(): Tokenizer {
  if (!tokenizer) {
    const f = GGUFFile.open(tinyRandomModelPath());
    try {
      tokenizer = Tokenizer.fromMetadata(f.metadata);
    } finally {
      f.close();
    }
  }
  return tokenizer;
}

export function loadTiny(maxBatch?: number): { loaded: LoadedModel; tokenizer: Tokenizer } {
  const loaded = loadModel(tinyRandomModelPath(), { threads: 1, ...(maxBatch ? { maxBatch } : {}) });
  return { loaded, tokenizer: tinyTokenizer() };
}

export function scripted(
  reply: (p: ScriptedPrompt) => ScriptedReply,
  options: Partial<ChatServiceOptions> & { model?: ScriptedModelOptions } = {},
): { service: ChatService; model: ScriptedModel } {
  const tok = tinyTokenizer();
  const model = new ScriptedModel(tok, reply, options.model);
  const { model: _m, ...rest } = options;
  return { service: createChatService({ tokenizer: tok, ...rest, model }), model };
}

export const never = new AbortController().signal;

export function req(content: string, extra: Partial<ChatRequest> = {}): ChatRequest {
  return { messages: [{ role: 'user', content }], signal: never, ...extra };
}

export async function collect(events: AsyncIterable<ChatEvent>): Promise<ChatEvent[]> {
  const out: ChatEvent[] = [];
  for await (const ev of events) out.push(ev);
  return out;
}

export interface Summary {
  readonly events: ChatEvent[];
  readonly reasoning: string;
  readonly content: string;
  readonly toolCalls: { name: string; arguments: string; index: number; id: string }[];
  readonly done: Extract<ChatEvent, { type: 'done' }>;
  readonly start: Extract<ChatEvent, { type: 'start' }>;
}

export function summarize(events: ChatEvent[]): Summary {
  const start = events[0];
  const done = events[events.length - 1];
  if (start?.type !== 'start') throw new Error(`first event is ${start?.type}, not start`);
  if (done?.type !== 'done') throw new Error(`last event is ${done?.type}, not done`);
  return {
    events,
    start,
    done,
    reasoning: events.map((e) => (e.type === 'reasoning' ? e.text : '')).join(''),
    content: events.map((e) => (e.type === 'content' ? e.text : '')).join(''),
    toolCalls: events.flatMap((e) => (e.type === 'tool_call' ? [{ name: e.name, arguments: e.arguments, index: e.index, id: e.id }] : [])),
  };
}

export async function run(service: ChatService, request: ChatRequest): Promise<Summary> {
  return summarize(await collect(service.chat(request)));
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
