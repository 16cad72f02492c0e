// What a generated task is: the question, the tool calls it takes (with their real results), the final
// answer, what an evaluator accepts as correct, and the conversation in the chat format's message shape.
import type { ChatMessageInput, ToolDefinition } from '../../format/index.js';
import { executeTool, TOOLS, type ToolCallSpec } from './tools.js';

export type Split = 'train' | 'heldout';

export const FAMILY_NAMES = ['arithmetic', 'chain', 'parallel', 'compare', 'units', 'dates', 'sorting', 'counting', 'smalltalk'] as const;
export type FamilyName = (typeof FAMILY_NAMES)[number];

/** What the final answer must state (see check.ts for how it is matched). */
export type ExpectedAnswer =
  /** One number (canonical decimal text). */
  | { readonly kind: 'number'; readonly value: string }
  /** Several numbers, in the order the question asks for them. */
  | { readonly kind: 'numbers'; readonly values: readonly string[] }
  /** A list in order: numbers (canonical) or words. */
  | { readonly kind: 'list'; readonly items: readonly string[]; readonly numeric: boolean }
  /** One of the options (as the question writes them) is named as the answer. */
  | { readonly kind: 'choice'; readonly options: readonly string[]; readonly winner: number }
  /** No tool and no particular content: any non-empty reply. */
  | { readonly kind: 'free' };

/** One assistant turn that calls tools: its reasoning, the calls (one turn may hold several) and their results. */
export interface ToolStep {
  readonly reasoning: string;
  readonly calls: readonly ToolCallSpec[];
  readonly results: readonly string[];
}

export interface Task {
  /** `${split}-${seed}-${index}` */
  readonly id: string;
  readonly split: Split;
  readonly family: FamilyName;
  /** The question template's id, e.g. "arithmetic.mul.t3" (t: training template, h: held-out template). */
  readonly template: string;
  readonly question: string;
  readonly steps: readonly ToolStep[];
  readonly finalReasoning: string;
  readonly finalAnswer: string;
  readonly answer: ExpectedAnswer;
  /** The numbers drawn from the split's number ranges (operands, list items, years): what the held-out
   * ranges keep disjoint from training. */
  readonly drawn: readonly number[];
  /** Numbers the final answer may mention besides the answer: from the question, the call arguments and the results. */
  readonly allowedNumbers: readonly string[];
  readonly tools: readonly ToolDefinition[];
  /** The whole conversation: user, (assistant with tool calls, tool responses)*, final assistant. */
  readonly messages: readonly ChatMessageInput[];
  /** The conversation up to the question: what the model is prompted with. */
  readonly promptMessages: readonly ChatMessageInput[];
}

/** What a family draws; the generator turns it into a Task. */
export interface TaskDraft {
  readonly template: string;
  readonly question: string;
  readonly steps: readonly ToolStep[];
  readonly finalReasoning: string;
  readonly finalAnswer: string;
  readonly answer: ExpectedAnswer;
  readonly drawn: readonly number[];
}

/** Runs the calls for real and returns the step with their results. */
export function step(reasoning: string, calls: readonly ToolCallSpec[]): ToolStep {
  return { reasoning, calls, results: calls.map((c) => executeTool(c.name, c.arguments)) };
}

export function buildMessages(question: string, steps: readonly ToolStep[], finalReasoning: string, finalAnswer: string): ChatMessageInput[] {
  const messages: ChatMessageInput[] = [{ role: 'user', content: question }];
  for (const s of steps) {
    messages.push({
      role: 'assistant',
      content: '',
      reasoning_content: s.reasoning,
      tool_calls: s.calls.map((c) => ({ type: 'function' as const, function: { name: c.name, arguments: { ...c.arguments } } })),
    });
    for (const r of s.results) messages.push({ role: 'tool', content: r });
  }
  messages.push({ role: 'assistant', content: finalAnswer, reasoning_content: finalReasoning });
  return messages;
}

export { TOOLS };
