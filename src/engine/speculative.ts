// Speculative decoding with the model's own MTP heads (spec §2.5): the heads draft up to N tokens, the
// trunk checks them all in one batched pass, and every cache is rolled back past the first rejected one.
//
// One step, with the trunk holding positions 0..n-1 and x_n the last generated token (not yet evaluated):
//
//   draft      chain (default): head k (k = 1..N) runs at position n-1 on (E[x_{n-1+k}], h^{k-1}_{n-1}),
//              h^0 being the trunk's pre-norm hidden state, and proposes d_k for position n+k; the tokens
//              x_{n+1}, x_{n+2} it reads are the drafts d_1, d_2. This is how the heads are trained
//              (src/train/model/step35-train.ts): head k at position t reads x_{t+k} and h^{k-1}_t.
//              roundrobin (llama.cpp's single-head mode): one head, taken in turn per step, runs N times
//              at positions n-1, n, ..., each time reading the previous draft and its own output hidden.
//   verify     the trunk evaluates [x_n, d_1..d_N] in one pass: N + 1 rows of logits. Token i is chosen
//              from row i exactly as without drafting (same sampler, same history); greedy keeps the
//              longest prefix of drafts that agrees, sampling uses the speculative-sampling rule
//              (speculative-accept.ts), so the output distribution is unchanged. The token after the last
//              kept draft (a correction, or a bonus when all N are kept) comes from the same pass.
//   roll back  the trunk's cache to n + 1 + a positions (a drafts kept), each head's cache to the
//              positions whose inputs were all real tokens.
//
// The MTP caches. Head k's cache must hold, for every position t in its window, the keys/values of
// (E[x_{t+k}], h^{k-1}_t) with real tokens, as in training. Those entries are computed lazily: each head
// keeps `length` = the positions it holds with real inputs, and before drafting it first runs over the
// positions it lacks (the tokens accepted since its last run) in the same pass as the drafting position.
// Hidden states of lower levels are kept per position until the level above has consumed them.
//
// Ring buffers: a pass writes at most maxBatch positions and every sliding ring holds window + maxBatch
// slots, so a rolled-back write never overwrote a key still inside some later query's window (the oldest
// slot it reuses is more than `window` positions behind the rollback point); rollback is then only moving
// `length` back (KvCache.truncate checks the distance).
import type { MtpHeads, MtpLayerCache } from '../model/mtp.js';
import { MtpHeads as Heads } from '../model/mtp.js';
import { Rng } from '../common/rng.js';
import { acceptOrResample, drawFrom, type SparseDist } from './speculative-accept.js';
import { argmax, Sampler, type TokenSampler } from './sampler.js';
import type { Session } from './session.js';
import type { KvCacheType } from '../model/kv.js';
import type { Step35Model } from '../model/step35.js';

/**
 * What a drafter works on: the trunk model, one sequence's cache (its length) and the tokens it holds. A
 * Session is one; the server's batch scheduler gives each slot one (src/server/engine/model-port.ts) and
 * verifies the drafts of all its slots in one batched pass itself (propose() / commit()).
 */
export interface DraftTarget {
  readonly model: Step35Model;
  /** The trunk's cache: its length, and its storage types, which the heads' caches take too (default f32). */
  readonly cache: { readonly length: number; readonly typeK?: KvCacheType; readonly typeV?: KvCacheType };
  /** The tokens whose keys and values the cache holds, in order. */
  readonly tokens: readonly number[];
  readonly contextSize: number;
}

export type DraftMode = 'chain' | 'roundrobin';

export interface DraftOptions {
  /** Tokens drafted per step (1..3; 0 turns drafting off). */
  readonly n: number;
  /** Default: chain when the model has at least n heads, else roundrobin. */
  readonly mode?: DraftMode;
  /**
   * Stop drafting at a token the head gives less than this probability (0, the default: never). Saves the
   * verification of drafts that would likely be rejected; the output is unchanged either way.
   */
  readonly pMin?: number;
}

export interface DraftStats {
  readonly n: number;
  readonly mode: DraftMode;
  /** Verification passes. */
  readonly steps: number;
  readonly drafted: number;
  readonly accepted: number;
  /** accepted / drafted. */
  readonly acceptanceRate: number;
  /** Per draft depth (1..n): drafts made, drafts kept, and their ratio (a depth is only tried if all before it were kept). */
  readonly draftedByDepth: readonly number[];
  readonly acceptedByDepth: readonly number[];
  readonly acceptanceByDepth: readonly number[];
  /** Drafts kept per verification step. */
  readonly meanAccepted: number;
  /** Tokens produced per verification step (kept drafts + the one the trunk adds). */
  readonly meanTokensPerStep: number;
  /** Time in the MTP heads and in the verification passes. */
  readonly draftMs: number;
  readonly verifyMs: number;
  /** The heads' KV caches: their storage types (the trunk's) and bytes, all heads together. */
  readonly cacheTypeK: KvCacheType;
  readonly cacheTypeV: KvCacheType;
  readonly cacheBytes: number;
}

/** What one step produced: tokens in order, each with the trunk logits it was chosen from. */
export interface StepResult {
  readonly tokens: number[];
  readonly logits: Float32Array[];
  readonly drafted: number;
  readonly accepted: number;
}

/** Which heads and mode a model supports for `n` drafts; throws a clear error for impossible requests. */
export function resolveDraft(nNextn: number, opts: DraftOptions): { n: number; mode: DraftMode } {
  const n = opts.n;
  if (!(Number.isInteger(n) && n >= 0 && n <= 3)) throw new RangeError(`--draft must be an integer from 0 to 3, got ${n}`);
  if (n === 0) return { n, mode: opts.mode ?? 'chain' };
  if (nNextn === 0) throw new Error('this model has no MTP (nextn) layers, so it cannot draft tokens: use --draft 0');
  const mode = opts.mode ?? (nNextn >= n ? 'chain' : 'roundrobin');
  if (mode !== 'chain' && mode !== 'roundrobin') throw new RangeError(`draft mode must be chain or roundrobin, got ${String(mode)}`);
  if (mode === 'chain' && n > nNextn) throw new Error(`chain drafting of ${n} tokens needs ${n} MTP heads; this model has ${nNextn} (use --draft-mode roundrobin or --draft ${nNextn})`);
  return { n, mode };
}

const drafters = new WeakMap<Session, Drafter>();

/** The session's drafter (its MTP caches live as long as the session). */
export function drafterFor(session: Session): Drafter {
  let d = drafters.get(session);
  if (!d) {
    d = new Drafter(session);
    drafters.set(session, d);
  }
  return d;
}

/** Makes `drafter` the session's (a subclass steering the drafts, in tests). */
export function setDrafter(session: Session, drafter: Drafter): void {
  if (drafter.session !== session) throw new Error('the drafter belongs to another session');
  drafters.set(session, drafter);
}

export class Drafter {
  readonly heads: MtpHeads;
  private readonly caches: MtpLayerCache[];
  /** stores[l]: position -> hidden row of level l (0 = trunk, k = head k's output in chain mode). */
  private readonly stores: Map<number, Float32Array>[];
  private n = 0;
  private mode: DraftMode = 'chain';
  private pMin = 0;
  private round = 0;
  private rng = new Rng(1);
  private scratch: Float64Array | null = null;
  // Statistics of the current generation.
  private steps = 0;
  private draftedByDepth: number[] = [];
  private acceptedByDepth: number[] = [];
  private draftMs = 0;
  private verifyMs = 0;

  constructor(readonly session: DraftTarget) {
    const model = session.model;
    this.heads = new Heads(model, model.maxBatch);
    // The heads' caches are stored like the trunk's (--cache-type-k/-v apply to every layer).
    const types = { k: session.cache.typeK ?? 'f32', v: session.cache.typeV ?? 'f32' } as const;
    this.caches = Array.from({ length: this.heads.count }, (_, k) => this.heads.newCache(k, session.contextSize, types));
    this.stores = Array.from({ length: this.heads.count + 1 }, () => new Map());
  }

  /** Bytes of the heads' KV caches, all heads together. */
  get cacheBytes(): number {
    return this.caches.reduce((a, c) => a + c.bytes, 0);
  }

  /** The widest window of the heads (a sliding head sees only its window; Infinity for a full one). */
  private get window(): number {
    const cfg = this.session.model.config;
    let w = 0;
    for (let k = 0; k < this.heads.count; k++) w = Math.max(w, this.heads.layer(k).sliding ? cfg.slidingWindow : Infinity);
    return w;
  }

  /**
   * Trunk positions whose hidden states the heads can still need. Head k's output at t depends on its
   * window of entries, which depend on head k-1's outputs over the window before: a chain of c heads
   * reaches back c windows.
   */
  private get keep(): number {
    return this.window * Math.max(1, this.heads.count);
  }

  /**
   * Starts a generation whose prompt is being prefilled: call `onPrefillChunk` after each prefill chunk and
   * `afterPrefill` once the prompt is in the trunk's cache.
   */
  begin(opts: DraftOptions, seed: number): void {
    const r = resolveDraft(this.heads.count, opts);
    if (r.n + 1 > this.session.model.maxBatch) throw new RangeError(`drafting ${r.n} tokens verifies ${r.n + 1} per pass, more than the model's batch size ${this.session.model.maxBatch}`);
    this.n = r.n;
    this.mode = r.mode;
    this.pMin = opts.pMin ?? 0;
    if (!(this.pMin >= 0 && this.pMin <= 1)) throw new RangeError(`draft p-min must be in [0, 1], got ${opts.pMin}`);
    this.round = 0;
    // A stream of its own: sharing the sampler's would tie the drafts to the token drawn just before them.
    this.rng = new Rng(new Rng(seed ^ 0x5bd1e995).nextU32() * 2 + 1);
    for (const s of this.stores) s.clear();
    this.steps = 0;
    this.draftedByDepth = new Array<number>(this.n).fill(0);
    this.acceptedByDepth = new Array<number>(this.n).fill(0);
    this.draftMs = 0;
    this.verifyMs = 0;
  }

  /**
   * Records the trunk's hidden states of prompt positions [start, end), which were rows row0.. of the last
   * pass (row0 is 0 unless the pass carried other sequences' tokens before them).
   */
  onPrefillChunk(promptLength: number, start: number, end: number, row0 = 0): void {
    const E = this.session.model.config.nEmbd;
    const from = Math.max(start, promptLength - this.keep - 1);
    if (from >= end) return;
    const rows = this.session.model.hiddenRows(row0 + from - start, end - from);
    for (let p = from; p < end; p++) this.stores[0]!.set(p, rows.subarray((p - from) * E, (p - from + 1) * E));
  }

  /**
   * After the prefill: every head starts at the first position whose hidden state this prefill produced
   * (positions reused from an earlier request have none; heads then see stale entries there, which can only
   * make drafts worse, never change the output).
   */
  afterPrefill(): number {
    const t0 = performance.now();
    const P = this.session.cache.length;
    let first = P;
    for (const p of this.stores[0]!.keys()) first = Math.min(first, p);
    // Chain: head k starts (c - k + 1) windows back, so that the hidden states head k+1 reads in its window
    // came from full windows; round-robin heads all read the trunk and need one window.
    const W = this.window;
    this.caches.forEach((c, k) => {
      const back = this.mode === 'chain' ? (this.heads.count - k) * W : W;
      c.length = Math.max(first, P - back - 1);
    });
    // The heads' entries for the prompt belong to the prefill: every position whose inputs are prompt
    // tokens (head k at t reads x_{t+k}), so the first step runs only the last few.
    for (let k = 1; k <= this.heads.count; k++) {
      const ahead = this.mode === 'chain' ? k : 1;
      const last = P - 1 - ahead;
      if (last < this.caches[k - 1]!.length || !this.stores[this.mode === 'chain' ? k - 1 : 0]!.has(last)) continue;
      this.catchUp(k - 1, this.mode === 'chain' ? k : 1, ahead, last, P, -1, [], this.mode === 'chain' && k < this.heads.count, false);
    }
    return performance.now() - t0;
  }

  /** The token at position p: cached, the pending one at n, or a draft beyond. */
  private tokenAt(p: number, n: number, pending: number, drafts: readonly number[]): number {
    if (p < n) return this.session.tokens[p]!;
    if (p === n) return pending;
    return drafts[p - n - 1]!;
  }

  /**
   * Runs head k over the positions its cache lacks up to `last` (inclusive), reading level `level - 1`
   * hidden rows and the tokens `ahead` positions further on; the last row may use a draft. Returns the
   * logits of `last` and stores the hidden rows under `level` (when kept). Skips positions whose input
   * hidden state is gone (only after a prefix reuse).
   */
  private catchUp(k: number, level: number, ahead: number, last: number, n: number, pending: number, drafts: readonly number[], storeOut: boolean, logits = true): { logits: Float32Array; hidden: Float32Array } | null {
    const cache = this.caches[k]!;
    const src = this.stores[level - 1]!;
    const E = this.session.model.config.nEmbd;
    while (cache.length < last && !src.has(cache.length)) cache.length++;
    if (!src.has(last)) throw new Error(`internal: no level-${level - 1} hidden state at position ${last}`);
    const B = this.heads.maxBatch;
    let out: { logits: Float32Array; hidden: Float32Array } | null = null;
    while (cache.length <= last) {
      const start = cache.length;
      const count = Math.min(B, last - start + 1);
      const tokens: number[] = [];
      const hidden = new Float32Array(count * E);
      for (let i = 0; i < count; i++) {
        tokens.push(this.tokenAt(start + i + ahead, n, pending, drafts));
        hidden.set(src.get(start + i)!, i * E);
      }
      const isLast = start + count > last;
      const r = this.heads.run(k, tokens, hidden, cache, isLast && logits);
      if (storeOut) for (let i = 0; i < count; i++) this.stores[level]!.set(start + i, r.hidden.subarray(i * E, (i + 1) * E));
      if (isLast) out = { logits: r.logits!, hidden: r.hidden.subarray((count - 1) * E) };
    }
    return out;
  }

  /**
   * One draft-and-verify step: `pending` is the last generated token (not yet in the trunk's cache) and at
   * most `maxDraft` tokens are drafted. The sampler's history must hold everything generated so far; the
   * step accepts every token it returns into it. Needs a Session as target (it runs the verification pass
   * itself); the server's scheduler verifies many sequences in one pass with propose() and commit().
   */
  step(pending: number, sampler: TokenSampler, maxDraft: number): StepResult {
    const session = this.session as DraftTarget & Partial<Pick<Session, 'decodeMany' | 'rollback'>>;
    if (!session.decodeMany || !session.rollback) throw new Error('Drafter.step() needs a Session; a batch scheduler uses propose() and commit()');
    const n = session.cache.length;
    const N = Math.max(0, Math.min(this.n, maxDraft));
    const exact = sampler instanceof Sampler && sampler.options.temperature > 0;
    const V = session.model.config.nVocab;
    const t0 = performance.now();

    // Draft.
    const drafts: number[] = [];
    const qs: SparseDist[] = [];
    /** The draft at `depth` from a head's logits, or -1 when the head is less sure of it than pMin. */
    const choose = (head: Float32Array, depth: number): number => {
      const logits = this.draftLogits(depth, head, () => [...session.tokens, pending, ...drafts]);
      if (exact) {
        // d ~ q, with q the sampler's whole pipeline on the head's logits.
        const q = (sampler as Sampler).distribution(logits);
        const d = drawFrom(q, this.rng.next());
        if (this.pMin <= 0) {
          qs.push(q);
          return d;
        }
        if (q.probs[q.ids.indexOf(d)]! < this.pMin) return -1;
        // A kept draft is distributed as q restricted to the tokens at or above pMin: that is the q the
        // acceptance rule must use (with the full q the output would be biased).
        qs.push(restrict(q, this.pMin));
        return d;
      }
      const row = sampler instanceof Sampler ? sampler.process(logits) : logits;
      const d = argmax(row);
      if (this.pMin > 0 && softmaxAt(row, d) < this.pMin) return -1;
      return d;
    };
    this.runHeads(pending, N, drafts, choose);
    const D = drafts.length;
    const t1 = performance.now();

    // Verify in one pass.
    const rows = session.decodeMany([pending, ...drafts]);
    const hidden = session.model.hiddenRows(0, D + 1);
    const tokens: number[] = [];
    const logits: Float32Array[] = [];
    let accepted = 0;
    for (let i = 0; i <= D; i++) {
      const row = rows.subarray(i * V, (i + 1) * V);
      logits.push(row);
      let tok: number;
      let keep = false;
      if (i < D && exact) {
        const p = (sampler as Sampler).distribution(row);
        const v = acceptOrResample(p, qs[i]!, drafts[i]!, this.rng.next(), this.rng.next(), (this.scratch ??= new Float64Array(V)));
        tok = v.token;
        keep = v.accepted;
      } else if (exact) {
        tok = drawFrom((sampler as Sampler).distribution(row), this.rng.next());
      } else {
        tok = sampler.sample(row);
        keep = i < D && tok === drafts[i];
      }
      sampler.accept(tok);
      tokens.push(tok);
      if (!keep) break;
      accepted++;
    }

    // Roll back.
    session.rollback(n + 1 + accepted);
    this.commit(n, D, accepted, hidden);
    const t2 = performance.now();
    this.draftMs += t1 - t0;
    this.verifyMs += t2 - t1;
    return { tokens, logits, drafted: D, accepted };
  }

  /**
   * Greedy drafts for a verification pass someone else runs (the server's batch scheduler): up to
   * `maxDraft` tokens after `pending` (the last generated token, not yet in the trunk's cache), each the
   * `pick` of its head's logits (default argmax). Stops early at a draft under pMin. Follow the pass with
   * the trunk's rollback and commit().
   */
  propose(pending: number, maxDraft: number, pick: (logits: Float32Array) => number = argmax): number[] {
    const t0 = performance.now();
    const N = Math.max(0, Math.min(this.n, maxDraft));
    const drafts: number[] = [];
    this.runHeads(pending, N, drafts, (head, depth) => {
      const logits = this.draftLogits(depth, head, () => [...this.session.tokens, pending, ...drafts]);
      const d = pick(logits);
      if (this.pMin > 0 && softmaxAt(logits, d) < this.pMin) return -1;
      return d;
    });
    this.draftMs += performance.now() - t0;
    return drafts;
  }

  /**
   * Runs the heads for up to N drafts after `pending`: `choose` turns a head's logits at a depth into the
   * draft (or -1 to stop drafting); the drafts go into `drafts` as they are chosen.
   */
  private runHeads(pending: number, N: number, drafts: number[], choose: (head: Float32Array, depth: number) => number): void {
    if (N <= 0) return;
    const n = this.session.cache.length;
    if (this.mode === 'chain') {
      for (let k = 1; k <= N; k++) {
        // Head k at position n-1 reads x_{n-1+k}; keep its hidden rows only if a higher head reads them.
        const r = this.catchUp(k - 1, k, k, n - 1, n, pending, drafts, k < this.heads.count)!;
        const d = choose(r.logits, k);
        if (d < 0) break;
        drafts.push(d);
      }
    } else {
      const k = this.round++ % this.heads.count;
      let r = this.catchUp(k, 1, 1, n - 1, n, pending, drafts, false)!;
      const cache = this.caches[k]!;
      for (let j = 1; j <= N; j++) {
        if (j > 1) {
          // The head's own output stands in for the trunk's hidden state one position further on.
          const res = this.heads.run(k, [drafts[j - 2]!], r.hidden.slice(), cache, true);
          r = { logits: res.logits!, hidden: res.hidden };
        }
        const d = choose(r.logits, j);
        if (d < 0) break;
        drafts.push(d);
      }
    }
  }

  /**
   * After a verification pass over [pending, d_1..d_drafted] at trunk positions n.., of which `accepted`
   * drafts were kept, and after the trunk's cache was rolled back to n + 1 + accepted positions: records the
   * trunk's hidden states of the kept positions (`hidden`: the pass's rows for this sequence, at least
   * accepted + 1 of them) and rolls every head's cache back to the positions whose inputs were all real
   * tokens. Counts the step in the statistics.
   */
  commit(n: number, drafted: number, accepted: number, hidden: Float32Array): void {
    const E = this.session.model.config.nEmbd;
    if (!(accepted >= 0 && accepted <= drafted) || hidden.length < (accepted + 1) * E) throw new RangeError(`commit: ${accepted} of ${drafted} drafts with ${hidden.length / E} hidden rows`);
    for (let i = 0; i <= accepted; i++) this.stores[0]!.set(n + i, hidden.subarray(i * E, (i + 1) * E));
    if (this.mode === 'chain') {
      for (let k = 1; k <= this.heads.count; k++) {
        // Head k's entry at t read x_{t+k}: real up to x_{n+accepted}.
        const cache = this.caches[k - 1]!;
        const real = Math.min(cache.length, n + accepted - k + 1);
        if (cache.length > real) cache.length = real;
        const st = this.stores[k]!;
        for (const p of st.keys()) if (p >= real) st.delete(p);
      }
    } else {
      for (const cache of this.caches) if (cache.length > n) cache.length = n;
    }
    this.gc();

    this.steps++;
    for (let j = 0; j < drafted; j++) {
      this.draftedByDepth[j]!++;
      if (j < accepted) this.acceptedByDepth[j]!++;
    }
  }

  /**
   * The logits the draft at `depth` (1-based) is chosen from: the head's. `prefix` gives the tokens before
   * the drafted one. Tests override this to steer acceptance; whatever it returns, the output is unchanged.
   */
  protected draftLogits(_depth: number, head: Float32Array, _prefix: () => number[]): Float32Array {
    return head;
  }

  /** Drops hidden rows no head will read again. */
  private gc(): void {
    const keepFrom = this.session.cache.length - this.keep - 2;
    for (let level = 0; level < this.stores.length; level++) {
      // Level l is read by head l+1 (chain) or by every head (level 0 in roundrobin).
      const readers = level === 0 ? (this.mode === 'roundrobin' ? this.caches : this.caches.slice(0, 1)) : this.caches.slice(level, level + 1);
      let need = readers.length ? Math.min(...readers.map((c) => c.length)) : Infinity;
      need = Math.max(need, keepFrom);
      const st = this.stores[level]!;
      for (const p of st.keys()) if (p < need) st.delete(p);
    }
  }

  stats(): DraftStats {
    const drafted = this.draftedByDepth.reduce((a, b) => a + b, 0);
    const accepted = this.acceptedByDepth.reduce((a, b) => a + b, 0);
    const steps = this.steps;
    return {
      n: this.n,
      mode: this.mode,
      steps,
      drafted,
      accepted,
      acceptanceRate: drafted ? accepted / drafted : 0,
      draftedByDepth: [...this.draftedByDepth],
      acceptedByDepth: [...this.acceptedByDepth],
      acceptanceByDepth: this.draftedByDepth.map((d, j) => (d ? this.acceptedByDepth[j]! / d : 0)),
      meanAccepted: steps ? accepted / steps : 0,
      meanTokensPerStep: steps ? (accepted + steps) / steps : 0,
      draftMs: this.draftMs,
      verifyMs: this.verifyMs,
      cacheTypeK: this.caches[0]?.layers[0]!.typeK ?? 'f32',
      cacheTypeV: this.caches[0]?.layers[0]!.typeV ?? 'f32',
      cacheBytes: this.cacheBytes,
    };
  }
}

/** softmax(row)[i], in float64. */
function softmaxAt(row: Float32Array, i: number): number {
  let max = -Infinity;
  for (let j = 0; j < row.length; j++) if (row[j]! > max) max = row[j]!;
  let z = 0;
  for (let j = 0; j < row.length; j++) z += Math.exp(row[j]! - max);
  return Math.exp(row[i]! - max) / z;
}

/** q restricted to the tokens with probability >= pMin, renormalised. */
function restrict(q: SparseDist, pMin: number): SparseDist {
  const ids: number[] = [];
  const probs: number[] = [];
  let z = 0;
  q.ids.forEach((id, i) => {
    const p = q.probs[i]!;
    if (p >= pMin) {
      ids.push(id);
      probs.push(p);
      z += p;
    }
  });
  return { ids: Int32Array.from(ids), probs: Float64Array.from(probs, (p) => p / z) };
}
