// The built-in tools, chosen by group name as `--tools shell,python,files,web,todo` does.
import type { AgentTool } from '../tool.js';
import { fileTools } from './files.js';
import type { SandboxLimits } from './sandbox.js';
import { pythonTool, shellTool } from './shell.js';
import { todoTool } from './todo.js';
import { webTools, type WebOptions } from './web.js';

export const TOOL_GROUPS = ['shell', 'python', 'files', 'web', 'todo'] as const;
export type ToolGroup = (typeof TOOL_GROUPS)[number];

export interface BuiltinOptions {
  readonly sandbox?: SandboxLimits;
  readonly web?: WebOptions;
}

/** Parses "shell,files" into groups; throws naming the unknown ones. */
export function parseToolGroups(list: string): ToolGroup[] {
  const names = list.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = names.filter((n) => !(TOOL_GROUPS as readonly string[]).includes(n));
  if (bad.length) throw new Error(`unknown tool group${bad.length > 1 ? 's' : ''} ${bad.join(', ')}; choose from ${TOOL_GROUPS.join(', ')}`);
  return [...new Set(names)] as ToolGroup[];
}

export function builtinTools(groups: readonly ToolGroup[], o: BuiltinOptions = {}): AgentTool[] {
  const out: AgentTool[] = [];
  for (const g of groups) {
    if (g === 'shell') out.push(shellTool(o.sandbox));
    else if (g === 'python') out.push(pythonTool(o.sandbox));
    else if (g === 'files') out.push(...fileTools());
    else if (g === 'web') out.push(...webTools(o.web));
    else if (g === 'todo') out.push(todoTool());
  }
  return out;
}

export { fileTools } from './files.js';
export { pythonTool, shellTool } from './shell.js';
export { todoTool } from './todo.js';
export { webTools, httpJsonSearch, type SearchHit, type SearchProvider, type WebOptions } from './web.js';
export { runSandboxed, bwrapPath, sandboxProblem, pidsCapKind, type SandboxLimits, type SandboxRun } from './sandbox.js';
export { htmlToText } from './html-text.js';
