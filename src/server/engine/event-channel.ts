// A one-consumer queue between the scheduler (which produces a request's events synchronously, inside a
// step) and the API route (which reads them with `for await`). The producer never waits: events are small,
// and a slow client must not hold up the other sequences in the batch. When the consumer stops reading
// early (break, return, a thrown error), `onAbandon` runs so the request's slot can be freed.

export class EventChannel<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private closed = false;
  private error: unknown = undefined;
  private failed = false;
  private wake: (() => void) | null = null;
  private iterated = false;

  constructor(private readonly onAbandon: () => void) {}

  get isClosed(): boolean {
    return this.closed;
  }

  push(item: T): void {
    if (this.closed) return;
    this.items.push(item);
    this.notify();
  }

  /** No more events; the consumer sees the end after the queued ones. */
  close(): void {
    this.closed = true;
    this.notify();
  }

  /** Ends the stream with an error, thrown to the consumer after the queued events. */
  fail(error: unknown): void {
    if (this.closed) return;
    this.failed = true;
    this.error = error;
    this.close();
  }

  private notify(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    if (this.iterated) throw new Error('a chat event stream can be read only once');
    this.iterated = true;
    let finished = false;
    try {
      for (;;) {
        while (this.items.length > 0) yield this.items.shift()!;
        if (this.closed) {
          finished = true;
          if (this.failed) throw this.error;
          return;
        }
        await new Promise<void>((resolve) => (this.wake = resolve));
      }
    } finally {
      if (!finished) this.onAbandon();
    }
  }
}
