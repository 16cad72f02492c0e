/**
 * Cross-check against the real llama.cpp (node-llama-cpp's CPU build, vocabulary-only): seeded random strings
 * (mixed scripts, digits, whitespace runs, punctuation, emoji, code, control and unassigned code points, chat
 * markers) must tokenize to the same ids with and without special-token parsing, and the ids must detokenize
 * to the same text. Besides the fixture vocabularies, each further pre-tokenizer type (deepseek-v3 first: Step
 * 3.5's own) is checked on a fixture vocabulary rewritten with that `tokenizer.ggml.pre`, through toMetadata().
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GGUFFile, gguf } from '../../src/gguf/index.js';
import { Tokenizer } from '../../src/tokenizer/index.js';
import { loadTokenizer, rng, VOCABS, vocabPath } from './helpers.js';
import { llamaCpp, tempDir, writeVariant, type LlamaCpp } from './llama-cpp.js';
import { randomText } from './random-text.js';

const STRINGS = Number(process.env.TOKENIZER_XCHECK_STRINGS ?? 200);

// Pre-tokenizer type -> fixture whose vocabulary it is paired with.
const VARIANTS: ReadonlyArray<readonly [string, string]> = [
  ['deepseek-v3', 'deepseek-llm'], ['deepseek-v3', 'qwen2'], ['qwen35', 'qwen2'], ['gpt-4o', 'deepseek-coder'],
  ['starcoder', 'deepseek-coder'], ['falcon', 'deepseek-coder'], ['default', 'deepseek-coder'], ['seed-coder', 'deepseek-coder'],
  ['bailingmoe', 'deepseek-coder'], ['ufakzeka', 'deepseek-coder'], ['minicpm5', 'deepseek-coder'], ['youtu', 'deepseek-coder'],
  ['jais-2', 'deepseek-coder'], ['spark2_5', 'deepseek-coder'], ['poro-chat', 'deepseek-coder'], ['viking', 'deepseek-coder'],
  ['chatglm-bpe', 'deepseek-coder'], ['dbrx', 'deepseek-coder'], ['deepseek-coder', 'deepseek-llm'], ['deepseek-llm', 'gpt-2'],
  ['command-r', 'deepseek-coder'], ['stablelm2', 'deepseek-coder'], ['gpt-2', 'deepseek-coder'], ['llama-bpe', 'deepseek-coder'],
];

const llama: LlamaCpp | string = await llamaCpp();
const skip = typeof llama === 'string' ? llama : false;

async function compare(tok: Tokenizer, file: string, seed: number): Promise<void> {
  if (typeof llama === 'string') throw new Error(llama);
  const ref = await llama.load(file);
  try {
    assert.equal(tok.bos, ref.bos, 'bos');
    assert.equal(tok.eos, ref.eos, 'eos');
    assert.equal(tok.eot, ref.eot, 'eot');
    const specials: string[] = [];
    for (let i = 0; i < tok.vocabSize && specials.length < 300; i++) if (tok.isSpecial(i)) specials.push(tok.tokenText(i));
    const r = rng(seed);
    const mismatches: unknown[] = [];
    for (let i = 0; i < STRINGS; i++) {
      let s = randomText(r, specials);
      for (const parseSpecial of [false, true]) {
        const mine = tok.encode(s, { parseSpecial });
        const theirs = ref.tokenize(s, parseSpecial);
        if (JSON.stringify(mine) !== JSON.stringify(theirs)) {
          mismatches.push({ s, parseSpecial, mine: mine.join(' '), theirs: theirs.join(' ') });
          continue;
        }
        const text = tok.decode(mine, { cleanSpaces: tok.cleanSpaces });
        const refText = ref.detokenize(theirs, true);
        if (text !== refText) mismatches.push({ s, parseSpecial, decoded: text, refDecoded: refText });
      }
    }
    assert.deepEqual(mismatches.slice(0, 5), [], `${mismatches.length} of ${2 * STRINGS} differ`);
  } finally {
    await ref.dispose();
  }
}

describe('cross-check with llama.cpp (node-llama-cpp)', () => {
  let seed = 1000;
  for (const name of VOCABS) {
    const s = seed++;
    it(`${name}: ${STRINGS} random strings`, { skip }, async () => compare(loadTokenizer(name), vocabPath(name), s));
  }

  const dir = tempDir();
  for (const [pre, base] of VARIANTS) {
    const s = seed++;
    it(`pre-tokenizer ${pre} (on the ${base} vocabulary): ${STRINGS} random strings`, { skip }, async () => {
      // Build the variant through toMetadata(), so that what the tokenizer writes is what llama.cpp reads.
      const tok0 = loadTokenizer(base);
      const changes: Record<string, ReturnType<typeof gguf.str>> = Object.fromEntries(tok0.toMetadata());
      changes['tokenizer.ggml.pre'] = gguf.str(pre);
      const file = writeVariant(dir, base, `${base}-${pre}`, changes);
      const g = GGUFFile.open(file);
      const tok = Tokenizer.fromMetadata(g.metadata);
      g.close();
      assert.equal(tok.pre, pre);
      await compare(tok, file, s);
    });
  }

  it('a U+FEFF token survives the GGUF reader', () => {
    assert.equal(loadTokenizer('llama-spm').tokenId('\ufeff'), 30143);
  });
});
