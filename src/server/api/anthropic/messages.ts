// Anthropic messages -> the format layer's OpenAI-shaped conversation.
//
// - `system` (string or text blocks, joined with newlines) becomes the first system message; a `system`
//   message mid-conversation stays a system turn (the template renders `<|im_start|>system`).
// - A user turn's `tool_result` blocks become `role:'tool'` messages, ordered as the preceding assistant
//   turn's `tool_use` blocks were (the template does not render ids, so the order is all the model sees);
//   the turn's text follows as a user message.
// - An assistant turn's `thinking` blocks become its reasoning_content (the template keeps reasoning only
//   after the last real user query); `redacted_thinking` is opaque and skipped; `tool_use` becomes
//   tool_calls with the input object as arguments.
// - Images are refused: Step 3.5 Flash reads text only. Inside a tool result (a screenshot from a tool the
//   client cannot switch off) an image becomes a placeholder instead, so one picture does not end the session.
import type { ChatMessageInput } from '../../../format/index.js';
import { HttpError } from '../../http/errors.js';
import type { ContentBlock, MessageParam, ToolResultPart } from './schemas.js';

export const IMAGE_PLACEHOLDER = '[image omitted: this model reads text only]';

type ToolCallInput = { id: string; type: 'function'; function: { name: string; arguments: Record<string, unknown> } };

const invalid = (where: string, message: string) => new HttpError('invalid_request', `${where}: ${message}`);

export function systemText(system: string | readonly { text: string }[] | null | undefined): string | undefined {
  if (system === null || system === undefined) return undefined;
  if (typeof system === 'string') return system;
  return system.length === 0 ? undefined : system.map((b) => b.text).join('\n');
}

export function toChatMessages(system: string | undefined, messages: readonly MessageParam[]): ChatMessageInput[] {
  const out: ChatMessageInput[] = [];
  if (system !== undefined) out.push({ role: 'system', content: system });
  let lastToolUseIds: readonly string[] = [];
  messages.forEach((m, i) => {
    const where = `messages[${i}]`;
    const blocks: readonly ContentBlock[] = typeof m.content === 'string' ? [{ type: 'text', text: m.content }] : m.content;
    if (m.role === 'assistant') {
      const { message, toolUseIds } = assistantMessage(blocks, where);
      lastToolUseIds = toolUseIds;
      out.push(message);
      return;
    }
    const texts: string[] = [];
    const results: { id: string; content: string; at: number }[] = [];
    blocks.forEach((b, j) => {
      const at = `${where}.content[${j}]`;
      switch (b.type) {
        case 'tool_result':
          if (m.role !== 'user') throw invalid(at, `tool_result blocks belong in user messages, not ${m.role} messages`);
          results.push({ id: b.tool_use_id, content: toolResultText(b.content, b.is_error === true, `${at}.content`), at: j });
          break;
        case 'tool_use':
        case 'thinking':
        case 'redacted_thinking':
          throw invalid(at, `${b.type} blocks belong in assistant messages, not ${m.role} messages`);
        default:
          texts.push(inputText(b, at));
      }
    });
    // Results in the order of the calls they answer; ids the last assistant turn did not use keep their place after.
    const rank = (id: string) => {
      const k = lastToolUseIds.indexOf(id);
      return k < 0 ? lastToolUseIds.length : k;
    };
    results.sort((a, b) => rank(a.id) - rank(b.id) || a.at - b.at);
    for (const r of results) out.push({ role: 'tool', tool_call_id: r.id, content: r.content });
    if (texts.length > 0 || results.length === 0) out.push({ role: m.role, content: texts.join('\n') });
    lastToolUseIds = [];
  });
  return out;
}

function assistantMessage(blocks: readonly ContentBlock[], where: string): { message: ChatMessageInput; toolUseIds: string[] } {
  const texts: string[] = [];
  const thoughts: string[] = [];
  const calls: ToolCallInput[] = [];
  blocks.forEach((b, j) => {
    const at = `${where}.content[${j}]`;
    switch (b.type) {
      case 'thinking':
        if (b.thinking !== '') thoughts.push(b.thinking);
        break;
      case 'redacted_thinking':
        break;
      case 'tool_use':
        calls.push({ id: b.id, type: 'function', function: { name: b.name, arguments: toolInput(b.input, `${at}.input`) } });
        break;
      case 'tool_result':
        throw invalid(at, 'tool_result blocks belong in user messages, not assistant messages');
      default:
        texts.push(inputText(b, at));
    }
  });
  const message: ChatMessageInput = {
    role: 'assistant',
    content: texts.join('\n'),
    ...(thoughts.length > 0 ? { reasoning_content: thoughts.join('\n\n') } : {}),
    ...(calls.length > 0 ? { tool_calls: calls } : {}),
  };
  return { message, toolUseIds: calls.map((c) => c.id) };
}

function toolInput(input: unknown, where: string): Record<string, unknown> {
  if (input === null || input === undefined) return {};
  let value = input;
  if (typeof input === 'string') {
    if (input.trim() === '') return {};
    try {
      value = JSON.parse(input);
    } catch {
      throw invalid(where, 'must be an object (or the JSON text of one)');
    }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalid(where, 'must be an object');
  return value as Record<string, unknown>;
}

/** The text of a block that carries text to the model (user, system or assistant text, documents, search results). */
function inputText(b: ContentBlock | ToolResultPart, where: string): string {
  switch (b.type) {
    case 'text':
      return b.text;
    case 'image':
      throw invalid(where, 'image blocks are not supported: this model reads text only');
    case 'document':
      return documentText(b, where);
    case 'search_result':
      return [b.title ? `${b.title}${b.source ? ` (${b.source})` : ''}` : b.source, ...b.content.map((c) => c.text)]
        .filter((s): s is string => typeof s === 'string' && s !== '')
        .join('\n');
    case 'tool_reference':
      return `Tool loaded: ${b.tool_name}`;
    default:
      throw invalid(where, `${b.type} blocks are not allowed here`);
  }
}

function documentText(b: Extract<ContentBlock, { type: 'document' }>, where: string): string {
  const src = b.source as Record<string, unknown>;
  let body: string;
  if (src.type === 'text' && typeof src.data === 'string') body = src.data;
  else if (src.type === 'content' && typeof src.content === 'string') body = src.content;
  else if (src.type === 'content' && Array.isArray(src.content)) {
    body = src.content.map((c: unknown, k: number) => inputText(c as ContentBlock, `${where}.source.content[${k}]`)).join('\n');
  } else {
    throw invalid(`${where}.source`, `document sources of type ${JSON.stringify(src.type)} are not supported: this model reads plain-text documents only`);
  }
  const head = [b.title, b.context].filter((s): s is string => typeof s === 'string' && s !== '').join('\n');
  return head ? `${head}\n${body}` : body;
}

function toolResultText(content: string | readonly ToolResultPart[] | null | undefined, isError: boolean, where: string): string {
  let text: string;
  if (content === null || content === undefined) text = '';
  else if (typeof content === 'string') text = content;
  else text = content.map((p, k) => (p.type === 'image' ? IMAGE_PLACEHOLDER : inputText(p, `${where}[${k}]`))).join('\n');
  // The template has no error flag for tool responses; the model must still learn the call failed.
  return isError ? `Error: ${text}` : text;
}
