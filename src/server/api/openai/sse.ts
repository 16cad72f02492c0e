// Server-sent events for OpenAI streams: `data: <json>\n\n` per chunk, `: keep-alive` comments while
// nothing else is said, `data: [DONE]` at the end. Every write goes straight to the socket: no compression,
// Nagle off, and `x-accel-buffering: no` so nginx-style proxies do not hold chunks back either.
import type { ServerResponse } from 'node:http';

export const SSE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
};

export class SseWriter {
  private lastWrite = Date.now();
  private timer: NodeJS.Timeout | undefined;

  /** `headers` is asked for extra response headers when the stream starts (on its first write). */
  constructor(
    private readonly res: ServerResponse,
    private readonly headers: () => Record<string, string> = () => ({}),
  ) {}

  get started(): boolean {
    return this.res.headersSent;
  }

  /** False once the client is gone: writing further is pointless. */
  get open(): boolean {
    return !this.res.destroyed && !this.res.writableEnded;
  }

  /** Sends the 200 and the SSE headers (once; every write calls it). */
  start(): void {
    if (this.res.headersSent) return;
    this.res.writeHead(200, { ...SSE_HEADERS, ...this.headers() });
    this.res.socket?.setNoDelay(true);
    this.res.flushHeaders();
    this.lastWrite = Date.now();
  }

  /** One `data:` event. Resolves when the socket has taken it, so a slow client slows the generation. */
  async data(payload: unknown): Promise<void> {
    await this.write(`data: ${JSON.stringify(payload)}\n\n`);
  }

  async done(): Promise<void> {
    await this.write('data: [DONE]\n\n');
  }

  async comment(text: string): Promise<void> {
    await this.write(`: ${text}\n\n`);
  }

  /**
   * Keep-alive comments whenever nothing was written for `ms`; before the stream started, the first one
   * also sends the headers, committing the response to a 200.
   */
  startHeartbeat(ms: number): void {
    this.timer = setInterval(() => {
      if (!this.open || Date.now() - this.lastWrite < ms) return;
      void this.comment('keep-alive');
    }, Math.max(10, Math.floor(ms / 4)));
    this.timer.unref();
  }

  stopHeartbeat(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  end(): void {
    this.stopHeartbeat();
    if (!this.res.writableEnded) this.res.end();
  }

  private write(text: string): Promise<void> {
    if (!this.open) return Promise.resolve();
    this.start();
    this.lastWrite = Date.now();
    if (this.res.write(text)) return Promise.resolve();
    return new Promise((resolve) => {
      const settle = (): void => {
        this.res.off('drain', settle);
        this.res.off('close', settle);
        resolve();
      };
      this.res.on('drain', settle);
      this.res.on('close', settle);
    });
  }
}
