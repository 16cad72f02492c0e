// MCP servers that die mid-run. A stdio server killed during a call: that call comes back as an error
// result saying so, the server is restarted (a new process answers), and once the restart budget is
// spent its tools answer with a clear "unavailable" error. An HTTP server that goes away and comes back:
// the client opens a new session. Nothing throws at the caller.
import { strict as assert } from 'node:assert';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { connectMcpServers, type McpToolSource } from '../../src/agent/mcp/index.js';
import { serveMcpHttp } from '../../src/agent/mcp/http-server.js';
import type { ToolContext } from '../../src/agent/tool.js';
import { makeKitServer } from '../helpers/mcp-kit.js';

const root = new URL('../..', import.meta.url).pathname;
const ctx = (): ToolContext => ({ signal: new AbortController().signal, workspace: tmpdir(), callId: 'c1' });

async function call(source: McpToolSource, name: string, args: Record<string, unknown> = {}) {
  const t = source.tools().find((x) => x.name === name);
  assert.ok(t, `no tool ${name}`);
  return t.run(args, ctx());
}

async function waitFor(cond: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function pidOf(source: McpToolSource): Promise<number> {
  const r = await call(source, 'kit__whoami');
  const m = /^pid (\d+)$/.exec(r.content);
  assert.ok(m, r.content);
  return Number(m[1]);
}

describe('a stdio MCP server killed mid-run', () => {
  it('reports the broken call, restarts the server, and gives up clearly after the budget', async () => {
    const events: string[] = [];
    const source = await connectMcpServers(
      [{ kind: 'stdio', name: 'kit', command: process.execPath, args: ['--import', 'tsx', join(root, 'test/helpers/mcp-stdio-server.ts')], env: {}, cwd: root }],
      { maxRestarts: 2, backoffMs: 50, onEvent: (e) => events.push(e.type) },
    );
    try {
      const pid1 = await pidOf(source);
      // Kill it while a call is in flight.
      const pending = call(source, 'kit__sleep', { ms: 10_000 });
      setTimeout(() => process.kill(pid1, 'SIGKILL'), 200);
      const broken = await pending;
      assert.equal(broken.isError, true);
      assert.match(broken.content, /^MCP server "kit" died during the call .*the call may not have completed; it is being restarted/);

      // The next call waits for the restart and reaches a new process.
      const pid2 = await pidOf(source);
      assert.notEqual(pid2, pid1);
      assert.equal((await call(source, 'kit__add', { a: 1, b: 2 })).content, '3');
      assert.equal(source.status()[0]!.restarts, 1);

      // Killed between calls: the close is noticed and the server restarted before the next call.
      process.kill(pid2, 'SIGKILL');
      await waitFor(() => source.status()[0]!.restarts === 2 && source.status()[0]!.state === 'ready');
      const pid3 = await pidOf(source);
      assert.ok(pid3 !== pid1 && pid3 !== pid2);

      // The budget is spent: the next death is final, and every tool says why.
      process.kill(pid3, 'SIGKILL');
      await waitFor(() => source.status()[0]!.state === 'failed');
      const dead = await call(source, 'kit__echo', { text: 'hi' });
      assert.equal(dead.isError, true);
      assert.match(dead.content, /^MCP server "kit" is unavailable: .*\(gave up after 2 restarts\)$/);
      assert.ok(source.tools().length > 0, 'the failed server\'s tools stay listed');
      assert.deepEqual(events, ['ready', 'died', 'restarting', 'ready', 'died', 'restarting', 'ready', 'died', 'failed']);
    } finally {
      await source.close();
    }
  });
});

describe('an HTTP MCP server that goes away', () => {
  it('reports the broken call and reconnects with a new session when the server is back', async () => {
    let http = await serveMcpHttp(() => makeKitServer());
    const port = http.port;
    const source = await connectMcpServers([{ kind: 'http', name: 'kit', url: http.url, headers: {} }], { maxRestarts: 5, backoffMs: 100 });
    try {
      assert.equal((await call(source, 'kit__echo', { text: 'one' })).content, 'one');
      const pending = call(source, 'kit__sleep', { ms: 10_000 });
      await new Promise((r) => setTimeout(r, 200));
      await http.close();
      const broken = await pending;
      assert.equal(broken.isError, true);
      assert.match(broken.content, /^MCP server "kit" died during the call/);
      http = await serveMcpHttp(() => makeKitServer(), { port });
      assert.equal((await call(source, 'kit__echo', { text: 'two' })).content, 'two');
      assert.equal(source.status()[0]!.state, 'ready');
      assert.ok(source.status()[0]!.restarts >= 1);
      assert.equal(http.sessions(), 1);
    } finally {
      await source.close();
      await http.close();
    }
  });
});
