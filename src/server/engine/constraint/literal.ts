// Frames for fixed text and for combining frames: an exact literal, a choice among literals (tool names,
// parameter names, enum values, object keys), alternatives tried side by side, and "a frame then a literal".
// Literals are binary strings (one char per UTF-8 byte).
import { COMPLETE, DONE, Frame, NONE, PASS, PUSH, STAY, type Outcome } from './frame.js';

export class LiteralFrame extends Frame {
  constructor(readonly text: string, readonly pos = 0) {
    super();
    if (text.length === 0) throw new Error('LiteralFrame: empty literal');
  }

  feed(b: number): readonly Outcome[] {
    if (this.text.charCodeAt(this.pos) !== b) return NONE;
    if (this.pos + 1 === this.text.length) return [{ k: DONE, f: this }];
    return [{ k: STAY, f: new LiteralFrame(this.text, this.pos + 1) }];
  }
}

/**
 * One of several literals, each with a tag (what it stands for: a name, a value). When one literal is a
 * prefix of another (enum numbers 1 and 12), the frame may end after the shorter one (PASS on the next byte).
 */
export class LiteralSetFrame<T = unknown> extends Frame {
  constructor(
    readonly texts: readonly string[],
    readonly tags: readonly T[],
    readonly pos = 0,
    /** Index of the literal that is complete at `pos`, or -1. */
    readonly matched = -1,
  ) {
    super();
  }

  /** The tag of the literal read (valid once the frame is complete). */
  get tag(): T {
    return this.tags[this.matched]!;
  }

  override canEnd(): boolean {
    return this.matched >= 0;
  }

  feed(b: number): readonly Outcome[] {
    const texts: string[] = [];
    const tags: T[] = [];
    let whole = -1;
    let extends_ = false;
    for (let i = 0; i < this.texts.length; i++) {
      const t = this.texts[i]!;
      if (t.length > this.pos && t.charCodeAt(this.pos) === b) {
        if (t.length === this.pos + 1) whole = texts.length;
        else extends_ = true;
        texts.push(t);
        tags.push(this.tags[i]!);
      }
    }
    const out: Outcome[] = [];
    if (texts.length > 0) {
      const next = new LiteralSetFrame(texts, tags, this.pos + 1, whole);
      out.push(whole >= 0 && !extends_ ? { k: DONE, f: next } : { k: STAY, f: next });
    }
    if (this.matched >= 0) out.push({ k: PASS });
    return out;
  }
}

/** Several frames at the same point: each reads the byte, and the ones that refuse it drop out. */
export class AltFrame extends Frame {
  constructor(readonly alternatives: readonly Frame[]) {
    super();
  }

  feed(b: number): readonly Outcome[] {
    if (this.alternatives.length === 1) return this.alternatives[0]!.feed(b);
    const out: Outcome[] = [];
    for (const a of this.alternatives) for (const o of a.feed(b)) out.push(o);
    return out;
  }
}

/** `first`, then the literal `then` (a parameter value, then `\n</parameter>`). */
export class ThenFrame extends Frame {
  constructor(readonly first: Frame, readonly then: string, readonly phase: 0 | 1 | 2 = 0) {
    super();
  }

  feed(b: number): readonly Outcome[] {
    if (this.phase === 0) return [{ k: PUSH, f: new ThenFrame(this.first, this.then, 1), child: this.first }];
    if (this.phase === 1) return [{ k: PUSH, f: new ThenFrame(this.first, this.then, 2), child: new LiteralFrame(this.then) }];
    return NONE;
  }

  override childDone(): Frame | typeof COMPLETE {
    return this.phase === 2 ? COMPLETE : this;
  }
}
