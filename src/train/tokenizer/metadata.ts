// GGUF tokenizer entries for a trained vocabulary, so that a model file carries it and both src/tokenizer
// and llama.cpp load it:
//
//   tokenizerMetadata(trained): [key, GGUFEntry][]
//       tokenizer.ggml.model = gpt2, .pre, .tokens, .token_type, .merges, bos/eos/eot/padding ids,
//       add_bos_token = true, add_eos_token = false, tokenizer.chat_template = the Step 3.5 template
//       (assets/templates/step35.jinja, llama.cpp's StepFun3.5-Flash.jinja).
//   trainedTokenizer(trained): Tokenizer  (src/tokenizer built from those entries, without a file)
import { readFileSync } from 'node:fs';
import { gguf, GGUFValueType, type GGUFEntry } from '../../gguf/index.js';
import { Metadata } from '../../gguf/metadata.js';
import { Tokenizer } from '../../tokenizer/index.js';
import { BOS, EOS, IM_END, PAD } from './specials.js';
import type { TrainedBpe } from './train-bpe.js';

/** The Step 3.5 chat template as llama.cpp ships it. */
export function stepChatTemplate(): string {
  return readFileSync(new URL('../../../assets/templates/step35.jinja', import.meta.url), 'utf8');
}

export function tokenizerMetadata(trained: TrainedBpe): [string, GGUFEntry][] {
  const id = (text: string) => {
    const i = trained.tokens.indexOf(text);
    if (i < 0 || i >= trained.specials.length) throw new Error(`the trained vocabulary has no special token ${text}`);
    return i;
  };
  return [
    ['tokenizer.ggml.model', gguf.str('gpt2')],
    ['tokenizer.ggml.pre', gguf.str(trained.pre)],
    ['tokenizer.ggml.tokens', gguf.arr(GGUFValueType.STRING, [...trained.tokens])],
    ['tokenizer.ggml.token_type', gguf.arr(GGUFValueType.INT32, [...trained.types])],
    ['tokenizer.ggml.merges', gguf.arr(GGUFValueType.STRING, [...trained.merges])],
    ['tokenizer.ggml.bos_token_id', gguf.u32(id(BOS))],
    ['tokenizer.ggml.eos_token_id', gguf.u32(id(EOS))],
    ['tokenizer.ggml.eot_token_id', gguf.u32(id(IM_END))],
    ['tokenizer.ggml.padding_token_id', gguf.u32(id(PAD))],
    ['tokenizer.ggml.add_bos_token', gguf.bool(true)],
    ['tokenizer.ggml.add_eos_token', gguf.bool(false)],
    ['tokenizer.chat_template', gguf.str(stepChatTemplate())],
  ];
}

/** src/tokenizer's tokenizer for a trained vocabulary, built from the same entries a GGUF file would hold. */
export function trainedTokenizer(trained: TrainedBpe): Tokenizer {
  return Tokenizer.fromMetadata(new Metadata(new Map(tokenizerMetadata(trained))));
}
