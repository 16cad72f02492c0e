// The other direction of the bridge: AgentTools offered as an MCP server, so anything built on the tool
// contract (an executor agent, built-in tools) can be used by any MCP client (our planner, Claude Code,
// an IDE). Arguments are checked against each tool's schema here too; a tool's error result comes back
// as an MCP `isError` result, and a thrown error as one with the message, never as a protocol failure.
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { CallToolRequestSchema, ListToolsRequestSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import type { AgentTool } from '../tool.js';

export interface ToolServerOptions {
  readonly name: string;
  readonly version?: string;
  /** Sent in the initialize result; clients may put it in their system prompt. */
  readonly instructions?: string;
  /** The workspace the tools run in (their ToolContext). */
  readonly workspace: string;
}

const validator = new AjvJsonSchemaValidator();

export function toolServer(tools: readonly AgentTool[], o: ToolServerOptions): Server {
  const server = new Server({ name: o.name, version: o.version ?? '0.1.0' }, { capabilities: { tools: {} }, ...(o.instructions ? { instructions: o.instructions } : {}) });
  const byName = new Map(tools.map((t) => [t.name, t]));
  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: tools.map((t) => ({ name: t.name, description: t.description, inputSchema: { ...t.parameters, type: 'object' as const } })),
  }));
  server.setRequestHandler(CallToolRequestSchema, async (req, extra): Promise<CallToolResult> => {
    const tool = byName.get(req.params.name);
    if (!tool) return { content: [{ type: 'text', text: `unknown tool "${req.params.name}"; this server offers ${[...byName.keys()].join(', ')}` }], isError: true };
    const args = req.params.arguments ?? {};
    const check = validator.getValidator(tool.parameters as never)(args);
    if (!check.valid) return { content: [{ type: 'text', text: `invalid arguments for ${tool.name}: ${check.errorMessage}` }], isError: true };
    try {
      const r = await tool.run(args, { signal: extra.signal, workspace: o.workspace, callId: String(extra.requestId) });
      const structured = r.data !== null && typeof r.data === 'object' && !Array.isArray(r.data) ? { structuredContent: r.data as Record<string, unknown> } : {};
      return { content: [{ type: 'text', text: r.content }], ...(r.isError ? { isError: true } : {}), ...structured };
    } catch (e) {
      return { content: [{ type: 'text', text: `${tool.name} failed: ${(e as Error).message}` }], isError: true };
    }
  });
  return server;
}
