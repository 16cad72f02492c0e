/**
 * The bundled Unicode 15.1 category table and the byte-level mapping.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BYTE_TO_CHAR, byteEncode, categoryTable, CHAR_TO_BYTE, codePoints, cpFlags, F_CONTROL, F_LETTER, F_MARK, F_NUMBER,
  F_PUNCTUATION, F_SEPARATOR, F_SYMBOL, F_UNDEFINED, isWhitespace, wellFormed,
} from '../../src/tokenizer/unicode.js';
import { CATEGORY_RUNS, UNICODE_VERSION } from '../../src/tokenizer/unicode-data.js';

describe('Unicode table', () => {
  it('classifies sample code points', () => {
    assert.equal(UNICODE_VERSION, '15.1.0');
    const cases: Array<[number, number]> = [
      [0x41, F_LETTER], [0x30, F_NUMBER], [0x20, F_SEPARATOR], [0x0a, F_CONTROL], [0x21, F_PUNCTUATION], [0x24, F_SYMBOL],
      [0x301, F_MARK], [0x4e00, F_LETTER], [0xff11, F_NUMBER], [0x1f999, F_SYMBOL], [0xfeff, F_CONTROL], [0x378, F_UNDEFINED],
      [0x2ebf0, F_LETTER], // CJK Extension I: new in 15.1
      [0x1c89, F_UNDEFINED], // assigned only in Unicode 16.0
      [0x10ffff, F_UNDEFINED], [0xe000, F_CONTROL], [0xd800, F_CONTROL],
    ];
    for (const [cp, f] of cases) assert.equal(cpFlags(cp), f, cp.toString(16));
  });

  it('agrees with the JavaScript engine on every code point Unicode 15.1 assigns', () => {
    const engine = Number((process.versions.unicode ?? '0').split('.')[0]) + Number((process.versions.unicode ?? '0').split('.')[1] ?? 0) / 10;
    const t = categoryTable();
    assert.equal(t.length, 0x110000);
    let runs = 1;
    for (let cp = 1; cp < 0x110000; cp++) if (t[cp] !== t[cp - 1]) runs++;
    assert.equal(runs, CATEGORY_RUNS);
    if (engine < 15.1) return; // an older engine lacks some 15.1 characters
    const res: Array<[number, RegExp]> = [
      [F_NUMBER, /\p{N}/u], [F_LETTER, /\p{L}/u], [F_SEPARATOR, /\p{Z}/u], [F_MARK, /\p{M}/u], [F_PUNCTUATION, /\p{P}/u],
      [F_SYMBOL, /\p{S}/u], [F_CONTROL, /\p{C}/u],
    ];
    let checked = 0;
    for (let cp = 0; cp < 0x110000; cp += 1) {
      const f = t[cp]!;
      if (f === F_UNDEFINED) continue;
      const s = String.fromCodePoint(cp);
      const re = res.find(([bit]) => bit === f)![1];
      if (!re.test(s) || (f === F_CONTROL && /\p{Cn}/u.test(s))) assert.fail(`U+${cp.toString(16)}: table ${f}`);
      checked++;
    }
    assert.ok(checked > 280000);
  });

  it('uses Unicode White_Space for \\s', () => {
    for (const cp of [0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000]) {
      assert.ok(isWhitespace(cp), cp.toString(16));
    }
    for (const cp of [0x1c, 0x1f, 0x180e, 0x200b, 0xfeff, 0x41]) assert.ok(!isWhitespace(cp), cp.toString(16));
  });

  it('reads lone surrogates as U+FFFD', () => {
    assert.deepEqual([...codePoints('a\ud800b\u{1f999}\udc00')], [0x61, 0xfffd, 0x62, 0x1f999, 0xfffd]);
    assert.equal(wellFormed('a\ud800b\u{1f999}\udc00'), 'a\ufffdb\u{1f999}\ufffd');
  });
});

describe('byte-level mapping', () => {
  it('maps all 256 bytes to distinct printable characters and back', () => {
    assert.equal(new Set(BYTE_TO_CHAR).size, 256);
    for (let b = 0; b < 256; b++) assert.equal(CHAR_TO_BYTE[BYTE_TO_CHAR[b]!.charCodeAt(0)], b);
    assert.equal(BYTE_TO_CHAR[0x20], '\u0120'); // Ġ
    assert.equal(BYTE_TO_CHAR[0x0a], '\u010a'); // Ċ
    assert.equal(byteEncode('Hello world\n'), 'HelloĠworldĊ');
    assert.equal(byteEncode('é'), 'Ã©');
  });
});
