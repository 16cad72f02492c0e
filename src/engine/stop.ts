// Stop strings over streamed text. Generated text arrives in pieces that do not respect stop-string
// boundaries, so a piece is released only up to where a stop string could still begin: the longest tail
// of the text seen so far that is a proper prefix of some stop string is held back, and released as soon
// as the next piece shows it diverges. When a stop string completes, the text before it is released and the
// stop string itself (and anything after it) never is.

export interface StopPush {
  /** Text that is now safe to emit (possibly ""). */
  readonly text: string;
  /** The stop string that just completed, if one did; nothing more should be pushed. */
  readonly stop?: string;
}

export class StopMatcher {
  private readonly stops: readonly string[];
  private held = '';
  private done = false;

  constructor(stops: readonly string[] = []) {
    this.stops = stops.filter((s) => s.length > 0);
  }

  get stopped(): boolean {
    return this.done;
  }

  /** Text currently held back as a possible start of a stop string. */
  get pending(): string {
    return this.held;
  }

  push(piece: string): StopPush {
    if (this.done) throw new Error('StopMatcher: push after a stop string matched');
    if (this.stops.length === 0) return { text: piece };
    const buf = this.held + piece;
    // Earliest completed stop string (at equal positions the longest); a match can only end in the new piece,
    // since the held text alone never contains one.
    let at = -1;
    let which = '';
    const from = Math.max(0, this.held.length - this.maxLen() + 1);
    for (const s of this.stops) {
      const i = buf.indexOf(s, from);
      if (i >= 0 && (at < 0 || i < at || (i === at && s.length > which.length))) {
        at = i;
        which = s;
      }
    }
    if (at >= 0) {
      this.done = true;
      this.held = '';
      return { text: buf.slice(0, at), stop: which };
    }
    let keep = this.partialTail(buf);
    // Never cut a surrogate pair in half (stop strings are well-formed, so this only matters for odd input).
    const cut = buf.length - keep;
    if (cut > 0 && cut < buf.length && isHighSurrogate(buf.charCodeAt(cut - 1))) keep++;
    this.held = buf.slice(buf.length - keep);
    return { text: buf.slice(0, buf.length - keep) };
  }

  /** Releases whatever is held (the generation ended for another reason). */
  flush(): string {
    const t = this.held;
    this.held = '';
    return t;
  }

  private maxLenCache = -1;
  private maxLen(): number {
    if (this.maxLenCache < 0) this.maxLenCache = Math.max(0, ...this.stops.map((s) => s.length));
    return this.maxLenCache;
  }

  /** Length of the longest tail of `buf` that is a proper prefix of a stop string. */
  private partialTail(buf: string): number {
    const limit = Math.min(buf.length, this.maxLen() - 1);
    for (let len = limit; len > 0; len--) {
      const tail = buf.slice(buf.length - len);
      for (const s of this.stops) if (s.length > len && s.startsWith(tail)) return len;
    }
    return 0;
  }
}

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}
