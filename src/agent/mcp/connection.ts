// One MCP server: connects (spawning a stdio process or opening a Streamable HTTP session), keeps its tool
// list current (tools/list with pagination, again on notifications/tools/list_changed), calls tools, and
// recovers from a server that dies. Recovery is bounded: at most `maxRestarts` reconnects over the
// connection's life, spaced by a doubling backoff; after that the server is `failed` and every call gets
// an error result that says so. A call in flight when the server dies is not repeated (the tool may have
// acted); it returns an error telling the model it may call again.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport, getDefaultEnvironment } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, McpError, ToolListChangedNotificationSchema, type Tool } from '@modelcontextprotocol/sdk/types.js';
import type { McpServerSpec } from './config.js';

export type ConnectionState = 'starting' | 'ready' | 'restarting' | 'failed' | 'closed';

export interface McpConnectionOptions {
  /** Reconnects allowed over the connection's life (default 3). */
  readonly maxRestarts?: number;
  /** First backoff before a reconnect, doubled each time up to 8 s (default 250 ms). */
  readonly backoffMs?: number;
  /** Limit for connecting and listing tools (default 30 s). */
  readonly connectTimeoutMs?: number;
  /** Limit for one tool call (default 120 s). */
  readonly callTimeoutMs?: number;
  /**
   * While an HTTP call is in flight, ping the server this often (default 5 s): a server that went away
   * can leave the response stream open or end it without an answer, and only a probe tells.
   */
  readonly heartbeatMs?: number;
  /** Told about starts, deaths, restarts and failures, for logs and traces. */
  readonly onEvent?: (event: McpConnectionEvent) => void;
}

export interface McpConnectionEvent {
  readonly server: string;
  readonly type: 'ready' | 'died' | 'restarting' | 'failed' | 'tools_changed';
  readonly message: string;
}

/** What a call came to: the server's result, or why there is none. */
export type CallOutcome =
  | { readonly ok: true; readonly result: Record<string, unknown> }
  | { readonly ok: false; readonly message: string };

const STDERR_TAIL = 2000;

export class McpConnection {
  state: ConnectionState = 'starting';
  tools: readonly Tool[] = [];
  lastError = '';
  restarts = 0;
  instructions: string | undefined;
  private client: Client | null = null;
  /** Aborted when the current client's server dies, so its calls in flight end at once. */
  private death = new AbortController();
  private inFlight = 0;
  private probing = false;
  private stderrTail = '';
  private pending: Promise<void> | null = null;
  private readonly listeners = new Set<() => void>();
  private readonly maxRestarts: number;
  private readonly backoffMs: number;
  private readonly connectTimeoutMs: number;
  private readonly callTimeoutMs: number;
  private readonly heartbeatMs: number;

  constructor(
    readonly spec: McpServerSpec,
    private readonly options: McpConnectionOptions = {},
  ) {
    this.maxRestarts = options.maxRestarts ?? 3;
    this.backoffMs = options.backoffMs ?? 250;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 30_000;
    this.callTimeoutMs = options.callTimeoutMs ?? 120_000;
    this.heartbeatMs = options.heartbeatMs ?? 5000;
  }

  get name(): string {
    return this.spec.name;
  }

  /** Called whenever `tools` or `state` changes. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Connects; on failure retries within the restart budget, then settles as `failed` (never throws). */
  start(): Promise<void> {
    if (this.pending) return this.pending;
    this.pending = this.connectWithRetries(false).finally(() => {
      this.pending = null;
    });
    return this.pending;
  }

  async call(tool: string, args: Record<string, unknown>, signal?: AbortSignal): Promise<CallOutcome> {
    if (this.pending) await this.waitFor(this.pending, signal);
    if (signal?.aborted) return { ok: false, message: 'the call was cancelled' };
    if (this.state !== 'ready' || !this.client) return { ok: false, message: this.unavailable() };
    const client = this.client;
    const death = this.death.signal;
    const combined = signal ? AbortSignal.any([signal, death]) : death;
    const heartbeat = this.spec.kind === 'http' ? setInterval(() => this.probe(client), this.heartbeatMs) : null;
    this.inFlight++;
    try {
      const result = await client.callTool({ name: tool, arguments: args }, undefined, { timeout: this.callTimeoutMs, signal: combined });
      return { ok: true, result: result as Record<string, unknown> };
    } catch (e) {
      if (signal?.aborted) return { ok: false, message: 'the call was cancelled' };
      if (!death.aborted && e instanceof McpError && e.code === ErrorCode.RequestTimeout) {
        return { ok: false, message: `MCP server "${this.name}" did not answer within ${this.callTimeoutMs} ms` };
      }
      // A JSON-RPC error from a live server (unknown tool, invalid params) is the tool's answer.
      if (!death.aborted && e instanceof McpError && e.code !== ErrorCode.ConnectionClosed) {
        return { ok: false, message: `MCP server "${this.name}" refused the call: ${e.message}` };
      }
      // Anything else means the connection broke: the process died, the HTTP server went away.
      const reason = death.aborted ? this.lastError : this.describe(e);
      if (this.client === client) this.handleDeath(reason);
      const next = (this.state as ConnectionState) === 'failed' ? this.unavailable() : 'it is being restarted; call the tool again if that is safe';
      return { ok: false, message: `MCP server "${this.name}" died during the call (${reason}); the call may not have completed; ${next}` };
    } finally {
      this.inFlight--;
      if (heartbeat) clearInterval(heartbeat);
    }
  }

  /** Pings the server of `client`; a ping that fails at the transport means the server is gone. */
  private probe(client: Client): void {
    if (this.probing || this.client !== client || this.state !== 'ready') return;
    this.probing = true;
    client
      .ping({ timeout: Math.max(10_000, 2 * this.heartbeatMs) })
      .catch((e: unknown) => {
        // A JSON-RPC error still proves the server is alive; a failed fetch or a timeout does not.
        if (e instanceof McpError && e.code !== ErrorCode.RequestTimeout && e.code !== ErrorCode.ConnectionClosed) return;
        if (this.client === client) this.handleDeath(this.describe(e));
      })
      .finally(() => {
        this.probing = false;
      });
  }

  async close(): Promise<void> {
    this.state = 'closed';
    const client = this.client;
    this.client = null;
    if (!client) return;
    // End the HTTP session on the server (DELETE) instead of leaving it to time out there.
    const transport = client.transport;
    if (transport instanceof StreamableHTTPClientTransport) {
      await Promise.race([transport.terminateSession().catch(() => undefined), new Promise((r) => setTimeout(r, 2000).unref())]);
    }
    await client.close().catch(() => undefined);
  }

  private unavailable(): string {
    if (this.state === 'closed') return `MCP server "${this.name}" is closed`;
    const why = this.lastError ? `: ${this.lastError}` : '';
    return `MCP server "${this.name}" is unavailable${why} (gave up after ${this.restarts} restart${this.restarts === 1 ? '' : 's'})`;
  }

  private emit(type: McpConnectionEvent['type'], message: string): void {
    this.options.onEvent?.({ server: this.name, type, message });
    if (type !== 'restarting') for (const l of this.listeners) l();
  }

  private async waitFor(p: Promise<void>, signal?: AbortSignal): Promise<void> {
    if (!signal) return p;
    await Promise.race([p, new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }))]);
  }

  private handleDeath(reason: string): void {
    if (this.state === 'closed' || this.state === 'failed' || this.pending) return;
    const old = this.client;
    this.client = null;
    this.lastError = reason;
    this.death.abort();
    this.death = new AbortController();
    if (old) void old.close().catch(() => undefined);
    this.emit('died', reason);
    this.pending = this.connectWithRetries(true).finally(() => {
      this.pending = null;
    });
  }

  private async connectWithRetries(isRestart: boolean): Promise<void> {
    let delay = this.backoffMs;
    let first = !isRestart;
    for (;;) {
      if (!first) {
        if (this.restarts >= this.maxRestarts) {
          this.state = 'failed';
          this.emit('failed', this.unavailable());
          return;
        }
        this.restarts++;
        this.state = 'restarting';
        this.emit('restarting', `restart ${this.restarts}/${this.maxRestarts} in ${delay} ms`);
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 8000);
        if ((this.state as ConnectionState) === 'closed') return;
      }
      first = false;
      try {
        await this.connectOnce();
        if ((this.state as ConnectionState) === 'closed') {
          await this.client?.close().catch(() => undefined);
          return;
        }
        this.state = 'ready';
        this.emit('ready', `${this.tools.length} tools`);
        return;
      } catch (e) {
        this.lastError = this.describe(e);
        await this.client?.close().catch(() => undefined);
        this.client = null;
      }
    }
  }

  private makeTransport(): Transport {
    const spec = this.spec;
    if (spec.kind === 'http') {
      return new StreamableHTTPClientTransport(new URL(spec.url), { requestInit: { headers: { ...spec.headers } } });
    }
    this.stderrTail = '';
    const transport = new StdioClientTransport({
      command: spec.command,
      args: [...spec.args],
      env: { ...getDefaultEnvironment(), ...spec.env },
      ...(spec.cwd ? { cwd: spec.cwd } : {}),
      stderr: 'pipe',
    });
    // Keep the end of the server's stderr: it usually says why a server exited.
    transport.stderr?.on('data', (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-STDERR_TAIL);
    });
    return transport;
  }

  private async connectOnce(): Promise<void> {
    const client = new Client({ name: 'stepflash-agent', version: '0.1.0' }, { capabilities: {} });
    this.client = client;
    client.onclose = () => {
      // Only an unexpected close of the current client counts as a death.
      if (this.client === client && this.state === 'ready') this.handleDeath(this.exitReason('the connection closed'));
    };
    // A broken HTTP response stream surfaces here, not as a failed call: check whether the server is gone.
    client.onerror = () => {
      if (this.inFlight > 0 && this.spec.kind === 'http') this.probe(client);
    };
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      void this.refreshTools(client).catch((e) => {
        this.lastError = this.describe(e);
      });
    });
    const timeout = { timeout: this.connectTimeoutMs };
    await client.connect(this.makeTransport(), timeout);
    this.instructions = client.getInstructions();
    this.tools = await this.listAll(client);
  }

  private async refreshTools(client: Client): Promise<void> {
    const tools = await this.listAll(client);
    if (this.client !== client) return;
    this.tools = tools;
    this.emit('tools_changed', `${tools.length} tools`);
  }

  private async listAll(client: Client): Promise<Tool[]> {
    if (!client.getServerCapabilities()?.tools) return [];
    const all: Tool[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 1000; page++) {
      const r = await client.listTools(cursor ? { cursor } : {}, { timeout: this.connectTimeoutMs });
      all.push(...r.tools);
      cursor = r.nextCursor;
      if (!cursor) break;
    }
    return all;
  }

  private exitReason(fallback: string): string {
    const tail = this.stderrTail.trim().split('\n').slice(-3).join(' | ');
    return tail ? `${fallback}; stderr: ${tail}` : fallback;
  }

  private describe(e: unknown): string {
    let msg = (e as Error)?.message ?? String(e);
    // fetch failures hide the reason (ECONNREFUSED, ENOTFOUND) a cause or two down.
    let cause = (e as { cause?: unknown })?.cause as { code?: unknown; message?: unknown; cause?: unknown } | undefined;
    for (let depth = 0; cause && depth < 4; depth++, cause = cause.cause as typeof cause) {
      const what = typeof cause.code === 'string' ? cause.code : typeof cause.message === 'string' ? cause.message : '';
      if (what && !msg.includes(what)) msg += ` (${what})`;
    }
    return this.spec.kind === 'stdio' ? this.exitReason(msg) : msg;
  }
}
