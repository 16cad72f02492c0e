// AgentTools offered as an MCP server (toolServer over serveMcpHttp), seen by the SDK's own client: the
// schemas are listed as declared, arguments are checked on the server side too, a tool's error result and
// a thrown error both come back as isError results, structured data as structuredContent.
import { strict as assert } from 'node:assert';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { serveMcpHttp, toolServer } from '../../src/agent/mcp/index.js';
import type { AgentTool } from '../../src/agent/tool.js';

const tools: AgentTool[] = [
  {
    name: 'area',
    description: 'Area of a rectangle.',
    parameters: { type: 'object', properties: { w: { type: 'number' }, h: { type: 'number' } }, required: ['w', 'h'] },
    run: async (a, ctx) => ({ content: String(Number(a.w) * Number(a.h)), data: { area: Number(a.w) * Number(a.h), workspace: ctx.workspace } }),
  },
  { name: 'refuse', description: 'Always refuses.', parameters: { type: 'object', properties: {} }, run: async () => ({ content: 'no, and here is why', isError: true }) },
  { name: 'explode', description: 'Throws.', parameters: { type: 'object', properties: {} }, run: async () => { throw new Error('kaboom'); } },
];

describe('toolServer: AgentTools as an MCP server', () => {
  it('lists, validates and calls through the SDK client', async () => {
    const workspace = tmpdir();
    const http = await serveMcpHttp(() => toolServer(tools, { name: 'bridge', workspace, instructions: 'Use area for rectangles.' }));
    const client = new Client({ name: 't', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(http.url)));
    try {
      assert.equal(client.getInstructions(), 'Use area for rectangles.');
      const listed = await client.listTools();
      assert.deepEqual(listed.tools.map((t) => t.name), ['area', 'refuse', 'explode']);
      assert.deepEqual(listed.tools[0]!.inputSchema.required, ['w', 'h']);
      const ok = await client.callTool({ name: 'area', arguments: { w: 3, h: 4 } });
      assert.deepEqual(ok.content, [{ type: 'text', text: '12' }]);
      assert.deepEqual(ok.structuredContent, { area: 12, workspace });
      const bad = await client.callTool({ name: 'area', arguments: { w: 'three' } });
      assert.equal(bad.isError, true);
      assert.match((bad.content as { text: string }[])[0]!.text, /^invalid arguments for area: /);
      const refused = await client.callTool({ name: 'refuse', arguments: {} });
      assert.deepEqual([refused.isError, (refused.content as { text: string }[])[0]!.text], [true, 'no, and here is why']);
      const thrown = await client.callTool({ name: 'explode', arguments: {} });
      assert.deepEqual([thrown.isError, (thrown.content as { text: string }[])[0]!.text], [true, 'explode failed: kaboom']);
      const unknown = await client.callTool({ name: 'nope', arguments: {} });
      assert.match((unknown.content as { text: string }[])[0]!.text, /unknown tool "nope"; this server offers area, refuse, explode/);
      // The Host check refuses requests that name another host (DNS rebinding).
      const init = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } } };
      const status = await new Promise<number>((resolve, reject) => {
        const req = request(http.url, { method: 'POST', headers: { host: 'evil.example', 'content-type': 'application/json', accept: 'application/json, text/event-stream' } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end(JSON.stringify(init));
      });
      assert.equal(status, 403);
    } finally {
      await client.close();
      await http.close();
    }
  });
});
