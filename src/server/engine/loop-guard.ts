// The repetition guard: ends a generation that has fallen into a loop (Step 3.5 in llama.cpp was seen
// emitting endless `<<<<…` in long agent sessions, ggml-org/llama.cpp#24259). A loop is a tail of the
// generated tokens that is periodic: every token equals the one `period` places before it. For each period
// up to maxPeriod the guard keeps the length of the current periodic run, O(maxPeriod) per token; it fires
// when a run covers at least minTokens tokens and at least minRepeats whole periods. Real text repeats
// phrases, but not hundreds of tokens of an exact cycle.

export interface LoopGuardOptions {
  /** Longest cycle looked for, in tokens. Default 64. */
  readonly maxPeriod?: number;
  /** Fewest tokens the repeating tail must cover. Default 256. */
  readonly minTokens?: number;
  /** Fewest repetitions of the cycle. Default 4. */
  readonly minRepeats?: number;
}

export interface LoopDetection {
  readonly period: number;
  readonly tokens: number;
}

export class LoopGuard {
  private readonly maxPeriod: number;
  private readonly minTokens: number;
  private readonly minRepeats: number;
  /** The last maxPeriod tokens, as a ring. */
  private readonly ring: Int32Array;
  private count = 0;
  /** run[p]: how many of the latest tokens each equal the token p places earlier (consecutively). */
  private readonly run: Int32Array;

  constructor(options: LoopGuardOptions = {}) {
    this.maxPeriod = options.maxPeriod ?? 64;
    this.minTokens = options.minTokens ?? 256;
    this.minRepeats = options.minRepeats ?? 4;
    for (const [k, v] of Object.entries({ maxPeriod: this.maxPeriod, minTokens: this.minTokens, minRepeats: this.minRepeats }))
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`loop guard ${k} must be a positive integer, got ${v}`);
    this.ring = new Int32Array(this.maxPeriod);
    this.run = new Int32Array(this.maxPeriod + 1);
  }

  /** Records a generated token; returns the loop it completes, if any. */
  push(token: number): LoopDetection | null {
    const P = this.maxPeriod;
    let found: LoopDetection | null = null;
    for (let p = 1; p <= P; p++) {
      if (this.count >= p && this.ring[(this.count - p) % P] === token) this.run[p]!++;
      else this.run[p] = 0;
      const span = this.run[p]! + p; // the first period plus every token that repeated it
      if (!found && this.run[p]! > 0 && span >= this.minTokens && span >= this.minRepeats * p) found = { period: p, tokens: span };
    }
    this.ring[this.count % P] = token;
    this.count++;
    return found;
  }
}
