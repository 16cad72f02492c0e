// The vocabulary indexed for computing which tokens a grammar state allows.
//
// Tokens live in byte tries: walking a trie with the recogniser steps each shared prefix once and drops a
// whole subtree at its first refused byte (the way llama.cpp's grammar sampler does it). Most tokens of a
// real vocabulary are plain text (printable ASCII other than `"`, `\` and `<`, and whole UTF-8
// characters); inside a string every one of them is allowed as long as the string has room for its
// characters, so they are kept apart, sorted by length, and decided without a walk when the state is inside
// free text (Frame.plainRoom). A walk over 100k tokens inside a string takes ~100x longer than that.
import type { TokenTexts } from '../token-text.js';
import { step, type StateSet } from './frame.js';
import { utf8Start } from './text.js';

class ByteTrie {
  private byte: Uint8Array;
  private firstChild: Int32Array;
  private nextSibling: Int32Array;
  private readonly ends: number[][] = [];
  private nodes = 1;

  constructor() {
    this.byte = new Uint8Array(1024);
    this.firstChild = new Int32Array(1024).fill(-1);
    this.nextSibling = new Int32Array(1024).fill(-1);
  }

  insert(id: number, s: string): void {
    let n = 0;
    for (let i = 0; i < s.length; i++) {
      const b = s.charCodeAt(i);
      let c = this.firstChild[n]!;
      while (c >= 0 && this.byte[c] !== b) c = this.nextSibling[c]!;
      if (c < 0) {
        if (this.nodes === this.byte.length) this.grow();
        c = this.nodes++;
        this.byte[c] = b;
        this.nextSibling[c] = this.firstChild[n]!;
        this.firstChild[n] = c;
      }
      n = c;
    }
    (this.ends[n] ??= []).push(id);
  }

  private grow(): void {
    const cap = this.byte.length * 2;
    const b = new Uint8Array(cap);
    b.set(this.byte);
    const fc = new Int32Array(cap).fill(-1);
    fc.set(this.firstChild);
    const ns = new Int32Array(cap).fill(-1);
    ns.set(this.nextSibling);
    this.byte = b;
    this.firstChild = fc;
    this.nextSibling = ns;
  }

  forEachAllowed(state: StateSet, allow: (id: number) => void): void {
    const walk = (n: number, s: StateSet) => {
      for (let c = this.firstChild[n]!; c >= 0; c = this.nextSibling[c]!) {
        const next = step(s, this.byte[c]!);
        if (next.length === 0) continue;
        const ids = this.ends[c];
        if (ids) for (const id of ids) allow(id);
        walk(c, next);
      }
    };
    walk(0, state);
  }
}

/** Characters of a plain-text token, or -1 when any byte is not plain. */
export function plainChars(bytes: string): number {
  let chars = 0;
  for (let i = 0; i < bytes.length; ) {
    const b = bytes.charCodeAt(i);
    if (b < 0x80) {
      if (b < 0x20 || b === 0x7f || b === 0x22 || b === 0x5c || b === 0x3c) return -1;
      i++;
    } else {
      const s = utf8Start(b);
      if (!s || i + s.n >= bytes.length) return -1; // not a start byte, or the character is cut off
      const c1 = bytes.charCodeAt(i + 1);
      if (!(c1 >= s.lo && c1 <= s.hi)) return -1;
      for (let k = 2; k <= s.n; k++) {
        const c = bytes.charCodeAt(i + k);
        if (!(c >= 0x80 && c <= 0xbf)) return -1;
      }
      i += s.n + 1;
    }
    chars++;
  }
  return chars;
}

export class TokenTrie {
  /** Plain-text tokens by character count, ascending, and their counts. */
  private readonly plainIds: Int32Array;
  private readonly plainLen: Int32Array;
  private readonly plainTrie = new ByteTrie();
  private readonly otherTrie = new ByteTrie();

  constructor(texts: TokenTexts) {
    const plain: [number, number][] = [];
    for (let id = 0; id < texts.vocabSize; id++) {
      const s = texts.bytes(id);
      if (s.length === 0) continue;
      const n = plainChars(s);
      if (n > 0) {
        plain.push([id, n]);
        this.plainTrie.insert(id, s);
      } else this.otherTrie.insert(id, s);
    }
    plain.sort((a, b) => a[1] - b[1] || a[0] - b[0]);
    this.plainIds = Int32Array.from(plain, (p) => p[0]);
    this.plainLen = Int32Array.from(plain, (p) => p[1]);
  }

  /** Calls `allow` for every token whose bytes the state accepts (tokens with no bytes are never allowed). */
  forEachAllowed(state: StateSet, allow: (id: number) => void): void {
    const top = state.length === 1 && state[0] !== null ? state[0]!.frame : null;
    const room = top ? top.plainRoom() : -1;
    if (room >= 0) {
      for (let i = 0; i < this.plainIds.length && this.plainLen[i]! <= room; i++) allow(this.plainIds[i]!);
    } else {
      this.plainTrie.forEachAllowed(state, allow);
    }
    this.otherTrie.forEachAllowed(state, allow);
  }
}
