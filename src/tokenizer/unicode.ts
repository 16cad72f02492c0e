/**
 * Code point classes and byte mappings used by the tokenizers.
 *
 * - `cpFlags(cp)`: the general-category flag of a code point from the bundled Unicode 15.1 table (the version
 *   llama.cpp's tables are built from), so that splitting does not depend on the Unicode version of the running
 *   Node.js. Whitespace is the Unicode White_Space property, as in llama.cpp (not ECMAScript's `\s`, which adds
 *   U+FEFF and drops U+0085).
 * - The GPT-2 byte <-> character mapping used by byte-level BPE vocabularies.
 * - Small UTF-8 helpers.
 */
import { CATEGORY_TABLE } from './unicode-data.js';

export const F_UNDEFINED = 0x01;
export const F_NUMBER = 0x02;
export const F_LETTER = 0x04;
export const F_SEPARATOR = 0x08;
export const F_MARK = 0x10;
export const F_PUNCTUATION = 0x20;
export const F_SYMBOL = 0x40;
export const F_CONTROL = 0x80;

const LETTER_BITS: Record<string, number> = {
  U: F_UNDEFINED, N: F_NUMBER, L: F_LETTER, Z: F_SEPARATOR, M: F_MARK, P: F_PUNCTUATION, S: F_SYMBOL, C: F_CONTROL,
};

let table: Uint8Array | null = null;

function buildTable(): Uint8Array {
  const t = new Uint8Array(0x110000);
  const re = /([0-9a-v]+)([A-Z])/g;
  let start = 0;
  let prevStart = -1;
  let prevBits = 0;
  for (let m = re.exec(CATEGORY_TABLE); m; m = re.exec(CATEGORY_TABLE)) {
    start += parseInt(m[1]!, 32);
    if (prevStart >= 0) t.fill(prevBits, prevStart, start);
    prevStart = start;
    prevBits = LETTER_BITS[m[2]!]!;
  }
  t.fill(prevBits, prevStart, 0x110000);
  return t;
}

/** The category flags of every code point (one bit set per entry). Built on first use (about 1 MiB). */
export function categoryTable(): Uint8Array {
  return (table ??= buildTable());
}

export function cpFlags(cp: number): number {
  return (table ??= buildTable())[cp] ?? F_UNDEFINED;
}

/** Unicode White_Space, the set llama.cpp uses for `\s`. */
export function isWhitespace(cp: number): boolean {
  if (cp <= 0x20) return cp === 0x20 || (cp >= 0x09 && cp <= 0x0d);
  if (cp < 0x85) return false;
  return (
    cp === 0x85 || cp === 0xa0 || cp === 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp === 0x2028 ||
    cp === 0x2029 || cp === 0x202f || cp === 0x205f || cp === 0x3000
  );
}

/** Code points of a string (lone surrogates become U+FFFD, as they would after a UTF-8 round trip). */
export function codePoints(text: string): Uint32Array {
  const out = new Uint32Array(text.length);
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        out[n++] = ((c - 0xd800) << 10) + (d - 0xdc00) + 0x10000;
        i++;
        continue;
      }
    }
    out[n++] = c >= 0xd800 && c <= 0xdfff ? 0xfffd : c;
  }
  return out.subarray(0, n);
}

/** Replace lone surrogates by U+FFFD so that the text is what its UTF-8 encoding decodes back to. */
export function wellFormed(text: string): string {
  // Fast path: most text has no surrogates at all.
  if (!/[\ud800-\udfff]/.test(text)) return text;
  return text.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
}

const encoder = new TextEncoder();
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}
export function utf8Length(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}
// ignoreBOM: keep a leading U+FEFF (the default would drop it)
const lossyDecoder = new TextDecoder('utf-8', { ignoreBOM: true });
export function decodeUtf8(bytes: Uint8Array): string {
  return lossyDecoder.decode(bytes);
}

// ---- GPT-2 byte-level mapping: every byte gets a printable character. ----

/** byte -> the character that stands for it in byte-level BPE vocabularies. */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const out = new Array<string>(256);
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let n = 0;
  for (let b = 0; b < 256; b++) out[b] = String.fromCharCode(printable(b) ? b : 256 + n++);
  return out;
})();

/** UTF-16 code unit of a byte-level character -> byte, or -1. */
export const CHAR_TO_BYTE: Int16Array = (() => {
  const out = new Int16Array(512).fill(-1);
  for (let b = 0; b < 256; b++) out[BYTE_TO_CHAR[b]!.charCodeAt(0)] = b;
  return out;
})();

/** The byte-level form of a piece of text: its UTF-8 bytes spelled with BYTE_TO_CHAR. */
export function byteEncode(text: string): string {
  let ascii = true;
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) >= 0x80) {
      ascii = false;
      break;
    }
  }
  let out = '';
  if (ascii) {
    for (let i = 0; i < text.length; i++) out += BYTE_TO_CHAR[text.charCodeAt(i)];
    return out;
  }
  const bytes = encoder.encode(text);
  for (let i = 0; i < bytes.length; i++) out += BYTE_TO_CHAR[bytes[i]!];
  return out;
}
