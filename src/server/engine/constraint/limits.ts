// Bounds that make every constrained generation finite. A schema's own bounds (maxLength, maxItems, ...)
// apply first; these cap what the schema leaves open, so even a random-weight model reaches the end of a
// JSON value or a tool call. Generous by default: a real model stays far inside them.

export interface ConstraintLimits {
  /** Characters of a string value or a free-text tool parameter. */
  readonly maxStringChars: number;
  /** Characters of an object key the schema does not name. */
  readonly maxKeyChars: number;
  /** Digits of a number's integer part (15 keeps integers exact in a double). */
  readonly maxIntegerDigits: number;
  readonly maxFractionDigits: number;
  readonly maxExponentDigits: number;
  /** Items of an array. */
  readonly maxItems: number;
  /** Properties of an object. */
  readonly maxProperties: number;
  /** Nesting of objects and arrays; deeper, only required properties and minItems items are written. */
  readonly maxDepth: number;
  /** Consecutive whitespace characters where JSON allows whitespace. */
  readonly maxWhitespace: number;
  /** Tool calls in one answer when parallel calls are allowed. */
  readonly maxToolCalls: number;
}

export const DEFAULT_LIMITS: ConstraintLimits = {
  maxStringChars: 8192,
  maxKeyChars: 64,
  maxIntegerDigits: 15,
  maxFractionDigits: 15,
  maxExponentDigits: 2,
  maxItems: 256,
  maxProperties: 128,
  maxDepth: 16,
  maxWhitespace: 64,
  maxToolCalls: 16,
};

export function resolveLimits(partial: Partial<ConstraintLimits> = {}): ConstraintLimits {
  const l = { ...DEFAULT_LIMITS, ...partial };
  for (const [k, v] of Object.entries(l)) if (!Number.isInteger(v) || v < 0) throw new RangeError(`constraint limit ${k} must be a non-negative integer, got ${v}`);
  if (l.maxToolCalls < 1) throw new RangeError('constraint limit maxToolCalls must be at least 1');
  return l;
}
