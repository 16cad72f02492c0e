// The cloud side of edge-cloud delegation: a planner agent on one endpoint (a large model) that keeps the
// plan and delegates device-side sub-tasks to executors (executor.ts) reached as MCP servers, over HTTP
// or as stdio child processes. The planner sees each executor as `<name>__execute_task` and
// `<name>__device_info`; what the executor does on the device stays there, only its report comes back.
import { runAgent } from '../loop/index.js';
import type { AgentResult, RunAgentOptions } from '../loop/index.js';
import { connectMcpServers, type McpServerSpec, type McpServerStatus } from '../mcp/index.js';
import type { AgentTool, ToolSource } from '../tool.js';

export const PLANNER_SYSTEM = `You are a planner agent. You keep the overall plan and delegate work that must happen on the user's device to an on-device executor through its execute_task tool.
Break the task into simple, self-contained device tasks and give them one at a time, each with the exact names, values and paths it needs. Read each report before the next step; if a step failed or the executor needs something, adapt the plan or tell the user.
Never delegate payments or orders. When the task is done, reply without calling tools: what was done on the device and the results.`;

export interface PlannerOptions extends Omit<RunAgentOptions, 'tools' | 'system'> {
  /** The executors, as MCP servers (see serve.ts / executor-server.ts). */
  readonly executors: readonly McpServerSpec[];
  /** Cloud-side tools the planner has besides the executors. */
  readonly tools?: readonly (AgentTool | ToolSource)[];
  readonly system?: string;
}

export interface PlannerResult extends AgentResult {
  readonly executors: McpServerStatus[];
}

export async function runPlanner(o: PlannerOptions): Promise<PlannerResult> {
  if (o.executors.length === 0) throw new Error('runPlanner needs at least one executor');
  const { executors, tools, system, ...rest } = o;
  // Executor tasks take long: one call may run a whole agent on a small model.
  const mcp = await connectMcpServers(executors, { toolSearch: 'never', callTimeoutMs: 30 * 60 * 1000 });
  try {
    const down = mcp.status().filter((s) => s.state !== 'ready');
    if (down.length === executors.length) throw new Error(`no executor is reachable: ${down.map((s) => `${s.name}: ${s.error ?? s.state}`).join('; ')}`);
    const result = await runAgent({
      ...rest,
      system: system ?? PLANNER_SYSTEM,
      tools: [...(tools ?? []), mcp],
      toolTimeoutMs: rest.toolTimeoutMs ?? 30 * 60 * 1000,
    });
    return { ...result, executors: mcp.status() };
  } finally {
    await mcp.close();
  }
}
