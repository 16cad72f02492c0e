// The agentic task corpus: generation and rendering. This is the API the trainer and the evaluator use.
//
//   generateTasks({ split: 'train' | 'heldout', count, seed }): Task[]
//       Deterministic given (split, count, seed): task i depends only on (seed, split, i), so the first n
//       tasks of a larger request are the n tasks of a smaller one. The held-out split uses question
//       templates and number ranges (and words) that training never uses; it has no small-talk tasks.
//   renderTrainingText(task): { text, assistantSpans }
//       The whole conversation rendered by the Step 3.5 chat template (src/format, tools block included, the
//       BOS text first), and the [start, end) character spans the model must produce: each assistant turn
//       after its generation prompt `<|im_start|>assistant\n<think>\n`, through its `<|im_end|>` (reasoning,
//       `</think>`, tool calls or the answer, and the end-of-turn marker). Everything else (system block,
//       question, tool responses, turn headers) is context whose loss the trainer masks.
//   renderPrompt(task): string
//       The prompt for evaluation: BOS, tools block, the question, the generation prompt.
//   renderConversation(messages, options): string
//       Any partial conversation with the task tools, ending with the generation prompt (the evaluator's
//       next turn after tool responses).
//
// Every rendering takes `{ bosToken }` (default BOS_TEXT, the Step vocabulary's `<｜begin▁of▁sentence｜>`;
// '' for none) so it matches the tokenizer the model is trained with.
import { GENERATION_PROMPT, renderChat, type ChatMessageInput } from '../../format/index.js';
import { extractNumbers } from './check.js';
import { FAMILIES, FAMILY_WEIGHTS, TRAIN_FAMILY_WEIGHTS } from './families/index.js';
import { decorate } from './families/family.js';
import { Chooser, taskSeed } from './random.js';
import { buildMessages, FAMILY_NAMES, TOOLS, type FamilyName, type Split, type Task, type TaskDraft } from './task.js';

export const BOS_TEXT = '<｜begin▁of▁sentence｜>';

export interface GenerateTasksOptions {
  readonly split: Split;
  readonly count: number;
  readonly seed: number;
  /** Only these families (default: every family that has templates in the split). */
  readonly families?: readonly FamilyName[];
  /** Number ranges to draw from (default: the split's own). Held-out phrasing with training ranges, or the
   * reverse, separates the two kinds of generalization. */
  readonly ranges?: Split;
}

export interface RenderOptions {
  /** Text put first (default BOS_TEXT; '' for none). */
  readonly bosToken?: string;
}

export interface TrainingText {
  readonly text: string;
  /** [start, end) character offsets into `text` of what the model generates. */
  readonly assistantSpans: readonly (readonly [number, number])[];
}

/** The families a split draws from, with their weights. */
export function familiesOf(split: Split, only?: readonly FamilyName[]): FamilyName[] {
  for (const f of only ?? []) if (!FAMILY_NAMES.includes(f)) throw new Error(`unknown task family ${JSON.stringify(f)} (known: ${FAMILY_NAMES.join(', ')})`);
  return FAMILY_NAMES.filter((f) => (!only || only.includes(f)) && FAMILIES[f].templates(split).length > 0);
}

export function generateTasks(options: GenerateTasksOptions): Task[] {
  const { split, count, seed } = options;
  if (split !== 'train' && split !== 'heldout') throw new Error(`split must be "train" or "heldout", got ${JSON.stringify(split)}`);
  if (!Number.isInteger(count) || count < 0) throw new Error(`count must be a non-negative integer, got ${count}`);
  if (!Number.isSafeInteger(seed)) throw new Error(`seed must be a safe integer, got ${seed}`);
  const names = familiesOf(split, options.families);
  if (names.length === 0) throw new Error(`no task family has ${split} templates among ${options.families?.join(', ')}`);
  const weights = names.map((f) => (split === 'train' ? TRAIN_FAMILY_WEIGHTS : FAMILY_WEIGHTS)[f]);
  const tasks: Task[] = [];
  for (let i = 0; i < count; i++) {
    const c = new Chooser(taskSeed(seed, split, i));
    const family = names[c.weighted(weights)]!;
    const drawn = FAMILIES[family].draw(c, split, options.ranges ?? split);
    const draft = split === 'train' ? { ...drawn, question: decorate(c, drawn.question) } : drawn;
    tasks.push(toTask(`${split}-${seed}-${i}`, split, family, draft));
  }
  return tasks;
}

function toTask(id: string, split: Split, family: FamilyName, d: TaskDraft): Task {
  const allowed = new Set<string>(extractNumbers(d.question));
  for (const s of d.steps) {
    for (const call of s.calls) for (const v of Object.values(call.arguments)) for (const n of extractNumbers(String(v))) allowed.add(n);
    for (const r of s.results) for (const n of extractNumbers(r)) allowed.add(n);
  }
  const a = d.answer;
  if (a.kind === 'number') allowed.add(a.value);
  if (a.kind === 'numbers') for (const v of a.values) allowed.add(v);
  if (a.kind === 'list' && a.numeric) for (const v of a.items) allowed.add(v);
  const messages = buildMessages(d.question, d.steps, d.finalReasoning, d.finalAnswer);
  return {
    id,
    split,
    family,
    ...d,
    allowedNumbers: [...allowed],
    tools: TOOLS,
    messages,
    promptMessages: messages.slice(0, 1),
  };
}

const bosOf = (o: RenderOptions) => o.bosToken ?? BOS_TEXT;

export function renderConversation(messages: readonly ChatMessageInput[], options: RenderOptions & { addGenerationPrompt?: boolean } = {}): string {
  return renderChat(messages, { tools: TOOLS, bosToken: bosOf(options), addGenerationPrompt: options.addGenerationPrompt ?? true });
}

export function renderPrompt(task: Task, options: RenderOptions = {}): string {
  return renderChat(task.promptMessages, { tools: task.tools, bosToken: bosOf(options), addGenerationPrompt: true });
}

const IM_END = '<|im_end|>';

export function renderTrainingText(task: Task, options: RenderOptions = {}): TrainingText {
  const render = (n: number) => renderChat(task.messages.slice(0, n), { tools: task.tools, bosToken: bosOf(options) });
  const text = render(task.messages.length);
  const spans: [number, number][] = [];
  for (let i = 0; i < task.messages.length; i++) {
    if (task.messages[i]!.role !== 'assistant') continue;
    // The template renders a conversation's prefix as a prefix of the whole (one user query, so every
    // assistant turn keeps its reasoning); checked here, since the spans rely on it.
    const before = render(i);
    const through = render(i + 1);
    const start = before.length + GENERATION_PROMPT.length;
    const end = through.length - 1; // the template's newline after <|im_end|> is not generated
    if (!text.startsWith(through) || text.slice(before.length, start) !== GENERATION_PROMPT || text.slice(end - IM_END.length, end) !== IM_END) {
      throw new Error(`task ${task.id}: assistant turn ${i} does not render as a prefix of the conversation`);
    }
    spans.push([start, end]);
  }
  return { text, assistantSpans: spans };
}

export type { Task, Split, FamilyName, ExpectedAnswer, ToolStep } from './task.js';
export { FAMILY_NAMES, TOOLS } from './task.js';
