/**
 * Tokenizers for GGUF models: byte-level BPE and SentencePiece vocabularies read from GGUF metadata or from
 * a Hugging Face tokenizer.json, with llama.cpp's exact tokenization.
 */
export { Tokenizer, TokenAttr, TokenType, cleanUpSpaces } from './tokenizer.js';
export type { DecodeOptions, EncodeOptions, StreamDecoder } from './tokenizer.js';
export { hfToMetadata, type HFOptions } from './hf.js';
export { PreTokenizer, PRE_TOKENIZERS, preTokenizerFor, preTokenizerNameFor, type PreTokenizerSpec } from './pretokenizer.js';
