// Rotary-embedding angle tables, computed the way ggml computes them (f32 throughout, the angle advanced
// by repeated multiplication, cos and sin from the C library's cosf/sinf, which are not correctly
// rounded), so that positions rotate by bit-identical angles.
import { cosf, sinf } from '../backend/libm.js';

/**
 * (cos, sin) pairs for each position and each of the nRot/2 rotated pairs: out[(t * nRot/2 + i) * 2].
 * `factors` are llama3-style frequency divisors (rope_freqs.weight); `freqScale` is linear scaling.
 */
export function ropeTable(positions: ArrayLike<number>, nRot: number, base: number, freqScale: number, factors: Float32Array | null): Float32Array {
  const half = nRot / 2;
  const out = new Float32Array(positions.length * half * 2);
  const f = Math.fround;
  const cos = cosf, sin = sinf;
  const thetaScale = f(Math.pow(base, f(-2 / nRot)));
  for (let t = 0; t < positions.length; t++) {
    let theta = f(positions[t]!);
    for (let i = 0; i < half; i++) {
      const ff = factors ? factors[i]! : 1;
      const angle = f(freqScale * f(theta / ff));
      out[(t * half + i) * 2] = cos(angle);
      out[(t * half + i) * 2 + 1] = sin(angle);
      theta = f(theta * thetaScale);
    }
  }
  return out;
}

/**
 * ropeTable rows of one rotary configuration, kept across forward passes so that positions already seen
 * (every layer of the configuration, every later pass over them: decoding revisits nothing, but rows are
 * computed a block at a time, and prefix reuse, rollback and the MTP heads come back to recent positions)
 * are not recomputed with libm's cosf/sinf. Rows are computed lazily in blocks of `BLOCK` positions;
 * at most `maxBlocks` blocks are kept (the least recently used is dropped), so memory stays bounded
 * (BLOCK × nRot × 4 bytes per block: 32 KiB for 128 rotated dims) whatever the context, 262144 positions
 * included, and nothing is computed for positions never used. A row depends only on its position, so
 * rows(p0, n) equals ropeTable([p0..p0+n-1], ...) bit for bit.
 */
export class RopeRows {
  static readonly BLOCK = 64;
  private readonly blocks = new Map<number, Float32Array>();
  private last = -1;
  private lastBlock: Float32Array | null = null;

  constructor(
    readonly nRot: number,
    readonly base: number,
    readonly freqScale: number,
    readonly factors: Float32Array | null,
    readonly maxBlocks = 128,
  ) {
    if (!(Number.isInteger(maxBlocks) && maxBlocks >= 1)) throw new RangeError(`a RoPE row cache needs at least one block, got ${maxBlocks}`);
  }

  /** Blocks held now (for tests and memory accounting). */
  get blockCount(): number {
    return this.blocks.size;
  }

  /** Drops every cached row (after a change of the libm variant the rows are computed with). */
  clear(): void {
    this.blocks.clear();
    this.last = -1;
    this.lastBlock = null;
  }

  /**
   * (cos, sin) rows of positions pos0 .. pos0 + nt - 1, laid out as ropeTable's. A run inside one block is
   * a view of the cache (do not write to it); a run across blocks is a new array.
   */
  rows(pos0: number, nt: number): Float32Array {
    const w = this.nRot; // nRot / 2 pairs of (cos, sin) per position
    if (nt <= 0) return new Float32Array(0);
    if (!(Number.isSafeInteger(pos0) && pos0 >= 0)) throw new RangeError(`RoPE position ${pos0} is not a whole number >= 0`);
    const B = RopeRows.BLOCK;
    const b0 = Math.floor(pos0 / B), b1 = Math.floor((pos0 + nt - 1) / B);
    if (b0 === b1) {
      const off = (pos0 - b0 * B) * w;
      return this.block(b0).subarray(off, off + nt * w);
    }
    const out = new Float32Array(nt * w);
    for (let b = b0; b <= b1; b++) {
      const from = Math.max(pos0, b * B), to = Math.min(pos0 + nt, (b + 1) * B);
      out.set(this.block(b).subarray((from - b * B) * w, (to - b * B) * w), (from - pos0) * w);
    }
    return out;
  }

  private block(b: number): Float32Array {
    if (b === this.last) return this.lastBlock!;
    let x = this.blocks.get(b);
    if (x) {
      // Most recently used goes last: Map iteration order is insertion order.
      this.blocks.delete(b);
    } else {
      const B = RopeRows.BLOCK;
      const positions = new Float64Array(B);
      for (let i = 0; i < B; i++) positions[i] = b * B + i;
      x = ropeTable(positions, this.nRot, this.base, this.freqScale, this.factors);
      if (this.blocks.size >= this.maxBlocks) this.blocks.delete(this.blocks.keys().next().value!);
    }
    this.blocks.set(b, x);
    this.last = b;
    this.lastBlock = x;
    return x;
  }
}
