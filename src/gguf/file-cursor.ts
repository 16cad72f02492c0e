// A bounds-checked, buffered little-endian cursor over an open file. The GGUF header is parsed through it
// so that a header of any size is read in fixed chunks and every read past the end of the file becomes a
// clear "truncated" error at a known byte offset instead of a crash.
import { readSync } from 'node:fs';

/** A read needed bytes beyond the end of the file. */
export class TruncatedError extends Error {
  constructor(
    /** Where the read started. */
    readonly offset: number,
    /** How many bytes it needed. */
    readonly wanted: number,
    /** Where the file ends. */
    readonly fileSize: number,
  ) {
    super(`file is truncated: needed ${wanted} bytes at byte ${offset} but the file ends at byte ${fileSize}`);
    this.name = 'TruncatedError';
  }
}

/** The operating system failed a read (EIO, EISDIR, ...). */
export class FileReadError extends Error {
  constructor(
    readonly offset: number,
    readonly error: Error,
  ) {
    super(`read error at byte ${offset}: ${error.message}`);
    this.name = 'FileReadError';
  }
}

const CHUNK = 1 << 20;
// ignoreBOM: keep a leading U+FEFF. By default TextDecoder strips it, which silently turned the
// vocabulary token "\uFEFF" (in llama-spm's vocabulary, among others) into an empty string.
const utf8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

/** readSync that reads exactly `length` bytes unless the file ends first; returns how many it got. */
export function readFully(fd: number, dst: Uint8Array, dstOffset: number, length: number, position: number): number {
  let got = 0;
  while (got < length) {
    let r: number;
    try {
      r = readSync(fd, dst, dstOffset + got, length - got, position + got);
    } catch (e) {
      throw new FileReadError(position + got, e as Error);
    }
    if (r === 0) break;
    got += r;
  }
  return got;
}

export class FileCursor {
  /** Bytes read per refill: 1 MiB, or the whole file when it is smaller. */
  private readonly chunk: number;
  private buf: Buffer;
  private bufStart = 0;
  private bufLen = 0;
  pos = 0;

  constructor(
    private readonly fd: number,
    readonly size: number,
  ) {
    this.chunk = Math.min(CHUNK, Math.max(size, 64));
    this.buf = Buffer.allocUnsafe(this.chunk);
  }

  get remaining(): number {
    return this.size - this.pos;
  }

  /** Makes `n` bytes at `pos` available in `buf` and returns their index in it. */
  private ensure(n: number): number {
    const rel = this.pos - this.bufStart;
    if (rel >= 0 && rel + n <= this.bufLen) return rel;
    if (n > this.remaining) throw new TruncatedError(this.pos, n, this.size);
    // Reads larger than a chunk (only long strings) get their own buffer; the chunk buffer stays small.
    if (n > this.chunk) {
      const big = Buffer.allocUnsafe(n);
      const got = readFully(this.fd, big, 0, n, this.pos);
      if (got < n) throw new TruncatedError(this.pos, n, this.pos + got);
      this.buf = big;
      this.bufStart = this.pos;
      this.bufLen = n;
      return 0;
    }
    if (this.buf.length !== this.chunk) this.buf = Buffer.allocUnsafe(this.chunk);
    const want = Math.min(this.chunk, this.size - this.pos);
    const got = readFully(this.fd, this.buf, 0, want, this.pos);
    this.bufStart = this.pos;
    this.bufLen = got;
    // The file shrank after we measured it.
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
  /**
   * A u64 as a number when it is at most 2^53 - 1, otherwise -1 (callers report it as too large). Avoids
   * bigints on the hot path of string lengths and array counts.
   */
  u64Safe(): number {
    const i = this.ensure(8);
    this.pos += 8;
    const lo = this.buf.readUInt32LE(i);
    const hi = this.buf.readUInt32LE(i + 4);
    return hi < 0x200000 ? hi * 0x100000000 + lo : -1;
  }
  /** Reads `n` bytes as UTF-8 (invalid sequences become U+FFFD; GGUF strings are specified as UTF-8). */
  utf8(n: number): string {
    if (n === 0) return '';
    const i = this.ensure(n);
    this.pos += n;
    // Short ASCII strings (most tokens and keys) decode faster by hand than through TextDecoder.
    if (n <= 32) {
      const b = this.buf;
      let ascii = true;
      for (let k = i; k < i + n; k++) if (b[k]! >= 0x80) { ascii = false; break; }
      if (ascii) return b.toString('latin1', i, i + n);
    }
    return utf8.decode(this.buf.subarray(i, i + n));
  }
  skip(n: number): void {
    if (n > this.remaining) throw new TruncatedError(this.pos, n, this.size);
    this.pos += n;
  }
}
