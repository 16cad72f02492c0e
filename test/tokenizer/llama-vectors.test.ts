/**
 * llama.cpp's tokenizer test vectors (models/ggml-vocab-*.gguf.{inp,out}): every string must encode to exactly
 * the expected ids (no BOS, special tokens not parsed), and decode back to itself.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadTokenizer, readVectors, splitInp, VOCABS } from './helpers.js';

describe('llama.cpp test vectors', () => {
  it('splits .inp files the way test-tokenizer-0 does', () => {
    assert.deepEqual(splitInp('a\n__ggml_vocab_test__\n\n__ggml_vocab_test__\n b\n\n__ggml_vocab_test__\n'), ['a', '', ' b\n']);
    assert.deepEqual(splitInp('x\n__ggml_vocab_test__\ny'), ['x', 'y']);
    const v = readVectors('llama-bpe');
    assert.equal(v.length, 46);
    assert.equal(v[2]!.text, '');
    assert.equal(v[3]!.text, ' ');
    assert.equal(v[10]!.text, '\t\n');
  });

  for (const name of VOCABS) {
    describe(name, () => {
      const vectors = readVectors(name);
      it(`encodes all ${vectors.length} strings exactly`, () => {
        const tok = loadTokenizer(name);
        const failures = vectors.filter((v) => JSON.stringify(tok.encode(v.text)) !== JSON.stringify(v.ids));
        assert.deepEqual(
          failures.map((v) => ({ text: v.text, expected: v.ids, got: tok.encode(v.text) })),
          [],
        );
      });
      it('decodes each encoding back to the string', () => {
        const tok = loadTokenizer(name);
        for (const v of vectors) assert.equal(tok.decode(tok.encode(v.text)), v.text, JSON.stringify(v.text));
        for (const v of vectors) assert.equal(tok.decode(v.ids), v.text, JSON.stringify(v.text));
      });
    });
  }
});
