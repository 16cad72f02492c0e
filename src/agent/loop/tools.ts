// Running the model's tool calls: resolve the tool, parse and check the arguments, run with a time
// limit and the run's cancellation, and turn every failure into an error result the model can read.
import type { AgentTool, ToolResult, ToolSource } from '../tool.js';
import { validate } from './schema.js';
import type { ToolCall } from './types.js';

export function isSource(t: AgentTool | ToolSource): t is ToolSource {
  return typeof (t as ToolSource).tools === 'function' && typeof (t as AgentTool).run !== 'function';
}

/** The tools offered now: sources are asked for their current list; the first tool of a name wins. */
export function currentTools(entries: readonly (AgentTool | ToolSource)[]): Map<string, AgentTool> {
  const map = new Map<string, AgentTool>();
  for (const e of entries) for (const t of isSource(e) ? e.tools() : [e]) if (!map.has(t.name)) map.set(t.name, t);
  return map;
}

export function toolSpecs(tools: Map<string, AgentTool>) {
  return [...tools.values()].map((t) => ({ type: 'function' as const, function: { name: t.name, description: t.description, parameters: t.parameters } }));
}

/** Canonical text of a call, to spot the model repeating itself. */
export function callSignature(name: string, args: unknown): string {
  const canon = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(canon) : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, canon((v as Record<string, unknown>)[k])])) : v;
  return `${name} ${JSON.stringify(canon(args))}`;
}

export type Prepared = { ok: true; tool: AgentTool; args: Record<string, unknown> } | { ok: false; error: string; args?: unknown };

export function prepareCall(call: ToolCall, tools: Map<string, AgentTool>): Prepared {
  const tool = tools.get(call.function.name);
  if (!tool) {
    const names = [...tools.keys()];
    return { ok: false, error: `unknown tool "${call.function.name}". Available tools: ${names.length ? names.join(', ') : '(none)'}` };
  }
  let args: unknown;
  const raw = call.function.arguments.trim();
  try {
    args = raw === '' ? {} : JSON.parse(raw);
  } catch (e) {
    return { ok: false, error: `the arguments of ${tool.name} are not valid JSON (${(e as Error).message}): ${raw.slice(0, 200)}` };
  }
  if (args === null || typeof args !== 'object' || Array.isArray(args)) return { ok: false, error: `the arguments of ${tool.name} must be a JSON object`, args };
  const problems = validate(args, tool.parameters);
  if (problems.length) return { ok: false, error: `invalid arguments for ${tool.name}: ${problems.join('; ')}`, args };
  return { ok: true, tool, args: args as Record<string, unknown> };
}

/** Runs a prepared call; never throws (a throw, a timeout and a cancellation become error results). */
export async function execute(tool: AgentTool, args: Record<string, unknown>, opts: { signal: AbortSignal; workspace: string; callId: string; timeoutMs: number }): Promise<ToolResult> {
  const timeout = AbortSignal.timeout(opts.timeoutMs);
  const signal = AbortSignal.any([opts.signal, timeout]);
  let onAbort: (() => void) | undefined;
  // A tool that ignores its signal must still not hold the loop: the race ends the call either way.
  const aborted = new Promise<ToolResult>((resolve) => {
    onAbort = () =>
      resolve({ content: opts.signal.aborted ? `${tool.name} was cancelled` : `${tool.name} did not finish within ${opts.timeoutMs} ms and was stopped`, isError: true });
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    const r = await Promise.race([tool.run(args, { signal, workspace: opts.workspace, callId: opts.callId }), aborted]);
    if (!r || typeof r.content !== 'string') return { content: `${tool.name} returned no content`, isError: true };
    return r;
  } catch (e) {
    return { content: `${tool.name} failed: ${(e as Error)?.message ?? String(e)}`, isError: true };
  } finally {
    signal.removeEventListener('abort', onAbort!);
  }
}
