// The Step 3.5 Flash chat template (llama.cpp `models/templates/StepFun3.5-Flash.jinja`, the template of the
// HF release), written out by hand. The engine renders a prompt on every request, and a hand-written
// renderer is both faster and easier to audit than a Jinja interpreter; test/format/chat-template.test.ts
// holds it byte-identical to Python jinja2 configured as HF transformers configures it.
//
// Where this differs from the template, on purpose:
// - `tool_calls[].function.arguments` given as a JSON string is parsed first (the template would fail on
//   `|items`); vLLM and SGLang do the same before rendering. An empty string means no arguments.
// - `reasoning` is read when `reasoning_content` is not a string (the template only knows the latter).
// - A role other than system/user/assistant/tool throws; the template would silently drop the message
//   (OpenAI's `developer` role, for one), and a prompt that lost its instructions is worse than an error.
import type { ChatMessageInput } from './messages.js';
import { isMapping, parseJsonKeepFloats, pyJsonDumps, pyStr } from './python-json.js';

export interface RenderChatOptions {
  /** Tool definitions, printed one per line with Python's json.dumps, keys in the caller's order. */
  tools?: readonly unknown[] | null;
  /** Append the assistant header with the reasoning block already open: `<|im_start|>assistant\n<think>\n`. */
  addGenerationPrompt?: boolean;
  /** Printed first; the release's `<｜begin▁of▁sentence｜>`. The template works without it. */
  bosToken?: string;
}

export class ChatTemplateError extends Error {
  override name = 'ChatTemplateError';
}

const TOOLS_HEAD = '# Tools\n\nYou have access to the following functions in JSONSchema format:\n\n<tools>';
const TOOLS_TAIL =
  '\n</tools>\n\nIf you choose to call a function ONLY reply in the following format with NO suffix:\n\n' +
  '<tool_call>\n<function=example_function_name>\n<parameter=example_parameter_1>\nvalue_1\n</parameter>\n' +
  '<parameter=example_parameter_2>\nThis is the value for the second parameter\nthat can span\nmultiple lines\n' +
  '</parameter>\n</function>\n</tool_call>\n\n<IMPORTANT>\nReminder:\n- Function calls MUST follow the specified ' +
  'format: an inner <function=...>\n...\n</function> block must be nested within <tool_call>\n...\n</tool_call> ' +
  'XML tags\n- Required parameters MUST be specified\n</IMPORTANT><|im_end|>\n';

export const GENERATION_PROMPT = '<|im_start|>assistant\n<think>\n';

/**
 * The template's `render_content` macro: strings verbatim, text parts concatenated (a part's `value` wins
 * over its `text`), `{type: 'image'}` parts as `<im_patch>`. Anything else, `image_url` parts included,
 * renders as nothing: Step 3.5 Flash is a text model.
 */
export function renderContent(content: unknown): string {
  if (content === null || content === undefined) return '';
  if (typeof content === 'string') return content;
  if (isMapping(content)) return partText(content);
  if (Array.isArray(content)) {
    let out = '';
    for (const item of content) {
      if (!isMapping(item)) continue;
      if (item.type === 'text') out += partText(item);
      else if (item.type === 'image') out += '<im_patch>';
    }
    return out;
  }
  return '';
}

function partText(part: Record<string, unknown>): string {
  const v = 'value' in part ? part.value : part.text;
  return v === undefined ? '' : pyStr(v);
}

const isToolResponse = (s: string) => s.startsWith('<tool_response>') && s.endsWith('</tool_response>');

/** Renders a conversation exactly as the Step 3.5 Flash Jinja template does (see the header for deviations). */
export function renderChat(messages: readonly ChatMessageInput[], options: RenderChatOptions = {}): string {
  if (messages.length === 0) throw new ChatTemplateError('renderChat: messages must not be empty');
  const msgs = messages as readonly Record<string, unknown>[];
  const tools = options.tools;
  let out = options.bosToken ?? '';

  // The first system message is folded into the header; with tools it shares the system turn.
  const first = msgs[0]!;
  if (tools && tools.length > 0) {
    out += '<|im_start|>system\n';
    if (first.role === 'system') out += renderContent(first.content) + '\n\n';
    out += TOOLS_HEAD;
    for (const tool of tools) out += '\n' + pyJsonDumps(tool);
    out += TOOLS_TAIL;
  } else if (first.role === 'system') {
    out += '<|im_start|>system\n' + renderContent(first.content) + '<|im_end|>\n';
  }

  // Reasoning survives only on assistant turns after the last real user query; user turns that are wholly a
  // tool response (a Qwen-era convention) do not count. With no real query at all, no turn keeps it.
  let lastQuery = msgs.length - 1;
  for (let i = msgs.length - 1; i >= 0; i--) {
    const m = msgs[i]!;
    if (m.role === 'user' && !isToolResponse(renderContent(m.content))) {
      lastQuery = i;
      break;
    }
  }

  for (let i = 0; i < msgs.length; i++) {
    const m = msgs[i]!;
    let content = renderContent(m.content);
    switch (m.role) {
      case 'system':
        if (i === 0) break;
        out += `<|im_start|>${m.name === 'observation' ? 'observation' : 'system'}\n${content}<|im_end|>\n`;
        break;
      case 'user':
        out += `<|im_start|>user\n${content}<|im_end|>\n`;
        break;
      case 'assistant': {
        let reasoning = '';
        const given = typeof m.reasoning_content === 'string' ? m.reasoning_content : m.reasoning;
        if (typeof given === 'string') reasoning = given;
        else if (content.includes('</think>')) {
          // As the template does: reasoning is what precedes the first </think> (after any <think>), the
          // content is what follows the last one; anything between two </think> is dropped.
          const pieces = content.split('</think>');
          reasoning = pieces[0]!.replace(/\n+$/, '').split('<think>').pop()!.replace(/^\n+/, '');
          content = pieces[pieces.length - 1]!.replace(/^\n+/, '');
        }
        out += i > lastQuery ? `<|im_start|>assistant\n<think>\n${reasoning}\n</think>\n${content}` : `<|im_start|>assistant\n${content}`;
        const calls = m.tool_calls;
        if (Array.isArray(calls)) for (const call of calls) out += renderToolCall(call, i);
        else if (calls) throw new ChatTemplateError(`message ${i}: tool_calls must be an array`);
        out += '<|im_end|>\n';
        break;
      }
      case 'tool':
        if (i === 0 || msgs[i - 1]!.role !== 'tool') out += '<|im_start|>tool_response\n';
        out += `<tool_response>${content}</tool_response>`;
        if (i === msgs.length - 1 || msgs[i + 1]!.role !== 'tool') out += '<|im_end|>\n';
        break;
      default:
        throw new ChatTemplateError(
          `message ${i}: unknown role ${JSON.stringify(m.role)} (expected system, user, assistant or tool)`,
        );
    }
  }
  if (options.addGenerationPrompt) out += GENERATION_PROMPT;
  return out;
}

function renderToolCall(call: unknown, msgIndex: number): string {
  if (!isMapping(call)) throw new ChatTemplateError(`message ${msgIndex}: a tool call must be an object`);
  // The template accepts both the OpenAI shape {function: {name, arguments}} and a bare {name, arguments}.
  const fn = 'function' in call && call.function !== undefined ? call.function : call;
  if (!isMapping(fn) || typeof fn.name !== 'string')
    throw new ChatTemplateError(`message ${msgIndex}: a tool call has no function name`);
  let out = `<tool_call>\n<function=${fn.name}>\n`;
  let args = fn.arguments;
  if (typeof args === 'string') {
    try {
      args = args.trim() === '' ? {} : parseJsonKeepFloats(args);
    } catch (e) {
      throw new ChatTemplateError(
        `message ${msgIndex}: arguments of tool call ${JSON.stringify(fn.name)} are not valid JSON: ${(e as Error).message}`,
      );
    }
  }
  if (args !== undefined) {
    if (!isMapping(args))
      throw new ChatTemplateError(`message ${msgIndex}: arguments of tool call ${JSON.stringify(fn.name)} must be a JSON object`);
    for (const [key, value] of Object.entries(args)) {
      if (value === undefined) continue;
      const text = isMapping(value) || Array.isArray(value) ? pyJsonDumps(value) : pyStr(value);
      out += `<parameter=${key}>\n${text}\n</parameter>\n`;
    }
  }
  return out + '</function>\n</tool_call>';
}
