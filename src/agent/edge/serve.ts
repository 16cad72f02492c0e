// Serving the executor (executor.ts) as an MCP server, over Streamable HTTP (the planner reaches it by
// URL, possibly from another machine) or over stdio (the planner starts it as a child process).
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { serveMcpHttp, type McpHttpHandle } from '../mcp/http-server.js';
import { toolServer } from '../mcp/tool-server.js';
import { executorTools, type ExecutorOptions } from './executor.js';

export interface ServeExecutorOptions extends ExecutorOptions {
  /** The executor's workspace: its device-side tools act here. */
  readonly workspace: string;
  readonly name?: string;
}

const INSTRUCTIONS =
  'An on-device executor agent. Delegate one simple, self-contained device task per execute_task call; decompose plans yourself. It never pays or orders anything.';

/** Serves on http://host:port/mcp; every client session shares one executor (and its one-at-a-time queue). */
export async function serveExecutorHttp(o: ServeExecutorOptions, http: { host?: string; port?: number } = {}): Promise<McpHttpHandle & { tools: string[] }> {
  const tools = executorTools(o);
  const handle = await serveMcpHttp(() => toolServer(tools, { name: o.name ?? 'stepflash-executor', instructions: INSTRUCTIONS, workspace: o.workspace }), http);
  return Object.assign(handle, { tools: tools.map((t) => t.name) });
}

/** Serves on this process's stdin/stdout until stdin closes. */
export async function serveExecutorStdio(o: ServeExecutorOptions): Promise<void> {
  const server = toolServer(executorTools(o), { name: o.name ?? 'stepflash-executor', instructions: INSTRUCTIONS, workspace: o.workspace });
  const closed = new Promise<void>((resolve) => {
    server.onclose = () => resolve();
  });
  await server.connect(new StdioServerTransport());
  await closed;
}
