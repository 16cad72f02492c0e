// Bounded capture of a process's output: the first and last parts are kept, the middle is counted and
// replaced by a marker, so a command that prints gigabytes costs a fixed amount of memory.

export class OutputCap {
  private head: Buffer[] = [];
  private headBytes = 0;
  private tail: Buffer[] = [];
  private tailBytes = 0;
  total = 0;
  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    this.total += chunk.length;
    const headRoom = Math.ceil(this.limit / 2) - this.headBytes;
    if (headRoom > 0) {
      const h = chunk.subarray(0, headRoom);
      this.head.push(h);
      this.headBytes += h.length;
      chunk = chunk.subarray(h.length);
    }
    if (chunk.length === 0) return;
    this.tail.push(chunk);
    this.tailBytes += chunk.length;
    const tailLimit = Math.floor(this.limit / 2);
    while (this.tailBytes - this.tail[0]!.length >= tailLimit) this.tailBytes -= this.tail.shift()!.length;
  }

  get truncated(): boolean {
    return this.total > this.limit;
  }

  text(): string {
    const head = Buffer.concat(this.head).toString('utf8');
    let tail = Buffer.concat(this.tail);
    if (!this.truncated) return head + tail.toString('utf8');
    tail = tail.subarray(tail.length - Math.floor(this.limit / 2));
    const cut = this.total - this.headBytes - tail.length;
    return `${head}\n[... ${cut} bytes cut: output is limited to ${this.limit} bytes, first and last halves kept ...]\n${tail.toString('utf8')}`;
  }
}
