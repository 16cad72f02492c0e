/**
 * Shared helpers for the tokenizer tests: loading the llama.cpp vocabulary fixtures and their test vectors.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GGUFFile } from '../../src/gguf/index.js';
import { Tokenizer } from '../../src/tokenizer/index.js';

export const VOCAB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/llama-vocab');
export const VOCABS = ['gpt-2', 'llama-bpe', 'llama-spm', 'qwen2', 'deepseek-llm', 'deepseek-coder', 'phi-3'] as const;
export type VocabName = (typeof VOCABS)[number];

export function vocabPath(name: string): string {
  return path.join(VOCAB_DIR, `ggml-vocab-${name}.gguf`);
}

const cache = new Map<string, Tokenizer>();
export function loadTokenizer(name: string): Tokenizer {
  let t = cache.get(name);
  if (!t) {
    const f = GGUFFile.open(vocabPath(name));
    try {
      t = Tokenizer.fromMetadata(f.metadata);
    } finally {
      f.close();
    }
    cache.set(name, t);
  }
  return t;
}

/**
 * The test strings of a `.inp` file, split exactly as llama.cpp's test-tokenizer-0 does: on
 * "\n__ggml_vocab_test__\n", keeping whatever follows the last separator only if it is not empty.
 */
export function splitInp(raw: string): string[] {
  const sep = '\n__ggml_vocab_test__\n';
  const out: string[] = [];
  let pos = 0;
  while (pos < raw.length) {
    const next = raw.indexOf(sep, pos);
    if (next < 0) {
      out.push(raw.slice(pos));
      break;
    }
    out.push(raw.slice(pos, next));
    pos = next + sep.length;
  }
  return out;
}

export interface Vector {
  readonly text: string;
  readonly ids: number[];
}

export function readVectors(name: string): Vector[] {
  const inp = splitInp(readFileSync(vocabPath(name) + '.inp', 'utf8'));
  const lines = readFileSync(vocabPath(name) + '.out', 'utf8').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  if (lines.length !== inp.length) throw new Error(`${name}: ${inp.length} inputs but ${lines.length} outputs`);
  return inp.map((text, i) => {
    const o = lines[i]!.trim();
    return { text, ids: o === '' ? [] : o.split(' ').map(Number) };
  });
}

/** A small deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
