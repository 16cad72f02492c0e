// Server-sent events for the Messages stream: `event: <type>\ndata: <json>\n\n`, every event written to
// the socket at once (no Nagle delay, headers telling proxies not to buffer), `ping` when the stream has
// been quiet for a while (long prefills, a queue wait) so clients and proxies do not time out, and
// backpressure honoured so a slow reader cannot make the server buffer a whole generation.
import type { ServerResponse } from 'node:http';

export class SseWriter {
  private timer: NodeJS.Timeout | undefined;
  private lastWrite = 0;

  constructor(
    private readonly res: ServerResponse,
    private readonly keepAliveMs: number,
  ) {}

  get isOpen(): boolean {
    return this.res.headersSent;
  }

  get isClosed(): boolean {
    return this.res.writableEnded || this.res.destroyed;
  }

  /** Sends the 200 and the stream's headers, and starts the keep-alive pings. */
  open(headers: Record<string, string> = {}): void {
    if (this.res.headersSent) return;
    this.res.socket?.setNoDelay(true);
    this.res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
      connection: 'keep-alive',
      ...headers,
    });
    this.res.flushHeaders();
    this.lastWrite = Date.now();
    if (this.keepAliveMs > 0) {
      const tick = Math.max(10, Math.floor(this.keepAliveMs / 4));
      this.timer = setInterval(() => {
        if (Date.now() - this.lastWrite >= this.keepAliveMs) void this.send({ type: 'ping' });
      }, tick);
      this.timer.unref();
    }
  }

  /** Writes one event; resolves once the socket has taken it (or the client is gone). */
  async send(event: { readonly type: string }): Promise<void> {
    if (this.isClosed) return;
    this.lastWrite = Date.now();
    const ok = this.res.write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
    if (!ok) await this.drained();
  }

  private drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.res.off('drain', done);
        this.res.off('close', done);
        resolve();
      };
      this.res.on('drain', done);
      this.res.on('close', done);
    });
  }

  end(): void {
    this.stopKeepAlive();
    if (!this.isClosed) this.res.end();
  }

  stopKeepAlive(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
