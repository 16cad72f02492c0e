// The vocabulary as a byte trie, for computing which tokens a grammar state allows: walking the trie with
// the recogniser steps each shared prefix once and drops a whole subtree at its first refused byte (the way
// llama.cpp's grammar sampler does it). Built once per tokenizer, on first use.
import type { TokenTexts } from '../token-text.js';
import { step, type StateSet } from './frame.js';

export class TokenTrie {
  // Node n: its byte, first child, next sibling; tokens ending at n are ids[idStart[n] .. idStart[n] + idCount[n]).
  private byte: Uint8Array;
  private firstChild: Int32Array;
  private nextSibling: Int32Array;
  private readonly ends: number[][] = [];
  private nodes = 1;

  constructor(texts: TokenTexts) {
    let cap = 1024;
    this.byte = new Uint8Array(cap);
    this.firstChild = new Int32Array(cap).fill(-1);
    this.nextSibling = new Int32Array(cap).fill(-1);
    const grow = () => {
      cap *= 2;
      const b = new Uint8Array(cap);
      b.set(this.byte);
      const fc = new Int32Array(cap).fill(-1);
      fc.set(this.firstChild);
      const ns = new Int32Array(cap).fill(-1);
      ns.set(this.nextSibling);
      this.byte = b;
      this.firstChild = fc;
      this.nextSibling = ns;
    };
    for (let id = 0; id < texts.vocabSize; id++) {
      const s = texts.bytes(id);
      if (s.length === 0) continue;
      let n = 0;
      for (let i = 0; i < s.length; i++) {
        const b = s.charCodeAt(i);
        let c = this.firstChild[n]!;
        while (c >= 0 && this.byte[c] !== b) c = this.nextSibling[c]!;
        if (c < 0) {
          if (this.nodes === cap) grow();
          c = this.nodes++;
          this.byte[c] = b;
          this.nextSibling[c] = this.firstChild[n]!;
          this.firstChild[n] = c;
        }
        n = c;
      }
      (this.ends[n] ??= []).push(id);
    }
  }

  /** Calls `allow` for every token whose bytes the state accepts (tokens with no bytes are never allowed). */
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
