/**
 * Seeded random text for cross-checking the tokenizer against llama.cpp: mixed scripts, digit runs, whitespace
 * runs (including non-ASCII and unusual whitespace), punctuation, emoji sequences, code, control and
 * unassigned code points, and chat/special-token markers.
 */
import { rng } from './helpers.js';

const WORDS = ['hello', 'World', 'THE', 'tokenizer', 'llama', 'don', 'Step', 'flash', 'a', 'I', 'naïve', 'café', 'über', 'x'];
const CONTRACTIONS = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'RE", "'Ll", "'D", "'", "''"];
const SPACES = [' ', '  ', '   ', '\t', '\n', '\n\n', '\r\n', ' \n', '\n ', '\t\n', '\v', '\f', '\r', ' \t ', '\u00a0', '\u3000', '\u2028', '\u0085', '\u2003', '\u202f', '\u1680', '          '];
const PUNCT = ['.', ',', '!', '?', '...', '!!!', '?!', '-', '--', '---', '_', '(', ')', '[', ']', '{', '}', '"', '«»', '“”', '’', '…', '。', '，', '、', '！', '？', '：', '；', '～', '·', '@', '#', '$', '%', '^', '&', '*', '+', '=', '<', '>', '|', '\\', '/', '`', '~', '€', '£', '¥', '©', '®', '°', '±', '×', '÷', '§', '¶', '→', '∑', '√', '∞', '≠', '⌘', '│', '█'];
const SCRIPTS = [
  'нещо на Български', 'Привет', 'Ελληνικά', 'αβγ', 'עברית', 'العربية', 'हिन्दी', 'नमस्ते', 'ภาษาไทย', 'កាន់តែពិសេស', 'ქართული', 'Հայերեն',
  '我想在apple工作', '中文字符', '漢字', '𠀀𠀁', '𪜀', 'ひらがな', 'カタカナ', 'ｶﾀｶﾅ', '한국어', '한글', 'ㄱㄴㄷ', 'ㄅㄆㄇ', 'ÀÉÎÕÜ', 'ǅǈ', 'ß', 'Ǆ',
  'µ', 'ﬁ', 'Ａｂｃ', '１２３', '𐐀𐐨', '𝐀𝐁𝐂', '𝟘𝟙', 'ℂℍ', 'Ⅻ', '½', '²³', '٣٤٥', '০১২', '๑๒', '〇', 'e\u0301', 'a\u0308\u0323', '\u0301', '\u20dd',
];
const EMOJI = ['🦙', '🚀', '😀', '😶‍🌫️', '👍🏽', '👨‍👩‍👧‍👦', '🇫🇷', '❤️', '✅', '☕', '🫠', '🩷', '1️⃣', '©️', '🏳️‍🌈', '😁'];
const ODD = ['\u0000', '\u0001', '\u001b', '\u001c', '\u001d', '\u001e', '\u001f', '\u007f', '\u0080', '\u009f', '\u00ad', '\ufeff', '\u200b', '\u200d', '\u200e', '\u180e', '\u2060', '\u2061', '\ue000', '\uf8ff', '\u0378', '\u1c89', '\u2fff', '\u31ef', '\ufffd', '\ufffe', '\ud800', '\udfff', '\u{10ffff}', '\u{e0001}', '\u{1fbf0}', '\u{2ebf0}'];
const CODE = ['if (x) {\n\treturn y;\n}', 'const a = b?.c ?? 0;', '</div>', '<br/>', 'a->b', 'x += 1;', '#include <stdio.h>', 'def f(x):\n    return x**2', 'SELECT * FROM t;', '$ ls -la | grep foo', 'https://example.com/a?b=c&d=e', 'user@example.com', '0x1F', '3.14159', '1e-10', '1,000,000', '2024-01-01', '12:30:45', '${name}', '/* c */', '// x', '"\\n"'];
const MARKERS = ['<|im_start|>', '<|im_end|>', '<|endoftext|>', '<|eot_id|>', '<|begin_of_text|>', '<|start_header_id|>', '<|end_header_id|>', '<s>', '</s>', '<unk>', '<pad>', '<｜begin▁of▁sentence｜>', '<｜end▁of▁sentence｜>', '<｜fim▁begin｜>', '<｜fim▁hole｜>', '<|User|>', '<|Assistant|>', '<|EOT|>', '<|user|>', '<|assistant|>', '<|end|>', '<|system|>', '[PAD151646]', '<think>', '</think>', '<|im_start', 'im_end|>', '<|', '|>', '<<|im_end|>>', 'ø', 'ö', 'ú', 'Á'];

function pick<T>(r: () => number, a: readonly T[]): T {
  return a[Math.floor(r() * a.length)]!;
}

function digits(r: () => number): string {
  const n = 1 + Math.floor(r() * 12);
  let s = '';
  for (let i = 0; i < n; i++) s += String(Math.floor(r() * 10));
  return s;
}

function randomWord(r: () => number): string {
  const n = 1 + Math.floor(r() * 9);
  let s = '';
  for (let i = 0; i < n; i++) {
    const c = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'[Math.floor(r() * 52)]!;
    s += c;
  }
  return s;
}

function randomCodePoint(r: () => number): string {
  // Mostly assigned BMP, sometimes anywhere (skipping surrogates).
  for (;;) {
    const cp = r() < 0.8 ? Math.floor(r() * 0x10000) : Math.floor(r() * 0x110000);
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    return String.fromCodePoint(cp);
  }
}

/** One random test string. `extraMarkers` adds the vocabulary's own special-token texts to the mix. */
export function randomText(r: () => number, extraMarkers: readonly string[] = []): string {
  const parts: string[] = [];
  const n = 1 + Math.floor(r() * 14);
  for (let i = 0; i < n; i++) {
    const k = r();
    if (k < 0.2) parts.push(pick(r, WORDS));
    else if (k < 0.28) parts.push(randomWord(r));
    else if (k < 0.33) parts.push(pick(r, CONTRACTIONS));
    else if (k < 0.43) parts.push(pick(r, SPACES));
    else if (k < 0.5) parts.push(digits(r));
    else if (k < 0.58) parts.push(pick(r, PUNCT).repeat(1 + Math.floor(r() * 3)));
    else if (k < 0.68) parts.push(pick(r, SCRIPTS));
    else if (k < 0.73) parts.push(pick(r, EMOJI));
    else if (k < 0.77) parts.push(pick(r, ODD));
    else if (k < 0.8) parts.push(randomCodePoint(r));
    else if (k < 0.86) parts.push(pick(r, CODE));
    else if (k < 0.93) parts.push(pick(r, MARKERS));
    else if (extraMarkers.length > 0) parts.push(pick(r, extraMarkers));
    else parts.push(pick(r, WORDS));
    const sep = r();
    if (sep < 0.45) parts.push(' ');
    else if (sep < 0.5) parts.push(pick(r, SPACES));
  }
  return parts.join('');
}
