// The conversation as the format layer sees it. OpenAI-shaped because the server maps both the OpenAI and
// the Anthropic APIs onto it; the zod schemas are for the edges (request bodies, stored transcripts), the
// renderer and the parsers take the inferred types and do not re-validate.
import { z } from 'zod';

export const TextPartSchema = z.looseObject({ type: z.literal('text'), text: z.string() });

export const ImageUrlPartSchema = z.looseObject({
  type: z.literal('image_url'),
  image_url: z.union([z.string(), z.looseObject({ url: z.string(), detail: z.string().optional() })]),
});

/** HF-style image part (`{type: 'image', image|url: ...}`); the template renders it as `<im_patch>`. */
export const ImagePartSchema = z.looseObject({ type: z.literal('image') });

export const ContentPartSchema = z.discriminatedUnion('type', [TextPartSchema, ImageUrlPartSchema, ImagePartSchema]);

export const MessageContentSchema = z.union([z.string(), z.array(ContentPartSchema), z.null()]);

export const ToolCallSchema = z.object({
  id: z.string().optional(),
  type: z.literal('function').default('function'),
  function: z.object({
    name: z.string().min(1),
    // OpenAI sends a JSON string; stored transcripts and HF-style callers often hold the object itself.
    arguments: z.union([z.record(z.string(), z.unknown()), z.string()]).optional(),
  }),
});

export const ChatRoleSchema = z.enum(['system', 'user', 'assistant', 'tool']);

export const ChatMessageSchema = z
  .object({
    role: ChatRoleSchema,
    content: MessageContentSchema.optional(),
    name: z.string().optional(),
    reasoning_content: z.string().nullable().optional(),
    // vLLM >= 0.16, Ollama and OpenRouter call the field `reasoning`; folded into reasoning_content.
    reasoning: z.string().nullable().optional(),
    tool_calls: z.array(ToolCallSchema).nullable().optional(),
    tool_call_id: z.string().optional(),
  })
  .transform(({ reasoning, ...m }) =>
    typeof m.reasoning_content !== 'string' && typeof reasoning === 'string' ? { ...m, reasoning_content: reasoning } : m,
  );

export const ChatMessagesSchema = z.array(ChatMessageSchema).min(1);

// Tool names end up inside `<function=NAME>`, so they must not contain whitespace or angle brackets.
export const ToolNameSchema = z.string().regex(/^[^\s<>]{1,256}$/, 'tool names must be 1-256 characters without whitespace, < or >');

export const ToolDefinitionSchema = z.looseObject({
  type: z.literal('function'),
  function: z.looseObject({
    name: ToolNameSchema,
    description: z.string().optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
  }),
});

export type TextPart = z.infer<typeof TextPartSchema>;
export type ImageUrlPart = z.infer<typeof ImageUrlPartSchema>;
export type ImagePart = z.infer<typeof ImagePartSchema>;
export type ContentPart = z.infer<typeof ContentPartSchema>;
export type MessageContent = z.infer<typeof MessageContentSchema>;
export type ChatRole = z.infer<typeof ChatRoleSchema>;
export type ToolCall = z.output<typeof ToolCallSchema>;
/** A message after validation: `reasoning` has been folded into `reasoning_content`. */
export type ChatMessage = z.output<typeof ChatMessageSchema>;
/** What callers may hand to the renderer: the validated shape, or the raw one with `reasoning`. */
export type ChatMessageInput = z.input<typeof ChatMessageSchema>;
export type ToolDefinition = z.infer<typeof ToolDefinitionSchema>;

/** Validates a request's `messages`; throws a ZodError naming the offending path. */
export function parseChatMessages(input: unknown): ChatMessage[] {
  return ChatMessagesSchema.parse(input);
}

/**
 * Validates a request's `tools` and returns the caller's own objects, not zod's copies: zod rebuilds an
 * object with its schema's keys first, and the template prints each tool with its keys in the order the
 * client sent them.
 */
export function parseToolDefinitions(input: unknown): ToolDefinition[] {
  z.array(ToolDefinitionSchema).parse(input);
  return input as ToolDefinition[];
}
