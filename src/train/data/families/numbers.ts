// Number ranges of the two splits. The held-out split draws its numbers from ranges the training split
// never uses, chosen inside the training ranges' span (interpolation, not extrapolation): a model that
// copies digits one by one has seen every length, but never these particular values.
import type { Chooser } from '../random.js';
import type { Split } from '../task.js';

/**
 * Digit counts of operands: training skips 5 digits, which only the held-out split uses. Training has 7
 * digits as well as 6, so that a number longer than 4 digits is not always 6 digits long: with 6 as the only
 * long length, the nano model learned the length and copied 5-digit operands as 6 digits ("49350" ->
 * "449350").
 */
export const OPERAND_DIGITS: Record<Split, readonly number[]> = { train: [1, 2, 3, 4, 6, 7], heldout: [5] };
/** Digit counts of small quantities (unit values, list items): training skips 3 digits. */
export const SMALL_DIGITS: Record<Split, readonly number[]> = { train: [1, 2, 4], heldout: [3] };
/** Years of dates: training skips 2030-2069, which only the held-out split uses. */
export const YEARS: Record<Split, readonly (readonly [number, number])[]> = {
  train: [[1900, 2029], [2070, 2099]],
  heldout: [[2030, 2069]],
};

/** An integer whose digit count is one of `digits` (uniformly chosen); never 0 for one digit. */
export function drawWithDigits(c: Chooser, digits: readonly number[]): number {
  const d = c.pick(digits);
  return d === 1 ? c.int(1, 9) : c.digits(d);
}

export const operand = (c: Chooser, split: Split) => drawWithDigits(c, OPERAND_DIGITS[split]);
export const small = (c: Chooser, split: Split) => drawWithDigits(c, SMALL_DIGITS[split]);

export function year(c: Chooser, split: Split): number {
  const [lo, hi] = c.pick(YEARS[split]);
  return c.int(lo, hi);
}

/** The digit count of an integer's text ("-123" -> 3). */
export const digitCount = (n: number | bigint | string) => String(n).replace(/^-/, '').replace(/\..*$/, '').length;
