// Choosing the next token from a row of logits.
//
// The chain, in llama.cpp's default order (common_sampler: logit-bias first, then the samplers):
//
//   1. logit bias        logit[t] += bias[t]                  (-Infinity bans a token)
//   2. penalties         repetition (llama.cpp): for each distinct token among the last `penaltyLastN` of
//                          history (prompt + generated), logit /= r if logit > 0 else logit *= r;
//                        then presence/frequency (OpenAI): for each token generated so far, c times,
//                          logit -= c * frequencyPenalty + presencePenalty
//   3. top-k             keep the k highest logits (partial selection, no full sort)
//   4. top-p             keep the smallest most-probable prefix whose softmax mass (renormalised over what
//                        top-k kept) reaches p
//   5. min-p             keep tokens with p >= minP * p_max, i.e. logit >= max + ln(minP)
//   6. temperature       logit /= T;  T <= 0 means greedy: argmax after steps 1-2, no randomness used
//   7. sample            draw from softmax of what is left with the seeded RNG
//
// Each filter keeps at least `minKeep` tokens. Ties are broken by the lower token id everywhere, and the RNG
// is integer-only (random.ts), so a seed and a logits row give the same token on every machine.
//
// Log-probabilities for the API's `logprobs` / `top_logprobs` come from tokenLogprobs(), over the full
// softmax of the raw logits (before bias, penalties, filters and temperature), like vLLM and OpenAI report.
//
// Everything per token works in buffers allocated once per sampler (O(vocabulary) memory, a few MB at
// 128k); top-k is a heap selection, top-p sorts only a growing prefix of the candidates.
import { randomSeed, Rng } from '../common/rng.js';

export interface SamplerOptions {
  /** Softmax temperature; 0 (or less) is greedy decoding. Default 1. */
  readonly temperature?: number;
  /** Keep only the k most likely tokens; 0 (default) or >= vocabulary turns it off. */
  readonly topK?: number;
  /** Nucleus sampling mass in (0, 1]; 1 (default) turns it off. */
  readonly topP?: number;
  /** Keep tokens at least this fraction as likely as the best one; 0 (default) turns it off. */
  readonly minP?: number;
  /** Fewest tokens any filter may leave. Default 1. */
  readonly minKeep?: number;
  /** llama.cpp repetition penalty (> 1 discourages repeats); 1 (default) turns it off. */
  readonly repeatPenalty?: number;
  /** How many of the most recent history tokens the repetition penalty looks at: 0 none, -1 all. Default 64. */
  readonly penaltyLastN?: number;
  /** OpenAI presence penalty, subtracted once from every token generated so far. Default 0. */
  readonly presencePenalty?: number;
  /** OpenAI frequency penalty, subtracted once per occurrence among the generated tokens. Default 0. */
  readonly frequencyPenalty?: number;
  /** Added to the logits of the given token ids (-Infinity bans a token). */
  readonly logitBias?: ReadonlyMap<number, number> | Readonly<Record<number, number>>;
  /** RNG seed; a random one (readable as `sampler.seed`) when absent. */
  readonly seed?: number;
}

/** What generate() needs from a sampler; a custom one (grammar-constrained, scripted) can stand in. */
export interface TokenSampler {
  /** Starts a new generation: `history` (the prompt) is what the repetition penalty sees first. */
  reset(history?: readonly number[]): void;
  /** Picks a token from a logits row. Does not record it: call accept(). */
  sample(logits: Float32Array): number;
  /** Records a generated token (for the penalties). */
  accept(id: number): void;
}

export interface TokenLogprob {
  readonly id: number;
  /** Natural log of the token's probability under the raw logits. */
  readonly logprob: number;
}

export interface TokenLogprobs extends TokenLogprob {
  /** The `topN` most likely tokens, most likely first (ties: lower id first). */
  readonly top: readonly TokenLogprob[];
}

export interface ResolvedSamplerOptions {
  readonly temperature: number;
  readonly topK: number;
  readonly topP: number;
  readonly minP: number;
  readonly minKeep: number;
  readonly repeatPenalty: number;
  readonly penaltyLastN: number;
  readonly presencePenalty: number;
  readonly frequencyPenalty: number;
}

export function resolveSamplerOptions(o: SamplerOptions = {}): ResolvedSamplerOptions {
  const r = {
    temperature: o.temperature ?? 1,
    topK: o.topK ?? 0,
    topP: o.topP ?? 1,
    minP: o.minP ?? 0,
    minKeep: o.minKeep ?? 1,
    repeatPenalty: o.repeatPenalty ?? 1,
    penaltyLastN: o.penaltyLastN ?? 64,
    presencePenalty: o.presencePenalty ?? 0,
    frequencyPenalty: o.frequencyPenalty ?? 0,
  };
  const check = (ok: boolean, what: string, v: number) => {
    if (!ok) throw new RangeError(`sampler option ${what} is out of range: ${v}`);
  };
  check(Number.isFinite(r.temperature), 'temperature', r.temperature);
  check(Number.isInteger(r.topK) && r.topK >= 0, 'topK', r.topK);
  check(r.topP > 0 && r.topP <= 1, 'topP', r.topP);
  check(r.minP >= 0 && r.minP <= 1, 'minP', r.minP);
  check(Number.isInteger(r.minKeep) && r.minKeep >= 1, 'minKeep', r.minKeep);
  check(Number.isFinite(r.repeatPenalty) && r.repeatPenalty > 0, 'repeatPenalty', r.repeatPenalty);
  check(Number.isInteger(r.penaltyLastN) && r.penaltyLastN >= -1, 'penaltyLastN', r.penaltyLastN);
  check(Number.isFinite(r.presencePenalty), 'presencePenalty', r.presencePenalty);
  check(Number.isFinite(r.frequencyPenalty), 'frequencyPenalty', r.frequencyPenalty);
  return r;
}

const TOP_P_BUCKETS = 4096;

// ---------------------------------------------------------------------------------------------------------
// Candidates: the tokens still in the running, with their current logits.

/**
 * A candidate list over a vocabulary, filtered in place by the sampler stages. The first `prefix` entries
 * are known to be the most likely ones in descending order (ties: lower id first); the rest are unordered.
 */
export class Candidates {
  ids: Int32Array;
  logits: Float32Array;
  n = 0;
  prefix = 0;
  private spareIds: Int32Array;
  private spareLogits: Float32Array;
  private readonly heapPos: Int32Array;
  private readonly mark: Uint8Array;
  private bucketMass: Float64Array | undefined;
  private bucketCount: Int32Array | undefined;

  constructor(readonly capacity: number) {
    this.ids = new Int32Array(capacity);
    this.logits = new Float32Array(capacity);
    this.spareIds = new Int32Array(capacity);
    this.spareLogits = new Float32Array(capacity);
    this.heapPos = new Int32Array(capacity);
    this.mark = new Uint8Array(capacity);
  }

  get sorted(): boolean {
    return this.prefix === this.n;
  }

  /** Every token whose logit is not -Infinity or NaN, unordered. */
  fill(row: Float32Array): this {
    if (row.length > this.capacity) throw new RangeError(`a row of ${row.length} logits does not fit ${this.capacity} candidates`);
    const ids = this.ids;
    const lg = this.logits;
    let n = 0;
    for (let i = 0; i < row.length; i++) {
      const l = row[i]!;
      if (l > -Infinity) {
        ids[n] = i;
        lg[n] = l;
        n++;
      }
    }
    this.n = n;
    this.prefix = 0;
    return this;
  }

  /** Top-k straight from a logits row, without filling first: the k best tokens, sorted. */
  fillTopK(row: Float32Array, k: number): this {
    if (row.length > this.capacity) throw new RangeError(`a row of ${row.length} logits does not fit ${this.capacity} candidates`);
    const m = heapSelect(null, row, row.length, k, this.heapPos);
    const ids = this.ids;
    const lg = this.logits;
    for (let j = 0; j < m; j++) {
      const p = this.heapPos[j]!;
      ids[j] = p;
      lg[j] = row[p]!;
    }
    this.n = m;
    this.prefix = m;
    return this;
  }

  /** Largest logit (the first entry once any prefix is sorted). */
  maxLogit(): number {
    if (this.prefix > 0) return this.logits[0]!;
    const lg = this.logits;
    let m = -Infinity;
    for (let i = 0; i < this.n; i++) if (lg[i]! > m) m = lg[i]!;
    return m;
  }

  /** Rearranges so the first `m` entries are the m most likely, in descending order; the rest keep their order. */
  sortPrefix(m: number): void {
    m = Math.min(m, this.n);
    if (m <= this.prefix) return;
    const n = this.n;
    const pos = this.heapPos;
    const got = heapSelect(this.ids, this.logits, n, m, pos);
    const ids = this.ids;
    const lg = this.logits;
    const oi = this.spareIds;
    const ol = this.spareLogits;
    const mark = this.mark;
    for (let j = 0; j < got; j++) {
      const p = pos[j]!;
      oi[j] = ids[p]!;
      ol[j] = lg[p]!;
      mark[p] = 1;
    }
    let o = got;
    for (let i = 0; i < n; i++) {
      if (mark[i]) mark[i] = 0;
      else {
        oi[o] = ids[i]!;
        ol[o] = lg[i]!;
        o++;
      }
    }
    this.spareIds = ids;
    this.spareLogits = lg;
    this.ids = oi;
    this.logits = ol;
    this.prefix = got;
  }

  /** Keeps the max(k, minKeep) most likely tokens. */
  topK(k: number, minKeep = 1): void {
    if (k <= 0) return;
    k = Math.max(k, minKeep);
    if (k >= this.n) return;
    this.sortPrefix(k);
    this.n = k;
  }

  /** Keeps the smallest most-likely prefix whose probability (softmax over the candidates) is at least p. */
  topP(p: number, minKeep = 1): void {
    if (p >= 1 || this.n <= 1) return;
    if (this.prefix === this.n || this.n <= 256) {
      this.sortPrefix(this.n);
      this.topPSorted(p, minKeep);
    } else {
      this.topPBuckets(p, minKeep);
    }
  }

  private topPSorted(p: number, minKeep: number): void {
    const lg = this.logits;
    const n = this.n;
    const max = lg[0]!;
    let sum = 0;
    for (let i = 0; i < n; i++) sum += Math.exp(lg[i]! - max);
    const target = p * sum;
    let cum = 0;
    for (let i = 0; i < n; i++) {
      cum += Math.exp(lg[i]! - max);
      if (cum >= target && i + 1 >= minKeep) {
        this.n = this.prefix = i + 1;
        return;
      }
    }
  }

  /**
   * Top-p over many unsorted candidates without sorting them: a histogram of probability mass over logit
   * buckets finds the bucket where the cumulative mass crosses p; everything above it is kept, and only that
   * bucket's entries are sorted to find the exact cut. O(n) plus a sort of one bucket.
   */
  private topPBuckets(p: number, minKeep: number): void {
    const NB = TOP_P_BUCKETS;
    const n = this.n;
    const ids = this.ids;
    const lg = this.logits;
    const mass = (this.bucketMass ??= new Float64Array(NB));
    const count = (this.bucketCount ??= new Int32Array(NB));
    mass.fill(0);
    count.fill(0);
    let max = -Infinity;
    let min = Infinity;
    for (let i = 0; i < n; i++) {
      const l = lg[i]!;
      if (l > max) max = l;
      if (l < min) min = l;
    }
    const scale = max > min ? NB / (max - min) : 0;
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const l = lg[i]!;
      const e = Math.exp(l - max);
      sum += e;
      const b = Math.min(NB - 1, ((max - l) * scale) | 0);
      mass[b]! += e;
      count[b]!++;
    }
    const target = p * sum;
    let cum = 0;
    let boundary = -1;
    let above = 0;
    for (let b = 0; b < NB; b++) {
      if (cum + mass[b]! >= target) {
        boundary = b;
        break;
      }
      cum += mass[b]!;
      above += count[b]!;
    }
    if (boundary < 0) return; // rounding left the whole list short of the target: keep everything
    // Entries above the boundary bucket go to the front (unordered), the boundary bucket's after them.
    const oi = this.spareIds;
    const ol = this.spareLogits;
    let o = 0;
    let t = above;
    for (let i = 0; i < n; i++) {
      const l = lg[i]!;
      const b = Math.min(NB - 1, ((max - l) * scale) | 0);
      if (b < boundary) {
        oi[o] = ids[i]!;
        ol[o++] = l;
      } else if (b === boundary) {
        oi[t] = ids[i]!;
        ol[t++] = l;
      }
    }
    const inBucket = t - above;
    const pos = this.heapPos;
    heapSelect(oi.subarray(above, t), ol.subarray(above, t), inBucket, inBucket, pos);
    // The boundary bucket's entries in order, taken until the mass reaches p.
    let take = 0;
    while (take < inBucket) {
      cum += Math.exp(ol[above + pos[take]!]! - max);
      take++;
      if (cum >= target) break;
    }
    const kept = above + take;
    if (kept < minKeep) {
      // Fewer than minKeep reach p: keep the minKeep most likely instead (a superset); ids/logits are intact.
      this.topK(minKeep);
      return;
    }
    ids.set(oi.subarray(0, above));
    lg.set(ol.subarray(0, above));
    for (let j = 0; j < take; j++) {
      const q = above + pos[j]!;
      ids[above + j] = oi[q]!;
      lg[above + j] = ol[q]!;
    }
    this.n = kept;
    this.prefix = 0;
  }
  /** Keeps tokens whose probability is at least p times the best one's (logit >= max + ln p). */
  minP(p: number, minKeep = 1): void {
    if (p <= 0 || this.n <= 1) return;
    const thr = this.maxLogit() + Math.log(p);
    const ids = this.ids;
    const lg = this.logits;
    const n = this.n;
    let count = 0;
    for (let i = 0; i < n; i++) if (lg[i]! >= thr) count++;
    if (count < minKeep) {
      this.topK(minKeep);
      return;
    }
    let o = 0;
    let prefixKept = 0;
    for (let i = 0; i < n; i++) {
      if (lg[i]! >= thr) {
        ids[o] = ids[i]!;
        lg[o] = lg[i]!;
        if (i < this.prefix) prefixKept++;
        o++;
      }
    }
    this.n = o;
    this.prefix = prefixKept;
  }

  /**
   * Softmax of logits / temperature over the candidates into `out[0..n)` (normalised, float64).
   * temperature <= 0 puts all mass on the best candidate.
   */
  probabilities(temperature: number, out: Float64Array): Float64Array {
    const n = this.n;
    const lg = this.logits;
    const max = this.maxLogit();
    if (temperature <= 0) {
      let best = -1;
      for (let i = 0; i < n; i++) if (best < 0 || better(lg[i]!, this.ids[i]!, lg[best]!, this.ids[best]!)) best = i;
      for (let i = 0; i < n; i++) out[i] = i === best ? 1 : 0;
      return out;
    }
    const inv = 1 / temperature;
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const e = Math.exp((lg[i]! - max) * inv);
      out[i] = e;
      sum += e;
    }
    const isum = 1 / sum;
    for (let i = 0; i < n; i++) out[i]! *= isum;
    return out;
  }
}

/** a ranks before b: larger logit, or the same logit and a lower id. */
function better(la: number, ia: number, lb: number, ib: number): boolean {
  return la > lb || (la === lb && ia < ib);
}

/**
 * The positions of the k best entries of (ids, logits)[0..n) (ids null: the position is the id), written to
 * `out[0..)` best first; entries with logit -Infinity or NaN are never chosen. Returns how many were found.
 * A min-heap of size k: O(n) comparisons when k << n, O(n log k) at worst.
 */
function heapSelect(ids: Int32Array | null, logits: Float32Array, n: number, k: number, out: Int32Array): number {
  k = Math.min(k, n);
  if (k <= 0) return 0;
  // Heap of positions in out[0..size): the root is the worst kept entry.
  let size = 0;
  const idOf = (p: number) => (ids === null ? p : ids[p]!);
  const worse = (a: number, b: number) => better(logits[b]!, idOf(b), logits[a]!, idOf(a));
  const siftDown = (start: number, end: number) => {
    let i = start;
    const x = out[i]!;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= end) break;
      if (c + 1 < end && worse(out[c + 1]!, out[c]!)) c++;
      if (!worse(out[c]!, x)) break;
      out[i] = out[c]!;
      i = c;
    }
    out[i] = x;
  };
  for (let p = 0; p < n; p++) {
    const l = logits[p]!;
    if (!(l > -Infinity)) continue;
    if (size < k) {
      let i = size++;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (!worse(p, out[parent]!)) break;
        out[i] = out[parent]!;
        i = parent;
      }
      out[i] = p;
    } else {
      const root = out[0]!;
      const lr = logits[root]!;
      if (l > lr || (l === lr && idOf(p) < idOf(root))) {
        out[0] = p;
        siftDown(0, size);
      }
    }
  }
  // Heap sort in place: repeatedly move the worst to the end, leaving the best first.
  for (let end = size - 1; end > 0; end--) {
    const w = out[0]!;
    out[0] = out[end]!;
    out[end] = w;
    siftDown(0, end);
  }
  return size;
}

// ---------------------------------------------------------------------------------------------------------
// The sampler

export class Sampler implements TokenSampler {
  readonly options: ResolvedSamplerOptions;
  readonly seed: number;
  private rng: Rng;
  private readonly work: Float32Array;
  private readonly cands: Candidates;
  private readonly probs: Float64Array;
  private readonly biasIds: Int32Array;
  private readonly biasValues: Float32Array;
  // Repetition-penalty window: a ring of the last `penaltyLastN` history tokens (or all of them for -1).
  private ring: Int32Array;
  private ringLen = 0;
  private ringHead = 0;
  private readonly stamp: Uint32Array;
  private epoch = 0;
  // Presence/frequency: occurrence counts of the generated tokens.
  private readonly genCount: Int32Array;
  private genDistinct: number[] = [];

  constructor(readonly vocabSize: number, options: SamplerOptions = {}) {
    if (!Number.isInteger(vocabSize) || vocabSize <= 0) throw new RangeError(`vocabulary size must be a positive integer, got ${vocabSize}`);
    this.options = resolveSamplerOptions(options);
    this.seed = options.seed ?? randomSeed();
    this.rng = new Rng(this.seed);
    this.work = new Float32Array(vocabSize);
    this.cands = new Candidates(vocabSize);
    this.probs = new Float64Array(vocabSize);
    const bias = options.logitBias === undefined ? [] : options.logitBias instanceof Map ? [...options.logitBias] : Object.entries(options.logitBias);
    this.biasIds = new Int32Array(bias.length);
    this.biasValues = new Float32Array(bias.length);
    bias.forEach(([id, v], i) => {
      const t = Number(id);
      if (!Number.isInteger(t) || t < 0 || t >= vocabSize) throw new RangeError(`logit bias for token ${String(id)}, outside the vocabulary (0..${vocabSize - 1})`);
      if (Number.isNaN(v)) throw new RangeError(`logit bias for token ${t} is NaN`);
      this.biasIds[i] = t;
      this.biasValues[i] = v;
    });
    const lastN = this.options.penaltyLastN;
    this.ring = new Int32Array(lastN > 0 ? lastN : lastN < 0 ? 256 : 0);
    this.stamp = new Uint32Array(vocabSize);
    this.genCount = new Int32Array(vocabSize);
  }

  /** Restarts the random stream (as if constructed with `seed`) without touching the history. */
  reseed(seed: number): void {
    this.rng = new Rng(seed);
    (this as { seed: number }).seed = seed;
  }

  reset(history: readonly number[] = []): void {
    for (const t of this.genDistinct) this.genCount[t] = 0;
    this.genDistinct = [];
    this.ringLen = 0;
    this.ringHead = 0;
    const lastN = this.options.penaltyLastN;
    const start = lastN > 0 ? Math.max(0, history.length - lastN) : lastN === 0 ? history.length : 0;
    for (let i = start; i < history.length; i++) this.pushHistory(history[i]!);
  }

  accept(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) throw new RangeError(`token id ${id} is outside the vocabulary`);
    this.pushHistory(id);
    if (this.genCount[id]!++ === 0) this.genDistinct.push(id);
  }

  private pushHistory(id: number): void {
    const lastN = this.options.penaltyLastN;
    if (lastN === 0) return;
    if (lastN < 0) {
      if (this.ringLen === this.ring.length) {
        const grown = new Int32Array(this.ring.length * 2);
        grown.set(this.ring);
        this.ring = grown;
      }
      this.ring[this.ringLen++] = id;
      return;
    }
    this.ring[this.ringHead] = id;
    this.ringHead = (this.ringHead + 1) % lastN;
    if (this.ringLen < lastN) this.ringLen++;
  }

  /**
   * Steps 1-2 of the chain (bias, penalties) on a copy of `logits`. The returned array is the sampler's
   * own buffer, valid until the next call.
   */
  process(logits: Float32Array): Float32Array {
    const V = this.vocabSize;
    if (logits.length !== V) throw new RangeError(`expected ${V} logits, got ${logits.length}`);
    const w = this.work;
    w.set(logits);
    const bi = this.biasIds;
    const bv = this.biasValues;
    for (let i = 0; i < bi.length; i++) w[bi[i]!]! += bv[i]!;

    const o = this.options;
    const rp = o.repeatPenalty;
    if (rp !== 1 && this.ringLen > 0) {
      const stamp = this.stamp;
      const ring = this.ring;
      let e = ++this.epoch;
      if (e === 0xffffffff) {
        stamp.fill(0);
        e = this.epoch = 1;
      }
      for (let i = 0; i < this.ringLen; i++) {
        const t = ring[i]!;
        if (stamp[t] === e) continue;
        stamp[t] = e;
        const l = w[t]!;
        w[t] = l <= 0 ? l * rp : l / rp;
      }
    }
    const fp = o.frequencyPenalty;
    const pp = o.presencePenalty;
    if (fp !== 0 || pp !== 0) {
      const cnt = this.genCount;
      for (const t of this.genDistinct) w[t]! -= cnt[t]! * fp + pp;
    }
    return w;
  }

  /** The candidates after steps 1-5 (bias, penalties, top-k, top-p, min-p). */
  private filter(logits: Float32Array): Candidates {
    const w = this.process(logits);
    const o = this.options;
    const c = this.cands;
    if (o.topK > 0 && o.topK < this.vocabSize) c.fillTopK(w, Math.max(o.topK, o.minKeep));
    else c.fill(w);
    if (c.n === 0) throw new Error('no token can be sampled: every logit is -Infinity or NaN (all banned?)');
    c.topP(o.topP, o.minKeep);
    c.minP(o.minP, o.minKeep);
    return c;
  }

  sample(logits: Float32Array): number {
    const o = this.options;
    if (o.temperature <= 0) return argmax(this.process(logits));
    const c = this.filter(logits);
    if (c.n === 1) return c.ids[0]!;
    const p = c.probabilities(o.temperature, this.probs);
    const u = this.rng.next();
    let cum = 0;
    const n = c.n;
    for (let i = 0; i < n; i++) {
      cum += p[i]!;
      if (u < cum) return c.ids[i]!;
    }
    // u fell into the rounding gap above the summed probabilities: the last token with any mass.
    for (let i = n - 1; i >= 0; i--) if (p[i]! > 0) return c.ids[i]!;
    return c.ids[0]!;
  }

  /**
   * The distribution sample() draws from for this row, most likely first (a copy; for inspection and
   * tests; it uses no randomness).
   */
  distribution(logits: Float32Array): { ids: Int32Array; probs: Float64Array } {
    const o = this.options;
    if (o.temperature <= 0) return { ids: Int32Array.of(argmax(this.process(logits))), probs: Float64Array.of(1) };
    const c = this.filter(logits);
    c.sortPrefix(c.n);
    const p = c.probabilities(o.temperature, this.probs);
    return { ids: c.ids.slice(0, c.n), probs: p.slice(0, c.n) };
  }
}

/** Index of the largest value (lowest index on ties); throws when every value is -Infinity or NaN. */
export function argmax(row: Float32Array): number {
  let best = -1;
  let bv = -Infinity;
  for (let i = 0; i < row.length; i++) {
    const v = row[i]!;
    if (v > bv) {
      bv = v;
      best = i;
    }
  }
  if (best < 0) throw new Error('no token can be chosen: every logit is -Infinity or NaN (all banned?)');
  return best;
}

/**
 * Log-probability of `id` and the `topN` most likely tokens, over the full softmax of the raw logits.
 * O(vocabulary); allocates only the `topN` result.
 */
export function tokenLogprobs(logits: Float32Array, id: number, topN = 0): TokenLogprobs {
  const n = logits.length;
  let max = -Infinity;
  for (let i = 0; i < n; i++) if (logits[i]! > max) max = logits[i]!;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const l = logits[i]!;
    if (l > -Infinity) sum += Math.exp(l - max);
  }
  const lse = max + Math.log(sum);
  const top: TokenLogprob[] = [];
  if (topN > 0) {
    const pos = new Int32Array(Math.min(topN, n));
    const m = heapSelect(null, logits, n, topN, pos);
    for (let j = 0; j < m; j++) top.push({ id: pos[j]!, logprob: logits[pos[j]!]! - lse });
  }
  return { id, logprob: logits[id]! - lse, top };
}
