// The recipe's tokenizer: the project's byte-level BPE (src/train/tokenizer) trained on the corpus, as the
// GGUF tokenizer.* entries the model file carries (src/tokenizer and llama.cpp both load them).
import type { GGUFEntry } from '../../gguf/values.js';
import { tokenizerMetadata, trainBpe } from '../tokenizer/index.js';

export function trainTokenizer(texts: readonly string[], vocabSize: number, minDocuments = 1): [string, GGUFEntry][] {
  return tokenizerMetadata(trainBpe(texts, { vocabSize, minDocuments }));
}
