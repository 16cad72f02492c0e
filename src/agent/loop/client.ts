// One chat-completion call to an OpenAI-compatible endpoint over fetch: streamed (SSE) or not, with
// retries on 429/5xx/connection failures/streams cut short, and cancellation of the in-flight request.
import { backoffDelay, retryAfterMs, retryableStatus, sleep, type BackoffPolicy } from './backoff.js';
import { sseData } from './sse.js';
import type { ChatClientOptions, ChatMessage, ToolCall } from './types.js';

export class ModelCallError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly retryable: boolean,
    readonly retryAfter?: number,
  ) {
    super(message);
    this.name = 'ModelCallError';
  }
}

export interface ChatRequest {
  readonly messages: readonly ChatMessage[];
  readonly tools?: readonly { type: 'function'; function: { name: string; description: string; parameters: unknown } }[];
  /** Overrides the client's max tokens for this call. */
  readonly maxTokens?: number;
}

export interface ChatReply {
  readonly message: Extract<ChatMessage, { role: 'assistant' }>;
  readonly reasoning: string;
  readonly finishReason: string;
  readonly usage?: { prompt: number; completion: number };
  /** Time to the first streamed byte of content, reasoning or tool call (streaming only). */
  readonly ttftMs?: number;
  readonly ms: number;
  /** Attempts made (1 = no retry). */
  readonly attempts: number;
}

export interface CallHooks {
  readonly signal?: AbortSignal;
  readonly onDelta?: (kind: 'content' | 'reasoning', text: string) => void;
  readonly onRetry?: (attempt: number, delayMs: number, reason: string) => void;
}

function policyOf(o: ChatClientOptions): BackoffPolicy {
  return { maxRetries: o.retry?.maxRetries ?? 4, baseDelayMs: o.retry?.baseDelayMs ?? 500, maxDelayMs: o.retry?.maxDelayMs ?? 30_000 };
}

function endpoint(baseURL: string): string {
  return `${baseURL.replace(/\/+$/, '')}/chat/completions`;
}

/** The request body; assistant reasoning is kept or dropped as the client says. */
export function requestBody(o: ChatClientOptions, req: ChatRequest, stream: boolean): Record<string, unknown> {
  const sendReasoning = o.sendReasoning ?? true;
  const messages = req.messages.map((m) => {
    if (m.role !== 'assistant' || sendReasoning || m.reasoning_content === undefined) return m;
    const { reasoning_content: _dropped, ...rest } = m;
    return rest;
  });
  const body: Record<string, unknown> = { model: o.model, messages, ...o.extraBody };
  if (req.tools && req.tools.length > 0) body.tools = req.tools;
  const maxTokens = req.maxTokens ?? o.maxTokens;
  if (maxTokens !== undefined) body.max_tokens = maxTokens;
  if (o.temperature !== undefined) body.temperature = o.temperature;
  if (stream) {
    body.stream = true;
    body.stream_options = { include_usage: true };
  }
  return body;
}

async function errorFrom(res: Response): Promise<ModelCallError> {
  let detail = '';
  try {
    const text = await res.text();
    try {
      const j = JSON.parse(text) as { error?: { message?: string; code?: string } | string; message?: string };
      detail = typeof j.error === 'string' ? j.error : (j.error?.message ?? j.message ?? text);
      if (typeof j.error === 'object' && typeof j.error.code === 'string') detail += ` [${j.error.code}]`;
    } catch {
      detail = text;
    }
  } catch {
    // body unreadable: the status says enough
  }
  const hint = retryAfterMs(res.headers);
  return new ModelCallError(`HTTP ${res.status}${detail ? `: ${detail.slice(0, 500)}` : ''}`, res.status, retryableStatus(res.status), hint);
}

interface Partial {
  content: string;
  reasoning: string;
  calls: { id: string; name: string; args: string }[];
  finish: string | undefined;
  usage?: { prompt: number; completion: number };
}

function usageOf(u: unknown): { prompt: number; completion: number } | undefined {
  if (!u || typeof u !== 'object') return undefined;
  const o = u as { prompt_tokens?: number; completion_tokens?: number };
  if (typeof o.prompt_tokens !== 'number') return undefined;
  return { prompt: o.prompt_tokens, completion: o.completion_tokens ?? 0 };
}

function reasoningOf(d: Record<string, unknown>): string | undefined {
  for (const k of ['reasoning_content', 'reasoning', 'thinking']) if (typeof d[k] === 'string') return d[k] as string;
  return undefined;
}

/** Folds one streamed chunk into the partial reply; returns true when something visible arrived. */
function applyChunk(p: Partial, chunk: Record<string, unknown>, hooks: CallHooks): boolean {
  if (chunk.error) {
    const e = chunk.error as { message?: string };
    throw new ModelCallError(`error in stream: ${e.message ?? JSON.stringify(chunk.error)}`, undefined, true);
  }
  const u = usageOf(chunk.usage);
  if (u) p.usage = u;
  const choice = (chunk.choices as Record<string, unknown>[] | undefined)?.[0];
  if (!choice) return false;
  let visible = false;
  const delta = (choice.delta ?? {}) as Record<string, unknown>;
  const r = reasoningOf(delta);
  if (r) {
    p.reasoning += r;
    hooks.onDelta?.('reasoning', r);
    visible = true;
  }
  if (typeof delta.content === 'string' && delta.content) {
    p.content += delta.content;
    hooks.onDelta?.('content', delta.content);
    visible = true;
  }
  for (const tc of (delta.tool_calls as Record<string, unknown>[] | undefined) ?? []) {
    const fn = (tc.function ?? {}) as { name?: string; arguments?: string };
    // Some servers omit `index`; a new id then starts a new call, otherwise the last call continues.
    let i = typeof tc.index === 'number' ? tc.index : -1;
    if (i < 0) i = typeof tc.id === 'string' && !p.calls.some((c) => c.id === tc.id) ? p.calls.length : p.calls.length - 1;
    while (p.calls.length <= i) p.calls.push({ id: '', name: '', args: '' });
    const c = p.calls[i]!;
    if (typeof tc.id === 'string' && tc.id) c.id = tc.id;
    if (fn.name) c.name += fn.name;
    if (fn.arguments) c.args += fn.arguments;
    visible = true;
  }
  if (typeof choice.finish_reason === 'string') p.finish = choice.finish_reason;
  return visible;
}

function finish(p: Partial, attempts: number, start: number, ttft: number | undefined): ChatReply {
  const tool_calls: ToolCall[] = p.calls.map((c, i) => ({ id: c.id || `call_${i}_${Date.now().toString(36)}`, type: 'function', function: { name: c.name, arguments: c.args } }));
  const message: Extract<ChatMessage, { role: 'assistant' }> = { role: 'assistant', content: p.content || (tool_calls.length ? null : '') };
  if (tool_calls.length) message.tool_calls = tool_calls;
  if (p.reasoning) message.reasoning_content = p.reasoning;
  return { message, reasoning: p.reasoning, finishReason: p.finish ?? 'stop', usage: p.usage, ttftMs: ttft, ms: performance.now() - start, attempts };
}

async function attempt(o: ChatClientOptions, req: ChatRequest, hooks: CallHooks, signal: AbortSignal, attempts: number, start: number): Promise<ChatReply> {
  const stream = o.stream ?? true;
  const headers: Record<string, string> = { 'content-type': 'application/json', ...o.headers };
  if (o.apiKey) headers.authorization = `Bearer ${o.apiKey}`;
  let res: Response;
  try {
    res = await fetch(endpoint(o.baseURL), { method: 'POST', headers, body: JSON.stringify(requestBody(o, req, stream)), signal });
  } catch (e) {
    if (signal.aborted) throw e;
    throw new ModelCallError(`cannot reach ${o.baseURL}: ${(e as Error).cause ? String((e as Error & { cause: Error }).cause.message ?? (e as Error).cause) : (e as Error).message}`, undefined, true);
  }
  if (!res.ok) throw await errorFrom(res);
  const p: Partial = { content: '', reasoning: '', calls: [], finish: undefined };
  if (!stream || !(res.headers.get('content-type') ?? '').includes('text/event-stream')) {
    const j = (await res.json()) as Record<string, unknown>;
    const choice = (j.choices as Record<string, unknown>[] | undefined)?.[0];
    if (!choice) throw new ModelCallError(`the endpoint's reply has no choices: ${JSON.stringify(j).slice(0, 300)}`, undefined, false);
    const m = (choice.message ?? {}) as Record<string, unknown>;
    p.content = typeof m.content === 'string' ? m.content : '';
    p.reasoning = reasoningOf(m) ?? '';
    for (const tc of (m.tool_calls as { id?: string; function?: { name?: string; arguments?: unknown } }[] | undefined) ?? []) {
      const args = tc.function?.arguments;
      p.calls.push({ id: tc.id ?? '', name: tc.function?.name ?? '', args: typeof args === 'string' ? args : JSON.stringify(args ?? {}) });
    }
    p.finish = typeof choice.finish_reason === 'string' ? choice.finish_reason : 'stop';
    p.usage = usageOf(j.usage);
    return finish(p, attempts, start, undefined);
  }
  let ttft: number | undefined;
  let sawDone = false;
  try {
    for await (const data of sseData(res.body!)) {
      if (data === '[DONE]') {
        sawDone = true;
        break;
      }
      let chunk: Record<string, unknown>;
      try {
        chunk = JSON.parse(data) as Record<string, unknown>;
      } catch {
        throw new ModelCallError(`the stream sent data that is not JSON: ${data.slice(0, 200)}`, undefined, true);
      }
      if (applyChunk(p, chunk, hooks) && ttft === undefined) ttft = performance.now() - start;
    }
  } catch (e) {
    if (signal.aborted || e instanceof ModelCallError) throw e;
    throw new ModelCallError(`the stream broke off: ${(e as Error).message}`, undefined, true);
  }
  // A stream that ends without [DONE] or a finish reason was cut (server died, proxy timeout).
  if (!sawDone && p.finish === undefined) throw new ModelCallError('the stream ended before the reply was complete', undefined, true);
  return finish(p, attempts, start, ttft);
}

/** One model call with retries; throws ModelCallError when it cannot succeed, or the abort reason. */
export async function chatCompletion(o: ChatClientOptions, req: ChatRequest, hooks: CallHooks = {}): Promise<ChatReply> {
  const policy = policyOf(o);
  const start = performance.now();
  for (let n = 1; ; n++) {
    if (hooks.signal?.aborted) throw hooks.signal.reason;
    const timeout = AbortSignal.timeout(o.timeoutMs ?? 600_000);
    const signal = hooks.signal ? AbortSignal.any([hooks.signal, timeout]) : timeout;
    try {
      return await attempt(o, req, hooks, signal, n, start);
    } catch (e) {
      if (hooks.signal?.aborted) throw hooks.signal.reason;
      const err = e instanceof ModelCallError ? e : timeout.aborted ? new ModelCallError(`no reply within ${o.timeoutMs ?? 600_000} ms`, undefined, true) : new ModelCallError((e as Error).message, undefined, false);
      if (!err.retryable || n > policy.maxRetries) {
        if (n > 1) err.message += ` (after ${n} attempts)`;
        throw err;
      }
      const delay = backoffDelay(policy, n, err.retryAfter);
      hooks.onRetry?.(n, delay, err.message);
      await sleep(delay, hooks.signal);
    }
  }
}
