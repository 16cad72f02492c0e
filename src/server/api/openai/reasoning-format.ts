// The per-request choice of where reasoning goes, `reasoning_format` in the body. Values from the servers
// clients already configure it for, so an existing setting keeps working:
//   reasoning_content, deepseek (llama.cpp), deepseek-style (StepFun platform)  -> `reasoning_content`
//   reasoning, general (StepFun platform)                                        -> `reasoning`
//   both                                                                          -> both fields
//   none (llama.cpp), inline                                                      -> in `content`, inside <think>...</think>
import { invalidParam } from './validation.js';
import type { ReasoningField } from './options.js';

const ALIASES: Record<string, ReasoningField> = {
  reasoning_content: 'reasoning_content',
  deepseek: 'reasoning_content',
  'deepseek-style': 'reasoning_content',
  reasoning: 'reasoning',
  general: 'reasoning',
  both: 'both',
  none: 'inline',
  inline: 'inline',
};

export function reasoningFieldFor(requested: string | null | undefined, serverDefault: ReasoningField): ReasoningField {
  if (requested === undefined || requested === null) return serverDefault;
  const field = ALIASES[requested];
  if (!field) {
    throw invalidParam('reasoning_format', `unknown value ${JSON.stringify(requested)}; expected one of ${Object.keys(ALIASES).join(', ')}`);
  }
  return field;
}

/** Field names a response carries the reasoning under (empty for inline: it goes into content). */
export function reasoningKeys(field: ReasoningField): readonly string[] {
  switch (field) {
    case 'reasoning_content':
      return ['reasoning_content'];
    case 'reasoning':
      return ['reasoning'];
    case 'both':
      return ['reasoning_content', 'reasoning'];
    case 'inline':
      return [];
  }
}
