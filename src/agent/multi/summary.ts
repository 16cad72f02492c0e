// The Summary agent: one sub-agent's trajectory in, structured feedback out (findings with sources, a
// verdict for verification, open questions, dead ends, confidence). It is a model call through runAgent
// with a JSON schema for the answer; what it returns is then checked against the ledger, so a "source"
// the sub-agent never fetched is dropped. If the model gives no usable JSON, the feedback is built
// mechanically from the sub-agent's final report and the pages it fetched, so the Master always gets one.
import { runAgent } from '../loop/index.js';
import type { AgentResult, ChatClientOptions, ChatMessage } from '../loop/index.js';
import { SUMMARY_SYSTEM } from './prompts.js';
import { canonicalUrl, type SourceLedger } from './sources.js';

export type Verdict = 'supported' | 'refuted' | 'uncertain';

export interface Finding {
  readonly claim: string;
  /** Citation numbers of fetched pages that support it. */
  readonly sources: number[];
}

export interface Feedback {
  readonly findings: Finding[];
  readonly verdict?: Verdict;
  readonly openQuestions: string[];
  readonly deadEnds: string[];
  readonly confidence: 'high' | 'medium' | 'low';
  /** `model` when the Summary agent's JSON was used, `fallback` when it was built mechanically. */
  readonly by: 'model' | 'fallback';
  /** Source URLs the Summary agent named that the sub-agent never fetched (dropped). */
  readonly droppedSources: string[];
}

export const FEEDBACK_SCHEMA = {
  type: 'object',
  properties: {
    findings: {
      type: 'array',
      items: {
        type: 'object',
        properties: { claim: { type: 'string' }, sources: { type: 'array', items: { type: 'string' } } },
        required: ['claim', 'sources'],
      },
    },
    verdict: { type: 'string', enum: ['supported', 'refuted', 'uncertain'] },
    open_questions: { type: 'array', items: { type: 'string' } },
    dead_ends: { type: 'array', items: { type: 'string' } },
    confidence: { type: 'string', enum: ['high', 'medium', 'low'] },
  },
  required: ['findings', 'open_questions', 'confidence'],
};

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)} [... ${text.length - max} characters cut]`;
}

/** The trajectory as plain lines, tool outputs clipped, so it reads as a record rather than a chat to continue. */
export function transcript(messages: readonly ChatMessage[], maxChars = 24_000): string {
  const lines: string[] = [];
  for (const m of messages) {
    if (m.role === 'system') continue;
    if (m.role === 'user') lines.push(`[Task] ${m.content}`);
    else if (m.role === 'assistant') {
      if (m.reasoning_content) lines.push(`[Agent thinking] ${clip(m.reasoning_content, 600)}`);
      if (m.content) lines.push(`[Agent] ${m.content}`);
      for (const c of m.tool_calls ?? []) lines.push(`[Agent calls] ${c.function.name} ${clip(c.function.arguments, 400)}`);
    } else lines.push(`[Tool result] ${clip(m.content, 1500)}`);
  }
  const text = lines.join('\n');
  if (text.length <= maxChars) return text;
  // Keep the task and the end (where the report is); the middle is where the cut hurts least.
  const head = Math.floor(maxChars * 0.3);
  return `${text.slice(0, head)}\n[... ${text.length - maxChars} characters of the trajectory cut ...]\n${text.slice(text.length - (maxChars - head))}`;
}

/** Cited numbers for `urls`, keeping only pages `agent` fetched; the rest are returned as dropped. */
function resolveSources(urls: readonly unknown[], ledger: SourceLedger, agent: string, dropped: string[]): number[] {
  const out: number[] = [];
  for (const u of urls) {
    if (typeof u !== 'string') continue;
    const s = ledger.get(u);
    if (s && s.fetchedBy.includes(agent)) {
      if (!out.includes(s.n)) out.push(s.n);
    } else dropped.push(canonicalUrl(u));
  }
  return out;
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && x.trim().length > 0) : [];
}

/** Feedback from the sub-agent's own final report, when the Summary agent fails. */
export function fallbackFeedback(sub: AgentResult, ledger: SourceLedger, agent: string): Feedback {
  const fetched = ledger.fetchedBy(agent).map((s) => s.n);
  const text = sub.final.trim();
  return {
    findings: text ? [{ claim: clip(text, 2000), sources: fetched }] : [],
    openQuestions: sub.stopReason === 'final' ? [] : [`the agent stopped early (${sub.stopReason}${sub.error ? `: ${sub.error}` : ''})`],
    deadEnds: [],
    confidence: 'low',
    by: 'fallback',
    droppedSources: [],
  };
}

export interface SummarizeOptions {
  readonly client: ChatClientOptions;
  readonly objective: string;
  readonly role: string;
  readonly ledger: SourceLedger;
  readonly agent: string;
  readonly signal?: AbortSignal;
  readonly trace?: string;
}

export async function summarize(sub: AgentResult, o: SummarizeOptions): Promise<{ feedback: Feedback; run: AgentResult | null }> {
  const fetched = o.ledger.fetchedBy(o.agent);
  const task =
    `Role: ${o.role} agent\nObjective: ${o.objective}\nStopped: ${sub.stopReason} after ${sub.steps} model calls\n` +
    `Pages it fetched:\n${fetched.length ? fetched.map((s) => `- ${s.url}${s.title ? ` (${s.title})` : ''}`).join('\n') : '(none)'}\n\n` +
    `Trajectory:\n${transcript(sub.messages)}`;
  let run: AgentResult | null = null;
  try {
    run = await runAgent({
      client: o.client,
      task,
      system: SUMMARY_SYSTEM,
      tools: [],
      maxSteps: 3,
      finalSchema: FEEDBACK_SCHEMA,
      ...(o.signal ? { signal: o.signal } : {}),
      ...(o.trace ? { trace: o.trace } : {}),
    });
  } catch {
    run = null;
  }
  const json = run?.json as Record<string, unknown> | undefined;
  if (!run || run.stopReason !== 'final' || !json || typeof json !== 'object') return { feedback: fallbackFeedback(sub, o.ledger, o.agent), run };
  const dropped: string[] = [];
  const findings: Finding[] = (Array.isArray(json.findings) ? json.findings : []).flatMap((f: unknown) => {
    const r = f as Record<string, unknown>;
    if (typeof r?.claim !== 'string' || !r.claim.trim()) return [];
    return [{ claim: r.claim.trim(), sources: resolveSources(Array.isArray(r.sources) ? r.sources : [], o.ledger, o.agent, dropped) }];
  });
  const verdict = json.verdict === 'supported' || json.verdict === 'refuted' || json.verdict === 'uncertain' ? json.verdict : undefined;
  const confidence = json.confidence === 'high' || json.confidence === 'medium' || json.confidence === 'low' ? json.confidence : 'low';
  return {
    feedback: {
      findings,
      ...(verdict ? { verdict } : {}),
      openQuestions: strings(json.open_questions),
      deadEnds: strings(json.dead_ends),
      confidence,
      by: 'model',
      droppedSources: dropped,
    },
    run,
  };
}
