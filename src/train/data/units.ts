// The `convert_units` tool: exact conversion factors (the international yard and pound, US liquid gallon),
// computed over rationals and formatted like the calculator's results.
import { add, div, formatDecimal, fromNumber, mul, parseDecimal, sub, type Rational } from './rational.js';

export type Dimension = 'length' | 'mass' | 'volume' | 'time' | 'speed' | 'temperature';

export interface Unit {
  /** The symbol the tool takes. */
  readonly code: string;
  readonly dimension: Dimension;
  /** Value of one unit in the dimension's base unit (m, kg, L, s, m/s), a decimal or a fraction "a/b";
   * temperatures are converted through kelvin instead. */
  readonly factor: string;
  /** How questions and answers name it: [singular, plural]. */
  readonly names: readonly [string, string];
  /** Other spellings the tool accepts for the code. */
  readonly aliases?: readonly string[];
}

export const UNITS: readonly Unit[] = [
  { code: 'mm', dimension: 'length', factor: '0.001', names: ['millimeter', 'millimeters'], aliases: ['millimetre', 'millimetres'] },
  { code: 'cm', dimension: 'length', factor: '0.01', names: ['centimeter', 'centimeters'], aliases: ['centimetre', 'centimetres'] },
  { code: 'm', dimension: 'length', factor: '1', names: ['meter', 'meters'], aliases: ['metre', 'metres'] },
  { code: 'km', dimension: 'length', factor: '1000', names: ['kilometer', 'kilometers'], aliases: ['kilometre', 'kilometres'] },
  { code: 'in', dimension: 'length', factor: '0.0254', names: ['inch', 'inches'] },
  { code: 'ft', dimension: 'length', factor: '0.3048', names: ['foot', 'feet'] },
  { code: 'yd', dimension: 'length', factor: '0.9144', names: ['yard', 'yards'] },
  { code: 'mi', dimension: 'length', factor: '1609.344', names: ['mile', 'miles'] },
  { code: 'g', dimension: 'mass', factor: '0.001', names: ['gram', 'grams'] },
  { code: 'kg', dimension: 'mass', factor: '1', names: ['kilogram', 'kilograms'] },
  { code: 'lb', dimension: 'mass', factor: '0.45359237', names: ['pound', 'pounds'], aliases: ['lbs'] },
  { code: 'oz', dimension: 'mass', factor: '0.028349523125', names: ['ounce', 'ounces'] },
  { code: 'mL', dimension: 'volume', factor: '0.001', names: ['milliliter', 'milliliters'], aliases: ['ml', 'millilitre', 'millilitres'] },
  { code: 'L', dimension: 'volume', factor: '1', names: ['liter', 'liters'], aliases: ['l', 'litre', 'litres'] },
  { code: 'gal', dimension: 'volume', factor: '3.785411784', names: ['gallon', 'gallons'] },
  { code: 's', dimension: 'time', factor: '1', names: ['second', 'seconds'], aliases: ['sec'] },
  { code: 'min', dimension: 'time', factor: '60', names: ['minute', 'minutes'] },
  { code: 'h', dimension: 'time', factor: '3600', names: ['hour', 'hours'], aliases: ['hr'] },
  { code: 'day', dimension: 'time', factor: '86400', names: ['day', 'days'], aliases: ['d'] },
  { code: 'week', dimension: 'time', factor: '604800', names: ['week', 'weeks'], aliases: ['wk'] },
  { code: 'm/s', dimension: 'speed', factor: '1', names: ['meter per second', 'meters per second'] },
  { code: 'km/h', dimension: 'speed', factor: '1000/3600', names: ['kilometer per hour', 'kilometers per hour'], aliases: ['kph'] },
  { code: 'mph', dimension: 'speed', factor: '0.44704', names: ['mile per hour', 'miles per hour'] },
  { code: 'C', dimension: 'temperature', factor: '1', names: ['degree Celsius', 'degrees Celsius'], aliases: ['celsius', '°C'] },
  { code: 'F', dimension: 'temperature', factor: '1', names: ['degree Fahrenheit', 'degrees Fahrenheit'], aliases: ['fahrenheit', '°F'] },
  { code: 'K', dimension: 'temperature', factor: '1', names: ['kelvin', 'kelvins'] },
];

const BY_CODE = new Map<string, Unit>();
for (const u of UNITS) {
  BY_CODE.set(u.code, u);
  BY_CODE.set(u.code.toLowerCase(), BY_CODE.get(u.code.toLowerCase()) ?? u);
  for (const a of [...(u.aliases ?? []), ...u.names]) BY_CODE.set(a.toLowerCase(), u);
}

/** The unit a tool argument names (its code, an alias or a name, case-insensitive), or undefined. */
export function findUnit(text: string): Unit | undefined {
  const t = text.trim();
  return BY_CODE.get(t) ?? BY_CODE.get(t.toLowerCase());
}

const FACTORS = new Map<string, Rational>();
function factorOf(u: Unit): Rational {
  let f = FACTORS.get(u.code);
  if (!f) {
    const [a, b] = u.factor.split('/');
    f = b === undefined ? parseDecimal(a!)! : div(parseDecimal(a!)!, parseDecimal(b)!);
    FACTORS.set(u.code, f);
  }
  return f;
}

const K0 = parseDecimal('273.15')!;
function toKelvin(code: string, v: Rational): Rational {
  if (code === 'K') return v;
  if (code === 'C') return add(v, K0);
  return add(div(mul(sub(v, fromNumber(32)), fromNumber(5)), fromNumber(9)), K0); // F
}
function fromKelvin(code: string, k: Rational): Rational {
  if (code === 'K') return k;
  const c = sub(k, K0);
  if (code === 'C') return c;
  return add(div(mul(c, fromNumber(9)), fromNumber(5)), fromNumber(32)); // F
}

/** The exact converted value; throws on unknown or incompatible units. */
export function convertExact(value: Rational, from: string, to: string): Rational {
  const a = findUnit(from);
  if (!a) throw new Error(`unknown unit ${JSON.stringify(from)}`);
  const b = findUnit(to);
  if (!b) throw new Error(`unknown unit ${JSON.stringify(to)}`);
  if (a.dimension !== b.dimension) throw new Error(`cannot convert ${a.dimension} (${a.code}) to ${b.dimension} (${b.code})`);
  if (a.dimension === 'temperature') return fromKelvin(b.code, toKelvin(a.code, value));
  return div(mul(value, factorOf(a)), factorOf(b));
}

/** What the convert_units tool returns: the converted value (at most 6 decimals) or "Error: ...". */
export function convertUnits(value: unknown, from: unknown, to: unknown): string {
  const v = typeof value === 'number' ? (Number.isFinite(value) ? fromNumber(value) : undefined) : typeof value === 'string' ? parseDecimal(value) : undefined;
  if (!v) return `Error: value must be a number, got ${JSON.stringify(value)}`;
  if (typeof from !== 'string' || typeof to !== 'string') return 'Error: from_unit and to_unit must be strings';
  try {
    return formatDecimal(convertExact(v, from, to));
  } catch (e) {
    return `Error: ${(e as Error).message}`;
  }
}
