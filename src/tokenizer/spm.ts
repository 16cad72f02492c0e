/**
 * SentencePiece-style merging (GGUF `tokenizer.ggml.model = llama`), as llama.cpp's `llm_tokenizer_spm_session`.
 *
 * The text (spaces already replaced by U+2581) starts as one symbol per code point. Repeatedly the adjacent pair
 * whose concatenation is a vocabulary token with the highest score is merged (ties: leftmost); a pair queued
 * before one of its symbols changed is skipped when popped. A final symbol that is not a token becomes its UTF-8
 * bytes as `<0xNN>` byte tokens.
 */

export class SpmMerger {
  // scratch space, reused across calls
  private len = new Int32Array(64);
  private startAt = new Int32Array(64);
  private prev = new Int32Array(64);
  private next = new Int32Array(64);
  private hScore = new Float64Array(64);
  private hLeft = new Int32Array(64);
  private hRight = new Int32Array(64);
  private hSize = new Int32Array(64);
  private hN = 0;

  constructor(
    private readonly tokenToId: ReadonlyMap<string, number>,
    private readonly scores: ArrayLike<number>,
    private readonly byteToken: (byte: number) => number,
  ) {}

  private grow(n: number): void {
    if (n <= this.len.length) return;
    const size = Math.max(n, this.len.length * 2);
    this.len = new Int32Array(size);
    this.startAt = new Int32Array(size);
    this.prev = new Int32Array(size);
    this.next = new Int32Array(size);
  }

  private growHeap(): void {
    const size = this.hScore.length * 2;
    const s = new Float64Array(size); s.set(this.hScore); this.hScore = s;
    const l = new Int32Array(size); l.set(this.hLeft); this.hLeft = l;
    const r = new Int32Array(size); r.set(this.hRight); this.hRight = r;
    const z = new Int32Array(size); z.set(this.hSize); this.hSize = z;
  }

  /** heap order: score descending, then left index ascending */
  private before(i: number, j: number): boolean {
    const a = this.hScore[i]!;
    const b = this.hScore[j]!;
    return a > b || (a === b && this.hLeft[i]! < this.hLeft[j]!);
  }

  private swap(i: number, j: number): void {
    let t: number;
    t = this.hScore[i]!; this.hScore[i] = this.hScore[j]!; this.hScore[j] = t;
    t = this.hLeft[i]!; this.hLeft[i] = this.hLeft[j]!; this.hLeft[j] = t;
    t = this.hRight[i]!; this.hRight[i] = this.hRight[j]!; this.hRight[j] = t;
    t = this.hSize[i]!; this.hSize[i] = this.hSize[j]!; this.hSize[j] = t;
  }

  private tryPair(text: string, left: number, right: number): void {
    if (left < 0 || right < 0) return;
    const size = this.len[left]! + this.len[right]!;
    const id = this.tokenToId.get(text.slice(this.startAt[left]!, this.startAt[left]! + size));
    if (id === undefined) return;
    if (this.hN === this.hScore.length) this.growHeap();
    let i = this.hN++;
    this.hScore[i] = this.scores[id] ?? 0;
    this.hLeft[i] = left;
    this.hRight[i] = right;
    this.hSize[i] = size;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }

  private popTop(): void {
    const last = --this.hN;
    if (last > 0) this.swap(0, last);
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= this.hN) break;
      const r = l + 1;
      const m = r < this.hN && this.before(r, l) ? r : l;
      if (!this.before(m, i)) break;
      this.swap(i, m);
      i = m;
    }
  }

  /** Tokenize `text` (whitespace already escaped) and append the ids to `out`. */
  encode(text: string, out: number[]): void {
    this.grow(text.length);
    let n = 0;
    for (let i = 0; i < text.length; n++) {
      const c = text.charCodeAt(i);
      const w = c >= 0xd800 && c <= 0xdbff && i + 1 < text.length ? 2 : 1;
      this.startAt[n] = i;
      this.len[n] = w;
      this.prev[n] = n - 1;
      this.next[n] = n + 1;
      i += w;
    }
    if (n === 0) return;
    this.next[n - 1] = -1;
    this.hN = 0;
    for (let i = 1; i < n; i++) this.tryPair(text, i - 1, i);
    while (this.hN > 0) {
      const left = this.hLeft[0]!;
      const right = this.hRight[0]!;
      const size = this.hSize[0]!;
      this.popTop();
      const ll = this.len[left]!;
      const rl = this.len[right]!;
      if (ll === 0 || rl === 0 || ll + rl !== size) continue; // outdated
      this.len[left] = size;
      this.len[right] = 0;
      const nx = this.next[right]!;
      this.next[left] = nx;
      if (nx >= 0) this.prev[nx] = left;
      this.tryPair(text, this.prev[left]!, left);
      this.tryPair(text, left, nx);
    }
    for (let i = 0; i !== -1; i = this.next[i]!) {
      const piece = text.slice(this.startAt[i]!, this.startAt[i]! + this.len[i]!);
      const id = this.tokenToId.get(piece);
      if (id !== undefined) {
        out.push(id);
        continue;
      }
      for (const b of new TextEncoder().encode(piece)) out.push(this.byteToken(b));
    }
  }
}
