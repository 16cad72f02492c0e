// The project's one source of reproducible random numbers (sampling, generated model weights):
// xoshiro128** seeded through splitmix32, integer arithmetic only, so a seed gives the same stream on
// every machine and every JavaScript engine (Math.random is neither seedable nor reproducible).

export class Rng {
  private readonly s = new Uint32Array(4);

  /** Any finite number is a seed; its integer part up to 2^53 is used whole (both 32-bit halves). */
  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new RangeError(`seed must be a finite number, got ${seed}`);
    const t = Math.trunc(Math.abs(seed));
    const lo = t >>> 0;
    const hi = Math.floor(t / 4294967296) >>> 0;
    const neg = seed < 0 ? 0x5bd1e995 : 0;
    let x = (lo ^ Math.imul(hi ^ neg, 0x27d4eb2f)) >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x ^ (i === 1 ? hi : 0);
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    if ((this.s[0]! | this.s[1]! | this.s[2]! | this.s[3]!) === 0) this.s[0] = 1; // the all-zero state is a fixed point
  }

  nextU32(): number {
    const s = this.s;
    const s1 = s[1]!;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = (s1 << 9) >>> 0;
    s[2]! ^= s[0]!;
    s[3]! ^= s1;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  next(): number {
    const a = this.nextU32() >>> 5; // 27 bits
    const b = this.nextU32() >>> 6; // 26 bits
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** Fills with N(0, std^2) deviates (Box-Muller; Math.log/cos/sin are deterministic in V8). */
  fillNormal(dst: Float32Array, std: number): void {
    for (let i = 0; i < dst.length; i += 2) {
      const u = 1 - this.next();
      const v = this.next();
      const r = Math.sqrt(-2 * Math.log(u)) * std;
      dst[i] = r * Math.cos(2 * Math.PI * v);
      if (i + 1 < dst.length) dst[i + 1] = r * Math.sin(2 * Math.PI * v);
    }
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** A fresh seed from the operating system's random source, for callers that did not pick one. */
export function randomSeed(): number {
  const w = new Uint32Array(2);
  globalThis.crypto.getRandomValues(w);
  return (w[0]! & 0x1fffff) * 4294967296 + w[1]!; // 53 bits: exactly representable, so reportable and replayable
}
