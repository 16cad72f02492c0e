// The Master's `dispatch` tool: runs Search and Verify sub-agents in parallel, each its own runAgent with
// an isolated context, its own step and token budgets and the Master's cancellation; then a Summary agent
// condenses each trajectory; the tool result the Master reads is the condensed reports with the numbered
// sources behind them. Concurrency is bounded (`maxParallel`), and so is the number of sub-agents over
// the whole run (`maxSubAgents`), so a Master that keeps dispatching cannot fan out without end.
import { runAgent } from '../loop/index.js';
import type { AgentEvent, AgentResult, ChatClientOptions, Usage } from '../loop/index.js';
import type { AgentTool, ToolResult } from '../tool.js';
import { SEARCH_SYSTEM, subTaskText, VERIFY_SYSTEM } from './prompts.js';
import { trackFetches, type Source, type SourceLedger } from './sources.js';
import { summarize, type Feedback } from './summary.js';

export type SubRole = 'search' | 'verify';

export interface SubTask {
  readonly role: SubRole;
  readonly objective: string;
  readonly constraints?: string;
  readonly expected_output?: string;
}

export interface SubAgentReport {
  readonly id: string;
  readonly role: SubRole;
  readonly objective: string;
  readonly stopReason: AgentResult['stopReason'];
  readonly steps: number;
  readonly usage: Usage;
  readonly final: string;
  readonly feedback: Feedback;
  /** Pages this agent fetched. */
  readonly sources: Source[];
  readonly error?: string;
}

export type ResearchEvent =
  | { type: 'dispatch'; tasks: SubTask[] }
  | { type: 'agent_start'; id: string; role: SubRole; objective: string }
  | { type: 'agent_event'; id: string; event: AgentEvent }
  | { type: 'agent_end'; id: string; stopReason: string; steps: number; sources: number }
  | { type: 'summary'; id: string; findings: number; by: 'model' | 'fallback' }
  | { type: 'master_event'; event: AgentEvent };

export interface DispatchOptions {
  readonly question: string;
  readonly client: ChatClientOptions;
  /** Endpoint of the sub-agents and the Summary agent (default: the Master's). */
  readonly subClient?: ChatClientOptions;
  readonly ledger: SourceLedger;
  /** The tools a sub-agent gets (fresh per agent); fetch_url is tracked for citations. */
  readonly makeTools: (id: string, role: SubRole) => AgentTool[];
  readonly maxParallel: number;
  readonly maxSubAgents: number;
  readonly subMaxSteps: number;
  readonly subTokenBudget?: number;
  readonly workspace?: string;
  /** The Master's trace file; each sub-agent and summary writes its own next to it (see traceFor). */
  readonly trace?: string;
  readonly onEvent?: (e: ResearchEvent) => void;
  /** Filled with every report, in dispatch order. */
  readonly reports: SubAgentReport[];
}

/** `run.jsonl` + `search-1` → `run.search-1.jsonl`: one trace per agent, so runs in parallel do not interleave. */
export function traceFor(trace: string, agent: string): string {
  const dot = trace.lastIndexOf('.');
  const slash = Math.max(trace.lastIndexOf('/'), trace.lastIndexOf('\\'));
  return dot > slash + 1 ? `${trace.slice(0, dot)}.${agent}${trace.slice(dot)}` : `${trace}.${agent}`;
}

const ZERO: Usage = { promptTokens: 0, completionTokens: 0, totalTokens: 0, calls: 0 };

/** Runs `items` through `worker` with at most `limit` at once; results keep the input order. */
export async function pool<T, R>(items: readonly T[], limit: number, worker: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await worker(items[i]!, i);
    }
  });
  await Promise.all(lanes);
  return out;
}

function parseTasks(args: Record<string, unknown>): SubTask[] | string {
  const raw = args.tasks;
  if (!Array.isArray(raw) || raw.length === 0) return 'dispatch needs a non-empty "tasks" array';
  const tasks: SubTask[] = [];
  for (const [i, t] of raw.entries()) {
    const r = t as Record<string, unknown>;
    if (r?.role !== 'search' && r?.role !== 'verify') return `tasks[${i}].role must be "search" or "verify"`;
    if (typeof r.objective !== 'string' || !r.objective.trim()) return `tasks[${i}].objective must be a non-empty string`;
    tasks.push({
      role: r.role,
      objective: r.objective.trim(),
      ...(typeof r.constraints === 'string' && r.constraints ? { constraints: r.constraints } : {}),
      ...(typeof r.expected_output === 'string' && r.expected_output ? { expected_output: r.expected_output } : {}),
    });
  }
  return tasks;
}

/** One report as the Master reads it. */
export function renderReport(r: SubAgentReport): string {
  const f = r.feedback;
  const cite = (ns: number[]) => (ns.length ? ' ' + ns.map((n) => `[${n}]`).join('') : ' (no fetched source)');
  const lines = [`## ${r.id} (${r.role}): ${r.objective}`, `Status: ${r.stopReason} after ${r.steps} model calls; confidence ${f.confidence}`];
  if (f.verdict) lines.push(`Verdict: ${f.verdict}`);
  lines.push('Findings:', ...(f.findings.length ? f.findings.map((x) => `- ${x.claim}${cite(x.sources)}`) : ['- (none)']));
  if (f.openQuestions.length) lines.push('Open questions:', ...f.openQuestions.map((q) => `- ${q}`));
  if (f.deadEnds.length) lines.push('Dead ends:', ...f.deadEnds.map((q) => `- ${q}`));
  lines.push('Sources this agent fetched (cite as [n]):', ...(r.sources.length ? r.sources.map((s) => `[${s.n}] ${s.url}${s.title ? ` — ${s.title}` : ''}`) : ['(none)']));
  return lines.join('\n');
}

export function dispatchTool(o: DispatchOptions): AgentTool {
  let started = 0;
  const runOne = async (task: SubTask, signal: AbortSignal): Promise<SubAgentReport> => {
    const id = `${task.role}-${++started}`;
    o.onEvent?.({ type: 'agent_start', id, role: task.role, objective: task.objective });
    const client = o.subClient ?? o.client;
    let sub: AgentResult;
    try {
      sub = await runAgent({
        client,
        task: subTaskText(task, o.question),
        system: task.role === 'search' ? SEARCH_SYSTEM : VERIFY_SYSTEM,
        tools: trackFetches(o.makeTools(id, task.role), o.ledger, id),
        maxSteps: o.subMaxSteps,
        ...(o.subTokenBudget ? { tokenBudget: o.subTokenBudget } : {}),
        signal,
        ...(o.workspace ? { workspace: o.workspace } : {}),
        ...(o.trace ? { trace: traceFor(o.trace, id) } : {}),
        onEvent: (event) => o.onEvent?.({ type: 'agent_event', id, event }),
      });
    } catch (e) {
      sub = { final: '', stopReason: 'error', steps: 0, usage: ZERO, messages: [], contextEvents: 0, error: (e as Error).message };
    }
    const sources = o.ledger.fetchedBy(id);
    o.onEvent?.({ type: 'agent_end', id, stopReason: sub.stopReason, steps: sub.steps, sources: sources.length });
    const { feedback, run } = await summarize(sub, { client, objective: task.objective, role: task.role, ledger: o.ledger, agent: id, signal, ...(o.trace ? { trace: traceFor(o.trace, `${id}.summary`) } : {}) });
    o.onEvent?.({ type: 'summary', id, findings: feedback.findings.length, by: feedback.by });
    const usage = run ? addUsage(sub.usage, run.usage) : sub.usage;
    return {
      id,
      role: task.role,
      objective: task.objective,
      stopReason: sub.stopReason,
      steps: sub.steps,
      usage,
      final: sub.final,
      feedback,
      sources,
      ...(sub.error ? { error: sub.error } : {}),
    };
  };

  return {
    name: 'dispatch',
    description:
      `Run research sub-agents in parallel (at most ${o.maxParallel} at once, ${o.maxSubAgents} over the whole run). ` +
      `Each task gets its own agent with web search and page fetching; "search" finds and reads sources for an objective, ` +
      `"verify" checks one claim. Returns each agent's condensed findings and the numbered sources it fetched.`,
    parameters: {
      type: 'object',
      properties: {
        tasks: {
          type: 'array',
          minItems: 1,
          items: {
            type: 'object',
            properties: {
              role: { type: 'string', enum: ['search', 'verify'] },
              objective: { type: 'string', description: 'self-contained: what to find or which claim to check' },
              constraints: { type: 'string' },
              expected_output: { type: 'string' },
            },
            required: ['role', 'objective'],
          },
        },
      },
      required: ['tasks'],
    },
    async run(args, ctx): Promise<ToolResult> {
      const parsed = parseTasks(args);
      if (typeof parsed === 'string') return { content: parsed, isError: true };
      const room = o.maxSubAgents - started;
      if (room <= 0) return { content: `no sub-agents left (${o.maxSubAgents} per run); answer with what the reports show`, isError: true };
      const tasks = parsed.slice(0, room);
      o.onEvent?.({ type: 'dispatch', tasks });
      const reports = await pool(tasks, o.maxParallel, (t) => runOne(t, ctx.signal));
      o.reports.push(...reports);
      const skipped = parsed.length - tasks.length;
      const note = skipped > 0 ? `\n\n(${skipped} task(s) not run: the run's limit of ${o.maxSubAgents} sub-agents is reached)` : '';
      return { content: reports.map(renderReport).join('\n\n') + note, data: reports.map((r) => r.id) };
    },
  };
}

export function addUsage(a: Usage, b: Usage): Usage {
  return {
    promptTokens: a.promptTokens + b.promptTokens,
    completionTokens: a.completionTokens + b.completionTokens,
    totalTokens: a.totalTokens + b.totalTokens,
    calls: a.calls + b.calls,
  };
}
