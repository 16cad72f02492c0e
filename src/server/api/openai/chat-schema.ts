// The body of POST /v1/chat/completions (platform.openai.com/docs/api-reference/chat/create). Unknown
// fields are accepted and ignored, as OpenAI-compatible servers do; the fields that would change the
// output and cannot be honoured are rejected in chat-request.ts rather than silently dropped.
import { z } from 'zod';
import { samplingFields } from './common-schema.js';

const opt = <T extends z.ZodType>(t: T) => t.nullable().optional();

/** A content part; the type decides what else it needs (checked in chat-request.ts with a precise param). */
const ContentPart = z.looseObject({ type: z.string() });
const Content = z.union([z.string(), z.array(ContentPart)], {
  error: 'expected a string or an array of content parts ({"type": "text", "text": ...})',
});

const AssistantToolCall = z.looseObject({
  id: opt(z.string()),
  type: opt(z.literal('function')),
  function: z.looseObject({
    name: z.string().min(1),
    // OpenAI sends a JSON string; some clients and stored transcripts send the object itself.
    arguments: opt(z.union([z.string(), z.record(z.string(), z.unknown())], { error: 'expected a JSON string' })),
  }),
});

// Reasoning sent back on assistant turns under any of the names clients use (serving-and-agents §5.4).
const reasoningFields = { reasoning_content: opt(z.string()), reasoning: opt(z.string()), thinking: opt(z.string()) };

export const ChatMessage = z.discriminatedUnion(
  'role',
  [
    z.looseObject({ role: z.literal('system'), content: Content, name: opt(z.string()) }),
    z.looseObject({ role: z.literal('developer'), content: Content, name: opt(z.string()) }),
    z.looseObject({ role: z.literal('user'), content: Content, name: opt(z.string()) }),
    z.looseObject({
      role: z.literal('assistant'),
      content: opt(Content),
      name: opt(z.string()),
      refusal: opt(z.string()),
      tool_calls: opt(z.array(AssistantToolCall)),
      ...reasoningFields,
    }),
    z.looseObject({ role: z.literal('tool'), content: Content, tool_call_id: opt(z.string()) }),
    // Deprecated; rejected in chat-request.ts with a message that names the replacement.
    z.looseObject({ role: z.literal('function') }),
  ],
  { error: "expected role to be one of 'system', 'developer', 'user', 'assistant', 'tool'" },
);

const NamedToolChoice = z.looseObject({ type: z.literal('function'), function: z.looseObject({ name: z.string() }) });
const AllowedToolsChoice = z.looseObject({
  type: z.literal('allowed_tools'),
  allowed_tools: z.looseObject({
    mode: z.enum(['auto', 'required']),
    tools: z.array(z.looseObject({ type: z.literal('function'), function: z.looseObject({ name: z.string() }) })),
  }),
});
const ToolChoice = z.union([z.enum(['none', 'auto', 'required']), NamedToolChoice, AllowedToolsChoice], {
  error: `expected "none", "auto", "required", {"type": "function", "function": {"name": ...}} or {"type": "allowed_tools", ...}`,
});

const ResponseFormat = z.discriminatedUnion(
  'type',
  [
    z.looseObject({ type: z.literal('text') }),
    z.looseObject({ type: z.literal('json_object') }),
    z.looseObject({
      type: z.literal('json_schema'),
      json_schema: z.looseObject({
        name: opt(z.string()),
        description: opt(z.string()),
        schema: opt(z.union([z.record(z.string(), z.unknown()), z.boolean()])),
        strict: opt(z.boolean()),
      }),
    }),
  ],
  { error: "expected type to be 'text', 'json_object' or 'json_schema'" },
);

export const ChatCompletionBody = z.looseObject({
  ...samplingFields,
  messages: z.array(ChatMessage).min(1, { error: 'expected at least one message' }),
  max_completion_tokens: opt(z.number().int().min(1)),
  // Each tool is checked against the format layer's schema in chat-request.ts (precise params, and the
  // caller's own objects are kept because the template prints them in their key order).
  tools: opt(z.array(z.unknown())),
  tool_choice: opt(ToolChoice),
  parallel_tool_calls: opt(z.boolean()),
  response_format: opt(ResponseFormat),
  logprobs: opt(z.boolean()),
  top_logprobs: opt(z.number().int().min(0).max(20)),
  reasoning_format: opt(z.string()),
  // llama.cpp-style budget for reasoning tokens; the engine closes the reasoning itself when it is spent.
  reasoning_budget: opt(z.number().int().min(0)),
  reasoning_effort: opt(z.string()),
  modalities: opt(z.array(z.string())),
});

export type ChatCompletionBody = z.output<typeof ChatCompletionBody>;
export type ChatMessageBody = z.output<typeof ChatMessage>;
