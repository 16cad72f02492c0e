// Regenerates assets/vocab/*.json, the tokenizers that `stepflash make-model` writes into the models it
// generates, from llama.cpp's vocab-only test files (see assets/vocab/README.md for their origin).
// Usage: node --import tsx scripts/make-vocab-assets.ts [path/to/llama-vocab-dir]
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GGUFFile } from '../src/gguf/reader.js';

const dir = process.argv[2] ?? join(import.meta.dirname, '../../shared/fixtures/llama-vocab');
const out = join(import.meta.dirname, '../assets/vocab');

// Byte-level BPE: the first merges of DeepSeek-LLM's vocabulary (a DeepSeek-family BPE like Step 3.5's).
// A prefix of a merge list is itself a complete BPE: each merge's inputs are bytes or earlier merges.
{
  const f = GGUFFile.open(join(dir, 'ggml-vocab-deepseek-llm.gguf'));
  const merges = f.metadata.stringArray('tokenizer.ggml.merges')!;
  f.close();
  const byteChars = new Set<string>();
  // GPT-2's byte-to-unicode map: printable bytes map to themselves, the rest to U+0100 onwards.
  let n = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    byteChars.add(String.fromCodePoint(printable ? b : 256 + n++));
  }
  const vocab = new Set(byteChars);
  const kept: string[] = [];
  for (const m of merges) {
    if (vocab.size >= 32000) break;
    const [a, b] = m.split(' ');
    if (a === undefined || b === undefined || !vocab.has(a) || !vocab.has(b)) continue;
    kept.push(m);
    vocab.add(a + b);
  }
  writeFileSync(join(out, 'bpe-merges.json'), JSON.stringify({ source: 'ggml-vocab-deepseek-llm.gguf', merges: kept }) + '\n');
  console.log(`bpe: ${kept.length} merges, ${vocab.size} tokens`);
}

// SentencePiece: Llama 2's 32000-token vocabulary, whole.
{
  const f = GGUFFile.open(join(dir, 'ggml-vocab-llama-spm.gguf'));
  const md = f.metadata;
  const data = {
    source: 'ggml-vocab-llama-spm.gguf',
    tokens: md.stringArray('tokenizer.ggml.tokens'),
    scores: md.numberArray('tokenizer.ggml.scores'),
    types: md.numberArray('tokenizer.ggml.token_type'),
  };
  f.close();
  writeFileSync(join(out, 'spm-llama2.json'), JSON.stringify(data) + '\n');
  console.log(`spm: ${data.tokens!.length} tokens`);
}
