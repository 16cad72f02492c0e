// A bounds-checked, buffered little-endian cursor over an open file. The GGUF header is parsed through it
// so that a header of any size is read in fixed chunks and every read past the end of the file becomes a
// clear "truncated" error at a known byte offset instead of a crash.
import { readSync } from 'node:fs';

export class TruncatedError extends Error {
  constructor(
    readonly offset: number,
    readonly wanted: number,
    readonly fileSize: number,
  ) {
    super(`file is truncated: needed ${wanted} bytes at byte ${offset} but the file ends at byte ${fileSize}`);
  }
}

const CHUNK = 1 << 20;
const utf8 = new TextDecoder('utf-8', { fatal: false });

export class FileCursor {
  private buf = Buffer.alloc(CHUNK);
  private bufStart = 0;
  private bufLen = 0;
  pos = 0;

  constructor(
    private readonly fd: number,
    readonly size: number,
  ) {}

  get remaining(): number {
    return this.size - this.pos;
  }

  /** Makes `n` bytes at `pos` available in `buf` and returns their index in it. */
  private ensure(n: number): number {
    if (n > this.remaining) throw new TruncatedError(this.pos, n, this.size);
    const rel = this.pos - this.bufStart;
    if (rel >= 0 && rel + n <= this.bufLen) return rel;
    if (n > this.buf.length) this.buf = Buffer.alloc(Math.max(n, CHUNK));
    const want = Math.min(this.buf.length, this.size - this.pos);
    let got = 0;
    while (got < want) {
      const r = readSync(this.fd, this.buf, got, want - got, this.pos + got);
      if (r === 0) break;
      got += r;
    }
    this.bufStart = this.pos;
    this.bufLen = got;
    if (got < n) throw new TruncatedError(this.pos, n, this.pos + got);
    return 0;
  }

  u8(): number {
    const i = this.ensure(1);
    this.pos += 1;
    return this.buf[i]!;
  }
  i8(): number {
    const i = this.ensure(1);
    this.pos += 1;
    return this.buf.readInt8(i);
  }
  u16(): number {
    const i = this.ensure(2);
    this.pos += 2;
    return this.buf.readUInt16LE(i);
  }
  i16(): number {
    const i = this.ensure(2);
    this.pos += 2;
    return this.buf.readInt16LE(i);
  }
  u32(): number {
    const i = this.ensure(4);
    this.pos += 4;
    return this.buf.readUInt32LE(i);
  }
  i32(): number {
    const i = this.ensure(4);
    this.pos += 4;
    return this.buf.readInt32LE(i);
  }
  f32(): number {
    const i = this.ensure(4);
    this.pos += 4;
    return this.buf.readFloatLE(i);
  }
  f64(): number {
    const i = this.ensure(8);
    this.pos += 8;
    return this.buf.readDoubleLE(i);
  }
  u64(): bigint {
    const i = this.ensure(8);
    this.pos += 8;
    return this.buf.readBigUInt64LE(i);
  }
  i64(): bigint {
    const i = this.ensure(8);
    this.pos += 8;
    return this.buf.readBigInt64LE(i);
  }
  /** Reads `n` bytes as UTF-8 (invalid sequences become U+FFFD; GGUF strings are specified as UTF-8). */
  utf8(n: number): string {
    if (n === 0) return '';
    const i = this.ensure(n);
    this.pos += n;
    return utf8.decode(this.buf.subarray(i, i + n));
  }
  skip(n: number): void {
    if (n > this.remaining) throw new TruncatedError(this.pos, n, this.size);
    this.pos += n;
  }
}
