// Exact rational numbers on BigInt, so that tool results are computed exactly (no float rounding in
// 37 * 0.1 or in a 14-digit product) and then formatted once, with one documented rounding rule.

export interface Rational {
  /** numerator, carries the sign */
  readonly n: bigint;
  /** denominator, always > 0, coprime with n */
  readonly d: bigint;
}

function gcd(a: bigint, b: bigint): bigint {
  if (a < 0n) a = -a;
  if (b < 0n) b = -b;
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

export function rat(n: bigint, d = 1n): Rational {
  if (d === 0n) throw new RangeError('division by zero');
  if (d < 0n) [n, d] = [-n, -d];
  const g = gcd(n, d);
  return g > 1n ? { n: n / g, d: d / g } : { n, d };
}

export const ZERO = rat(0n);

export const add = (a: Rational, b: Rational) => rat(a.n * b.d + b.n * a.d, a.d * b.d);
export const sub = (a: Rational, b: Rational) => rat(a.n * b.d - b.n * a.d, a.d * b.d);
export const mul = (a: Rational, b: Rational) => rat(a.n * b.n, a.d * b.d);
export const div = (a: Rational, b: Rational) => rat(a.n * b.d, a.d * b.n);
export const neg = (a: Rational): Rational => ({ n: -a.n, d: a.d });
export const cmp = (a: Rational, b: Rational) => {
  const x = a.n * b.d - b.n * a.d;
  return x < 0n ? -1 : x > 0n ? 1 : 0;
};
export const isInteger = (a: Rational) => a.d === 1n;

/** a ** e for an integer exponent (a negative one inverts). */
export function pow(a: Rational, e: bigint): Rational {
  if (e < 0n) return div(rat(1n), pow(a, -e));
  return rat(a.n ** e, a.d ** e);
}

/** "12", "-0.5", "3.25e2" -> exact value; undefined when the text is not a plain decimal number. */
export function parseDecimal(text: string): Rational | undefined {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text.trim());
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) return undefined;
  const frac = m[3] ?? '';
  let n = BigInt((m[2] || '0') + frac);
  let d = 10n ** BigInt(frac.length);
  const e = m[4] ? Number(m[4]) : 0;
  if (Math.abs(e) > 400) return undefined;
  if (e > 0) n *= 10n ** BigInt(e);
  else if (e < 0) d *= 10n ** BigInt(-e);
  return rat(m[1] === '-' ? -n : n, d);
}

export function fromNumber(x: number): Rational {
  const r = parseDecimal(String(x));
  if (!r) throw new RangeError(`not a finite number: ${x}`);
  return r;
}

/** Default number of decimal places in tool results (calculator, unit conversion). */
export const RESULT_DECIMALS = 6;

/**
 * Decimal text of a value: exact when it has at most `maxDecimals` decimal places, otherwise rounded half
 * away from zero to `maxDecimals` places; trailing zeros dropped, no exponent, no thousands separators,
 * "-0" printed as "0". 1/3 -> "0.333333", 5/2 -> "2.5", 17834 -> "17834".
 */
export function formatDecimal(a: Rational, maxDecimals = RESULT_DECIMALS): string {
  const scale = 10n ** BigInt(maxDecimals);
  const negative = a.n < 0n;
  const absN = negative ? -a.n : a.n;
  // round(|a| * scale), half away from zero
  const q = (absN * scale * 2n + a.d) / (2n * a.d);
  let int = (q / scale).toString();
  let frac = (q % scale).toString().padStart(maxDecimals, '0').replace(/0+$/, '');
  if (maxDecimals === 0) frac = '';
  const body = frac ? `${int}.${frac}` : int;
  if (body === '0') return '0';
  int = negative ? '-' : '';
  return int + body;
}

/** The canonical text of a decimal number for comparisons: "017.50" -> "17.5", "-0" -> "0"; undefined if not a number. */
export function canonicalNumber(text: string): string | undefined {
  const r = parseDecimal(text);
  if (!r) return undefined;
  // exact: no rounding here, so "2.5000001" stays different from "2.5"
  let decimals = 0;
  let d = r.d;
  while (d % 10n === 0n) {
    d /= 10n;
    decimals++;
  }
  while (d % 2n === 0n || d % 5n === 0n) {
    d = d % 2n === 0n ? d / 2n : d / 5n;
    decimals++;
  }
  if (d !== 1n) return formatDecimal(r, 30); // not a finite decimal (cannot come from text); stable anyway
  return formatDecimal(r, decimals);
}
