// Zod schemas for the Anthropic Messages API request bodies (POST /v1/messages and
// /v1/messages/count_tokens). Objects are loose: Claude Code and the SDK send fields this server has no use
// for (`cache_control` on any block, `context_management`, `output_config`, `service_tier`, `citations`,
// `defer_loading`, ...), and an unknown field must never be a 400. What is checked is what the mapping
// relies on, so a wrong type fails here with the field's path instead of deeper down.
import { z } from 'zod';

const blockTypeError = (supported: readonly string[]) => (issue: { input?: unknown }) => {
  const given = issue.input && typeof issue.input === 'object' ? (issue.input as { type?: unknown }).type : undefined;
  return given === undefined
    ? `a content block needs a "type" (one of ${supported.join(', ')})`
    : `unsupported content block type ${JSON.stringify(given)} (supported: ${supported.join(', ')})`;
};

export const TextBlockSchema = z.looseObject({ type: z.literal('text'), text: z.string() });

export const ImageBlockSchema = z.looseObject({ type: z.literal('image'), source: z.unknown().optional() });

/** `source` is text (`{type:'text', data}`), inline blocks (`{type:'content', content}`), base64 or a URL. */
export const DocumentBlockSchema = z.looseObject({
  type: z.literal('document'),
  source: z.looseObject({ type: z.string() }),
  title: z.string().nullish(),
  context: z.string().nullish(),
});

export const SearchResultBlockSchema = z.looseObject({
  type: z.literal('search_result'),
  source: z.string().optional(),
  title: z.string().optional(),
  content: z.array(TextBlockSchema),
});

/** Claude Code's tool search puts these in tool results for the tools it has just loaded. */
export const ToolReferenceBlockSchema = z.looseObject({ type: z.literal('tool_reference'), tool_name: z.string() });

const TOOL_RESULT_PARTS = ['text', 'image', 'document', 'search_result', 'tool_reference'] as const;
export const ToolResultPartSchema = z.discriminatedUnion(
  'type',
  [TextBlockSchema, ImageBlockSchema, DocumentBlockSchema, SearchResultBlockSchema, ToolReferenceBlockSchema],
  { error: blockTypeError(TOOL_RESULT_PARTS) },
);

export const ToolResultBlockSchema = z.looseObject({
  type: z.literal('tool_result'),
  tool_use_id: z.string().min(1),
  content: z.union([z.string(), z.array(ToolResultPartSchema)]).nullish(),
  is_error: z.boolean().nullish(),
});

export const ToolUseBlockSchema = z.looseObject({
  type: z.literal('tool_use'),
  id: z.string().min(1),
  name: z.string().min(1),
  // An object; some clients send the JSON text instead, which the mapping parses.
  input: z.union([z.record(z.string(), z.unknown()), z.string()]).nullish(),
});

/** The signature is opaque and never checked: any value (or none) is accepted back. */
export const ThinkingBlockSchema = z.looseObject({
  type: z.literal('thinking'),
  thinking: z.string(),
  signature: z.string().nullish(),
});

export const RedactedThinkingBlockSchema = z.looseObject({ type: z.literal('redacted_thinking'), data: z.string().optional() });

const MESSAGE_BLOCKS = ['text', 'image', 'document', 'search_result', 'tool_use', 'tool_result', 'thinking', 'redacted_thinking'] as const;
export const ContentBlockSchema = z.discriminatedUnion(
  'type',
  [
    TextBlockSchema,
    ImageBlockSchema,
    DocumentBlockSchema,
    SearchResultBlockSchema,
    ToolUseBlockSchema,
    ToolResultBlockSchema,
    ThinkingBlockSchema,
    RedactedThinkingBlockSchema,
  ],
  { error: blockTypeError(MESSAGE_BLOCKS) },
);

export const MessageParamSchema = z.looseObject({
  // `system` mid-conversation: Claude Code sends environment notes that way; the template renders a system turn.
  role: z.enum(['user', 'assistant', 'system'], { error: 'must be "user", "assistant" or "system"' }),
  content: z.union([z.string(), z.array(ContentBlockSchema)], {
    error: (issue) => (issue.input === undefined ? 'required' : 'must be a string or an array of content blocks'),
  }),
});

const SystemBlockSchema = z.looseObject({
  type: z.literal('text', { error: 'system blocks must be text blocks' }),
  text: z.string(),
});

export const ToolParamSchema = z.looseObject({
  /** Absent or "custom" for a client tool; anything else names one of Anthropic's server tools. */
  type: z.string().nullish(),
  name: z.string().min(1),
  description: z.string().nullish(),
  input_schema: z.record(z.string(), z.unknown()).nullish(),
  defer_loading: z.boolean().nullish(),
});

const ParallelOption = { disable_parallel_tool_use: z.boolean().nullish() };
export const ToolChoiceSchema = z.discriminatedUnion(
  'type',
  [
    z.looseObject({ type: z.literal('auto'), ...ParallelOption }),
    z.looseObject({ type: z.literal('any'), ...ParallelOption }),
    z.looseObject({ type: z.literal('tool'), name: z.string().min(1), ...ParallelOption }),
    z.looseObject({ type: z.literal('none') }),
  ],
  { error: 'type must be "auto", "any", "tool" or "none"' },
);

export const ThinkingConfigSchema = z.discriminatedUnion(
  'type',
  [
    z.looseObject({ type: z.literal('enabled'), budget_tokens: z.number().int().min(1) }),
    z.looseObject({ type: z.literal('disabled') }),
    z.looseObject({ type: z.literal('adaptive'), display: z.string().nullish() }),
  ],
  { error: 'type must be "enabled", "disabled" or "adaptive"' },
);

/** The count_tokens body: a messages request without `max_tokens` (accepted and ignored if present). */
export const CountTokensRequestSchema = z.looseObject({
  model: z.string().min(1),
  messages: z.array(MessageParamSchema).min(1, 'must hold at least one message'),
  system: z.union([z.string(), z.array(SystemBlockSchema)]).nullish(),
  tools: z.array(ToolParamSchema).nullish(),
  tool_choice: ToolChoiceSchema.nullish(),
  thinking: ThinkingConfigSchema.nullish(),
});

export const MessagesRequestSchema = CountTokensRequestSchema.extend({
  max_tokens: z.number({ error: (i) => (i.input === undefined ? 'required' : undefined) }).int().min(1),
  stream: z.boolean().nullish(),
  stop_sequences: z.array(z.string()).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  top_k: z.number().int().min(0).nullish(),
  metadata: z.looseObject({ user_id: z.string().nullish() }).nullish(),
});

export type ContentBlock = z.infer<typeof ContentBlockSchema>;
export type ToolResultPart = z.infer<typeof ToolResultPartSchema>;
export type MessageParam = z.infer<typeof MessageParamSchema>;
export type ToolParam = z.infer<typeof ToolParamSchema>;
export type ToolChoiceParam = z.infer<typeof ToolChoiceSchema>;
export type ThinkingConfig = z.infer<typeof ThinkingConfigSchema>;
export type CountTokensRequest = z.infer<typeof CountTokensRequestSchema>;
export type MessagesRequest = z.infer<typeof MessagesRequestSchema>;
