// The held-out evaluation: each task runs as an agent loop. The model (any TurnGenerator) writes a turn;
// src/format's parser reads reasoning and tool calls from it; each call runs on the task tools and its result
// goes back as a tool response; the loop repeats until a turn without calls (the final answer) or the round
// limit. A task is solved when every tool turn made the expected calls (checkToolCalls: same tool, same
// computation), the number of tool turns is the task's, and the final answer states the expected result
// (gradeAnswer). Garbage output is a failure with a reason, never an exception.
import type { ChatMessageInput } from '../../format/index.js';
import { parseModelOutput } from '../../format/index.js';
import { checkToolCalls, gradeAnswer } from '../data/check.js';
import { executeTool } from '../data/tools.js';
import type { FamilyName, Task } from '../data/task.js';

export interface TurnOutput {
  /** The generated text after the generation prompt, without the end-of-turn token. */
  readonly text: string;
  /** 'stop': ended at the end-of-turn token; 'length': hit the token limit; 'context': the context is full. */
  readonly finish: 'stop' | 'length' | 'context';
  readonly tokens: number;
}

/** Writes the next assistant turn of a conversation (user question, earlier turns and tool responses). */
export interface TurnGenerator {
  next(task: Task, messages: readonly ChatMessageInput[]): Promise<TurnOutput>;
}

export interface EvalOptions {
  /** Most assistant turns per task (default 4: the longest tasks take 3). */
  readonly maxRounds?: number;
  /** Failures kept in the report (default 5). */
  readonly keepFailures?: number;
  readonly onProgress?: (done: number, total: number, solved: number) => void;
}

export interface TaskOutcome {
  readonly id: string;
  readonly family: FamilyName;
  readonly template: string;
  readonly question: string;
  readonly solved: boolean;
  /** The final answer states the expected result (whatever the calls). */
  readonly answerCorrect: boolean;
  /** Every tool turn made the expected calls, and as many tool turns as the task needs. */
  readonly callsCorrect: boolean;
  /** Why the task is not solved (the first problem found). */
  readonly reason?: string;
  /** Turns that wrote `<tool_call>`, and how many of those parsed into as many calls, none left open. */
  readonly callAttempts: number;
  readonly callsParsed: number;
  readonly finalAnswer?: string;
  /** The raw generated turns. */
  readonly turns: readonly TurnOutput[];
}

export interface FamilyScore {
  readonly tasks: number;
  readonly solved: number;
  readonly solveRate: number;
}

export interface EvalReport {
  readonly tasks: number;
  readonly solved: number;
  readonly solveRate: number;
  readonly answerRate: number;
  readonly callRate: number;
  /** Parsed tool-call turns / turns that wrote `<tool_call>` (null when no turn tried a call). */
  readonly toolCallParseRate: number | null;
  readonly perFamily: Readonly<Partial<Record<FamilyName, FamilyScore>>>;
  readonly generatedTokens: number;
  readonly ms: number;
  readonly failures: readonly TaskOutcome[];
}

const count = (s: string, sub: string) => s.split(sub).length - 1;

export async function evaluateTask(task: Task, gen: TurnGenerator, options: EvalOptions = {}): Promise<TaskOutcome> {
  const maxRounds = options.maxRounds ?? 4;
  const messages: ChatMessageInput[] = [...task.promptMessages];
  const turns: TurnOutput[] = [];
  let toolTurns = 0, callAttempts = 0, callsParsed = 0;
  let callProblem: string | undefined;
  let final: string | undefined;
  let finalProblem: string | undefined;
  for (let round = 0; round < maxRounds; round++) {
    const out = await gen.next(task, messages);
    turns.push(out);
    const parsed = parseModelOutput(out.text, task.tools);
    const tried = count(out.text, '<tool_call>');
    if (tried > 0) {
      callAttempts++;
      if (parsed.toolCalls.length >= tried && !parsed.endedInToolCall) callsParsed++;
    }
    if (parsed.toolCalls.length > 0) {
      const v = checkToolCalls(task, toolTurns, parsed.toolCalls);
      if (!v.ok) callProblem ??= v.reason;
      toolTurns++;
      messages.push({
        role: 'assistant',
        content: parsed.content,
        reasoning_content: parsed.reasoning,
        tool_calls: parsed.toolCalls.map((c) => ({ type: 'function' as const, function: { name: c.name, arguments: c.arguments } })),
      });
      for (const c of parsed.toolCalls) messages.push({ role: 'tool', content: executeTool(c.name, c.arguments) });
      if (out.finish === 'context') break;
      continue;
    }
    final = parsed.content;
    if (out.finish !== 'stop') finalProblem = out.finish === 'length' ? 'the answer ran past the token limit' : 'the context filled up';
    else if (parsed.endedInReasoning) finalProblem = 'the turn ended inside <think>';
    break;
  }
  if (final === undefined) finalProblem = `no final answer after ${turns.length} turn(s)`;
  const turnProblem = toolTurns !== task.steps.length ? `${toolTurns} tool turn(s), expected ${task.steps.length}` : undefined;
  const grade = final !== undefined && finalProblem === undefined ? gradeAnswer(task, final) : { ok: false, reason: finalProblem };
  const callsCorrect = callProblem === undefined && turnProblem === undefined;
  const solved = callsCorrect && grade.ok;
  // the most telling problem first: a wrong call, then a turn that never finished, then missing calls
  const reason = callProblem ?? finalProblem ?? turnProblem ?? grade.reason ?? 'unknown';
  return {
    id: task.id,
    family: task.family,
    template: task.template,
    question: task.question,
    solved,
    answerCorrect: grade.ok,
    callsCorrect,
    ...(solved ? {} : { reason }),
    callAttempts,
    callsParsed,
    ...(final !== undefined ? { finalAnswer: final } : {}),
    turns,
  };
}

export async function evaluateTasks(tasks: readonly Task[], gen: TurnGenerator, options: EvalOptions = {}): Promise<EvalReport> {
  const t0 = performance.now();
  const outcomes: TaskOutcome[] = [];
  let solved = 0;
  for (const task of tasks) {
    const o = await evaluateTask(task, gen, options);
    outcomes.push(o);
    if (o.solved) solved++;
    options.onProgress?.(outcomes.length, tasks.length, solved);
  }
  return summarize(outcomes, performance.now() - t0, options.keepFailures ?? 5);
}

export function summarize(outcomes: readonly TaskOutcome[], ms: number, keepFailures = 5): EvalReport {
  const n = outcomes.length;
  const rate = (k: number) => (n === 0 ? 0 : k / n);
  const perFamily: Partial<Record<FamilyName, FamilyScore>> = {};
  for (const o of outcomes) {
    const f = perFamily[o.family] ?? { tasks: 0, solved: 0, solveRate: 0 };
    const tasks = f.tasks + 1, solved = f.solved + (o.solved ? 1 : 0);
    perFamily[o.family] = { tasks, solved, solveRate: solved / tasks };
  }
  const attempts = outcomes.reduce((a, o) => a + o.callAttempts, 0);
  const parsed = outcomes.reduce((a, o) => a + o.callsParsed, 0);
  const solved = outcomes.filter((o) => o.solved).length;
  return {
    tasks: n,
    solved,
    solveRate: rate(solved),
    answerRate: rate(outcomes.filter((o) => o.answerCorrect).length),
    callRate: rate(outcomes.filter((o) => o.callsCorrect).length),
    toolCallParseRate: attempts === 0 ? null : parsed / attempts,
    perFamily,
    generatedTokens: outcomes.reduce((a, o) => a + o.turns.reduce((b, t) => b + t.tokens, 0), 0),
    ms,
    failures: outcomes.filter((o) => !o.solved).slice(0, keepFailures),
  };
}
