// Context management. The size of the context is the endpoint's own count from the last call
// (prompt + completion tokens) plus a character estimate of what was added since; before the first
// call everything is estimated. Past the threshold one of three strategies shrinks it:
//   reset      Step 3.5 Flash's setting: the model writes a progress note, and the loop restarts from
//              the system prompt, the task and that note.
//   discard    old tool outputs are replaced by a one-line stub (the calls stay, so the model knows
//              what it did); the most recent ones are kept.
//   summarize  old turns are replaced by a model-written summary; the latest turn is kept whole.
import type { ChatMessage } from './types.js';

/** Rough tokens for text: about 4 characters a token for English and code. */
export function estimateTokens(messages: readonly ChatMessage[]): number {
  let chars = 0;
  for (const m of messages) {
    chars += 16 + (m.content?.length ?? 0);
    if (m.role === 'assistant') {
      chars += m.reasoning_content?.length ?? 0;
      for (const c of m.tool_calls ?? []) chars += 24 + c.function.name.length + c.function.arguments.length;
    }
  }
  return Math.ceil(chars / 4);
}

/** Tracks the context size from the endpoint's usage. */
export class ContextMeter {
  private counted = 0;
  private countedLen = -1;
  /** After a model call: the endpoint counted `tokens` for messages[0..len). */
  measured(tokens: number, len: number): void {
    this.counted = tokens;
    this.countedLen = len;
  }
  /** The history was rewritten: fall back to estimating until the next call. */
  invalidate(): void {
    this.countedLen = -1;
  }
  tokens(messages: readonly ChatMessage[]): number {
    if (this.countedLen < 0 || this.countedLen > messages.length) return estimateTokens(messages);
    return this.counted + estimateTokens(messages.slice(this.countedLen));
  }
}

/** Index of the first message after the system prompt and the task. */
export function headLength(messages: readonly ChatMessage[]): number {
  const firstUser = messages.findIndex((m) => m.role === 'user');
  return firstUser + 1;
}

/** Replaces all but the `keepRecent` latest tool outputs with stubs. */
export function discardOldToolOutputs(messages: readonly ChatMessage[], keepRecent: number): ChatMessage[] {
  const toolIdx = messages.flatMap((m, i) => (m.role === 'tool' ? [i] : []));
  const drop = new Set(toolIdx.slice(0, Math.max(0, toolIdx.length - keepRecent)));
  const names = new Map<string, string>();
  for (const m of messages) if (m.role === 'assistant') for (const c of m.tool_calls ?? []) names.set(c.id, c.function.name);
  const lastAssistant = tailStart(messages);
  return messages.map((m, i) => {
    if (drop.has(i) && m.role === 'tool' && !m.content.startsWith('[discarded')) {
      return { ...m, content: `[discarded to save context: the ${names.get(m.tool_call_id) ?? 'tool'} output was ${m.content.length} characters; call again if it is still needed]` };
    }
    // Old reasoning is the bulkiest thing the model no longer needs (the latest turn keeps its own).
    if (m.role === 'assistant' && m.reasoning_content && i < lastAssistant) {
      const { reasoning_content: _r, ...rest } = m;
      return rest;
    }
    return m;
  });
}

/** Where the kept tail starts for summarize: the last assistant turn (a call is never split from its results). */
export function tailStart(messages: readonly ChatMessage[]): number {
  for (let i = messages.length - 1; i >= 0; i--) if (messages[i]!.role === 'assistant') return i;
  return messages.length;
}

/** Plain-text transcript for a summary prompt, so the summariser does not continue the chat. */
export function transcript(messages: readonly ChatMessage[], maxPerResult = 2000): string {
  const clip = (s: string) => (s.length > maxPerResult ? `${s.slice(0, maxPerResult / 2)}\n[... ${s.length - maxPerResult} characters cut ...]\n${s.slice(-maxPerResult / 2)}` : s);
  const lines: string[] = [];
  for (const m of messages) {
    if (m.role === 'user') lines.push(`[User] ${m.content}`);
    else if (m.role === 'assistant') {
      if (m.content) lines.push(`[Assistant] ${m.content}`);
      for (const c of m.tool_calls ?? []) lines.push(`[Assistant tool call] ${c.function.name}(${c.function.arguments})`);
    } else if (m.role === 'tool') lines.push(`[Tool result] ${clip(m.content)}`);
  }
  return lines.join('\n');
}

export const SUMMARY_SYSTEM =
  'You condense the work log of an AI agent so it can continue with less context. Write a compact summary: the goal; what has been done; facts learned, with the sources or files they came from; what failed and why; what remains to do. Keep exact names, paths, numbers and URLs. Do not continue the work and do not address the user.';

export const NOTE_REQUEST =
  'Your context is full and will be reset. Write a progress note for yourself to continue from: what is done, what you know (exact facts, names, paths, numbers, sources), what failed, and the next steps. Reply with the note only; do not call tools.';

export function resumeMessage(task: string, note: string, resets: number): string {
  return `${task}\n\n---\nYou are resuming this task after a context reset (${resets} so far). Your progress note from before the reset:\n\n${note.trim() || '(the note was empty)'}`;
}
