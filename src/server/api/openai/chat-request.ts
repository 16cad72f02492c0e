// A validated /v1/chat/completions body -> the engine's ChatRequest. Everything the engine cannot honour
// is refused here with a 400 that names the field; everything it can is mapped, whatever name the client
// used for it (developer -> system; reasoning sent back as reasoning_content, reasoning or thinking).
import { ToolDefinitionSchema, type ChatMessageInput, type ToolDefinition } from '../../../format/index.js';
import type { ChatRequest, ResponseFormat, ToolChoice } from '../../chat-service.js';
import { ChatCompletionBody, type ChatMessageBody } from './chat-schema.js';
import type { ReasoningField } from './options.js';
import { reasoningFieldFor } from './reasoning-format.js';
import { samplingRequest } from './sampling.js';
import { invalidParam, paramPath, parseBody } from './validation.js';

export interface ParsedChatCompletion {
  /** Everything but the AbortSignal, which the route adds. */
  readonly request: Omit<ChatRequest, 'signal'>;
  readonly stream: boolean;
  readonly includeUsage: boolean;
  readonly reasoningField: ReasoningField;
  /** max_completion_tokens or max_tokens as sent, to report a clamp against. */
  readonly requestedMaxTokens: number | undefined;
  readonly logprobs: boolean;
}

export function parseChatCompletion(body: unknown, defaultReasoningField: ReasoningField): ParsedChatCompletion {
  const b = parseBody(ChatCompletionBody, body);
  rejectUnsupported(b);
  const messages = b.messages.map(toMessage);
  const tools = parseTools(b.tools);
  const { toolChoice, allowed } = parseToolChoice(b.tool_choice, tools);
  if (b.top_logprobs != null && b.logprobs !== true) {
    throw invalidParam('top_logprobs', 'top_logprobs requires logprobs: true');
  }
  const requestedMaxTokens = b.max_completion_tokens ?? b.max_tokens ?? undefined;
  const request: Omit<ChatRequest, 'signal'> = {
    messages,
    ...(allowed && allowed.length > 0 ? { tools: allowed } : {}),
    ...(toolChoice !== undefined ? { toolChoice } : {}),
    ...(b.parallel_tool_calls != null ? { parallelToolCalls: b.parallel_tool_calls } : {}),
    ...samplingRequest(b, requestedMaxTokens),
    ...responseFormat(b.response_format),
    ...(b.logprobs === true ? { logprobs: b.top_logprobs ?? 0 } : {}),
    ...(b.reasoning_budget != null ? { reasoningBudget: b.reasoning_budget } : {}),
  };
  return {
    request,
    stream: b.stream === true,
    includeUsage: b.stream === true && b.stream_options?.include_usage === true,
    reasoningField: reasoningFieldFor(b.reasoning_format, defaultReasoningField),
    requestedMaxTokens,
    logprobs: b.logprobs === true,
  };
}

function rejectUnsupported(b: ChatCompletionBody): void {
  const extra = b as Record<string, unknown>;
  if (extra.functions != null || extra.function_call != null) {
    const param = extra.functions != null ? 'functions' : 'function_call';
    throw invalidParam(param, 'functions/function_call are deprecated and not supported; use tools and tool_choice');
  }
  if (extra.audio != null || (b.modalities ?? []).some((m) => m !== 'text')) {
    throw invalidParam(extra.audio != null ? 'audio' : 'modalities', 'only text output is supported');
  }
}

/** Text of a message's content: a string, or its text parts joined (as the chat template joins them). */
function contentText(content: unknown, param: string): string | null {
  if (content === undefined || content === null) return null;
  if (typeof content === 'string') return content;
  let out = '';
  (content as readonly Record<string, unknown>[]).forEach((part, j) => {
    const p = `${param}[${j}]`;
    if (part.type === 'text') {
      if (typeof part.text !== 'string') throw invalidParam(`${p}.text`, 'expected a string');
      out += part.text;
    } else if (part.type === 'refusal') {
      if (typeof part.refusal !== 'string') throw invalidParam(`${p}.refusal`, 'expected a string');
      out += part.refusal;
    } else {
      throw invalidParam(`${p}.type`, `content parts of type ${JSON.stringify(part.type)} are not supported: this model reads text only`);
    }
  });
  return out;
}

function toMessage(m: ChatMessageBody, i: number): ChatMessageInput {
  const param = `messages[${i}]`;
  switch (m.role) {
    case 'function':
      throw invalidParam(`${param}.role`, "the 'function' role is deprecated and not supported; send tool results as {role: 'tool', tool_call_id, content}");
    case 'system':
    case 'developer':
      // The template knows no developer role; it is the system prompt under OpenAI's newer name.
      return { role: 'system', content: contentText(m.content, `${param}.content`), ...(m.name != null ? { name: m.name } : {}) };
    case 'user':
      return { role: 'user', content: contentText(m.content, `${param}.content`) };
    case 'tool':
      return { role: 'tool', content: contentText(m.content, `${param}.content`), ...(m.tool_call_id != null ? { tool_call_id: m.tool_call_id } : {}) };
    case 'assistant': {
      const reasoning = m.reasoning_content ?? m.reasoning ?? m.thinking ?? undefined;
      const calls = (m.tool_calls ?? []).map((call, j) => {
        const args = call.function.arguments;
        if (typeof args === 'string' && args.trim() !== '') checkArgumentsText(args, `${param}.tool_calls[${j}].function.arguments`);
        return {
          ...(call.id != null ? { id: call.id } : {}),
          type: 'function' as const,
          function: { name: call.function.name, ...(args != null ? { arguments: args } : {}) },
        };
      });
      return {
        role: 'assistant',
        content: contentText(m.content, `${param}.content`) ?? (m.refusal != null ? m.refusal : null),
        ...(reasoning !== undefined ? { reasoning_content: reasoning } : {}),
        ...(calls.length > 0 ? { tool_calls: calls } : {}),
      };
    }
  }
}

/** Arguments sent back in a transcript must be a JSON object; the template prints them as parameters. */
function checkArgumentsText(args: string, param: string): void {
  let value: unknown;
  try {
    value = JSON.parse(args);
  } catch (e) {
    throw invalidParam(param, `not valid JSON (${(e as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidParam(param, 'expected the JSON text of an object');
  }
}

function parseTools(tools: readonly unknown[] | null | undefined): ToolDefinition[] | undefined {
  if (!tools || tools.length === 0) return undefined;
  const seen = new Set<string>();
  return tools.map((tool, i) => {
    const type = (tool as { type?: unknown } | null)?.type;
    if (type !== 'function') {
      throw invalidParam(`tools[${i}].type`, `only tools of type "function" are supported (got ${JSON.stringify(type)})`);
    }
    const r = ToolDefinitionSchema.safeParse(tool);
    if (!r.success) {
      const issue = r.error.issues[0]!;
      throw invalidParam(paramPath([`tools`, i, ...issue.path]), issue.message);
    }
    const name = r.data.function.name;
    if (seen.has(name)) throw invalidParam(`tools[${i}].function.name`, `duplicate tool name ${JSON.stringify(name)}`);
    seen.add(name);
    // The caller's object, not zod's copy: the template prints tools with their keys in the sent order.
    return tool as ToolDefinition;
  });
}

function parseToolChoice(
  choice: ChatCompletionBody['tool_choice'],
  tools: ToolDefinition[] | undefined,
): { toolChoice: ToolChoice | undefined; allowed: ToolDefinition[] | undefined } {
  if (choice === undefined || choice === null) return { toolChoice: undefined, allowed: tools };
  const names = new Set((tools ?? []).map((t) => t.function.name));
  const need = (param: string, name: string): void => {
    if (!names.has(name)) throw invalidParam(param, `no tool named ${JSON.stringify(name)} in tools`);
  };
  if (typeof choice === 'string') {
    if (choice === 'required' && names.size === 0) throw invalidParam('tool_choice', '"required" needs at least one tool in tools');
    return { toolChoice: choice, allowed: tools };
  }
  if (choice.type === 'function') {
    need('tool_choice.function.name', choice.function.name);
    return { toolChoice: { name: choice.function.name }, allowed: tools };
  }
  const allowedNames = new Set<string>();
  choice.allowed_tools.tools.forEach((t, i) => {
    need(`tool_choice.allowed_tools.tools[${i}].function.name`, t.function.name);
    allowedNames.add(t.function.name);
  });
  if (allowedNames.size === 0 && choice.allowed_tools.mode === 'required') {
    throw invalidParam('tool_choice.allowed_tools.tools', 'mode "required" needs at least one allowed tool');
  }
  return { toolChoice: choice.allowed_tools.mode, allowed: (tools ?? []).filter((t) => allowedNames.has(t.function.name)) };
}

function responseFormat(rf: ChatCompletionBody['response_format']): { responseFormat?: ResponseFormat } {
  if (!rf || rf.type === 'text') return {};
  if (rf.type === 'json_object') return { responseFormat: { type: 'json_object' } };
  const { schema, name } = rf.json_schema;
  if (schema === undefined || schema === null || schema === true) return { responseFormat: { type: 'json_object' } };
  if (schema === false) throw invalidParam('response_format.json_schema.schema', 'the schema `false` matches nothing');
  return { responseFormat: { type: 'json_schema', schema, ...(name != null ? { name } : {}) } };
}

