// Byte-level helpers shared by the string-like frames: UTF-8 well-formedness one byte at a time, and the
// guard that keeps tool-call parameter text from containing the tags that would end the parameter early.

/** For a byte that starts a multi-byte UTF-8 character: how many continuation bytes follow, and the range
 * the first of them must lie in (which excludes overlong forms and surrogates). Null: not a start byte. */
export interface Utf8Start {
  readonly n: number;
  readonly lo: number;
  readonly hi: number;
}

const STARTS: (Utf8Start | null)[] = Array.from({ length: 256 }, (_, b) => {
  if (b >= 0xc2 && b <= 0xdf) return { n: 1, lo: 0x80, hi: 0xbf };
  if (b === 0xe0) return { n: 2, lo: 0xa0, hi: 0xbf };
  if (b === 0xed) return { n: 2, lo: 0x80, hi: 0x9f };
  if (b >= 0xe1 && b <= 0xef) return { n: 2, lo: 0x80, hi: 0xbf };
  if (b === 0xf0) return { n: 3, lo: 0x90, hi: 0xbf };
  if (b >= 0xf1 && b <= 0xf3) return { n: 3, lo: 0x80, hi: 0xbf };
  if (b === 0xf4) return { n: 3, lo: 0x80, hi: 0x8f };
  return null;
});

export function utf8Start(b: number): Utf8Start | null {
  return STARTS[b]!;
}

export const isJsonWhitespace = (b: number) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;

// Inside a parameter value the tool-call parser ends the value at `</parameter>`, at `</function>` before
// `</tool_call>`, and at a new `<parameter=` line; none of them may appear in the value's text.
const FORBIDDEN = ['</parameter', '</function', '<parameter='];
const KEEP = Math.max(...FORBIDDEN.map((f) => f.length)) - 1;

/**
 * The guard's next state after byte `b` (the tail of ASCII text that could begin a forbidden tag), or null
 * when `b` completes one.
 */
export function xmlGuardStep(tail: string, b: number): string | null {
  if (b >= 0x80) return '';
  const t = tail + String.fromCharCode(b);
  for (const f of FORBIDDEN) if (t.endsWith(f)) return null;
  if (!t.includes('<')) return '';
  const keep = t.slice(Math.max(0, t.length - KEEP));
  const lt = keep.indexOf('<');
  return lt < 0 ? '' : keep.slice(lt);
}
