// The project's byte-level BPE tokenizer for the nano model: training, special tokens, GGUF entries.
export { trainBpe, type TrainBpeOptions, type TrainedBpe } from './train-bpe.js';
export { tokenizerMetadata, trainedTokenizer, stepChatTemplate } from './metadata.js';
export { STEP_SPECIALS, BOS, EOS, PAD, IM_START, IM_END, type SpecialToken } from './specials.js';
