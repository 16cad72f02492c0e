/**
 * The tokenizer: vocabulary and special tokens from GGUF metadata, encode/decode with llama.cpp's semantics.
 *
 * Supported GGUF tokenizer models: `gpt2` (byte-level BPE, any pre-tokenizer type in `pretokenizer.ts`) and
 * `llama` (SentencePiece: score-based merging, byte fallback, U+2581 for spaces, optional leading space).
 *
 * Behaviour follows llama.cpp's `llama_vocab` step by step, so ids match `llama_tokenize` exactly:
 * - token attributes from `tokenizer.ggml.token_type`, then llama.cpp's corrections by token text (EOT/EOM/FIM
 *   tokens recognised by their text become CONTROL; "unused" control tokens become UNUSED; the end-of-generation
 *   set is collected by text; Phi-3's special tokens strip whitespace to their right);
 * - special/added tokens are cut out of the text before pre-tokenization, longest first
 *   (`tokenizer_st_partition`): CONTROL and UNKNOWN tokens only when `parseSpecial` is set, USER_DEFINED
 *   tokens always;
 * - decoding renders CONTROL/UNKNOWN tokens only when special tokens are not skipped, USER_DEFINED tokens always.
 *
 * Text is handled as JavaScript strings; lone surrogates are read as U+FFFD (what a UTF-8 round trip gives).
 */
import type { GGUFEntry } from '../gguf/values.js';
import type { Metadata } from '../gguf/metadata.js';
import { BpeMerger } from './bpe.js';
import { hfToMetadata } from './hf.js';
import { PRE_TOKENIZERS, preTokenizerFor, type PreTokenizer } from './pretokenizer.js';
import { SpmMerger } from './spm.js';
import { byteEncode, CHAR_TO_BYTE, decodeUtf8, utf8, utf8Length, wellFormed } from './unicode.js';

/** GGUF `tokenizer.ggml.token_type` values. */
export const TokenType = {
  UNDEFINED: 0,
  NORMAL: 1,
  UNKNOWN: 2,
  CONTROL: 3,
  USER_DEFINED: 4,
  UNUSED: 5,
  BYTE: 6,
} as const;

/** Token attribute bits (llama.cpp's `llama_token_attr`). */
export const TokenAttr = {
  UNDEFINED: 0,
  UNKNOWN: 1 << 0,
  UNUSED: 1 << 1,
  NORMAL: 1 << 2,
  CONTROL: 1 << 3,
  USER_DEFINED: 1 << 4,
  BYTE: 1 << 5,
  NORMALIZED: 1 << 6,
  LSTRIP: 1 << 7,
  RSTRIP: 1 << 8,
  SINGLE_WORD: 1 << 9,
} as const;

const A = TokenAttr;
const TYPE_TO_ATTR: Record<number, number> = {
  [TokenType.UNDEFINED]: A.UNDEFINED,
  [TokenType.NORMAL]: A.NORMAL,
  [TokenType.UNKNOWN]: A.UNKNOWN,
  [TokenType.CONTROL]: A.CONTROL,
  [TokenType.USER_DEFINED]: A.USER_DEFINED,
  [TokenType.UNUSED]: A.UNUSED,
  [TokenType.BYTE]: A.BYTE,
};

export interface EncodeOptions {
  /** Add BOS/EOS as the model's add_bos_token/add_eos_token flags say. Default false. */
  readonly addSpecial?: boolean;
  /** Recognise the text of CONTROL tokens (e.g. `<|im_start|>`) as those tokens. Default false. */
  readonly parseSpecial?: boolean;
}

export interface DecodeOptions {
  /** Drop CONTROL and UNKNOWN tokens (and a leading BOS / trailing EOS the model adds). Default false. */
  readonly skipSpecial?: boolean;
  /**
   * Apply llama.cpp's detokenizer clean-up (" ," -> ",", " 's" -> "'s", ...). Default false, so that
   * decode(encode(s)) === s and decode agrees with the streaming decoder; pass `tokenizer.cleanSpaces` to get
   * exactly what `llama_detokenize` returns.
   */
  readonly cleanSpaces?: boolean;
}

/** Turns a stream of token ids into text, holding back UTF-8 sequences split across tokens. */
export interface StreamDecoder {
  /** The text that became complete with this token (possibly ""). */
  push(id: number): string;
  /** The rest (an incomplete UTF-8 sequence at the end becomes U+FFFD). */
  flush(): string;
}

// Token texts llama.cpp recognises when the file does not name the token (llama-vocab.cpp, `load`).
const EOT_TEXTS = [
  '<|eot_id|>', '<|im_end|>', '<|end|>', '<end_of_turn>', '<|endoftext|>', '<|end_of_text|>', '<EOT>', '_<EOT>', '[EOT]',
  '<｜end▁of▁sentence｜>', '<end_of_utterance>',
];
const EOM_TEXTS = ['<|eom_id|>'];
const FIM_PRE_TEXTS = ['<|fim_prefix|>', '<fim-prefix>', '<fim_prefix>', '<｜fim▁begin｜>', '<PRE>', '▁<PRE>', '<|code_prefix|>', '<|prefix|>'];
const FIM_SUF_TEXTS = ['<|fim_suffix|>', '<fim-suffix>', '<fim_suffix>', '<｜fim▁hole｜>', '<SUF>', '▁<SUF>', '<|code_suffix|>', '<|suffix|>'];
const FIM_MID_TEXTS = ['<|fim_middle|>', '<fim-middle>', '<fim_middle>', '<｜fim▁end｜>', '<MID>', '▁<MID>', '<|code_middle|>', '<|middle|>'];
const FIM_PAD_TEXTS = ['<|fim_pad|>', '<fim-pad>', '<fim_pad>', '<PAD>', '[PAD]'];
const FIM_REP_TEXTS = ['<|fim_repo|>', '<|repo_name|>', '<fim-repo>', '<REPO>', '<reponame>'];
const FIM_SEP_TEXTS = ['<|file_sep|>'];
const EOG_TEXTS = new Set([
  '<|eot_id|>', '<|im_end|>', '<|end|>', '<|return|>', '<|call|>', '<|flush|>', '<|calls|>', '<end_of_turn>', '<|endoftext|>',
  '</s>', '<|eom_id|>', '<EOT>', '_<EOT>', '[EOT]', '[EOS]', '<|end_of_text|>', '<end_of_utterance>', '<eos>', '<turn|>',
  '<|tool_response>', '<｜end▁of▁sentence｜>', '[e~[',
]);

const K = 'tokenizer.ggml.';
const ID_KEYS = {
  bos: `${K}bos_token_id`,
  eos: `${K}eos_token_id`,
  eot: `${K}eot_token_id`,
  eom: `${K}eom_token_id`,
  unk: `${K}unknown_token_id`,
  sep: `${K}seperator_token_id`, // sic: llama.cpp's key
  pad: `${K}padding_token_id`,
  mask: `${K}mask_token_id`,
  fimPre: `${K}fim_pre_token_id`,
  fimSuf: `${K}fim_suf_token_id`,
  fimMid: `${K}fim_mid_token_id`,
  fimPad: `${K}fim_pad_token_id`,
  fimRep: `${K}fim_rep_token_id`,
  fimSep: `${K}fim_sep_token_id`,
} as const;
type SpecialName = keyof typeof ID_KEYS;
const DEPRECATED_FIM_KEYS: ReadonlyArray<[string, SpecialName]> = [
  [`${K}prefix_token_id`, 'fimPre'],
  [`${K}suffix_token_id`, 'fimSuf'],
  [`${K}middle_token_id`, 'fimMid'],
];

type Fragment = string | number; // raw text or a token id
interface TrieNode {
  readonly next: Map<number, TrieNode>;
  id: number;
}

const WORD_CACHE_LIMIT = 1 << 17;

export class Tokenizer {
  /** GGUF tokenizer model: 'gpt2' (byte-level BPE) or 'llama' (SentencePiece). */
  readonly model: 'gpt2' | 'llama';
  /** Pre-tokenizer type (BPE only). */
  readonly pre: string | undefined;
  readonly vocabSize: number;
  readonly bos: number | undefined;
  readonly eos: number | undefined;
  readonly eot: number | undefined;
  readonly eom: number | undefined;
  readonly unk: number | undefined;
  readonly pad: number | undefined;
  readonly sep: number | undefined;
  readonly mask: number | undefined;
  readonly fim: Readonly<{ pre?: number; suf?: number; mid?: number; pad?: number; rep?: number; sep?: number }>;
  /** Newline token (the first token of "\n"). */
  readonly nl: number | undefined;
  readonly addBos: boolean;
  readonly addEos: boolean;
  readonly addSpacePrefix: boolean;
  /** llama.cpp's clean_up_tokenization_spaces flag for this model (see DecodeOptions.cleanSpaces). */
  readonly cleanSpaces: boolean;
  readonly ignoreMerges: boolean;
  /** Tokens that end generation (llama.cpp's EOG set). */
  readonly eogIds: ReadonlySet<number>;
  /** tokenizer.chat_template, if the file has one. */
  readonly chatTemplate: string | undefined;

  private readonly tokens: readonly string[];
  private readonly attrs: Uint16Array;
  private readonly tokenToId: Map<string, number>;
  private readonly specials: readonly number[];
  /** trie of the special tokens' texts (UTF-16 units), to find which occur in a text in one pass */
  private readonly specialTrie: TrieNode = { next: new Map(), id: -1 };
  private readonly specialFirstUnit = new Uint8Array(0x10000);
  private readonly pretok: PreTokenizer | null;
  private readonly bpe: BpeMerger | null;
  private readonly spm: SpmMerger | null;
  private readonly wordCache = new Map<string, readonly number[]>();
  /** SentencePiece: UTF-16 units x such that some token contains "x▁" */
  private readonly spmNoCutBefore = new Set<number>();
  private readonly pieces: Array<Uint8Array | undefined>;
  private readonly source: ReadonlyMap<string, GGUFEntry>;

  private constructor(md: Metadata) {
    const model = md.requireString(`${K}model`);
    if (model !== 'gpt2' && model !== 'llama') {
      throw new Error(`tokenizer model "${model}" is not supported (supported: gpt2, llama)`);
    }
    this.model = model;
    const tokens = md.stringArray(`${K}tokens`);
    if (!tokens) throw new Error(`metadata "${K}tokens": required key is missing`);
    const n = tokens.length;
    this.vocabSize = n;
    const scores = md.numberArray(`${K}scores`);
    if (scores && scores.length < n) throw new Error(`metadata "${K}scores": ${scores.length} scores for ${n} tokens`);
    const types = md.numberArray(`${K}token_type`);
    if (types && types.length < n) throw new Error(`metadata "${K}token_type": ${types.length} types for ${n} tokens`);

    const texts = new Array<string>(n);
    const tokenToId = new Map<string, number>();
    const attrs = new Uint16Array(n);
    for (let i = 0; i < n; i++) {
      const t = tokens[i]!.length === 0 ? `[EMPTY_${i}]` : tokens[i]!;
      texts[i] = t;
      tokenToId.set(t, i);
      attrs[i] = types ? (TYPE_TO_ATTR[types[i]!] ?? A.UNDEFINED) : A.NORMAL;
    }
    this.tokens = texts;
    this.tokenToId = tokenToId;
    this.attrs = attrs;

    // model defaults (llama.cpp)
    const ids: Record<SpecialName, number | undefined> = {
      bos: undefined, eos: undefined, eot: undefined, eom: undefined, unk: undefined, sep: undefined, pad: undefined,
      mask: undefined, fimPre: undefined, fimSuf: undefined, fimMid: undefined, fimPad: undefined, fimRep: undefined,
      fimSep: undefined,
    };
    let addBos = false;
    let addEos = false;
    let addSpacePrefix = false;
    let cleanSpaces = true;
    let ignoreMerges = false;
    let pre: string | undefined;
    if (model === 'llama') {
      ids.bos = 1;
      ids.eos = 2;
      ids.unk = 0;
      addSpacePrefix = true;
      addBos = true;
      cleanSpaces = false;
    } else {
      ids.bos = 11;
      ids.eos = 11;
      pre = md.string(`${K}pre`) || 'default';
      const spec = PRE_TOKENIZERS[pre];
      if (!spec) throw new Error(`unknown pre-tokenizer type "${pre}"`);
      cleanSpaces = spec.cleanSpaces ?? true;
      ignoreMerges = spec.ignoreMerges ?? false;
      addBos = spec.addBos ?? false;
      if (spec.noBos) ids.bos = undefined;
    }
    addSpacePrefix = md.bool(`${K}add_space_prefix`) ?? addSpacePrefix;
    this.pre = pre;

    for (const [name, key] of Object.entries(ID_KEYS) as Array<[SpecialName, string]>) {
      if (ids[name] !== undefined && ids[name]! >= n) ids[name] = undefined;
      const v = md.number(key);
      if (v !== undefined && v >= 0 && v < n) ids[name] = v;
    }
    for (const [key, name] of DEPRECATED_FIM_KEYS) {
      const v = md.number(key);
      if (v !== undefined && v >= 0 && v < n) ids[name] = v;
    }
    addBos = md.bool(`${K}add_bos_token`) ?? addBos;
    addEos = md.bool(`${K}add_eos_token`) ?? addEos;

    // Special tokens recognised by their text, when the file does not name them. The first text of each list
    // that is in the vocabulary wins (llama.cpp takes whichever its hash map yields first).
    const byText = (list: readonly string[], name: SpecialName) => {
      if (ids[name] !== undefined) return;
      for (const t of list) {
        const id = tokenToId.get(t);
        if (id === undefined) continue;
        ids[name] = id;
        attrs[id] |= A.CONTROL;
        return;
      }
    };
    byText(EOT_TEXTS, 'eot');
    byText(EOM_TEXTS, 'eom');
    byText(FIM_PRE_TEXTS, 'fimPre');
    byText(FIM_SUF_TEXTS, 'fimSuf');
    byText(FIM_MID_TEXTS, 'fimMid');
    byText(FIM_PAD_TEXTS, 'fimPad');
    byText(FIM_REP_TEXTS, 'fimRep');
    byText(FIM_SEP_TEXTS, 'fimSep');

    // control tokens named "...unused..." are unused
    for (let i = 0; i < n; i++) {
      if (attrs[i]! & A.CONTROL && texts[i]!.includes('unused')) attrs[i] |= A.UNUSED;
    }

    // end-of-generation set
    const eog = new Set<number>();
    for (const name of ['fimPad', 'fimRep', 'fimSep'] as const) if (ids[name] !== undefined) eog.add(ids[name]!);
    for (const [t, id] of tokenToId) {
      if (EOG_TEXTS.has(t)) {
        eog.add(id);
        attrs[id] |= A.CONTROL;
      }
    }
    for (const t of ['<|channel|>', '<|message|>', '<|start|>', '<|constrain|>']) {
      const id = tokenToId.get(t);
      if (id !== undefined) attrs[id] = A.USER_DEFINED;
    }
    for (const name of ['eos', 'eot', 'eom'] as const) if (ids[name] !== undefined) eog.add(ids[name]!);
    {
      const textIn = (t: string) => [...eog].some((id) => texts[id] === t);
      const hasCall = textIn('<|call|>') || textIn('<|calls|>');
      if ((textIn('<|return|>') && hasCall) || (hasCall && textIn('<|flush|>'))) {
        for (const id of [...eog]) {
          if (texts[id] === '<|end|>') {
            eog.delete(id);
            attrs[id] = A.USER_DEFINED;
          }
        }
      }
      if (textIn('<|tool_response>')) {
        for (const id of [...eog]) {
          if (texts[id] === '</s>') {
            eog.delete(id);
            attrs[id] = A.NORMAL;
          }
        }
      }
    }
    this.eogIds = eog;

    // special tokens cache: longest (in UTF-8 bytes) first
    const specials: number[] = [];
    for (let i = 0; i < n; i++) if (attrs[i]! & (A.CONTROL | A.USER_DEFINED | A.UNKNOWN)) specials.push(i);
    const blen = new Map(specials.map((id) => [id, utf8Length(texts[id]!)]));
    specials.sort((a, b) => blen.get(b)! - blen.get(a)! || a - b);
    this.specials = specials;
    for (const id of specials) {
      const t = texts[id]!;
      let node = this.specialTrie;
      for (let i = 0; i < t.length; i++) {
        const c = t.charCodeAt(i);
        let nx = node.next.get(c);
        if (!nx) node.next.set(c, (nx = { next: new Map(), id: -1 }));
        node = nx;
      }
      node.id = id;
      this.specialFirstUnit[t.charCodeAt(0)] = 1;
    }

    // per-model attributes llama.cpp sets by name
    const name = (md.string('general.name') ?? '').toLowerCase();
    const arch = md.string('general.architecture') ?? '';
    const setAttr = (t: string, bit: number, on: boolean) => {
      const id = tokenToId.get(t);
      if (id !== undefined) attrs[id] = on ? attrs[id]! | bit : attrs[id]! & ~bit;
    };
    if (['jina-v2-de', 'jina-v2-es', 'jina-v2-code'].some((s) => (pre ?? '').includes(s)) || ['nomic-bert-moe', 'jina-bert-v3'].some((s) => arch.includes(s))) {
      setAttr('<mask>', A.LSTRIP, true);
    } else if (name.includes('phi-3') || name.includes('phi3')) {
      for (const id of specials) attrs[id] |= A.RSTRIP;
      setAttr('</s>', A.RSTRIP, true);
      for (const t of ['<unk>', '<s>', '<|endoftext|>']) setAttr(t, A.RSTRIP, false);
    } else if (name.includes('modern-bert')) {
      setAttr('[MASK]', A.LSTRIP, true);
    }

    this.bos = ids.bos;
    this.eos = ids.eos;
    this.eot = ids.eot;
    this.eom = ids.eom;
    this.unk = ids.unk;
    this.pad = ids.pad;
    this.sep = ids.sep;
    this.mask = ids.mask;
    this.fim = { pre: ids.fimPre, suf: ids.fimSuf, mid: ids.fimMid, pad: ids.fimPad, rep: ids.fimRep, sep: ids.fimSep };
    this.addBos = addBos;
    this.addEos = addEos;
    this.addSpacePrefix = addSpacePrefix;
    this.cleanSpaces = cleanSpaces;
    this.ignoreMerges = ignoreMerges;
    this.chatTemplate = md.string('tokenizer.chat_template');

    if (model === 'gpt2') {
      const merges = md.stringArray(`${K}merges`);
      if (!merges) throw new Error(`metadata "${K}merges": required key is missing`);
      this.pretok = preTokenizerFor(pre!);
      this.bpe = new BpeMerger({ merges, tokenToId, fallback: 'byte-level' });
      this.spm = null;
    } else {
      const sc = scores ?? new Array<number>(n).fill(0);
      this.pretok = null;
      this.bpe = null;
      this.spm = new SpmMerger(tokenToId, sc, (b) => this.byteToken(b));
      for (const t of texts) {
        for (let i = t.indexOf('\u2581', 1); i > 0; i = t.indexOf('\u2581', i + 1)) this.spmNoCutBefore.add(t.charCodeAt(i - 1));
      }
    }
    this.pieces = new Array(n);

    // keep the tokenizer section of the file for toMetadata()
    const source = new Map<string, GGUFEntry>();
    for (const key of md.keys()) if (key.startsWith('tokenizer.')) source.set(key, md.get(key)!);
    this.source = source;

    const nlIds = model === 'llama' ? [this.byteToken(0x0a)] : this.encode('\n');
    this.nl = nlIds[0] ?? this.pad;
  }

  /** A tokenizer from GGUF metadata (the `tokenizer.ggml.*` keys; `general.name` for model-specific rules). */
  static fromMetadata(md: Metadata): Tokenizer {
    return new Tokenizer(md);
  }

  /**
   * A tokenizer from a Hugging Face tokenizer.json (and optionally tokenizer_config.json), converted the way
   * llama.cpp's convert_hf_to_gguf.py does. See `hf.ts`.
   */
  static fromHFTokenizerJson(json: unknown, tokenizerConfig?: unknown, options?: { vocabSize?: number }): Tokenizer {
    return new Tokenizer(hfToMetadata(json, tokenizerConfig, options));
  }

  // ---------------------------------------------------------------------------------------------------------
  // queries

  /** Text of a token as stored in the vocabulary. */
  tokenText(id: number): string {
    const t = this.tokens[id];
    if (t === undefined) throw new RangeError(`token id ${id} is out of range (vocabulary size ${this.vocabSize})`);
    return t;
  }
  /** The id of the token whose vocabulary text is exactly `text`. */
  tokenId(text: string): number | undefined {
    return this.tokenToId.get(text);
  }
  /** Attribute bits (TokenAttr) of a token. */
  tokenAttr(id: number): number {
    this.tokenText(id);
    return this.attrs[id]!;
  }
  /** A special token: CONTROL, USER_DEFINED or UNKNOWN (the tokens the special-token partition cuts out). */
  isSpecial(id: number): boolean {
    return (this.tokenAttr(id) & (A.CONTROL | A.USER_DEFINED | A.UNKNOWN)) !== 0;
  }
  isControl(id: number): boolean {
    return (this.tokenAttr(id) & A.CONTROL) !== 0;
  }
  isEog(id: number): boolean {
    return this.eogIds.has(id);
  }

  // ---------------------------------------------------------------------------------------------------------
  // encoding

  encode(text: string, options: EncodeOptions = {}): number[] {
    const addSpecial = options.addSpecial ?? false;
    const out: number[] = [];
    const fragments = text.length > 0 ? this.partition(wellFormed(text), options.parseSpecial ?? false) : [];
    if (addSpecial && this.addBos) {
      if (this.bos === undefined) throw new Error('the model adds a BOS token but has none');
      out.push(this.bos);
    }
    if (this.spm) {
      let prevSpecial = true;
      for (const f of fragments) {
        if (typeof f === 'number') {
          out.push(f);
          prevSpecial = true;
          continue;
        }
        const t = (this.addSpacePrefix && prevSpecial ? ' ' + f : f).replaceAll(' ', '\u2581');
        this.encodeSpmFragment(t, out);
        prevSpecial = false;
      }
    } else {
      for (const f of fragments) {
        if (typeof f === 'number') out.push(f);
        else this.encodeBpeFragment(f, out);
      }
    }
    if (addSpecial && this.addEos) {
      if (this.eos === undefined) throw new Error('the model adds an EOS token but has none');
      out.push(this.eos);
    }
    return out;
  }

  /**
   * SentencePiece merging runs over the whole fragment, but no merge can cross a point where the text has
   * "x▁" and no vocabulary token contains "x▁"; cutting there (before most words) gives the same result and
   * lets the pieces be cached.
   */
  private encodeSpmFragment(t: string, out: number[]): void {
    const bad = this.spmNoCutBefore;
    let start = 0;
    for (let i = 1; i <= t.length; i++) {
      if (i < t.length && (t.charCodeAt(i) !== 0x2581 || bad.has(t.charCodeAt(i - 1)))) continue;
      const piece = t.slice(start, i);
      start = i;
      const cached = this.wordCache.get(piece);
      if (cached) {
        for (const id of cached) out.push(id);
        continue;
      }
      const ids: number[] = [];
      this.spm!.encode(piece, ids);
      if (this.wordCache.size >= WORD_CACHE_LIMIT) this.wordCache.clear();
      this.wordCache.set(piece, ids);
      for (const id of ids) out.push(id);
    }
  }

  private encodeBpeFragment(text: string, out: number[]): void {
    const bpe = this.bpe!;
    for (const word of this.pretok!.split(text)) {
      const cached = this.wordCache.get(word);
      if (cached) {
        for (const id of cached) out.push(id);
        continue;
      }
      const ids: number[] = [];
      const encoded = byteEncode(word);
      const whole = this.ignoreMerges ? bpe.tokenOf(encoded) : -1;
      if (whole >= 0) ids.push(whole);
      else bpe.encode(encoded, ids);
      if (this.wordCache.size >= WORD_CACHE_LIMIT) this.wordCache.clear();
      this.wordCache.set(word, ids);
      for (const id of ids) out.push(id);
    }
  }

  /** Cut special tokens out of the text, as llama.cpp's tokenizer_st_partition. */
  private partition(text: string, parseSpecial: boolean): Fragment[] {
    // Only tokens that occur somewhere in the text can change the result; find them in one pass.
    const present = new Set<number>();
    const first = this.specialFirstUnit;
    for (let i = 0; i < text.length; i++) {
      if (first[text.charCodeAt(i)] === 0) continue;
      let node: TrieNode | undefined = this.specialTrie;
      for (let j = i; j < text.length; j++) {
        node = node.next.get(text.charCodeAt(j));
        if (!node) break;
        if (node.id >= 0) present.add(node.id);
      }
    }
    if (present.size === 0) return [text];
    // fragments: [start, end) of the text, or a token (start = -1)
    let frags: Array<{ s: number; e: number; id: number }> = [{ s: 0, e: text.length, id: -1 }];
    for (const id of this.specials) {
      if (!present.has(id)) continue;
      const attr = this.attrs[id]!;
      if (!parseSpecial && attr & (A.CONTROL | A.UNKNOWN)) continue;
      const tok = this.tokens[id]!;
      const next: typeof frags = [];
      for (const f of frags) {
        if (f.id >= 0) {
          next.push(f);
          continue;
        }
        let s = f.s;
        let e = f.e;
        for (;;) {
          const at = text.indexOf(tok, s);
          if (at < 0 || at + tok.length > e) break;
          if (at > s) {
            let le = at;
            if (attr & A.LSTRIP) while (le > s && isCSpace(text.charCodeAt(le - 1))) le--;
            if (le > s) next.push({ s, e: le, id: -1 });
          }
          next.push({ s: -1, e: -1, id });
          s = at + tok.length;
          if (attr & A.RSTRIP) while (s < e && isCSpace(text.charCodeAt(s))) s++;
          if (s >= e) break;
        }
        if (s < e) next.push({ s, e, id: -1 });
      }
      frags = next;
    }
    return frags.map((f) => (f.id >= 0 ? f.id : text.slice(f.s, f.e)));
  }

  private byteToken(b: number): number {
    const hex = `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`;
    const id = this.tokenToId.get(hex) ?? this.tokenToId.get(String.fromCharCode(b));
    if (id === undefined) throw new Error(`the vocabulary has no token for byte 0x${b.toString(16)}`);
    return id;
  }

  // ---------------------------------------------------------------------------------------------------------
  // decoding

  /** The bytes a token stands for (llama.cpp's token_to_piece). `special`: render CONTROL/UNKNOWN tokens. */
  tokenToBytes(id: number, options: { special?: boolean } = {}): Uint8Array {
    const attr = this.tokenAttr(id);
    if (!(options.special ?? true) && attr & (A.CONTROL | A.UNKNOWN)) return EMPTY;
    return (this.pieces[id] ??= this.computePiece(id, attr));
  }

  /** The text of a token's bytes (an incomplete UTF-8 sequence shows as U+FFFD; use createStreamDecoder for streams). */
  tokenToPiece(id: number, options: { special?: boolean } = {}): string {
    return decodeUtf8(this.tokenToBytes(id, options));
  }

  private computePiece(id: number, attr: number): Uint8Array {
    const text = this.tokens[id]!;
    if (attr & (A.CONTROL | A.UNKNOWN | A.USER_DEFINED)) return utf8(text);
    if (attr & A.NORMAL) {
      if (this.model === 'llama') return utf8(text.replaceAll('\u2581', ' '));
      return byteLevelDecode(text);
    }
    if (attr & A.BYTE) return Uint8Array.of(parseInt(text.slice(3, 5), 16));
    return EMPTY;
  }

  /** Text of a token sequence (llama.cpp's detokenize with remove_special = unparse_special negated). */
  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    const skip = options.skipSpecial ?? false;
    let start = 0;
    let end = ids.length;
    let removeSpace = this.addSpacePrefix;
    if (skip && this.addBos && end > 0 && ids[0] === this.bos) {
      removeSpace = false;
      start++;
    }
    if (skip && this.addEos && end > start && ids[end - 1] === this.eos) end--;
    const parts: Uint8Array[] = [];
    let total = 0;
    for (let i = start; i < end; i++) {
      let b = this.tokenToBytes(ids[i]!, { special: !skip });
      if (removeSpace && b.length > 0 && b[0] === 0x20) b = b.subarray(1);
      removeSpace = false;
      parts.push(b);
      total += b.length;
    }
    const all = new Uint8Array(total);
    let o = 0;
    for (const p of parts) {
      all.set(p, o);
      o += p.length;
    }
    const text = decodeUtf8(all);
    return options.cleanSpaces ? cleanUpSpaces(text) : text;
  }

  /** A decoder for generated tokens that never emits half of a UTF-8 sequence. */
  createStreamDecoder(options: { skipSpecial?: boolean } = {}): StreamDecoder {
    const special = !(options.skipSpecial ?? false);
    const dec = new TextDecoder('utf-8', { ignoreBOM: true });
    return {
      push: (id: number) => dec.decode(this.tokenToBytes(id, { special }), { stream: true }),
      flush: () => dec.decode(),
    };
  }

  // ---------------------------------------------------------------------------------------------------------
  // GGUF

  /** The GGUF metadata entries of this tokenizer (all `tokenizer.*` keys), for writing a model file. */
  toMetadata(): Map<string, GGUFEntry> {
    return new Map(this.source);
  }
}

const EMPTY = new Uint8Array(0);

/** C isspace() in the "C" locale. */
function isCSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

/** Byte-level token text -> bytes (llama.cpp's llama_decode_text, including its marker for unmapped chars). */
function byteLevelDecode(text: string): Uint8Array {
  const out: number[] = [];
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    const b = c < 512 ? CHAR_TO_BYTE[c]! : -1;
    if (b >= 0) {
      out.push(b);
      continue;
    }
    const u = utf8(ch);
    const marker = `[UNK_BYTE_0x${[...u].map((x) => x.toString(16).padStart(2, '0')).join('')}${text}]`;
    for (const x of utf8(marker)) out.push(x);
  }
  return Uint8Array.from(out);
}

/** llama.cpp's detokenizer clean-up of spaces before punctuation and around apostrophes (same in-place passes). */
export function cleanUpSpaces(s: string): string {
  const t = s.split('');
  let total = t.length;
  // pass 1: " ?", " !", " .", " ," lose the space
  {
    const n = total;
    total = n ? 1 : 0;
    for (let i = 1; i < n; i++) {
      const x = t[i]!;
      if (t[i - 1] === ' ' && (x === '?' || x === '!' || x === '.' || x === ',')) total--;
      t[total++] = x;
    }
  }
  // pass 2: a lone apostrophe between spaces loses both spaces
  {
    const n = total;
    total = n ? 1 : 0;
    for (let i = 1; i < n; i++) {
      const x = t[i]!;
      if (x === "'" && i + 1 < n && t[i - 1] === ' ' && t[i + 1] === ' ') {
        total--;
        t[++i] = '\0';
      }
      t[total++] = x;
    }
  }
  // pass 3: " 's", " 'm", " 're", " 've" lose the space
  {
    const n = total;
    total = n ? 1 : 0;
    for (let i = 1; i < n; i++) {
      const x = t[i]!;
      if (t[i - 1] === ' ' && x === "'" && i + 1 < n) {
        const x1 = t[i + 1];
        if (x1 === 's' || x1 === 'm') total--;
        else if (x1 !== 't' && x1 !== 'd' && i + 2 < n) {
          const x2 = t[i + 2];
          if ((x1 === 'r' && x2 === 'e') || (x1 === 'v' && x2 === 'e')) total--;
        }
      }
      t[total++] = x;
    }
  }
  return t.slice(0, total).join('');
}
