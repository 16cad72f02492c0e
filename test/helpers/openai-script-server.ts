// A scripted OpenAI-compatible chat endpoint for agent-loop tests: it speaks the real HTTP API
// (POST /v1/chat/completions, JSON or SSE with usage and [DONE]) and replays the turns a test scripts,
// including failures a real endpoint produces: error statuses with retry-after, streams cut mid-reply,
// tool calls with broken JSON, parallel calls, and slow replies that a cancellation must interrupt.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ScriptedReply {
  content?: string;
  reasoning?: string;
  toolCalls?: { name: string; arguments: string; id?: string }[];
  finish?: string;
  usage?: { prompt_tokens: number; completion_tokens: number };
  /** Cut the connection after this many SSE chunks (a mid-stream disconnect). */
  disconnectAfter?: number;
  /** Wait this long between chunks (for cancellation tests). */
  chunkDelayMs?: number;
}

export type ScriptEntry =
  | ScriptedReply
  | ScriptedError
  | ((req: RecordedRequest) => ScriptedReply | ScriptedError);

export interface ScriptedError {
  status: number;
  headers?: Record<string, string>;
  error?: string;
  code?: string;
}

export interface RecordedRequest {
  body: Record<string, any>;
  headers: IncomingMessage['headers'];
}

export interface ScriptServer {
  url: string;
  baseURL: string;
  requests: RecordedRequest[];
  /** Entries not yet served. */
  remaining(): number;
  close(): Promise<void>;
}

function chunksOf(r: ScriptedReply, model: string): Record<string, unknown>[] {
  const base = { id: 'chatcmpl-test', object: 'chat.completion.chunk', created: 0, model };
  const out: Record<string, unknown>[] = [{ ...base, choices: [{ index: 0, delta: { role: 'assistant' }, finish_reason: null }] }];
  const pieces = (s: string) => s.match(/[\s\S]{1,7}/g) ?? [];
  for (const p of pieces(r.reasoning ?? '')) out.push({ ...base, choices: [{ index: 0, delta: { reasoning_content: p }, finish_reason: null }] });
  for (const p of pieces(r.content ?? '')) out.push({ ...base, choices: [{ index: 0, delta: { content: p }, finish_reason: null }] });
  (r.toolCalls ?? []).forEach((c, index) => {
    out.push({ ...base, choices: [{ index: 0, delta: { tool_calls: [{ index, id: c.id ?? `call_${index}`, type: 'function', function: { name: c.name, arguments: '' } }] }, finish_reason: null }] });
    for (const p of pieces(c.arguments)) out.push({ ...base, choices: [{ index: 0, delta: { tool_calls: [{ index, function: { arguments: p } }] }, finish_reason: null }] });
  });
  out.push({ ...base, choices: [{ index: 0, delta: {}, finish_reason: r.finish ?? (r.toolCalls?.length ? 'tool_calls' : 'stop') }] });
  out.push({ ...base, choices: [], usage: usageOf(r) });
  return out;
}

function usageOf(r: ScriptedReply) {
  const u = r.usage ?? { prompt_tokens: 100, completion_tokens: 10 };
  return { ...u, total_tokens: u.prompt_tokens + u.completion_tokens };
}

export async function startScriptServer(script: ScriptEntry[], opts: { model?: string; fallback?: ScriptEntry } = {}): Promise<ScriptServer> {
  const queue = [...script];
  const requests: RecordedRequest[] = [];
  const model = opts.model ?? 'scripted';
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (d) => (raw += d));
    req.on('end', async () => {
      if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'not found' } }));
        return;
      }
      const rec: RecordedRequest = { body: JSON.parse(raw), headers: req.headers };
      requests.push(rec);
      let entry = queue.shift() ?? opts.fallback;
      if (!entry) {
        res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'script exhausted' } }));
        return;
      }
      if (typeof entry === 'function') entry = entry(rec);
      if ('status' in entry) {
        res.writeHead(entry.status, { 'content-type': 'application/json', ...entry.headers }).end(JSON.stringify({ error: { message: entry.error ?? `scripted ${entry.status}`, ...(entry.code ? { code: entry.code } : {}) } }));
        return;
      }
      const r = entry;
      if (!rec.body.stream) {
        const message: Record<string, unknown> = { role: 'assistant', content: r.content ?? null };
        if (r.reasoning) message.reasoning_content = r.reasoning;
        if (r.toolCalls?.length) message.tool_calls = r.toolCalls.map((c, i) => ({ id: c.id ?? `call_${i}`, type: 'function', function: { name: c.name, arguments: c.arguments } }));
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({ id: 'chatcmpl-test', object: 'chat.completion', created: 0, model, choices: [{ index: 0, message, finish_reason: r.finish ?? (r.toolCalls?.length ? 'tool_calls' : 'stop') }], usage: usageOf(r) }),
        );
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      const chunks = chunksOf(r, model);
      let closed = false;
      res.on('close', () => (closed = true));
      for (let i = 0; i < chunks.length; i++) {
        if (closed) return;
        if (r.disconnectAfter !== undefined && i >= r.disconnectAfter) {
          // Let the chunks already written reach the client, so the cut is mid-stream, not before the headers.
          await new Promise((ok) => setTimeout(ok, 30));
          req.socket.destroy();
          return;
        }
        if (r.chunkDelayMs) await new Promise((ok) => setTimeout(ok, r.chunkDelayMs));
        res.write(`data: ${JSON.stringify(chunks[i])}\n\n`);
      }
      res.end('data: [DONE]\n\n');
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    baseURL: `${url}/v1`,
    requests,
    remaining: () => queue.length,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
