// The `todo` tool: a plan the model keeps while it works. Each call may add, update or remove items;
// every call returns the whole list, so the plan stays in view after context management too.
import type { AgentTool } from '../tool.js';

type Status = 'pending' | 'in_progress' | 'completed' | 'blocked';
const STATUSES: Status[] = ['pending', 'in_progress', 'completed', 'blocked'];
const MARK: Record<Status, string> = { pending: '[ ]', in_progress: '[~]', completed: '[x]', blocked: '[!]' };

export interface TodoItem {
  id: string;
  task: string;
  status: Status;
  notes?: string;
}

export function todoTool(): AgentTool & { items(): TodoItem[] } {
  const items = new Map<string, TodoItem>();
  const render = () =>
    items.size === 0 ? 'The plan is empty.' : [...items.values()].map((t) => `${MARK[t.status]} ${t.id}: ${t.task}${t.notes ? ` (${t.notes})` : ''}`).join('\n');
  return {
    name: 'todo',
    description:
      'Keep your plan. With no arguments, show it. `set` adds or updates items by id (task, status: pending|in_progress|completed|blocked, notes); `remove` deletes ids. Returns the whole plan.',
    parameters: {
      type: 'object',
      properties: {
        set: {
          type: 'array',
          items: {
            type: 'object',
            properties: { id: { type: 'string', minLength: 1 }, task: { type: 'string' }, status: { type: 'string', enum: STATUSES }, notes: { type: 'string' } },
            required: ['id'],
          },
        },
        remove: { type: 'array', items: { type: 'string' } },
      },
    },
    items: () => [...items.values()].map((t) => ({ ...t })),
    run: async (a) => {
      const problems: string[] = [];
      for (const u of (a.set as Partial<TodoItem>[] | undefined) ?? []) {
        const old = items.get(u.id!);
        if (!old && !u.task) {
          problems.push(`item "${u.id}" is new and needs a task`);
          continue;
        }
        items.set(u.id!, { id: u.id!, task: u.task ?? old!.task, status: u.status ?? old?.status ?? 'pending', ...((u.notes ?? old?.notes) !== undefined ? { notes: u.notes ?? old?.notes } : {}) });
      }
      for (const id of (a.remove as string[] | undefined) ?? []) if (!items.delete(id)) problems.push(`no item "${id}" to remove`);
      const done = [...items.values()].filter((t) => t.status === 'completed').length;
      const body = `${render()}\n(${done}/${items.size} completed)`;
      return problems.length ? { content: `${problems.join('; ')}\n${body}`, isError: true } : { content: body };
    },
  };
}
