// One shared WebAssembly.Memory and a bump allocator over it. Persistent allocations (weights, caches)
// never move; scratch comes from chunks that are reused after every reset. The memory is shared so that
// worker threads can run kernels over the same bytes.
import type { Tensor } from '../backend.js';

const PAGE = 65536;
const MAX_PAGES = 65536; // 4 GiB: the wasm32 limit
/** The kernels' own static data sits below this. */
const HEAP_BASE = 1 << 16;

export class WasmOutOfMemoryError extends Error {
  constructor(wanted: number, used: number) {
    super(`out of wasm memory: ${fmt(wanted)} requested with ${fmt(used)} in use; one wasm memory holds at most 4 GiB`);
    this.name = 'WasmOutOfMemoryError';
  }
}

function fmt(n: number): string {
  return n >= 1 << 30 ? `${(n / 2 ** 30).toFixed(2)} GiB` : `${(n / 2 ** 20).toFixed(1)} MiB`;
}

interface Chunk {
  ptr: number;
  bytes: number;
  used: number;
}

export class WasmMemory {
  readonly memory: WebAssembly.Memory;
  private top = HEAP_BASE;
  private readonly chunks: Chunk[] = [];
  private chunkIndex = 0;

  constructor(initialBytes = 16 * PAGE) {
    this.memory = new WebAssembly.Memory({ initial: Math.ceil(initialBytes / PAGE), maximum: MAX_PAGES, shared: true });
  }

  get used(): number {
    return this.top;
  }

  /** Allocates `bytes` (16-byte aligned), zero-filled because fresh memory is zero and never reused. */
  allocBytes(bytes: number, align = 64): number {
    const ptr = Math.ceil(this.top / align) * align;
    const end = ptr + Math.ceil(bytes / 16) * 16;
    if (end > MAX_PAGES * PAGE) throw new WasmOutOfMemoryError(bytes, this.top);
    const have = this.memory.buffer.byteLength;
    if (end > have) this.memory.grow(Math.ceil((end - have) / PAGE));
    this.top = end;
    return ptr;
  }

  alloc(size: number): Tensor {
    return { ptr: this.allocBytes(size * 4), size };
  }

  /** Scratch space, valid until resetTemp(); a new chunk holds at least minChunk bytes. */
  tempBytes(bytes: number, minChunk = 4 << 20): number {
    const need = Math.ceil(bytes / 64) * 64;
    while (this.chunkIndex < this.chunks.length) {
      const c = this.chunks[this.chunkIndex]!;
      if (c.used + need <= c.bytes) {
        const p = c.ptr + c.used;
        c.used += need;
        return p;
      }
      this.chunkIndex++;
    }
    const size = Math.max(need, minChunk);
    const c = { ptr: this.allocBytes(size), bytes: size, used: need };
    this.chunks.push(c);
    this.chunkIndex = this.chunks.length - 1;
    return c.ptr;
  }

  resetTemp(): void {
    for (const c of this.chunks) c.used = 0;
    this.chunkIndex = 0;
  }

  /** The scratch position now: chunks before chunkIndex are closed, those after it are empty. */
  tempMark(): [number, number] {
    return [this.chunkIndex, this.chunks[this.chunkIndex]?.used ?? 0];
  }

  /** Frees the scratch allocated after `mark` (a tempMark() taken since the last resetTemp()). */
  tempRelease(mark: readonly number[]): void {
    const [index, used] = mark as [number, number];
    for (let i = index + 1; i < this.chunks.length; i++) this.chunks[i]!.used = 0;
    if (index < this.chunks.length) this.chunks[index]!.used = used;
    this.chunkIndex = index;
  }

  f32(ptr: number, n: number): Float32Array {
    return new Float32Array(this.bufferFor(ptr + n * 4), ptr, n);
  }
  u8(ptr: number, n: number): Uint8Array {
    return new Uint8Array(this.bufferFor(ptr + n), ptr, n);
  }

  /**
   * The memory's buffer, kept between calls: reading `memory.buffer` of a shared memory costs ~0.1 us, and
   * a small model's decoding step makes dozens of views. Fetched again when a view would reach past it
   * (the memory grew).
   */
  private buf: ArrayBufferLike | null = null;
  private bufferFor(end: number): ArrayBufferLike {
    if (this.buf === null || end > this.buf.byteLength) this.buf = this.memory.buffer;
    return this.buf;
  }
}
