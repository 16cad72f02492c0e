// Prompt tokens: a conversation through the Step 3.5 chat template (tools included, generation prompt
// `<|im_start|>assistant\n<think>\n` appended), or raw text for /v1/completions. Control-token text in
// either (`<|im_start|>`, ...) becomes the control token, as the template intends.
import { ChatError } from '../chat-service.js';
import { ChatTemplateError, renderChat, type ChatMessageInput, type ToolDefinition } from '../../format/index.js';
import type { Tokenizer } from '../../tokenizer/index.js';

export class PromptBuilder {
  private readonly bosText: string;

  constructor(private readonly tokenizer: Tokenizer) {
    const t = tokenizer;
    this.bosText = t.addBos && t.bos !== undefined && t.bos >= 0 ? t.tokenText(t.bos) : '';
  }

  chat(messages: readonly ChatMessageInput[], tools: readonly ToolDefinition[]): number[] {
    if (!Array.isArray(messages) || messages.length === 0) throw new ChatError('invalid_request', 'messages must be a non-empty array');
    let text: string;
    try {
      text = renderChat(messages, { tools: tools.length > 0 ? tools : null, addGenerationPrompt: true, bosToken: this.bosText });
    } catch (e) {
      if (e instanceof ChatTemplateError) throw new ChatError('invalid_request', e.message);
      throw e;
    }
    return this.tokenizer.encode(text, { parseSpecial: true, addSpecial: false });
  }

  raw(prompt: string): number[] {
    if (typeof prompt !== 'string') throw new ChatError('invalid_request', 'prompt must be a string');
    const t = this.tokenizer;
    const ids = t.encode(prompt, { parseSpecial: true, addSpecial: false });
    // BOS as the model wants it, once: a prompt that spells it already keeps its own.
    if (t.addBos && t.bos !== undefined && t.bos >= 0 && ids[0] !== t.bos) ids.unshift(t.bos);
    if (ids.length === 0) throw new ChatError('invalid_request', 'the prompt is empty');
    return ids;
  }
}
