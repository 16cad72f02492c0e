/**
 * Hugging Face tokenizer.json (+ tokenizer_config.json) -> GGUF tokenizer metadata, the way llama.cpp's
 * convert_hf_to_gguf.py builds it, so that a tokenizer loaded from either source behaves the same.
 *
 * Supported:
 * - byte-level BPE (`model.type = BPE` with a ByteLevel pre-tokenizer or decoder): the pre-tokenizer's Split /
 *   Digits / ByteLevel steps are matched against the known pre-tokenizer types (`pretokenizer.ts`); a pipeline
 *   that matches none is rejected with the patterns it contains;
 * - SentencePiece-style BPE (`byte_fallback`, spaces as U+2581): exported as a `llama` (SentencePiece) vocabulary
 *   whose scores follow the merge order (score = -rank of the merge that forms the token). This reproduces the
 *   BPE merge order for vocabularies whose merges were derived from SentencePiece scores (Llama 2 style);
 *   it is not a general BPE-with-byte-fallback implementation.
 *
 * Token types follow the converter: added tokens that are `special` (or look special: `<|...|>`, `<｜...｜>`,
 * `<pad>`, ...) are CONTROL, other added tokens USER_DEFINED, ids missing from the vocabulary become UNUSED
 * `[PADn]` tokens, the rest NORMAL (SentencePiece style: `<0xNN>` tokens BYTE, the unk token UNKNOWN).
 */
import { Metadata } from '../gguf/metadata.js';
import { gguf, GGUFValueType, type GGUFEntry } from '../gguf/values.js';
import { preTokenizerNameFor, RE_GPT2, RE_GPT2_HF } from './pretokenizer.js';

type Json = Record<string, unknown>;

const TT = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

function obj(v: unknown, what: string): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`tokenizer.json: ${what} is not an object`);
  return v as Json;
}

function parse(v: unknown, what: string): Json | undefined {
  if (v === undefined || v === null) return undefined;
  return obj(typeof v === 'string' ? JSON.parse(v) : v, what);
}

function tokenContent(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && v !== null && typeof (v as Json).content === 'string') return (v as Json).content as string;
  return undefined;
}

function looksSpecial(t: string): boolean {
  return (
    t === '<pad>' || t === '<mask>' || t === '<2mass>' || t === '[@BOS@]' ||
    (t.startsWith('<|') && t.endsWith('|>')) ||
    (t.startsWith('<｜') && t.endsWith('｜>')) ||
    (t.startsWith('<unused') && t.endsWith('>'))
  );
}

function flatten(p: Json | undefined): Json[] {
  if (!p) return [];
  if (p.type === 'Sequence') return ((p.pretokenizers ?? p.normalizers ?? []) as unknown[]).flatMap((x) => flatten(obj(x, 'step')));
  return [p];
}

function escapeRegex(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
}

const HF_CONTRACTIONS = "(?i:'s|'t|'re|'ve|'m|'ll|'d)";
const CONTRACTIONS = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])";

/** The pre-tokenizer's split patterns, spelled as llama.cpp spells them. */
function splitPatterns(steps: Json[]): string[] {
  const out: string[] = [];
  for (const s of steps) {
    switch (s.type) {
      case 'Split': {
        const pat = obj(s.pattern, 'Split.pattern');
        const re = typeof pat.Regex === 'string' ? pat.Regex : typeof pat.String === 'string' ? escapeRegex(pat.String) : undefined;
        if (re === undefined) throw new Error('tokenizer.json: Split without a pattern');
        if (s.behavior !== 'Isolated' || s.invert === true) {
          throw new Error(`tokenizer.json: Split behavior "${String(s.behavior)}"${s.invert ? ' (inverted)' : ''} is not supported`);
        }
        out.push(re.replaceAll(HF_CONTRACTIONS, CONTRACTIONS));
        break;
      }
      case 'Digits':
        out.push(s.individual_digits ? '\\p{N}' : '\\p{N}+');
        break;
      case 'ByteLevel':
        if (s.add_prefix_space === true) throw new Error('tokenizer.json: ByteLevel add_prefix_space is not supported');
        if (s.use_regex !== false) out.push(RE_GPT2);
        break;
      default:
        throw new Error(`tokenizer.json: pre-tokenizer "${String(s.type)}" is not supported`);
    }
  }
  return out.map((r) => (r === RE_GPT2_HF ? RE_GPT2 : r));
}

export interface HFOptions {
  /** Number of rows of the model's embedding (config.json vocab_size); extra ids become UNUSED [PADn]. */
  readonly vocabSize?: number;
}

/** Convert tokenizer.json (object or JSON text) and tokenizer_config.json to GGUF tokenizer metadata. */
export function hfToMetadata(jsonIn: unknown, configIn?: unknown, options: HFOptions = {}): Metadata {
  const json = parse(jsonIn, 'tokenizer.json')!;
  const config = parse(configIn, 'tokenizer_config.json') ?? {};
  const model = obj(json.model, 'model');
  if (model.type !== 'BPE') throw new Error(`tokenizer.json: model type "${String(model.type)}" is not supported (BPE only)`);
  const vocab = obj(model.vocab, 'model.vocab') as Record<string, number>;
  const added = ((json.added_tokens ?? []) as Json[]).map((t) => ({
    id: t.id as number,
    content: t.content as string,
    special: t.special === true,
  }));

  let maxId = -1;
  for (const id of Object.values(vocab)) maxId = Math.max(maxId, id);
  for (const t of added) maxId = Math.max(maxId, t.id);
  const n = Math.max(maxId + 1, options.vocabSize ?? 0);
  const tokens = new Array<string | undefined>(n);
  for (const [t, id] of Object.entries(vocab)) tokens[id] = t;
  const addedById = new Map<number, { content: string; special: boolean }>();
  for (const t of added) {
    tokens[t.id] = t.content;
    addedById.set(t.id, t);
  }

  const preSteps = flatten(parse(json.pre_tokenizer, 'pre_tokenizer'));
  const decoder = flatten(parse(json.decoder, 'decoder'));
  const byteLevel = preSteps.some((s) => s.type === 'ByteLevel') || decoder.some((s) => s.type === 'ByteLevel');
  const spmStyle = !byteLevel && model.byte_fallback === true;
  if (!byteLevel && !spmStyle) throw new Error('tokenizer.json: only byte-level BPE and byte-fallback (SentencePiece-style) BPE are supported');

  const unkText = tokenContent(config.unk_token) ?? (typeof model.unk_token === 'string' ? model.unk_token : undefined);
  const types = new Array<number>(n);
  const texts = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    const t = tokens[i];
    if (t === undefined) {
      texts[i] = `[PAD${i}]`;
      types[i] = TT.UNUSED;
      continue;
    }
    const a = addedById.get(i);
    if (a) {
      if (a.special || looksSpecial(t)) {
        texts[i] = t;
        types[i] = spmStyle && t === unkText ? TT.UNKNOWN : TT.CONTROL;
      } else {
        texts[i] = t.replaceAll('\u2581', ' ');
        types[i] = TT.USER_DEFINED;
      }
      continue;
    }
    texts[i] = t;
    types[i] = spmStyle && /^<0x[0-9A-Fa-f]{2}>$/.test(t) ? TT.BYTE : spmStyle && t === unkText ? TT.UNKNOWN : TT.NORMAL;
  }

  const merges = ((model.merges ?? []) as unknown[]).map((m) => (Array.isArray(m) ? `${m[0]} ${m[1]}` : String(m)));

  const e = new Map<string, GGUFEntry>();
  const K = 'tokenizer.ggml.';
  if (byteLevel) {
    const patterns = splitPatterns(preSteps);
    const pre = preTokenizerNameFor(patterns);
    if (!pre) throw new Error(`tokenizer.json: unknown pre-tokenizer patterns ${JSON.stringify(patterns)}`);
    e.set(`${K}model`, gguf.str('gpt2'));
    e.set(`${K}pre`, gguf.str(pre));
  } else {
    e.set(`${K}model`, gguf.str('llama'));
    e.set(`${K}pre`, gguf.str('default'));
  }
  e.set(`${K}tokens`, gguf.arr(GGUFValueType.STRING, texts));
  e.set(`${K}token_type`, gguf.arr(GGUFValueType.INT32, types));
  if (byteLevel) {
    e.set(`${K}merges`, gguf.arr(GGUFValueType.STRING, merges));
  } else {
    const idOf = new Map<string, number>();
    texts.forEach((t, i) => idOf.set(t, i));
    const scores = new Array<number>(n).fill(0);
    const scored = new Uint8Array(n);
    merges.forEach((m, rank) => {
      const sp = m.indexOf(' ', 1);
      if (sp < 0) return;
      const id = idOf.get(m.slice(0, sp) + m.slice(sp + 1));
      if (id !== undefined && !scored[id]) {
        scored[id] = 1;
        scores[id] = -rank;
      }
    });
    // multi-character tokens no merge forms (added and byte tokens) go last
    for (let i = 0; i < n; i++) if (!scored[i] && [...texts[i]!].length > 1) scores[i] = -1e9;
    e.set(`${K}scores`, gguf.arr(GGUFValueType.FLOAT32, scores));
    const norm = flatten(parse(json.normalizer, 'normalizer'));
    const prefix =
      norm.some((s) => s.type === 'Prepend' && s.prepend === '\u2581') ||
      preSteps.some((s) => s.type === 'Metaspace' && (s.add_prefix_space === true || s.prepend_scheme === 'always' || s.prepend_scheme === 'first'));
    e.set(`${K}add_space_prefix`, gguf.bool(prefix));
  }

  // special tokens: tokenizer_config.json first, then the post-processor template
  const idOfText = (t: string | undefined) => {
    if (t === undefined) return undefined;
    const a = added.find((x) => x.content === t);
    return a ? a.id : vocab[t];
  };
  const setId = (key: string, text: string | undefined) => {
    const id = idOfText(text);
    if (id !== undefined) e.set(`${K}${key}`, gguf.u32(id));
  };
  let bosText = tokenContent(config.bos_token);
  let eosText = tokenContent(config.eos_token);
  let addBos = typeof config.add_bos_token === 'boolean' ? config.add_bos_token : undefined;
  let addEos = typeof config.add_eos_token === 'boolean' ? config.add_eos_token : undefined;
  const post = parse(json.post_processor, 'post_processor');
  const templ = post && post.type === 'TemplateProcessing' ? post : flatten(post).find((p) => p.type === 'TemplateProcessing');
  if (templ && Array.isArray(templ.single)) {
    const single = templ.single as Json[];
    const first = single[0]?.SpecialToken as Json | undefined;
    const last = single[single.length - 1]?.SpecialToken as Json | undefined;
    if (addBos === undefined) addBos = first !== undefined;
    if (addEos === undefined) addEos = last !== undefined && single.length > 1;
    if (first && bosText === undefined) bosText = first.id as string;
    if (last && single.length > 1 && eosText === undefined) eosText = last.id as string;
  }
  setId('bos_token_id', bosText);
  setId('eos_token_id', eosText);
  setId('unknown_token_id', unkText);
  setId('padding_token_id', tokenContent(config.pad_token));
  setId('seperator_token_id', tokenContent(config.sep_token));
  setId('mask_token_id', tokenContent(config.mask_token));
  if (addBos !== undefined) e.set(`${K}add_bos_token`, gguf.bool(addBos));
  if (addEos !== undefined) e.set(`${K}add_eos_token`, gguf.bool(addEos));
  let template = config.chat_template;
  if (Array.isArray(template)) template = (template as Json[]).find((t) => t.name === 'default')?.template;
  if (typeof template === 'string') e.set('tokenizer.chat_template', gguf.str(template));
  return new Metadata(e);
}
