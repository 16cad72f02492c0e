// Turning a conversation into prompt tokens with the Step 3.5 chat format.
import type { ChatMessageInput } from '../format/index.js';
import { renderChat } from '../format/index.js';
import type { Tokenizer } from '../tokenizer/index.js';

export function chatPromptTokens(tok: Tokenizer, messages: readonly ChatMessageInput[]): number[] {
  const bosToken = tok.addBos && tok.bos !== undefined && tok.bos >= 0 ? tok.tokenText(tok.bos) : '';
  const text = renderChat(messages, { addGenerationPrompt: true, bosToken });
  return tok.encode(text, { parseSpecial: true, addSpecial: false });
}
