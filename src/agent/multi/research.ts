// Multi-agent research: a Master agent plans and dispatches Search and Verify sub-agents in parallel
// (dispatch.ts), reads the Summary agent's condensed report of each, and writes the answer citing the
// pages the sub-agents fetched as [n]. Citations are checked against those pages (citations.ts). If the
// Master runs out of budget before answering, the answer is assembled from the reports' findings and
// says so, rather than coming back empty.
import { runAgent } from '../loop/index.js';
import type { AgentResult, ChatClientOptions, Usage } from '../loop/index.js';
import type { AgentTool } from '../tool.js';
import { webTools, type SearchProvider } from '../tools/web.js';
import { checkCitations, withReferences } from './citations.js';
import { addUsage, dispatchTool, type ResearchEvent, type SubAgentReport, type SubRole } from './dispatch.js';
import { MASTER_SYSTEM } from './prompts.js';
import { SourceLedger, type Source } from './sources.js';

export interface ResearchOptions {
  readonly client: ChatClientOptions;
  /** Endpoint for sub-agents and Summary agents (default: the Master's). */
  readonly subClient?: ChatClientOptions;
  /** Where web_search goes; without it the sub-agents can only fetch pages they are given or know. */
  readonly search?: SearchProvider;
  /** Hosts fetch_url may reach (default: any public host). */
  readonly allowHosts?: readonly string[];
  /** Extra tools for every sub-agent (a python tool, MCP tools). */
  readonly extraTools?: () => AgentTool[];
  /** Replace the sub-agents' tools altogether (tests, other providers). fetch_url stays the cited one. */
  readonly makeTools?: (id: string, role: SubRole) => AgentTool[];
  /** Sub-agents running at once (default 3). */
  readonly maxParallel?: number;
  /** Sub-agents over the whole run (default 3 × maxParallel). */
  readonly maxSubAgents?: number;
  /** Master model calls (default 12). */
  readonly maxSteps?: number;
  /** Model calls per sub-agent (default 10). */
  readonly subMaxSteps?: number;
  /** Tokens per sub-agent, from the endpoint's usage. */
  readonly subTokenBudget?: number;
  readonly signal?: AbortSignal;
  readonly onEvent?: (e: ResearchEvent) => void;
  readonly trace?: string;
  readonly workspace?: string;
}

export interface ResearchResult {
  /** The answer with checked citations and a Sources list of the pages it cites. */
  readonly answer: string;
  /** The answer text as checked (unknown citations shown as [?]), without the Sources list. */
  readonly text: string;
  readonly cited: Source[];
  /** Citation numbers in the Master's answer that match no fetched page. */
  readonly invalidCitations: number[];
  /** Every page the sub-agents fetched. */
  readonly sources: Source[];
  readonly reports: SubAgentReport[];
  /** `final`: the Master answered; otherwise why it stopped, and the answer was assembled from the reports. */
  readonly stopReason: AgentResult['stopReason'];
  readonly masterSteps: number;
  /** Master, sub-agents and Summary agents together. */
  readonly usage: Usage;
  readonly error?: string;
}

/** An answer from the reports alone, when the Master stopped without one. */
function assembled(reports: readonly SubAgentReport[], why: string): string {
  const lines = [`The research stopped before the lead agent wrote an answer (${why}). What the sub-agents found:`];
  for (const r of reports) for (const f of r.feedback.findings) lines.push(`- ${f.claim}${f.sources.map((n) => ` [${n}]`).join('')}`);
  if (lines.length === 1) lines.push('- nothing usable');
  return lines.join('\n');
}

export async function research(question: string, o: ResearchOptions): Promise<ResearchResult> {
  if (!question.trim()) throw new Error('the research question is empty');
  const maxParallel = o.maxParallel ?? 3;
  if (!Number.isInteger(maxParallel) || maxParallel < 1) throw new Error(`maxParallel must be a positive integer, got ${maxParallel}`);
  const maxSubAgents = o.maxSubAgents ?? 3 * maxParallel;
  const ledger = new SourceLedger();
  const reports: SubAgentReport[] = [];
  const makeTools =
    o.makeTools ??
    (() => [...webTools({ ...(o.search ? { search: o.search } : {}), ...(o.allowHosts ? { allowHosts: o.allowHosts } : {}) }), ...(o.extraTools?.() ?? [])]);
  const dispatch = dispatchTool({
    question,
    client: o.client,
    ...(o.subClient ? { subClient: o.subClient } : {}),
    ledger,
    makeTools,
    maxParallel,
    maxSubAgents,
    subMaxSteps: o.subMaxSteps ?? 10,
    ...(o.subTokenBudget ? { subTokenBudget: o.subTokenBudget } : {}),
    ...(o.workspace ? { workspace: o.workspace } : {}),
    ...(o.trace ? { trace: o.trace } : {}),
    ...(o.onEvent ? { onEvent: o.onEvent } : {}),
    reports,
  });
  const master = await runAgent({
    client: o.client,
    task: question,
    system: MASTER_SYSTEM,
    tools: [dispatch],
    maxSteps: o.maxSteps ?? 12,
    // Sub-agents can take minutes; the loop's tool time limit must not cut a dispatch short.
    toolTimeoutMs: 60 * 60 * 1000,
    ...(o.signal ? { signal: o.signal } : {}),
    ...(o.trace ? { trace: o.trace } : {}),
    ...(o.workspace ? { workspace: o.workspace } : {}),
    onEvent: (event) => o.onEvent?.({ type: 'master_event', event }),
  });
  const usage = reports.reduce((u, r) => addUsage(u, r.usage), master.usage);
  const answered = master.stopReason === 'final' && master.final.trim().length > 0;
  const why = master.stopReason === 'final' ? 'its answer was empty' : (master.error ?? master.stopReason);
  const raw = answered ? master.final : assembled(reports, why);
  const check = checkCitations(raw, ledger);
  return {
    answer: withReferences(check),
    text: check.text,
    cited: check.cited,
    invalidCitations: check.invalid,
    sources: ledger.all(),
    reports,
    stopReason: master.stopReason,
    masterSteps: master.steps,
    usage,
    ...(master.error ? { error: master.error } : {}),
  };
}
