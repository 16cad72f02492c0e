// The project's BPE trainer: vocabulary layout, determinism, digits kept single, round trips on the task
// corpus, and the trained tokenizer written into a GGUF and read back by src/tokenizer and by the real
// llama.cpp (node-llama-cpp 3.22.1), which must tokenize and detokenize identically.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { GGUFFile } from '../../src/gguf/index.js';
import { Tokenizer, TokenType } from '../../src/tokenizer/index.js';
import { generateTasks, renderPrompt, renderTrainingText } from '../../src/train/data/corpus.js';
import { STEP_SPECIALS, tokenizerMetadata, trainBpe, trainedTokenizer } from '../../src/train/tokenizer/index.js';
import { rng } from '../tokenizer/helpers.js';
import { llamaCpp, tempDir, writeVariant } from '../tokenizer/llama-cpp.js';
import { randomText } from '../tokenizer/random-text.js';

const trainTexts = generateTasks({ split: 'train', count: 600, seed: 11 }).map((t) => renderTrainingText(t).text);
const heldoutTexts = generateTasks({ split: 'heldout', count: 100, seed: 12 }).map((t) => renderTrainingText(t).text);
const trained = trainBpe(trainTexts, { vocabSize: 1200 });
const tok = trainedTokenizer(trained);

describe('trainBpe', () => {
  it('lays out specials, the 256 bytes, then one token per merge', () => {
    assert.equal(trained.tokens.length, 1200);
    assert.deepEqual(trained.tokens.slice(0, STEP_SPECIALS.length), STEP_SPECIALS.map((s) => s.text));
    assert.deepEqual(trained.types.slice(0, STEP_SPECIALS.length), STEP_SPECIALS.map((s) => s.type));
    assert.equal(new Set(trained.tokens.slice(STEP_SPECIALS.length, STEP_SPECIALS.length + 256)).size, 256);
    assert.ok(trained.merges.length >= 1200 - STEP_SPECIALS.length - 256);
    assert.equal(new Set(trained.tokens).size, trained.tokens.length, 'token texts are distinct');
    assert.equal(tok.bos, 0);
    assert.equal(tok.eos, 1);
    assert.equal(tok.tokenText(tok.eot!), '<|im_end|>');
  });

  it('is deterministic', () => {
    const again = trainBpe(trainTexts, { vocabSize: 1200 });
    assert.deepEqual(again.merges, trained.merges);
    assert.deepEqual(again.tokens, trained.tokens);
  });

  it('never merges digits: every number is spelled digit by digit', () => {
    const withDigit = trained.tokens.filter((t, i) => i >= STEP_SPECIALS.length && /[0-9]/.test(t));
    assert.deepEqual(withDigit.sort(), [...'0123456789']);
    const ids = tok.encode('x = 1234567 + 89');
    assert.ok(['1', '2', '3', '4', '5', '6', '7', '8', '9'].every((d) => ids.includes(tok.tokenId(d)!)));
  });

  it('encodes every chat marker as one token, and learns the frequent words', () => {
    for (const s of STEP_SPECIALS) assert.deepEqual(tok.encode(s.text, { parseSpecial: true }), [tok.tokenId(s.text)], s.text);
    // user-defined tags are recognised even without parseSpecial (as llama.cpp does)
    assert.deepEqual(tok.encode('<tool_call>'), [tok.tokenId('<tool_call>')]);
    for (const w of ['calculator', 'parameter', 'Ġthe']) assert.ok(tok.tokenId(w) !== undefined, w);
  });

  it('round-trips the training and held-out corpus (and compresses it)', () => {
    let chars = 0, ids = 0;
    for (const t of [...trainTexts.slice(0, 200), ...heldoutTexts]) {
      const e = tok.encode(t, { parseSpecial: true });
      assert.equal(tok.decode(e), t);
      chars += t.length;
      ids += e.length;
    }
    assert.ok(chars / ids > 3, `${(chars / ids).toFixed(2)} characters per token`);
  });

  it('tokenizes a conversation the same whole or cut at the turn boundaries, and decodes turns as generated', () => {
    // training tokenizes prompt and turns piece by piece; inference tokenizes each prompt whole and decodes
    // the generated ids with special tokens skipped (the engine's stream decoder): both must agree
    for (const t of generateTasks({ split: 'heldout', count: 60, seed: 21 })) {
      const { text, assistantSpans } = renderTrainingText(t);
      const whole = tok.encode(text, { parseSpecial: true });
      const pieces: number[] = [];
      let at = 0;
      for (const [a, b] of assistantSpans) {
        pieces.push(...tok.encode(text.slice(at, a), { parseSpecial: true }));
        const turn = text.slice(a, b - '<|im_end|>'.length);
        const ids = tok.encode(turn, { parseSpecial: true });
        const dec = tok.createStreamDecoder({ skipSpecial: true });
        let out = '';
        for (const id of ids) out += dec.push(id);
        assert.equal(out + dec.flush(), turn);
        pieces.push(...ids, tok.eot!);
        at = b;
      }
      pieces.push(...tok.encode(text.slice(at), { parseSpecial: true }));
      assert.deepEqual(pieces, whole, t.id);
    }
  });

  it('trains on a few MB in seconds', () => {
    const big = generateTasks({ split: 'train', count: 1500, seed: 3 }).map((t) => renderTrainingText(t).text);
    const mb = big.reduce((a, t) => a + t.length, 0) / 1e6;
    const t0 = performance.now();
    trainBpe(big, { vocabSize: 4096 });
    const s = (performance.now() - t0) / 1000;
    assert.ok(mb > 3, `${mb} MB`);
    assert.ok(s < 20, `${s.toFixed(1)} s for ${mb.toFixed(1)} MB`);
  });

  it('with minDocuments, learns merges only from words that recur across texts', () => {
    // A word found in one text only (a made-up word repeated inside it) becomes no token of its own; the
    // words every text shares still do, and the rare word is spelled with their pieces.
    const texts = Array.from({ length: 12 }, (_, i) => `the calculator and the python tool ${i === 3 ? 'zorblat zorblat zorblat zorblat' : ''}`);
    const all = trainBpe(texts, { vocabSize: 400 });
    const common = trainBpe(texts, { vocabSize: 400, minDocuments: 2 });
    assert.ok(all.tokens.some((t) => t.includes('zorbl')), 'without the option the repeated word is merged');
    assert.ok(!common.tokens.some((t) => t.includes('zor') || t.includes('bla')), 'with it, no merge comes from the one-text word');
    assert.ok(common.tokens.includes('Ġcalculator') && common.tokens.includes('Ġpython'), 'shared words still merge');
    const t = trainedTokenizer(common);
    assert.equal(t.decode(t.encode(' zorblat calculator')), ' zorblat calculator');
    assert.throws(() => trainBpe(texts, { vocabSize: 400, minDocuments: 0 }), /minDocuments must be a positive integer/);
  });

  it('rejects bad options', () => {
    assert.throws(() => trainBpe(['abc'], { vocabSize: 100 }), /vocabSize must be an integer of at least 267/);
    assert.throws(() => trainBpe(['abc'], { vocabSize: 500, pre: 'nope' }), /unknown pre-tokenizer/);
    assert.throws(() => trainBpe(['abc'], { vocabSize: 500, specials: [STEP_SPECIALS[0]!, STEP_SPECIALS[0]!] }), /distinct/);
  });

  it('writes GGUF entries with the Step template and the marker ids', () => {
    const md = new Map(tokenizerMetadata(trained));
    assert.equal(md.get('tokenizer.ggml.model')!.value, 'gpt2');
    assert.equal(md.get('tokenizer.ggml.pre')!.value, 'qwen2');
    assert.match(md.get('tokenizer.chat_template')!.value as string, /tool_response/);
    assert.equal(tok.tokenAttr(tok.tokenId('<think>')!) !== 0, true);
    assert.equal(trained.types[tok.tokenId('<think>')!], TokenType.USER_DEFINED);
    assert.equal(trained.types[tok.tokenId('<|im_start|>')!], TokenType.CONTROL);
  });
});

const llama = await llamaCpp();
const skip = typeof llama === 'string' ? llama : false;

describe('the trained tokenizer in a GGUF, read by src/tokenizer and by llama.cpp', () => {
  it('tokenizes identically to node-llama-cpp on prompts, conversations and random text', { skip }, async () => {
    if (typeof llama === 'string') throw new Error(llama);
    const dir = tempDir();
    // a vocabulary-only GGUF: the qwen2 fixture's model header with the trained tokenizer in place of its own
    const file = writeVariant(dir, 'qwen2', 'trained-bpe', Object.fromEntries(tokenizerMetadata(trained)));
    const g = GGUFFile.open(path.resolve(file));
    const fromFile = Tokenizer.fromMetadata(g.metadata);
    g.close();
    const ref = await llama.load(file);
    try {
      assert.equal(ref.bos, fromFile.bos);
      assert.equal(ref.eos, fromFile.eos);
      assert.equal(ref.eot, fromFile.eot);
      const r = rng(77);
      const heldout = generateTasks({ split: 'heldout', count: 20, seed: 5 });
      const samples = [
        ...heldoutTexts.slice(0, 20),
        ...heldout.map((t) => renderPrompt(t)),
        ...Array.from({ length: 60 }, () => randomText(r, STEP_SPECIALS.map((s) => s.text))),
      ];
      const diffs: unknown[] = [];
      for (const s of samples) {
        for (const special of [true, false]) {
          const mine = fromFile.encode(s, { parseSpecial: special });
          const theirs = ref.tokenize(s, special);
          if (JSON.stringify(mine) !== JSON.stringify(theirs)) diffs.push({ s: s.slice(0, 200), special, mine: mine.slice(0, 30), theirs: theirs.slice(0, 30) });
          else if (fromFile.decode(mine) !== ref.detokenize(theirs, true)) diffs.push({ s: s.slice(0, 200), special, decode: true });
        }
        assert.deepEqual(fromFile.encode(s, { parseSpecial: true }), tok.encode(s, { parseSpecial: true }));
      }
      assert.deepEqual(diffs.slice(0, 3), [], `${diffs.length} of ${2 * samples.length} differ`);
    } finally {
      await ref.dispose();
    }
  });
});
