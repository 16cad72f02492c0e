// Seeded choices for the task generator, on the project's xoshiro128** stream (src/common/rng.ts), so a
// seed gives the same tasks on every machine.
import { Rng } from '../../common/rng.js';

export class Chooser {
  private readonly rng: Rng;

  constructor(seed: number) {
    this.rng = new Rng(seed);
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.rng.next();
  }
  /** Integer in [lo, hi], both included. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.rng.next() * (hi - lo + 1));
  }
  /** An integer with exactly `digits` digits (0-9 for one digit). */
  digits(digits: number): number {
    return digits <= 1 ? this.int(0, 9) : this.int(10 ** (digits - 1), 10 ** digits - 1);
  }
  /** An integer whose digit count is uniform in [lo, hi] (so short and long numbers are equally common). */
  digitsBetween(lo: number, hi: number): number {
    return this.digits(this.int(lo, hi));
  }
  chance(p: number): boolean {
    return this.rng.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[Math.floor(this.rng.next() * items.length)]!;
  }
  /** Index drawn with the given weights. */
  weighted(weights: readonly number[]): number {
    const total = weights.reduce((a, b) => a + b, 0);
    let x = this.rng.next() * total;
    for (let i = 0; i < weights.length; i++) {
      x -= weights[i]!;
      if (x < 0) return i;
    }
    return weights.length - 1;
  }
  /** `n` distinct items (Fisher-Yates on a copy). */
  sample<T>(items: readonly T[], n: number): T[] {
    const a = [...items];
    for (let i = 0; i < Math.min(n, a.length); i++) {
      const j = i + Math.floor(this.rng.next() * (a.length - i));
      [a[i], a[j]] = [a[j]!, a[i]!];
    }
    return a.slice(0, n);
  }
}

/** A seed for one task: the generator seed, the split and the task's index mixed (splitmix-style, 53 bits). */
export function taskSeed(seed: number, split: string, index: number): number {
  let h = 0x811c9dc5;
  const feed = (x: number) => {
    h = Math.imul(h ^ (x & 0xffff), 0x01000193) >>> 0;
    h = Math.imul(h ^ (x >>> 16), 0x01000193) >>> 0;
  };
  feed(seed >>> 0);
  feed(Math.floor(seed / 4294967296) >>> 0);
  for (let i = 0; i < split.length; i++) feed(split.charCodeAt(i));
  feed(index >>> 0);
  let lo = h;
  feed(0x9e3779b9);
  return (h & 0x1fffff) * 4294967296 + lo;
}

/** `template` with each `{name}` replaced by vars[name]; a placeholder without a value is an error. */
export function fill(template: string, vars: Readonly<Record<string, string | number>>): string {
  return template.replace(/\{(\w+)\}/g, (_, k: string) => {
    const v = vars[k];
    if (v === undefined) throw new Error(`template ${JSON.stringify(template)}: no value for {${k}}`);
    return String(v);
  });
}

/** 1234567 -> "1,234,567" */
export function withCommas(n: number | bigint | string): string {
  const s = String(n);
  const [int, frac] = s.split('.');
  const sign = int!.startsWith('-') ? '-' : '';
  const digits = sign ? int!.slice(1) : int!;
  const grouped = digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return sign + grouped + (frac !== undefined ? '.' + frac : '');
}
