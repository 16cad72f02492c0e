// The device-side executor of edge-cloud delegation: an agent on a small (typically local) model with the
// device's own tools, offered to a planner as MCP tools (the Step-GUI / gelab-zero shape):
//   execute_task {task, max_steps?}  run one simple, self-contained task to the end and return its log
//   device_info {}                   what this executor is: device, model, tools, whether it is busy
// Tasks run one at a time, in arrival order: a device has one screen / one workspace, and a small model
// does one simple task well; the planner decomposes. Nothing the executor reads leaves the device except
// the final report it writes.
import { hostname } from 'node:os';
import { runAgent } from '../loop/index.js';
import type { ChatClientOptions } from '../loop/index.js';
import type { AgentTool, ToolResult } from '../tool.js';

export const EXECUTOR_SYSTEM = `You are an on-device executor agent. You get one simple task from a planner and carry it out with the device tools you have.
Do exactly the task, nothing more. Never pay, order or send anything that costs money, and stop before any payment or irreversible action the task does not state.
If the task is ambiguous or needs a human (a login, a verification), stop and say what is needed instead of guessing.
When done, reply without calling tools: what you did and the result, briefly and exactly (names, numbers, paths).`;

export interface ExecutorOptions {
  /** The executor's model (e.g. a small local model behind stepflash serve). */
  readonly client: ChatClientOptions;
  /** The device-side tools the executor may use. */
  readonly tools: readonly AgentTool[];
  /** Device name reported by device_info (default: the host name). */
  readonly device?: string;
  /** Model calls per task at most; a planner may ask for fewer (default 15). */
  readonly maxSteps?: number;
  readonly system?: string;
  readonly trace?: string;
}

type Status = 'completed' | 'stopped' | 'error' | 'cancelled';

/** A one-at-a-time queue: each job starts after the previous one settled. */
function serial(): <T>(job: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return (job) => {
    const run = tail.then(job, job);
    tail = run.catch(() => undefined);
    return run;
  };
}

export function executorTools(o: ExecutorOptions): AgentTool[] {
  const maxSteps = o.maxSteps ?? 15;
  const queue = serial();
  let sessions = 0;
  let busy = 0;
  const device = o.device ?? hostname();
  const toolNames = o.tools.map((t) => t.name);

  const execute: AgentTool = {
    name: 'execute_task',
    description:
      `Have the on-device agent (${o.client.model} on ${device}) carry out one simple, self-contained task with the device's tools ` +
      `(${toolNames.join(', ') || 'none'}). Give one task at a time with everything it needs (exact names, values, paths); ` +
      `decompose larger plans yourself. It never pays or orders anything. Returns the status, steps taken, tools used and its report.`,
    parameters: {
      type: 'object',
      properties: {
        task: { type: 'string', minLength: 1, description: 'the task, self-contained' },
        max_steps: { type: 'integer', minimum: 1, maximum: maxSteps, description: `model calls allowed (default ${maxSteps})` },
      },
      required: ['task'],
      additionalProperties: false,
    },
    run: (args, ctx) =>
      queue(async (): Promise<ToolResult> => {
        const session = `exec-${++sessions}`;
        busy++;
        const used = new Map<string, number>();
        try {
          const r = await runAgent({
            client: o.client,
            task: String(args.task),
            system: o.system ?? EXECUTOR_SYSTEM,
            tools: [...o.tools],
            maxSteps: typeof args.max_steps === 'number' ? Math.min(args.max_steps, maxSteps) : maxSteps,
            signal: ctx.signal,
            workspace: ctx.workspace,
            ...(o.trace ? { trace: o.trace } : {}),
            onEvent: (e) => {
              if (e.type === 'tool_start') used.set(e.name, (used.get(e.name) ?? 0) + 1);
            },
          });
          const status: Status = r.stopReason === 'final' ? 'completed' : r.stopReason === 'error' ? 'error' : r.stopReason === 'cancelled' ? 'cancelled' : 'stopped';
          const tools = [...used].map(([n, c]) => `${n} ×${c}`).join(', ') || 'none';
          const lines = [
            `status: ${status}${status === 'stopped' ? ` (${r.stopReason})` : ''}`,
            `session: ${session}`,
            `steps: ${r.steps}`,
            `tools used: ${tools}`,
            ...(r.error ? [`error: ${r.error}`] : []),
            `report: ${r.final || '(none)'}`,
          ];
          return {
            content: lines.join('\n'),
            ...(status === 'error' || status === 'cancelled' ? { isError: true } : {}),
            data: { session_id: session, status, stop_reason: r.stopReason, steps: r.steps, tools_used: Object.fromEntries(used), report: r.final, usage: r.usage },
          };
        } finally {
          busy--;
        }
      }),
  };

  const info: AgentTool = {
    name: 'device_info',
    description: 'Describe the on-device executor: device, model, tools and whether it is busy.',
    parameters: { type: 'object', properties: {}, additionalProperties: false },
    run: async () => {
      const data = { device, platform: process.platform, arch: process.arch, model: o.client.model, tools: toolNames, busy: busy > 0, tasks_run: sessions, max_steps: maxSteps };
      return { content: JSON.stringify(data), data };
    },
  };
  return [execute, info];
}
