// The `calculator` tool: an arithmetic expression evaluated exactly over rationals.
//
// Grammar: numbers (123, 4.5, .5), + - * / with the usual precedence, ** with an integer exponent,
// unary signs, parentheses. × ÷ − are read as * / - (a model may copy them from the question). Anything
// else, thousands separators included ("1,250" is ambiguous), is an error the tool reports as text, as a
// real tool would. Results are formatted by formatDecimal (at most 6 decimal places).
import { add, div, formatDecimal, isInteger, mul, neg, parseDecimal, pow, sub, type Rational } from './rational.js';

export class CalcError extends Error {
  override name = 'CalcError';
}

const MAX_LENGTH = 500;
const MAX_EXPONENT = 64n;

/** The exact value of an expression; throws CalcError. */
export function evaluateExpression(expression: string): Rational {
  if (expression.length > MAX_LENGTH) throw new CalcError(`expression longer than ${MAX_LENGTH} characters`);
  const src = expression.replace(/×/g, '*').replace(/÷/g, '/').replace(/−/g, '-');
  let i = 0;
  const skip = () => {
    while (i < src.length && /\s/.test(src[i]!)) i++;
  };
  const peek = (s: string) => {
    skip();
    return src.startsWith(s, i);
  };
  const fail = (what: string): never => {
    throw new CalcError(i >= src.length ? `unexpected end of expression (${what})` : `unexpected '${src[i]}' at position ${i} (${what})`);
  };

  const expr = (depth: number): Rational => {
    if (depth > 50) throw new CalcError('expression nested too deeply');
    let v = term(depth);
    for (;;) {
      if (peek('+')) {
        i++;
        v = add(v, term(depth));
      } else if (peek('-')) {
        i++;
        v = sub(v, term(depth));
      } else return v;
    }
  };
  const term = (depth: number): Rational => {
    let v = unary(depth);
    for (;;) {
      if (peek('**')) return v; // handled in power
      if (peek('*')) {
        i++;
        v = mul(v, unary(depth));
      } else if (peek('/')) {
        i++;
        const d = unary(depth);
        if (d.n === 0n) throw new CalcError('division by zero');
        v = div(v, d);
      } else return v;
    }
  };
  const unary = (depth: number): Rational => {
    if (peek('-')) {
      i++;
      return neg(unary(depth + 1));
    }
    if (peek('+')) {
      i++;
      return unary(depth + 1);
    }
    return power(depth);
  };
  const power = (depth: number): Rational => {
    const base = atom(depth);
    if (!peek('**')) return base;
    i += 2;
    const e = unary(depth + 1); // right-associative, binds tighter than unary minus on its left (as Python)
    if (!isInteger(e)) throw new CalcError('only integer exponents are supported');
    if (e.n > MAX_EXPONENT || e.n < -MAX_EXPONENT) throw new CalcError('exponent too large');
    if (base.n === 0n && e.n < 0n) throw new CalcError('division by zero');
    return pow(base, e.n);
  };
  const atom = (depth: number): Rational => {
    skip();
    if (src[i] === '(') {
      i++;
      const v = expr(depth + 1);
      skip();
      if (src[i] !== ')') fail("expected ')'");
      i++;
      return v;
    }
    const m = /^(?:\d+(?:\.\d*)?|\.\d+)/.exec(src.slice(i));
    if (!m) return fail('expected a number');
    i += m[0].length;
    return parseDecimal(m[0])!;
  };

  const v = expr(0);
  skip();
  if (i < src.length) fail('expected an operator');
  return v;
}

/** What the calculator tool returns for an expression: the result, or "Error: ..." */
export function calculator(expression: string): string {
  try {
    return formatDecimal(evaluateExpression(expression));
  } catch (e) {
    if (e instanceof CalcError || e instanceof RangeError) return `Error: ${e.message}`;
    throw e;
  }
}
