/**
 * Pre-tokenizers: split text into the words that byte-level BPE then encodes one by one.
 *
 * Each pre-tokenizer type (GGUF `tokenizer.ggml.pre`) is a list of regular expressions, written as in the
 * models' tokenizer.json files. They are applied in sequence, each one refining the pieces left by the
 * previous one: a piece is cut into its matches and the text between them (HF's "Isolated" split behaviour).
 * This reproduces llama.cpp, including the places where its matching is not plain Unicode regex matching:
 *
 * - Code point classes come from the bundled Unicode 15.1 table (`unicode.ts`), and `\s` is Unicode White_Space.
 * - A pattern that uses `\p{N}`, `\p{L}`, `\p{P}`, `\p{M}`, `\p{S}` (or `\p{Lu}` etc.) is matched against a
 *   "collapsed" text where every non-ASCII code point is replaced by one stand-in character per category (all
 *   letter subcategories alike, non-ASCII whitespace as U+000B, anything else U+00D0); ASCII stays as it is.
 *   This is how llama.cpp runs such patterns through std::regex, so e.g. `[^a-z]` treats every non-ASCII
 *   letter as "not a-z" and `\p{Lu}` accepts lowercase non-ASCII letters.
 * - A pattern without such classes is matched against the code points themselves, with non-ASCII whitespace
 *   replaced by U+000B and `\s` meaning ASCII whitespace only.
 * - The GPT-2, Llama-3, Qwen2 and Qwen3.5 patterns are hand-written scanners (as in llama.cpp), equivalent to the
 *   regex but fast.
 */
import { categoryTable, codePoints, F_LETTER, F_MARK, F_NUMBER, F_PUNCTUATION, F_SYMBOL, isWhitespace } from './unicode.js';

// ---- pattern sources (from the models' tokenizer.json pre_tokenizer sections) ----

const CONTRACTIONS = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])";
export const RE_GPT2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";
export const RE_LLAMA3 = `${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`;
export const RE_QWEN2 = `${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`;
export const RE_QWEN35 = `${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| ?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`;
/** The full GPT-2 pattern as HF's ByteLevel pre-tokenizer spells it (same splits as RE_GPT2). */
export const RE_GPT2_HF = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

const RE_CJK_KANA = '[一-龥぀-ゟ゠-ヿ]+';
const RE_CJK_HANGUL = '[一-龥ࠀ-一가-퟿]+';
const RE_DEEPSEEK3_WORDS =
  "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+";
const RE_DEEPSEEK_LLM_LETTERS = "\\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-ώᾀ-ᾴᾶ-ᾼιῂ-ῄῆ-ῌῐ-ΐῖ-Ίῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤΩℨK-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+";
const RE_NORDIC = ' ?[^(\\s|.,!?…。，、।۔،)]+';

export interface PreTokenizerSpec {
  /** The regular expressions, applied in order. */
  readonly regexes: readonly string[];
  /** llama.cpp's `clean_spaces` default for this type (detokenizer clean-up of " ," etc.). */
  readonly cleanSpaces?: boolean;
  /** If a whole pre-tokenized word is a vocabulary token, use it without running the merges. */
  readonly ignoreMerges?: boolean;
  /** Default for tokenizer.ggml.add_bos_token when the file does not say. */
  readonly addBos?: boolean;
  /** The type has no BOS token unless the file names one. */
  readonly noBos?: boolean;
}

const GPT2: PreTokenizerSpec = { regexes: [RE_GPT2] };
const LLAMA3: PreTokenizerSpec = { regexes: [RE_LLAMA3], ignoreMerges: true, addBos: true };
const QWEN2: PreTokenizerSpec = { regexes: [RE_QWEN2], cleanSpaces: false };
const STARCODER: PreTokenizerSpec = { regexes: ['\\p{N}', RE_GPT2] };
const DEEPSEEK3: PreTokenizerSpec = { regexes: ['\\p{N}{1,3}', RE_CJK_KANA, RE_DEEPSEEK3_WORDS], cleanSpaces: false };

/**
 * Byte-level BPE pre-tokenizer types by their `tokenizer.ggml.pre` names (the names llama.cpp accepts).
 * Each entry's flags follow llama.cpp's defaults for that name.
 */
export const PRE_TOKENIZERS: Readonly<Record<string, PreTokenizerSpec>> = {
  default: {
    regexes: ['[\\p{P}\\$\\+<=>\\^~\\|]+', RE_GPT2, '\\p{N}+', '[0-9][0-9][0-9]'],
  },
  // GPT-2 family
  'gpt-2': GPT2, 'phi-2': GPT2, 'jina-es': GPT2, 'jina-de': GPT2, gigachat: GPT2, 'jina-v2-es': GPT2, 'jina-v2-de': GPT2,
  'a.x-4.0': GPT2, mellum: GPT2, 'modern-bert': GPT2, mpt: GPT2, olmo: GPT2, jais: GPT2, exaone4: GPT2,
  'jina-v1-en': GPT2, 'jina-v2-code': GPT2, 'roberta-bpe': GPT2,
  trillion: { ...GPT2, cleanSpaces: false },
  'granite-docling': { ...GPT2, cleanSpaces: false },
  // Llama 3 family
  llama3: LLAMA3, 'llama-v3': LLAMA3, 'llama-bpe': LLAMA3, falcon3: LLAMA3, 'falcon-h1': LLAMA3, pixtral: LLAMA3,
  'midm-2.0': LLAMA3, lfm2: LLAMA3, 'jina-v5-nano': LLAMA3,
  dbrx: { regexes: [RE_LLAMA3] },
  'smaug-bpe': { regexes: [RE_LLAMA3] },
  glm4: { regexes: [RE_LLAMA3], noBos: true },
  'chatglm-bpe': { regexes: [RE_LLAMA3], noBos: true },
  // DeepSeek
  'deepseek-llm': {
    regexes: ['[\r\n]', RE_DEEPSEEK_LLM_LETTERS, '\\s?[!-/:-~！-／：-～‘-‟　-。]+', '\\s+$', RE_CJK_HANGUL, '\\p{N}+'],
    cleanSpaces: false,
  },
  'deepseek-coder': {
    regexes: ['[\r\n]', '\\s?\\p{L}+', '\\s?\\p{P}+', RE_CJK_HANGUL, '\\p{N}'],
    cleanSpaces: false,
  },
  'deepseek-v3': DEEPSEEK3, 'hunyuan-dense': DEEPSEEK3, 'joyai-llm': DEEPSEEK3, hy_v4: DEEPSEEK3,
  spark2_5: {
    regexes: [
      '\\p{N}{1,3}', RE_CJK_KANA,
      "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+|[\r\n]|\\s+(?!\\S)|\\s+",
      '\\p{N}',
    ],
    cleanSpaces: false,
  },
  // Qwen family
  qwen2: QWEN2, 'deepseek-r1-qwen': QWEN2, kormo: QWEN2, f2llmv2: QWEN2, hunyuan: QWEN2, 'solar-open': QWEN2,
  'grok-2': QWEN2,
  megrez: { regexes: [RE_QWEN2] },
  stablelm2: { regexes: [RE_QWEN2] },
  qwen35: { regexes: [RE_QWEN35], cleanSpaces: false },
  // Others
  falcon: { regexes: ['[\\p{P}\\$\\+<=>\\^~\\|`]+', RE_GPT2, '[0-9][0-9][0-9]'] },
  starcoder: STARCODER, refact: STARCODER, codeshell: STARCODER, exaone: STARCODER, 'minerva-7b': STARCODER, mellum2: STARCODER,
  'command-r': { ...STARCODER, cleanSpaces: false },
  smollm: { ...STARCODER, cleanSpaces: false },
  'poro-chat': { regexes: [RE_NORDIC], cleanSpaces: false },
  bloom: { regexes: [RE_NORDIC] },
  'gpt3-finnish': { regexes: [RE_NORDIC] },
  viking: { regexes: [RE_NORDIC, '\\p{N}'], cleanSpaces: false },
  'jais-2': { regexes: ["(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s{512}(?!\\S)|\\s{256}(?!\\S)|\\s{128}(?!\\S)|\\s{64}(?!\\S)|\\s{32}(?!\\S)|\\s{16}(?!\\S)|\\s{8}(?!\\S)|\\s{4}(?!\\S)|\\s{1,2}(?!\\S)|\\s{1}"] },
  'gpt-4o': { regexes: ["[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"], cleanSpaces: false },
  llama4: { regexes: ["[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"], cleanSpaces: false },
  kanana2: { regexes: ["[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"], cleanSpaces: false },
  talkie: { regexes: ["[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"], cleanSpaces: false },
  'minimax-m2': { regexes: ["[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"], cleanSpaces: false },
  youtu: { regexes: ["[가-힣ㄱ-ㆎ]+|[！…“”‘’—：；，、-〿︰-﹏]+|[ㄅ-ㄯ]+|[一-龥぀-ゟ゠-ヿ]+", "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"], cleanSpaces: false, ignoreMerges: true },
  'seed-coder': {
    regexes: [`${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1}| ?[^\\s\\p{L}\\p{N}\\r\\n]+|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`],
    cleanSpaces: false,
  },
  bailingmoe: {
    regexes: ["'(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+"],
    cleanSpaces: false,
  },
  ufakzeka: {
    regexes: ['[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+'],
    cleanSpaces: false,
  },
  minicpm5: {
    regexes: ['\\p{N}{1,3}', `${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}+| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`],
    ignoreMerges: true,
  },
};
// more names for the entries above
for (const [alias, target] of [['bailingmoe2', 'bailingmoe'], ['llada-moe', 'bailingmoe']] as const) {
  (PRE_TOKENIZERS as Record<string, PreTokenizerSpec>)[alias] = PRE_TOKENIZERS[target]!;
}

// ---- compiled form ----

type Scanner = (cps: Uint32Array, start: number, end: number, out: number[]) => void;

type Step =
  | { readonly kind: 'scan'; readonly scan: Scanner }
  | { readonly kind: 'collapsed'; readonly re: RegExp }
  | { readonly kind: 'codepoint'; readonly re: RegExp };

const CATEGORY_CLASSES = ['\\p{N}', '\\p{L}', '\\p{P}', '\\p{M}', '\\p{S}', '\\p{Lu}', '\\p{Ll}', '\\p{Lt}', '\\p{Lm}', '\\p{Lo}'];

// Stand-in characters of the collapsed text, and what each category class becomes (stand-in + ASCII members).
const C_OTHER = 0xd0, C_NUMBER = 0xd1, C_LETTER = 0xd2, C_PUNCT = 0xd3, C_MARK = 0xd4, C_SYMBOL = 0xd5, C_SPACE = 0x0b;
const COLLAPSED_CLASS: Record<string, string> = {
  '\\p{N}': '\\xD10-9',
  '\\p{L}': '\\xD2A-Za-z',
  '\\p{Lu}': '\\xD2A-Za-z', '\\p{Ll}': '\\xD2A-Za-z', '\\p{Lt}': '\\xD2A-Za-z', '\\p{Lm}': '\\xD2A-Za-z', '\\p{Lo}': '\\xD2A-Za-z',
  '\\p{P}': '\\xD3!-#%-*,-/:;?@\\[-\\]_{}',
  '\\p{M}': '\\xD4',
  '\\p{S}': '\\xD5$+<->^`|~',
};

/** Rewrite a pattern for the collapsed text: each category class becomes its stand-in plus its ASCII members. */
function collapsePattern(src: string): string {
  let out = '';
  let inside = false;
  for (let i = 0; i < src.length; i++) {
    const ch = src[i]!;
    if (ch === '[' && (i === 0 || src[i - 1] !== '\\')) {
      out += '[';
      inside = true;
      continue;
    }
    if (inside && ch === ']' && src[i - 1] !== '\\') {
      out += ']';
      inside = false;
      continue;
    }
    if (ch === '\\' && src[i + 1] === 'p' && src[i + 2] === '{') {
      const close = src.indexOf('}', i + 3);
      const cls = close >= 0 ? COLLAPSED_CLASS[src.slice(i, close + 1)] : undefined;
      if (cls === undefined) throw new Error(`pre-tokenizer pattern: unsupported class in ${JSON.stringify(src)}`);
      out += inside ? cls : `[${cls}]`;
      i = close;
      continue;
    }
    out += ch;
  }
  return out;
}

/** Rewrite a code point pattern so that `\s` is ASCII whitespace only, as for llama.cpp's std::wregex. */
function codepointPattern(src: string): string {
  let out = '';
  let inside = false;
  for (let i = 0; i < src.length; i++) {
    const ch = src[i]!;
    if (ch === '\\') {
      const n = src[i + 1];
      if (n === 's') out += inside ? '\\t-\\r ' : '[\\t-\\r ]';
      else if (n === 'S' && !inside) out += '[^\\t-\\r ]';
      else if (n === 'd') out += inside ? '0-9' : '[0-9]';
      else out += ch + (n ?? '');
      i++;
      continue;
    }
    if (ch === '[') inside = true;
    else if (ch === ']') inside = false;
    out += ch;
  }
  return out;
}

function compileStep(src: string): Step {
  const scan = SCANNERS.get(src);
  if (scan) return { kind: 'scan', scan };
  if (CATEGORY_CLASSES.some((c) => src.includes(c))) return { kind: 'collapsed', re: new RegExp(collapsePattern(src), 'g') };
  if (src.includes('\\p{')) throw new Error(`pre-tokenizer pattern: unsupported class in ${JSON.stringify(src)}`);
  return { kind: 'codepoint', re: new RegExp(codepointPattern(src), 'gu') };
}

// ---- hand-written scanners ----

const CR = 0x0d, LF = 0x0a, SP = 0x20, APOS = 0x27;

/** `'s|'t|'re|'ve|'m|'ll|'d` (case-insensitively if `ci`): the length of the contraction at `pos`, or 0. */
function contraction(cps: Uint32Array, pos: number, end: number, ci: boolean): number {
  if (cps[pos] !== APOS || pos + 1 >= end) return 0;
  const lower = (c: number) => (ci && c >= 0x41 && c <= 0x5a ? c + 0x20 : c);
  const a = lower(cps[pos + 1]!);
  if (a === 0x73 || a === 0x74 || a === 0x6d || a === 0x64) return 2; // s t m d
  if (pos + 2 >= end) return 0;
  const b = lower(cps[pos + 2]!);
  if ((a === 0x72 && b === 0x65) || (a === 0x76 && b === 0x65) || (a === 0x6c && b === 0x6c)) return 3; // re ve ll
  return 0;
}

/** GPT-2: `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+` */
const scanGpt2: Scanner = (cps, start, end, out) => {
  const cat = categoryTable();
  let prev = start;
  const emit = (to: number) => {
    if (to > prev) out.push(to - prev);
    prev = to;
  };
  const cls = (p: number) => (p < end ? cat[cps[p]!]! : 0);
  const ws = (p: number) => p < end && isWhitespace(cps[p]!);
  const other = (p: number) => p < end && !isWhitespace(cps[p]!) && (cat[cps[p]!]! & (F_LETTER | F_NUMBER)) === 0;
  let pos = start;
  while (pos < end) {
    const k = contraction(cps, pos, end, false);
    if (k) {
      emit((pos += k));
      continue;
    }
    const q = cps[pos] === SP ? pos + 1 : pos;
    const f = cls(q);
    if (f & F_LETTER) {
      pos = q;
      while (cls(pos) & F_LETTER) pos++;
      emit(pos);
      continue;
    }
    if (f & F_NUMBER) {
      pos = q;
      while (cls(pos) & F_NUMBER) pos++;
      emit(pos);
      continue;
    }
    if (other(q)) {
      pos = q;
      while (other(pos)) pos++;
      emit(pos);
      continue;
    }
    let n = 0;
    while (ws(pos + n)) n++;
    if (n > 1 && pos + n < end) {
      emit((pos += n - 1));
      continue;
    }
    if (n > 0) {
      emit((pos += n));
      continue;
    }
    emit(++pos);
  }
};

/**
 * Llama 3 / Qwen2 / Qwen3.5:
 * `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
 * with `\p{N}` for `\p{N}{1,3}` (Qwen2) and `[\p{L}\p{M}]` for `\p{L}` (Qwen3.5).
 */
function llamaScanner(maxDigits: number, withMarks: boolean): Scanner {
  const LET = withMarks ? F_LETTER | F_MARK : F_LETTER;
  const WORDISH = LET | F_NUMBER;
  return (cps, start, end, out) => {
    const cat = categoryTable();
    let prev = start;
    const emit = (to: number) => {
      if (to > prev) out.push(to - prev);
      prev = to;
    };
    const cls = (p: number) => (p < end ? cat[cps[p]!]! : 0);
    const other = (p: number) => p < end && !isWhitespace(cps[p]!) && (cat[cps[p]!]! & WORDISH) === 0;
    let pos = start;
    while (pos < end) {
      const c = cps[pos]!;
      const k = contraction(cps, pos, end, true);
      if (k) {
        emit((pos += k));
        continue;
      }
      const f = cat[c]!;
      // [^\r\n\p{L}\p{N}]?\p{L}+
      if (!(c === CR || c === LF || f & F_NUMBER) && (f & LET || cls(pos + 1) & LET)) {
        pos++;
        while (cls(pos) & LET) pos++;
        emit(pos);
        continue;
      }
      // \p{N}{1,maxDigits}
      if (f & F_NUMBER) {
        let first = pos;
        while (cls(pos) & F_NUMBER) {
          if (++pos - first >= maxDigits) {
            emit(pos);
            first = pos;
          }
        }
        emit(pos);
        continue;
      }
      // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
      const q = c === SP ? pos + 1 : pos;
      if (q >= end || other(q)) {
        pos = q;
        while (other(pos)) pos++;
        while (pos < end && (cps[pos] === CR || cps[pos] === LF)) pos++;
        emit(pos);
        continue;
      }
      // \s*[\r\n]+ | \s+(?!\S) | \s+
      let n = 0;
      let lastNl = -1;
      while (pos + n < end && isWhitespace(cps[pos + n]!)) {
        const d = cps[pos + n]!;
        if (d === CR || d === LF) lastNl = pos + n + 1;
        n++;
      }
      if (lastNl >= 0) {
        emit((pos = lastNl));
        continue;
      }
      if (n > 1 && pos + n < end) {
        emit((pos += n - 1));
        continue;
      }
      if (n > 0) {
        emit((pos += n));
        continue;
      }
      emit(++pos);
    }
  };
}

const SCANNERS = new Map<string, Scanner>([
  [RE_GPT2, scanGpt2],
  [RE_GPT2_HF, scanGpt2],
  [RE_LLAMA3, llamaScanner(3, false)],
  [RE_QWEN2, llamaScanner(1, false)],
  [RE_QWEN35, llamaScanner(1, true)],
]);

// ---- running a pre-tokenizer ----

const latin1 = new TextDecoder('latin1'); // identical to ISO-8859-1 for the bytes the collapsed text uses

export class PreTokenizer {
  private readonly steps: readonly Step[];
  private readonly needsCollapsed: boolean;
  private readonly needsCodepoint: boolean;

  constructor(
    readonly name: string,
    readonly regexes: readonly string[],
  ) {
    this.steps = regexes.map(compileStep);
    this.needsCollapsed = this.steps.some((s) => s.kind === 'collapsed');
    this.needsCodepoint = this.steps.some((s) => s.kind === 'codepoint');
  }

  /** Split `text` (well-formed UTF-16) into words; their concatenation is `text`. */
  split(text: string): string[] {
    if (text.length === 0) return [];
    const cps = codePoints(text);
    const n = cps.length;
    const collapsed = this.needsCollapsed ? collapse(cps) : '';
    // For code point patterns: the text with non-ASCII whitespace as U+000B (same UTF-16 length as `text`).
    const wtext = this.needsCodepoint ? text.replace(NON_ASCII_WS, '\v') : '';
    const astral = n !== text.length;
    // code point index -> UTF-16 index (only needed when the text has surrogate pairs)
    let u16: Uint32Array | null = null;
    if (astral) {
      u16 = new Uint32Array(n + 1);
      for (let i = 0, u = 0; i <= n; i++) {
        u16[i] = u;
        if (i < n) u += cps[i]! > 0xffff ? 2 : 1;
      }
    }
    let offsets: number[] = [n];
    for (const step of this.steps) {
      const next: number[] = [];
      let start = 0;
      for (const len of offsets) {
        const end = start + len;
        if (step.kind === 'scan') step.scan(cps, start, end, next);
        else if (step.kind === 'collapsed') regexSplit(step.re, collapsed.slice(start, end), next, null);
        else if (u16 && u16[end]! - u16[start]! !== len) regexSplit(step.re, wtext.slice(u16[start]!, u16[end]!), next, cps.subarray(start, end));
        else if (u16) regexSplit(step.re, wtext.slice(u16[start]!, u16[end]!), next, null);
        else regexSplit(step.re, wtext.slice(start, end), next, null);
        start = end;
      }
      offsets = next;
    }
    // code point lengths -> substrings of the original text
    const words = new Array<string>(offsets.length);
    let cp = 0;
    for (let i = 0; i < offsets.length; i++) {
      const end = cp + offsets[i]!;
      words[i] = u16 ? text.slice(u16[cp]!, u16[end]!) : text.slice(cp, end);
      cp = end;
    }
    return words;
  }
}

const NON_ASCII_WS = /[\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/g;

function collapse(cps: Uint32Array): string {
  const cat = categoryTable();
  const bytes = new Uint8Array(cps.length);
  for (let i = 0; i < cps.length; i++) {
    const c = cps[i]!;
    if (c < 0x80) bytes[i] = c;
    else if (isWhitespace(c)) bytes[i] = C_SPACE;
    else {
      const f = cat[c]!;
      bytes[i] =
        f === F_NUMBER ? C_NUMBER : f === F_LETTER ? C_LETTER : f === F_PUNCTUATION ? C_PUNCT : f === F_MARK ? C_MARK : f === F_SYMBOL ? C_SYMBOL : C_OTHER;
    }
  }
  return latin1.decode(bytes);
}

/**
 * Cut `s` into matches of `re` and the text between them, pushing code point lengths. `chunkCps` is given when
 * `s` has surrogate pairs (then match indices are converted from UTF-16 units to code points).
 */
function regexSplit(re: RegExp, s: string, out: number[], chunkCps: Uint32Array | null): void {
  const toCp = chunkCps ? utf16ToCp(chunkCps) : null;
  const cpAt = (u: number) => (toCp ? toCp[u]! : u);
  re.lastIndex = 0;
  let last = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    const at = m.index;
    const len = m[0].length;
    if (len === 0) {
      re.lastIndex = at + (toCp && at < s.length && s.charCodeAt(at) >= 0xd800 && s.charCodeAt(at) <= 0xdbff ? 2 : 1);
      if (re.lastIndex > s.length) break;
      continue;
    }
    if (at > last) out.push(cpAt(at) - cpAt(last));
    out.push(cpAt(at + len) - cpAt(at));
    last = at + len;
  }
  if (last < s.length) out.push(cpAt(s.length) - cpAt(last));
}

function utf16ToCp(cps: Uint32Array): Uint32Array {
  let units = 0;
  for (const c of cps) units += c > 0xffff ? 2 : 1;
  const map = new Uint32Array(units + 1);
  let u = 0;
  for (let i = 0; i < cps.length; i++) {
    map[u++] = i;
    if (cps[i]! > 0xffff) map[u++] = i;
  }
  map[u] = cps.length;
  return map;
}

const cache = new Map<string, PreTokenizer>();

/** The pre-tokenizer for a `tokenizer.ggml.pre` name. */
export function preTokenizerFor(name: string): PreTokenizer {
  let p = cache.get(name);
  if (!p) {
    const spec = PRE_TOKENIZERS[name];
    if (!spec) throw new Error(`unknown pre-tokenizer type "${name}"`);
    p = new PreTokenizer(name, spec.regexes);
    cache.set(name, p);
  }
  return p;
}

/** Find the pre-tokenizer type whose patterns are exactly `regexes` (used for tokenizer.json files). */
export function preTokenizerNameFor(regexes: readonly string[]): string | undefined {
  const same = (a: readonly string[]) => a.length === regexes.length && a.every((r, i) => r === regexes[i]);
  // Prefer the canonical name of each group.
  for (const name of ['gpt-2', 'llama-bpe', 'qwen2', 'qwen35', 'deepseek-v3', 'deepseek-llm', 'deepseek-coder', 'default']) {
    if (same(PRE_TOKENIZERS[name]!.regexes)) return name;
  }
  for (const [name, spec] of Object.entries(PRE_TOKENIZERS)) if (same(spec.regexes)) return name;
  return undefined;
}
