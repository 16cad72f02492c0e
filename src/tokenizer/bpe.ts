/**
 * Rank-based BPE merging of one pre-tokenized word, as llama.cpp's `llm_tokenizer_bpe_session`.
 *
 * The word's characters start as symbols in a doubly linked list; a binary heap holds the adjacent pairs that
 * have a merge rule, lowest rank first (ties: leftmost). Popping a pair whose symbols have changed since it was
 * queued is skipped. Every string that appears in a merge rule gets a small integer id, and the rank table is a
 * Map keyed by the pair of ids whose value also names the merged string, so the inner loop does no string work.
 * A final symbol that is not a vocabulary token falls back to its bytes.
 */

export interface BpeOptions {
  /** Merge rules "left right", highest priority first. */
  readonly merges: readonly string[];
  /** Vocabulary: token text -> id (the last id wins for duplicate texts, as in llama.cpp). */
  readonly tokenToId: ReadonlyMap<string, number>;
  /** Byte fallback for a symbol that is not a token: 'byte-level' looks each byte up as a one-character
   * token (GPT-2 style vocabularies), 'hex' as `<0xNN>`. */
  readonly fallback: 'byte-level' | 'hex';
}

export class BpeMerger {
  private readonly sidOf = new Map<string, number>();
  /** sid -> vocabulary id, or -1. */
  private sidToken: Int32Array;
  /** (left sid * nSid + right sid) -> rank * nSid + merged sid */
  private readonly pairs = new Map<number, number>();
  private readonly nSid: number;
  private readonly tokenToId: ReadonlyMap<string, number>;
  private readonly fallback: 'byte-level' | 'hex';
  /** sid of one-UTF-16-unit strings, indexed by the code unit (-1: none). */
  private readonly unitSid = new Int32Array(0x10000).fill(-1);

  // scratch space, reused across words
  private sid = new Int32Array(64);
  private len = new Int32Array(64);
  private startAt = new Int32Array(64);
  private prev = new Int32Array(64);
  private next = new Int32Array(64);
  private heapRank = new Float64Array(64);
  private heapLeft = new Int32Array(64);
  private heapRight = new Int32Array(64);
  private heapSize = new Int32Array(64);
  private heapResult = new Int32Array(64);
  private heapN = 0;

  constructor(opts: BpeOptions) {
    this.tokenToId = opts.tokenToId;
    this.fallback = opts.fallback;
    const strings: string[] = [];
    const intern = (s: string): number => {
      let id = this.sidOf.get(s);
      if (id === undefined) {
        id = strings.length;
        strings.push(s);
        this.sidOf.set(s, id);
      }
      return id;
    };
    for (const t of opts.tokenToId.keys()) intern(t);
    const parsed: Array<[number, number, number]> = [];
    for (const m of opts.merges) {
      const sp = m.indexOf(' ', 1);
      if (sp < 0) continue;
      const a = m.slice(0, sp);
      const b = m.slice(sp + 1);
      if (a.length === 0 || b.length === 0) continue;
      parsed.push([intern(a), intern(b), intern(a + b)]);
    }
    this.nSid = strings.length;
    for (let rank = 0; rank < parsed.length; rank++) {
      const [a, b, r] = parsed[rank]!;
      const key = a * this.nSid + b;
      if (!this.pairs.has(key)) this.pairs.set(key, rank * this.nSid + r);
    }
    this.sidToken = new Int32Array(this.nSid).fill(-1);
    for (const [t, id] of opts.tokenToId) this.sidToken[this.sidOf.get(t)!] = id;
    for (const [s, id] of this.sidOf) if (s.length === 1) this.unitSid[s.charCodeAt(0)] = id;
  }

  get mergeCount(): number {
    return this.pairs.size;
  }

  private grow(n: number): void {
    if (n <= this.sid.length) return;
    const size = Math.max(n, this.sid.length * 2);
    this.sid = new Int32Array(size);
    this.len = new Int32Array(size);
    this.startAt = new Int32Array(size);
    this.prev = new Int32Array(size);
    this.next = new Int32Array(size);
  }

  private growHeap(): void {
    const size = this.heapRank.length * 2;
    const cp = <T extends Int32Array | Float64Array>(a: T, b: T): T => (b.set(a), b);
    this.heapRank = cp(this.heapRank, new Float64Array(size));
    this.heapLeft = cp(this.heapLeft, new Int32Array(size));
    this.heapRight = cp(this.heapRight, new Int32Array(size));
    this.heapSize = cp(this.heapSize, new Int32Array(size));
    this.heapResult = cp(this.heapResult, new Int32Array(size));
  }

  /** heap order: rank ascending, then left index ascending */
  private less(i: number, j: number): boolean {
    const ri = this.heapRank[i]!;
    const rj = this.heapRank[j]!;
    return ri < rj || (ri === rj && this.heapLeft[i]! < this.heapLeft[j]!);
  }

  private swap(i: number, j: number): void {
    const R = this.heapRank, L = this.heapLeft, Rt = this.heapRight, S = this.heapSize, M = this.heapResult;
    let t: number;
    t = R[i]!; R[i] = R[j]!; R[j] = t;
    t = L[i]!; L[i] = L[j]!; L[j] = t;
    t = Rt[i]!; Rt[i] = Rt[j]!; Rt[j] = t;
    t = S[i]!; S[i] = S[j]!; S[j] = t;
    t = M[i]!; M[i] = M[j]!; M[j] = t;
  }

  private tryPair(left: number, right: number): void {
    if (left < 0 || right < 0) return;
    const a = this.sid[left]!;
    const b = this.sid[right]!;
    if (a < 0 || b < 0) return;
    const v = this.pairs.get(a * this.nSid + b);
    if (v === undefined) return;
    if (this.heapN === this.heapRank.length) this.growHeap();
    let i = this.heapN++;
    this.heapRank[i] = Math.floor(v / this.nSid);
    this.heapResult[i] = v % this.nSid;
    this.heapLeft[i] = left;
    this.heapRight[i] = right;
    this.heapSize[i] = this.len[left]! + this.len[right]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }

  private popTop(): void {
    const last = --this.heapN;
    if (last > 0) this.swap(0, last);
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= this.heapN) break;
      const r = l + 1;
      const m = r < this.heapN && this.less(r, l) ? r : l;
      if (!this.less(m, i)) break;
      this.swap(i, m);
      i = m;
    }
  }

  /** Token id of a whole word, or -1. */
  tokenOf(word: string): number {
    return this.tokenToId.get(word) ?? -1;
  }

  /** Merge `word` (already in the vocabulary's alphabet, e.g. byte-level encoded) and append its ids to `out`. */
  encode(word: string, out: number[]): void {
    // symbols: one per code point
    this.grow(word.length);
    let n = 0;
    for (let i = 0; i < word.length; n++) {
      const c = word.charCodeAt(i);
      const w = c >= 0xd800 && c <= 0xdbff && i + 1 < word.length ? 2 : 1;
      this.startAt[n] = i;
      this.len[n] = w;
      this.sid[n] = w === 1 ? this.unitSid[c]! : (this.sidOf.get(word.slice(i, i + 2)) ?? -1);
      this.prev[n] = n - 1;
      this.next[n] = n + 1;
      i += w;
    }
    if (n === 0) return;
    this.next[n - 1] = -1;
    this.heapN = 0;
    for (let i = 1; i < n; i++) this.tryPair(i - 1, i);
    while (this.heapN > 0) {
      const left = this.heapLeft[0]!;
      const right = this.heapRight[0]!;
      const size = this.heapSize[0]!;
      const result = this.heapResult[0]!;
      this.popTop();
      const ll = this.len[left]!;
      const rl = this.len[right]!;
      if (ll === 0 || rl === 0 || ll + rl !== size) continue; // outdated
      this.len[left] = ll + rl;
      this.len[right] = 0;
      this.sid[left] = result;
      const nx = this.next[right]!;
      this.next[left] = nx;
      if (nx >= 0) this.prev[nx] = left;
      this.tryPair(this.prev[left]!, left);
      this.tryPair(left, nx);
    }
    for (let i = 0; i !== -1; i = this.next[i]!) {
      const s = this.sid[i]!;
      const id = s >= 0 ? this.sidToken[s]! : -1;
      if (id >= 0) {
        out.push(id);
        continue;
      }
      this.byteFallback(word.slice(this.startAt[i]!, this.startAt[i]! + this.len[i]!), out);
    }
  }

  private byteFallback(text: string, out: number[]): void {
    const bytes = new TextEncoder().encode(text);
    for (const b of bytes) {
      let id: number | undefined;
      if (this.fallback === 'hex') id = this.tokenToId.get(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
      else if (b < 0x80) id = this.tokenToId.get(String.fromCharCode(b)); // a lone byte >= 0x80 is no string
      if (id !== undefined) out.push(id);
    }
  }
}
