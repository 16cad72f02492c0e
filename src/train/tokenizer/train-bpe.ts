// A byte-level BPE trainer: learns merges on a corpus so that src/tokenizer and llama.cpp (GGUF
// `tokenizer.ggml.model = gpt2`) tokenize with them exactly as the trainer segmented the corpus.
//
//   trainBpe(texts, { vocabSize, specials?, pre? }): TrainedBpe
//
// Vocabulary layout: the special tokens (ids 0.., in the order given; default STEP_SPECIALS, so BOS is 0,
// EOS 1, pad 2, <|im_start|> 3, <|im_end|> 4), then the 256 byte symbols in byte order (GPT-2's byte-to-
// character map), then one token per learned merge. Special tokens are cut out of the text before
// pre-tokenization, as the tokenizer does, so no merge ever crosses them.
//
// The pre-tokenizer defaults to `qwen2`: it splits every digit into its own word, so no merge joins digits
// and every number is spelled digit by digit (a small model copies and computes digit sequences far more
// reliably than arbitrary multi-digit chunks), and both src/tokenizer and llama.cpp implement it.
//
// Training: word frequencies first (the corpus is repetitive, so distinct words are few), then the usual
// greedy loop: merge the most frequent adjacent pair (ties: the pair whose symbol ids are smallest, so the
// result is deterministic), update the counts of the words that contain it, and repeat. A lazy max-heap of
// (count, pair) keeps each step proportional to the words touched.
import { preTokenizerFor } from '../../tokenizer/index.js';
import { BYTE_TO_CHAR, utf8, wellFormed } from '../../tokenizer/unicode.js';
import { STEP_SPECIALS, type SpecialToken } from './specials.js';

export interface TrainBpeOptions {
  /** Total vocabulary size: specials + 256 bytes + merges. Training stops earlier if no pair occurs twice. */
  readonly vocabSize: number;
  readonly specials?: readonly SpecialToken[];
  /** A `tokenizer.ggml.pre` name known to src/tokenizer (default 'qwen2'). */
  readonly pre?: string;
  /** Pairs seen fewer times than this are not merged (default 2). */
  readonly minFrequency?: number;
  /**
   * Learn merges only from words that occur in at least this many of the texts (default 1: every word).
   * The other words are still tokenized with the merges learned, so they come out in pieces that recur
   * across texts, not as whole tokens of their own.
   */
  readonly minDocuments?: number;
}

export interface TrainedBpe {
  /** Token texts by id (byte-level encoded, as GGUF stores them). */
  readonly tokens: readonly string[];
  /** GGUF token types by id. */
  readonly types: readonly number[];
  /** Merge rules "left right", highest priority first. */
  readonly merges: readonly string[];
  readonly pre: string;
  readonly specials: readonly SpecialToken[];
}

/** Byte-level text of a word: each UTF-8 byte as its GPT-2 stand-in character. */
function byteLevel(word: string): string {
  let s = '';
  for (const b of utf8(word)) s += BYTE_TO_CHAR[b]!;
  return s;
}

function splitSpecials(text: string, specials: readonly string[]): string[] {
  if (specials.length === 0) return [text];
  const re = new RegExp(specials.map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).sort((a, b) => b.length - a.length).join('|'), 'g');
  return text.split(re).filter((p) => p.length > 0);
}

class MaxHeap {
  private counts: number[] = [];
  private keys: number[] = [];
  get size(): number {
    return this.counts.length;
  }
  private above(i: number, j: number): boolean {
    const a = this.counts[i]!, b = this.counts[j]!;
    return a > b || (a === b && this.keys[i]! < this.keys[j]!);
  }
  private swap(i: number, j: number): void {
    [this.counts[i], this.counts[j]] = [this.counts[j]!, this.counts[i]!];
    [this.keys[i], this.keys[j]] = [this.keys[j]!, this.keys[i]!];
  }
  push(count: number, key: number): void {
    this.counts.push(count);
    this.keys.push(key);
    for (let i = this.counts.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (!this.above(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }
  pop(): [number, number] {
    const top: [number, number] = [this.counts[0]!, this.keys[0]!];
    const lastC = this.counts.pop()!, lastK = this.keys.pop()!;
    if (this.counts.length > 0) {
      this.counts[0] = lastC;
      this.keys[0] = lastK;
      for (let i = 0; ; ) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < this.counts.length && this.above(l, m)) m = l;
        if (r < this.counts.length && this.above(r, m)) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top;
  }
}

export function trainBpe(texts: Iterable<string>, options: TrainBpeOptions): TrainedBpe {
  const specials = options.specials ?? STEP_SPECIALS;
  const pre = options.pre ?? 'qwen2';
  const minFrequency = Math.max(2, options.minFrequency ?? 2);
  const base = specials.length + 256;
  if (!Number.isInteger(options.vocabSize) || options.vocabSize < base) {
    throw new Error(`vocabSize must be an integer of at least ${base} (${specials.length} special tokens + 256 bytes), got ${options.vocabSize}`);
  }
  if (new Set(specials.map((s) => s.text)).size !== specials.length) throw new Error('special tokens must be distinct');
  const splitter = preTokenizerFor(pre);

  // 1. distinct words (byte-level), their frequencies and the number of texts they occur in
  const freq = new Map<string, number>();
  const docs = new Map<string, { last: number; n: number }>();
  const specialTexts = specials.map((s) => s.text);
  let doc = 0;
  for (const text of texts) {
    doc++;
    for (const piece of splitSpecials(text, specialTexts)) {
      if (specialTexts.includes(piece)) continue;
      for (const w of splitter.split(wellFormed(piece))) {
        const b = byteLevel(w);
        freq.set(b, (freq.get(b) ?? 0) + 1);
        const d = docs.get(b);
        if (!d) docs.set(b, { last: doc, n: 1 });
        else if (d.last !== doc) {
          d.last = doc;
          d.n++;
        }
      }
    }
  }
  const minDocuments = options.minDocuments ?? 1;
  if (!(Number.isInteger(minDocuments) && minDocuments >= 1)) throw new RangeError(`minDocuments must be a positive integer, got ${minDocuments}`);
  if (minDocuments > 1) for (const [w, d] of docs) if (d.n < minDocuments) freq.delete(w);

  // 2. symbols: ids into `tokens`; words as arrays of symbol ids
  const tokens: string[] = [...specialTexts];
  const types: number[] = specials.map((s) => s.type);
  const idOf = new Map<string, number>();
  for (let b = 0; b < 256; b++) {
    idOf.set(BYTE_TO_CHAR[b]!, tokens.length);
    tokens.push(BYTE_TO_CHAR[b]!);
    types.push(1); // NORMAL
  }
  const words: number[][] = [];
  const counts: number[] = [];
  for (const [w, n] of freq) {
    if (w.length < 2) continue; // nothing to merge
    words.push([...w].map((ch) => idOf.get(ch)!));
    counts.push(n);
  }

  // 3. pair counts and where each pair occurs; a pair key is left * M + right, M above any id
  const M = options.vocabSize + 1;
  const pairCount = new Map<number, number>();
  const where = new Map<number, Set<number>>();
  const heap = new MaxHeap();
  const addPairs = (wi: number, sign: 1 | -1, touched: Set<number>) => {
    const w = words[wi]!;
    for (let i = 0; i + 1 < w.length; i++) {
      const key = w[i]! * M + w[i + 1]!;
      pairCount.set(key, (pairCount.get(key) ?? 0) + sign * counts[wi]!);
      touched.add(key);
      if (sign > 0) {
        let set = where.get(key);
        if (!set) where.set(key, (set = new Set()));
        set.add(wi);
      }
    }
  };
  const initial = new Set<number>();
  for (let wi = 0; wi < words.length; wi++) addPairs(wi, 1, initial);
  for (const key of initial) heap.push(pairCount.get(key)!, key);

  // 4. merge loop
  const merges: string[] = [];
  while (tokens.length < options.vocabSize && heap.size > 0) {
    const [count, key] = heap.pop();
    if (pairCount.get(key) !== count) continue; // stale entry
    if (count < minFrequency) break;
    const left = Math.floor(key / M), right = key % M;
    const text = tokens[left]! + tokens[right]!;
    merges.push(`${tokens[left]} ${tokens[right]}`);
    let id = idOf.get(text);
    if (id === undefined) {
      id = tokens.length;
      idOf.set(text, id);
      tokens.push(text);
      types.push(1);
    }
    const touched = new Set<number>();
    for (const wi of where.get(key) ?? []) {
      const w = words[wi]!;
      addPairs(wi, -1, touched);
      const out: number[] = [];
      for (let i = 0; i < w.length; i++) {
        if (i + 1 < w.length && w[i] === left && w[i + 1] === right) {
          out.push(id);
          i++;
        } else out.push(w[i]!);
      }
      words[wi] = out;
      addPairs(wi, 1, touched);
    }
    pairCount.delete(key);
    where.delete(key);
    for (const k of touched) {
      const n = pairCount.get(k);
      if (n === undefined || k === key) continue;
      if (n <= 0) {
        pairCount.delete(k);
        where.delete(k);
      } else heap.push(n, k);
    }
  }
  return { tokens, types, merges, pre, specials };
}
