// An MCP tools/call result as the text the model reads. Text parts are joined; binary parts (images,
// audio, blobs) become a one-line note, since the chat API's tool message carries text; structured
// content is used when there is no text. Very long output keeps its head and tail with a note of what
// was cut, so one chatty tool cannot fill the context.
import type { ToolResult } from '../tool.js';

export const DEFAULT_MAX_OUTPUT_CHARS = 40_000;

interface ContentPart {
  readonly type: string;
  readonly [k: string]: unknown;
}

function base64Bytes(data: unknown): number {
  return typeof data === 'string' ? Math.floor((data.length * 3) / 4) : 0;
}

function partText(part: ContentPart): string {
  switch (part.type) {
    case 'text':
      return String(part.text ?? '');
    case 'image':
    case 'audio':
      return `[${part.type}: ${String(part.mimeType ?? 'unknown type')}, ${base64Bytes(part.data)} bytes, not shown]`;
    case 'resource': {
      const r = (part.resource ?? {}) as Record<string, unknown>;
      if (typeof r.text === 'string') return `[resource ${String(r.uri ?? '')}]\n${r.text}`;
      return `[resource ${String(r.uri ?? '')}: ${String(r.mimeType ?? 'binary')}, ${base64Bytes(r.blob)} bytes, not shown]`;
    }
    case 'resource_link':
      return `[link: ${String(part.name ?? '')} ${String(part.uri ?? '')}]`;
    default:
      return `[${part.type} content, not shown]`;
  }
}

/** Keeps the first and last parts of `text` when it passes `max` characters. */
export function capText(text: string, max: number): string {
  if (text.length <= max) return text;
  const head = Math.floor(max * 0.7);
  const tail = max - head;
  return `${text.slice(0, head)}\n[... ${text.length - head - tail} characters cut ...]\n${text.slice(text.length - tail)}`;
}

export function toToolResult(result: Record<string, unknown>, maxChars = DEFAULT_MAX_OUTPUT_CHARS): ToolResult {
  const parts = Array.isArray(result.content) ? (result.content as ContentPart[]) : [];
  let text = parts.map(partText).join('\n');
  if (text.length === 0 && result.structuredContent !== undefined) text = JSON.stringify(result.structuredContent);
  // Old servers may answer with the pre-2025 `toolResult` field.
  if (text.length === 0 && result.toolResult !== undefined) text = JSON.stringify(result.toolResult);
  const isError = result.isError === true;
  if (text.length === 0) text = isError ? '(the tool reported an error without a message)' : '(no output)';
  return {
    content: capText(text, maxChars),
    ...(isError ? { isError: true } : {}),
    data: result.structuredContent ?? undefined,
  };
}
