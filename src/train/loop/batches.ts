// From tokenized examples to training batches. Examples (whole conversations) are packed end to end into
// rows of T tokens, an example never split across rows; the rest of a row is padding without targets.
// A token is a target only where the example marks it as trained (the assistant's own output), so the
// model learns to produce its turns, not to predict the user's question or the tool's results. Rows are
// visited in a fresh seeded order every epoch, and step s always gets the same rows: resuming needs no
// data-loader state.
import { Rng } from '../../common/rng.js';
import { IGNORE } from '../autograd/ops/loss.js';
import type { TrainBatch } from '../model/step35-train.js';

export interface Example {
  readonly tokens: ArrayLike<number>;
  /** 1 where the token is one the model should learn to produce (predicted from the tokens before it). */
  readonly trained: ArrayLike<number>;
  /**
   * Leading tokens every example shares (the system block with the tool definitions). With
   * `sharePrefix`, an example that joins a row after another keeps only its own part, so the row reads
   * as one conversation of several turns: the prefix once, then question after question.
   */
  readonly prefix?: number;
}

export interface PackOptions {
  /** Fill the tail of each row. */
  readonly pad: number;
  /** Write the shared prefix once per row (see Example.prefix). */
  readonly sharePrefix?: boolean;
}

export interface PackedRows {
  readonly T: number;
  readonly rows: number;
  readonly tokens: Int32Array;
  readonly targets: Int32Array;
  /** Examples longer than T, left out. */
  readonly skipped: number;
  /** Share of positions holding a target. */
  readonly density: number;
}

/** Packs examples (in the order given) into rows of T tokens. */
export function packRows(examples: readonly Example[], T: number, opts: PackOptions): PackedRows {
  const pad = opts.pad;
  const rowsTok: number[][] = [];
  const rowsTgt: number[][] = [];
  let tok: number[] = [], tgt: number[] = [];
  let skipped = 0;
  const flush = () => {
    if (tok.length === 0) return;
    while (tok.length < T) {
      tok.push(pad);
      tgt.push(IGNORE);
    }
    rowsTok.push(tok);
    rowsTgt.push(tgt);
    tok = [];
    tgt = [];
  };
  for (const ex of examples) {
    const n = ex.tokens.length;
    if (ex.trained.length !== n) throw new RangeError(`an example of ${n} tokens has ${ex.trained.length} mask values`);
    if (n > T) {
      skipped++;
      continue;
    }
    const skip = (start: number) => (opts.sharePrefix && start > 0 ? ex.prefix ?? 0 : 0);
    if (tok.length + n - skip(tok.length) > T) flush();
    for (let i = skip(tok.length); i < n; i++) {
      tok.push(ex.tokens[i]!);
      tgt.push(i + 1 < n && ex.trained[i + 1] ? ex.tokens[i + 1]! : IGNORE);
    }
  }
  flush();
  const rows = rowsTok.length;
  const tokens = new Int32Array(rows * T), targets = new Int32Array(rows * T);
  let counted = 0;
  for (let r = 0; r < rows; r++) {
    tokens.set(rowsTok[r]!, r * T);
    targets.set(rowsTgt[r]!, r * T);
    for (const y of rowsTgt[r]!) if (y >= 0) counted++;
  }
  return { T, rows, tokens, targets, skipped, density: rows ? counted / (rows * T) : 0 };
}

/**
 * The batches of each step: `accum` micro-batches of nSeq rows. Epoch e visits the rows in the order of a
 * permutation seeded by (seed, e); a step's rows follow on from the previous step's.
 */
export function batchSchedule(packed: PackedRows, o: { nSeq: number; accum: number; seed: number }): (step: number) => TrainBatch[] {
  const { rows, T } = packed;
  if (rows < o.nSeq) throw new RangeError(`${rows} packed rows cannot fill a batch of ${o.nSeq}`);
  const perms = new Map<number, Int32Array>();
  const perm = (epoch: number): Int32Array => {
    let p = perms.get(epoch);
    if (!p) {
      p = Int32Array.from({ length: rows }, (_, i) => i);
      const rng = new Rng((o.seed * 1000003 + epoch * 7919 + 17) >>> 0);
      for (let i = rows - 1; i > 0; i--) {
        const j = Math.floor(rng.next() * (i + 1));
        [p[i], p[j]] = [p[j]!, p[i]!];
      }
      if (perms.size > 4) perms.clear();
      perms.set(epoch, p);
    }
    return p;
  };
  return (step) => {
    const out: TrainBatch[] = [];
    for (let a = 0; a < o.accum; a++) {
      const tokens = new Int32Array(o.nSeq * T), targets = new Int32Array(o.nSeq * T);
      for (let s = 0; s < o.nSeq; s++) {
        const k = (step * o.accum + a) * o.nSeq + s;
        const r = perm(Math.floor(k / rows))[k % rows]!;
        tokens.set(packed.tokens.subarray(r * T, (r + 1) * T), s * T);
        targets.set(packed.targets.subarray(r * T, (r + 1) * T), s * T);
      }
      out.push({ tokens, targets, nSeq: o.nSeq, T });
    }
    return out;
  };
}
