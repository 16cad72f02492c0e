/**
 * The deepseek-v3 pre-tokenizer (Step 3.5 Flash's `tokenizer.ggml.pre`, llama.cpp's
 * LLAMA_VOCAB_PRE_TYPE_DEEPSEEK3_LLM). Three patterns are applied in sequence, each one cutting the pieces left by
 * the previous one into matches and the text between them:
 *   1. `\p{N}{1,3}`              digit runs in groups of at most three
 *   2. `[一-龥぀-ゟ゠-ヿ]+`        runs of CJK ideographs (U+4E00-U+9FA5), hiragana and katakana
 *   3. `[!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
 * The expected splits below are worked out by hand from those patterns (and from llama.cpp's matching rules:
 * Unicode White_Space for \s, all non-ASCII letters alike); the cross-check test compares whole tokenizations
 * with llama.cpp itself.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { preTokenizerFor } from '../../src/tokenizer/index.js';

const split = (s: string) => preTokenizerFor('deepseek-v3').split(s);

describe('deepseek-v3 pre-tokenizer', () => {
  const cases: Array<[string, string[]]> = [
    // 1. digits: groups of three from the left, cut out of whatever surrounds them
    ['1234567', ['123', '456', '7']],
    ['abc12345def', ['abc', '123', '45', 'def']],
    [' 123', [' ', '123']], // the space is left alone: it can attach to nothing
    ['1st', ['1', 'st']],
    ['１２３４', ['１２３', '４']], // full-width digits are \p{N}
    ['x²³', ['x', '²³']], // so are superscripts (No)
    ['Step3.5-Flash', ['Step', '3', '.', '5', '-Flash']],
    ['$100', ['$', '100']],
    // 2. CJK ideographs and kana, cut out before the word pattern runs
    ['日本語テキストです', ['日本語テキストです']],
    ['我想在apple工作', ['我想在', 'apple', '工作']],
    ['你好，世界！', ['你好', '，', '世界', '！']],
    ['한국어 텍스트', ['한국어', ' 텍스트']], // Hangul is not in the CJK pattern: ordinary letters
    ['ｶﾀｶﾅ', ['ｶﾀｶﾅ']], // half-width katakana (U+FF76...) neither
    // 3. words: an optional non-letter/punctuation/symbol character, then letters and marks
    ['Hello world', ['Hello', ' world']],
    ['Hello, world!', ['Hello', ',', ' world', '!']],
    ['\tfoo', ['\tfoo']],
    ['e\u0301t\u00e9', ['e\u0301t\u00e9']], // combining marks stay in the word
    ['\u0301abc', ['\u0301abc']], // a leading mark is the optional first character
    ['a\u3000b', ['a', '\u3000b']], // non-ASCII whitespace counts as \s and may lead a word
    ['a\u00a0b', ['a', '\u00a0b']],
    // ... one ASCII punctuation character followed by ASCII letters is a word of its own
    ['.NET', ['.NET']],
    ["don't", ['don', "'t"]],
    ["it's", ['it', "'s"]],
    ['(hello)', ['(hello', ')']],
    ['a.b.c', ['a', '.b', '.c']],
    ['a+b=c', ['a', '+b', '=c']],
    ['C++ code', ['C', '++', ' code']],
    ['x++', ['x', '++']],
    ['#include', ['#include']],
    ['.ñ', ['.', 'ñ']], // ... but only ASCII letters
    // punctuation and symbol runs, with an optional leading space and trailing newlines
    ['hi 👋🏽!', ['hi', ' 👋🏽!']], // emoji (So) and skin tone (Sk) are symbols
    ['end.\n\nNext', ['end', '.\n\n', 'Next']],
    ['a -> b', ['a', ' ->', ' b']],
    // whitespace: newline runs take preceding spaces; a run before a word leaves its last space to the word
    ['a\r\nb', ['a', '\r\n', 'b']],
    ['  hello', [' ', ' hello']],
    ['hello  \n\n  world', ['hello', '  \n\n', ' ', ' world']],
    ['x   ', ['x', '   ']],
    ['\n', ['\n']],
    ['', []],
  ];
  for (const [text, words] of cases) {
    it(JSON.stringify(text), () => assert.deepEqual(split(text), words));
  }

  it('splits every string into pieces that concatenate back to it', () => {
    const s = 'Step 3.5 Flash：稀疏MoE模型，196B参数 (11B active)… «ok» 🚀🚀 x=1+2*3; \r\n\t ';
    assert.equal(split(s).join(''), s);
  });
});
