// The special tokens of the project's trained vocabulary: the Step 3.5 chat markers, laid out as the Step
// 3.5 Flash vocabulary (and the generated random step35 models) lay them out. Control tokens are parsed from
// text only when asked (prompts rendered by the template are encoded with parseSpecial); the reasoning and
// tool-call tags are user-defined tokens, which llama.cpp and src/tokenizer always recognise and always print.
import { TokenType } from '../../tokenizer/index.js';

export interface SpecialToken {
  readonly text: string;
  /** TokenType.CONTROL or TokenType.USER_DEFINED. */
  readonly type: number;
}

export const BOS = '<｜begin▁of▁sentence｜>';
export const EOS = '<｜end▁of▁sentence｜>';
export const PAD = '<｜▁pad▁｜>';
export const IM_START = '<|im_start|>';
export const IM_END = '<|im_end|>';

export const STEP_SPECIALS: readonly SpecialToken[] = [
  ...[BOS, EOS, PAD, IM_START, IM_END].map((text) => ({ text, type: TokenType.CONTROL })),
  ...['<think>', '</think>', '<tool_call>', '</tool_call>', '<tool_response>', '</tool_response>'].map((text) => ({ text, type: TokenType.USER_DEFINED })),
];
