// Calendar dates for the `date_diff` tool and the date tasks: proleptic Gregorian, day numbers in UTC so
// that no time zone or daylight-saving rule can shift a difference.

export interface YMD {
  readonly y: number;
  readonly m: number; // 1-12
  readonly d: number; // 1-31
}

export const MONTHS = [
  'January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December',
] as const;

export function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

export function daysInMonth(y: number, m: number): number {
  return [31, isLeap(y) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]!;
}

/** Days since 1970-01-01. */
export function dayNumber(x: YMD): number {
  // years below 100 would be read as 19xx by Date.UTC; parseIsoDate admits 1000-9999 only
  return Math.round(Date.UTC(x.y, x.m - 1, x.d) / 86_400_000);
}

export function fromDayNumber(n: number): YMD {
  const t = new Date(n * 86_400_000);
  return { y: t.getUTCFullYear(), m: t.getUTCMonth() + 1, d: t.getUTCDate() };
}

/** "2024-03-07" */
export function isoDate(x: YMD): string {
  return `${String(x.y).padStart(4, '0')}-${String(x.m).padStart(2, '0')}-${String(x.d).padStart(2, '0')}`;
}

/** "March 7, 2024" */
export function usDate(x: YMD): string {
  return `${MONTHS[x.m - 1]} ${x.d}, ${x.y}`;
}

/** "7 March 2024" */
export function ukDate(x: YMD): string {
  return `${x.d} ${MONTHS[x.m - 1]} ${x.y}`;
}

/** A strict YYYY-MM-DD date (years 1000-9999), or undefined. */
export function parseIsoDate(s: string): YMD | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s.trim());
  if (!m) return undefined;
  const y = Number(m[1]), mo = Number(m[2]), d = Number(m[3]);
  if (y < 1000 || mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo)) return undefined;
  return { y, m: mo, d };
}

/** What the date_diff tool returns: the number of days from start to end (negative if end is earlier). */
export function dateDiff(start: string, end: string): string {
  const a = parseIsoDate(start);
  if (!a) return `Error: invalid date ${JSON.stringify(start)} (expected YYYY-MM-DD)`;
  const b = parseIsoDate(end);
  if (!b) return `Error: invalid date ${JSON.stringify(end)} (expected YYYY-MM-DD)`;
  return String(dayNumber(b) - dayNumber(a));
}
