// A drafter whose drafts are chosen by the test: the reference continuation with probability `hit`, a
// wrong token otherwise; it records the heads' logits so tests can compare them with fresh heads.
import { Drafter } from '../../src/engine/speculative.js';

export class OracleDrafter extends Drafter {
  reference: readonly number[] = [];
  promptLength = 0;
  hit = 0.6;
  /** The draw's state: tests that want a different sequence of right and wrong drafts set it. */
  seed = 12345;
  seen: Float32Array[] = [];

  protected override draftLogits(_depth: number, head: Float32Array, prefix: () => number[]): Float32Array {
    this.seen.push(head.slice());
    this.seed = (Math.imul(this.seed, 1103515245) + 12345) >>> 0;
    const right = this.reference[prefix().length - this.promptLength];
    if (right === undefined) return head;
    const out = head.slice();
    out[this.seed / 2 ** 32 < this.hit ? right : (right + 1 + (this.seed % 50)) % 4000] = 1e9;
    return out;
  }
}
