/**
 * Tokenizers from Hugging Face tokenizer.json: a tokenizer.json is assembled from each fixture vocabulary (its
 * normal tokens as `model.vocab`, control and user-defined tokens as `added_tokens`, the pre-tokenizer pipeline as
 * the model's own tokenizer.json spells it), and the tokenizer built from it must encode exactly like the one
 * built from the GGUF file. The converted metadata must also load in llama.cpp and tokenize the same there.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { GGUFFile, gguf, writeGGUF } from '../../src/gguf/index.js';
import { PRE_TOKENIZERS, Tokenizer } from '../../src/tokenizer/index.js';
import { loadTokenizer, readVectors, rng, vocabPath } from './helpers.js';
import { llamaCpp, tempDir } from './llama-cpp.js';
import { randomText } from './random-text.js';

type Json = Record<string, unknown>;

const split = (regex: string): Json => ({ type: 'Split', pattern: { Regex: regex }, behavior: 'Isolated', invert: false });
const byteLevel = (useRegex: boolean): Json => ({ type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: useRegex });
const HF_LLAMA3 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const HF_QWEN2 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const DS3 = PRE_TOKENIZERS['deepseek-v3']!.regexes;
const DSLLM = PRE_TOKENIZERS['deepseek-llm']!.regexes;

const PIPELINES: Record<string, Json> = {
  'gpt-2': byteLevel(true),
  'llama-bpe': { type: 'Sequence', pretokenizers: [split(HF_LLAMA3), byteLevel(false)] },
  qwen2: { type: 'Sequence', pretokenizers: [split(HF_QWEN2), byteLevel(false)] },
  'deepseek-llm': {
    type: 'Sequence',
    pretokenizers: [...DSLLM.slice(0, 5).map(split), { type: 'Digits', individual_digits: false }, byteLevel(false)],
  },
  'deepseek-v3': { type: 'Sequence', pretokenizers: [...DS3.map(split), byteLevel(false)] },
};

/** tokenizer.json (+ config) for a fixture vocabulary, with `pre` choosing the pre-tokenizer pipeline. */
function hfJsonFor(name: string, pre: string, opts: { mergesAsPairs?: boolean } = {}): { json: Json; config: Json } {
  const f = GGUFFile.open(vocabPath(name));
  const md = f.metadata;
  const tokens = md.stringArray('tokenizer.ggml.tokens')!;
  const types = md.numberArray('tokenizer.ggml.token_type')!;
  const merges = md.stringArray('tokenizer.ggml.merges')!;
  const bos = md.number('tokenizer.ggml.bos_token_id');
  const eos = md.number('tokenizer.ggml.eos_token_id');
  f.close();
  const vocab: Record<string, number> = {};
  const added: Json[] = [];
  tokens.forEach((t, id) => {
    if (types[id] === 3 || types[id] === 4) added.push({ id, content: t, special: types[id] === 3, normalized: false });
    else vocab[t] = id;
  });
  return {
    json: {
      version: '1.0',
      added_tokens: added,
      normalizer: null,
      pre_tokenizer: PIPELINES[pre],
      post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
      decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
      model: {
        type: 'BPE', dropout: null, unk_token: null, byte_fallback: false, ignore_merges: false, vocab,
        merges: opts.mergesAsPairs ? merges.map((m) => m.split(' ')) : merges,
      },
    },
    config: {
      bos_token: bos === undefined ? null : tokens[bos],
      eos_token: eos === undefined ? null : tokens[eos],
      add_bos_token: md.bool('tokenizer.ggml.add_bos_token') ?? (pre === 'llama-bpe' ? true : undefined),
      chat_template: '{{ messages }}',
    },
  };
}

function sameEncodings(a: Tokenizer, b: Tokenizer, seed: number, texts: string[] = []): void {
  const r = rng(seed);
  const all = [...texts];
  for (let i = 0; i < 150; i++) all.push(randomText(r));
  for (const s of all) {
    for (const parseSpecial of [false, true]) {
      assert.deepEqual(a.encode(s, { parseSpecial }), b.encode(s, { parseSpecial }), JSON.stringify(s));
    }
  }
}

describe('tokenizer.json (byte-level BPE)', () => {
  for (const name of ['gpt-2', 'llama-bpe', 'qwen2', 'deepseek-llm'] as const) {
    it(`${name}: same tokenizer as the GGUF file`, () => {
      const { json, config } = hfJsonFor(name, name, { mergesAsPairs: name === 'qwen2' });
      const hf = Tokenizer.fromHFTokenizerJson(JSON.stringify(json), config);
      const ref = loadTokenizer(name);
      assert.equal(hf.pre, name === 'gpt-2' ? 'gpt-2' : name);
      assert.equal(hf.vocabSize, ref.vocabSize);
      assert.equal(hf.bos, ref.bos);
      assert.equal(hf.eos, ref.eos);
      assert.equal(hf.addBos, ref.addBos);
      assert.deepEqual([...hf.eogIds].sort(), [...ref.eogIds].sort());
      assert.equal(hf.chatTemplate, '{{ messages }}');
      for (const v of readVectors(name)) assert.deepEqual(hf.encode(v.text), v.ids, JSON.stringify(v.text));
      sameEncodings(hf, ref, 5);
    });
  }

  it('recognises the deepseek-v3 pipeline and pads the vocabulary to the model size', async () => {
    const { json, config } = hfJsonFor('deepseek-llm', 'deepseek-v3');
    const hf = Tokenizer.fromHFTokenizerJson(json, config, { vocabSize: 102500 });
    assert.equal(hf.pre, 'deepseek-v3');
    assert.equal(hf.vocabSize, 102500);
    assert.equal(hf.tokenText(102499), '[PAD102499]');
    assert.ok(!hf.isSpecial(102499));
    // same as the GGUF vocabulary with tokenizer.ggml.pre = deepseek-v3
    const f = GGUFFile.open(vocabPath('deepseek-llm'));
    const md = new Map(f.metadata.entries);
    f.close();
    md.set('tokenizer.ggml.pre', gguf.str('deepseek-v3'));
    const dir = tempDir();
    const file = path.join(dir, 'ds3.gguf');
    writeGGUF(file, { metadata: md, tensors: [] });
    const g = GGUFFile.open(file);
    const ref = Tokenizer.fromMetadata(g.metadata);
    g.close();
    sameEncodings(hf, ref, 6);

    // what the converter writes loads in llama.cpp and tokenizes the same there
    const llama = await llamaCpp();
    if (typeof llama === 'string') return;
    const out = path.join(dir, 'ds3-from-json.gguf');
    const meta = new Map(f.metadata.entries);
    for (const k of [...meta.keys()]) if (k.startsWith('tokenizer.')) meta.delete(k);
    for (const [k, v] of hf.toMetadata()) meta.set(k, v);
    writeGGUF(out, { metadata: meta, tensors: [] });
    const model = await llama.load(out);
    try {
      const r = rng(8);
      for (let i = 0; i < 100; i++) {
        const s = randomText(r);
        for (const special of [false, true]) assert.deepEqual(hf.encode(s, { parseSpecial: special }), model.tokenize(s, special), JSON.stringify(s));
      }
      assert.equal(model.bos, hf.bos);
      assert.equal(model.eos, hf.eos);
    } finally {
      await model.dispose();
    }
  });

  it('takes BOS from the post-processor template when the config does not say', () => {
    const { json } = hfJsonFor('llama-bpe', 'llama-bpe');
    json.post_processor = {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<|begin_of_text|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [],
      special_tokens: {},
    };
    const hf = Tokenizer.fromHFTokenizerJson(json, {});
    assert.equal(hf.bos, 128000);
    assert.equal(hf.addBos, true);
    assert.deepEqual(hf.encode('Hello', { addSpecial: true }), [128000, 9906]);
  });

  it('rejects pipelines it cannot reproduce', () => {
    const { json } = hfJsonFor('gpt-2', 'gpt-2');
    json.pre_tokenizer = { type: 'Sequence', pretokenizers: [split('\\p{L}+x'), byteLevel(false)] };
    assert.throws(() => Tokenizer.fromHFTokenizerJson(json), /unknown pre-tokenizer patterns/);
    json.pre_tokenizer = { type: 'Whitespace' };
    assert.throws(() => Tokenizer.fromHFTokenizerJson(json), /not supported/);
    json.model = { type: 'Unigram' };
    assert.throws(() => Tokenizer.fromHFTokenizerJson(json), /BPE only/);
  });
});

describe('tokenizer.json (SentencePiece-style BPE with byte fallback)', () => {
  it('matches the SentencePiece tokenizer when the merges follow the piece scores (Llama 2 style)', () => {
    const f = GGUFFile.open(vocabPath('llama-spm'));
    const tokens = f.metadata.stringArray('tokenizer.ggml.tokens')!;
    const scores = f.metadata.numberArray('tokenizer.ggml.scores')!;
    const types = f.metadata.numberArray('tokenizer.ggml.token_type')!;
    f.close();
    const vocab: Record<string, number> = {};
    tokens.forEach((t, i) => (vocab[t] = i));
    // merges as HF's SentencePiece converter derives them: every split of a piece into two pieces, ordered by
    // the score of the merged piece
    const merges: Array<[string, string, number]> = [];
    tokens.forEach((t, id) => {
      if (types[id] !== 1) return;
      const local: Array<[string, string, number]> = [];
      const cps = [...t];
      for (let k = 1; k < cps.length; k++) {
        const a = cps.slice(0, k).join('');
        const b = cps.slice(k).join('');
        if (a in vocab && b in vocab) local.push([a, b, scores[id]!]);
      }
      local.sort((x, y) => vocab[x[0]]! - vocab[y[0]]! || vocab[x[1]]! - vocab[y[1]]!);
      merges.push(...local);
    });
    merges.sort((x, y) => y[2] - x[2]);
    const json = {
      added_tokens: [
        { id: 0, content: '<unk>', special: true },
        { id: 1, content: '<s>', special: true },
        { id: 2, content: '</s>', special: true },
      ],
      normalizer: { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '\u2581' }, { type: 'Replace', pattern: { String: ' ' }, content: '\u2581' }] },
      pre_tokenizer: null,
      decoder: { type: 'Sequence', decoders: [{ type: 'Replace', pattern: { String: '\u2581' }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' }] },
      model: { type: 'BPE', byte_fallback: true, fuse_unk: true, unk_token: '<unk>', vocab, merges: merges.map(([a, b]) => `${a} ${b}`) },
    };
    const hf = Tokenizer.fromHFTokenizerJson(json, { bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>', add_bos_token: true, add_eos_token: false });
    const ref = loadTokenizer('llama-spm');
    assert.equal(hf.model, 'llama');
    assert.equal(hf.bos, 1);
    assert.equal(hf.eos, 2);
    assert.equal(hf.unk, 0);
    assert.equal(hf.addSpacePrefix, true);
    for (const v of readVectors('llama-spm')) assert.deepEqual(hf.encode(v.text), v.ids, JSON.stringify(v.text));
    sameEncodings(hf, ref, 9);
  });
});
