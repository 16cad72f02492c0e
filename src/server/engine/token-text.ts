// The bytes each token stands for in generated text, as the stream decoder renders them (control tokens
// such as `<|im_start|>` render as nothing). Kept as "binary strings" (one char per byte) because the
// markers and grammars the engine looks for are ASCII, and string search is fast; UTF-8 is assembled only
// when text is released (the tokenizer's stream decoder).
import type { Tokenizer } from '../../tokenizer/index.js';

export class TokenTexts {
  private readonly binary: (string | undefined)[];

  constructor(readonly tokenizer: Tokenizer, readonly vocabSize: number) {
    this.binary = new Array(vocabSize);
  }

  /** The token's bytes as a binary string ("" for control tokens and ids outside the tokenizer). */
  bytes(id: number): string {
    let s = this.binary[id];
    if (s === undefined) {
      s = id >= 0 && id < this.tokenizer.vocabSize ? binaryString(this.tokenizer.tokenToBytes(id, { special: false })) : '';
      this.binary[id] = s;
    }
    return s;
  }
}

export function binaryString(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]!);
  return s;
}

/** UTF-8 bytes of `text` as a binary string. */
export function utf8Binary(text: string): string {
  return binaryString(new TextEncoder().encode(text));
}
