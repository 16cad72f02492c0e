// The MCP client against real servers: the kit server (test/helpers/mcp-kit.ts) as a stdio process and
// over Streamable HTTP. Tools are namespaced per server within 64 characters, arguments are checked
// against the schema before they are sent, results and errors come back as tool results, and the list
// follows tools/list_changed.
import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connectMcpServers, loadMcpTools, parseMcpConfig, readMcpConfig, type McpToolSource } from '../../src/agent/mcp/index.js';
import { serveMcpHttp, type McpHttpHandle } from '../../src/agent/mcp/http-server.js';
import type { AgentTool, ToolContext } from '../../src/agent/tool.js';
import { makeKitServer } from '../helpers/mcp-kit.js';

const root = new URL('../..', import.meta.url).pathname;
const stdioKit = (...extra: string[]) => ({ command: process.execPath, args: ['--import', 'tsx', join(root, 'test/helpers/mcp-stdio-server.ts'), ...extra], cwd: root });
const ctx = (): ToolContext => ({ signal: new AbortController().signal, workspace: tmpdir(), callId: 'c1' });

function tool(source: McpToolSource, name: string): AgentTool {
  const t = source.tools().find((x) => x.name === name);
  assert.ok(t, `no tool ${name} among ${source.tools().map((x) => x.name).join(', ')}`);
  return t;
}

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('MCP config', () => {
  it('reads stdio and HTTP servers, expands ${VAR}, resolves cwd against the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcp-cfg-'));
    const file = join(dir, 'servers.json');
    writeFileSync(
      file,
      JSON.stringify({
        mcpServers: {
          fs: { command: 'npx', args: ['-y', 'server-fs', '${HOME_DIR}'], env: { TOKEN: '${TOK:-none}' }, cwd: 'sub' },
          remote: { url: 'http://127.0.0.1:9/mcp', headers: { Authorization: 'Bearer ${TOK:-x}' } },
          off: { command: 'nothing', disabled: true },
        },
      }),
    );
    const specs = readMcpConfig(file, { HOME_DIR: '/h' });
    assert.deepEqual(specs, [
      { kind: 'stdio', name: 'fs', command: 'npx', args: ['-y', 'server-fs', '/h'], env: { TOKEN: 'none' }, cwd: join(dir, 'sub') },
      { kind: 'http', name: 'remote', url: 'http://127.0.0.1:9/mcp', headers: { Authorization: 'Bearer x' } },
    ]);
  });

  it('refuses malformed configs with a message naming the server and field', () => {
    assert.throws(() => parseMcpConfig({ servers: {} }), /expected \{"mcpServers"/);
    assert.throws(() => parseMcpConfig({ mcpServers: { a: { args: [] } } }), /server "a": expected "command".*or "url"/);
    assert.throws(() => parseMcpConfig({ mcpServers: { a: { command: 'x', url: 'http://h' } } }), /either "command".*not both/);
    assert.throws(() => parseMcpConfig({ mcpServers: { a: { command: 'x', args: 'y' } } }), /server "a": args/);
    assert.throws(() => parseMcpConfig({ mcpServers: { a: { url: 'ftp://h' } } }), /http or https/);
    assert.throws(() => parseMcpConfig({ mcpServers: { 'a b': { command: 'x' } } }), /server name/);
    assert.throws(() => parseMcpConfig({ mcpServers: { a: { command: '${NOPE_NOT_SET}' } } }, { env: {} }), /NOPE_NOT_SET is not set/);
    assert.throws(() => readMcpConfig('/nonexistent/servers.json'), /cannot read MCP config/);
  });
});

describe('MCP client, stdio and HTTP servers together', () => {
  let http: McpHttpHandle;
  let httpKit: ReturnType<typeof makeKitServer> | null = null;
  let source: McpToolSource;
  const events: string[] = [];

  before(async () => {
    http = await serveMcpHttp(() => (httpKit = makeKitServer({ name: 'remote-kit' })));
    const dir = mkdtempSync(join(tmpdir(), 'mcp-'));
    const file = join(dir, 'servers.json');
    writeFileSync(file, JSON.stringify({ mcpServers: { local: stdioKit('--weird'), remote: { url: http.url } } }));
    source = await loadMcpTools(file, { onEvent: (e) => events.push(`${e.server}:${e.type}`), reservedNames: ['local__echo_builtin'] });
  });
  after(async () => {
    await source.close();
    await http.close();
  });

  it('lists both servers\' tools, namespaced, every name within OpenAI\'s rule and unique', () => {
    const names = source.tools().map((t) => t.name);
    for (const n of ['local__echo', 'remote__echo', 'local__add', 'remote__whoami']) assert.ok(names.includes(n), n);
    for (const n of names) assert.match(n, /^[a-zA-Z0-9_-]{1,64}$/);
    assert.equal(new Set(names).size, names.length);
    assert.deepEqual(
      source.status().map((s) => [s.name, s.kind, s.state]),
      [
        ['local', 'stdio', 'ready'],
        ['remote', 'http', 'ready'],
      ],
    );
    assert.deepEqual(events.sort(), ['local:ready', 'remote:ready']);
    assert.deepEqual(source.instructions(), ['local: Kit server for tests.', 'remote: Kit server for tests.']);
  });

  it('keeps colliding and over-long names apart, stable, and calls the right tool', async () => {
    const names = source.tools().map((t) => t.name);
    const dotted = source.tools().filter((t) => t.description.includes('tool "get.item"'));
    const under = source.tools().filter((t) => t.description.includes('tool "get_item"'));
    assert.equal(dotted.length, 1);
    assert.equal(under.length, 1);
    assert.notEqual(dotted[0]!.name, under[0]!.name);
    assert.equal((await dotted[0]!.run({}, ctx())).content, 'dotted');
    assert.equal((await under[0]!.run({}, ctx())).content, 'underscored');
    const long = source.tools().find((t) => t.description.includes(`tool "${'x'.repeat(60)}"`))!;
    assert.ok(long.name.length <= 64 && long.name.startsWith('local__xxx'), long.name);
    assert.equal((await long.run({}, ctx())).content, 'long');
    assert.deepEqual(source.tools().map((t) => t.name), names, 'names are stable between calls');
  });

  it('calls tools on both transports', async () => {
    assert.deepEqual(await tool(source, 'local__add').run({ a: 2, b: 40 }, ctx()), { content: '42', data: undefined });
    assert.equal((await tool(source, 'remote__echo').run({ text: 'over http' }, ctx())).content, 'over http');
    assert.match((await tool(source, 'local__whoami').run({}, ctx())).content, /^pid \d+$/);
    assert.notEqual((await tool(source, 'local__whoami').run({}, ctx())).content, `pid ${process.pid}`);
  });

  it('refuses bad arguments with the schema, without sending them', async () => {
    const before = httpKit!.calls.add ?? 0;
    const r = await tool(source, 'remote__add').run({ a: 'one' }, ctx());
    assert.equal(r.isError, true);
    assert.match(r.content, /^Invalid arguments for remote__add: .*(required|must be number)/);
    assert.match(r.content, /Expected JSON Schema: \{"type":"object"/);
    assert.equal(httpKit!.calls.add ?? 0, before, 'the server never saw the bad call');
  });

  it('passes the tool\'s own errors back as error results', async () => {
    const r = await tool(source, 'local__fail').run({}, ctx());
    assert.deepEqual([r.isError, r.content], [true, 'this tool always fails']);
  });

  it('follows tools/list_changed on both transports', async () => {
    for (const server of ['local', 'remote']) {
      const r = await tool(source, `${server}__grow`).run({ name: 'fresh' }, ctx());
      assert.equal(r.content, 'added fresh');
      await waitFor(() => source.tools().some((t) => t.name === `${server}__fresh`));
      assert.equal((await tool(source, `${server}__fresh`).run({}, ctx())).content, 'fresh here');
    }
  });

  it('cancels a call when the run is cancelled', async () => {
    const ac = new AbortController();
    const started = Date.now();
    const p = tool(source, 'remote__sleep').run({ ms: 5000 }, { signal: ac.signal, workspace: tmpdir(), callId: 'c' });
    setTimeout(() => ac.abort(), 100);
    const r = await p;
    assert.deepEqual([r.isError, r.content], [true, 'the call was cancelled']);
    assert.ok(Date.now() - started < 3000);
  });
});

describe('MCP sessions and reports', () => {
  it('ends its HTTP session on the server when closed', async () => {
    const http = await serveMcpHttp(() => makeKitServer());
    try {
      const source = await connectMcpServers([{ kind: 'http', name: 'k', url: http.url, headers: {} }]);
      assert.equal(http.sessions(), 1);
      await source.close();
      await waitFor(() => http.sessions() === 0);
    } finally {
      await http.close();
    }
  });

  it('loadMcpTools reports a server that fails on stderr (for stepflash agent --mcp)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcp-'));
    const file = join(dir, 'servers.json');
    writeFileSync(file, JSON.stringify({ mcpServers: { gone: { command: '/nonexistent/mcp-server' } } }));
    const lines: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => {
      lines.push(String(chunk));
      return true;
    }) as typeof process.stderr.write;
    let source: McpToolSource;
    try {
      source = await loadMcpTools(file, { maxRestarts: 1, backoffMs: 10 });
    } finally {
      process.stderr.write = write;
    }
    await source.close();
    assert.ok(lines.some((l) => /^mcp: server "gone" failed: MCP server "gone" is unavailable: .*ENOENT/.test(l)), lines.join(''));
  });
});

describe('MCP servers that do not come up', () => {
  it('reports a server that crashes on start with its stderr, after bounded retries, and keeps the others', async () => {
    const http = await serveMcpHttp(() => makeKitServer());
    const started = Date.now();
    const source = await connectMcpServers(
      [
        { kind: 'stdio', name: 'broken', ...stdioKit('--crash-on-start'), env: {} },
        { kind: 'stdio', name: 'missing', command: '/nonexistent/mcp-server', args: [], env: {} },
        { kind: 'http', name: 'ok', url: http.url, headers: {} },
      ],
      { maxRestarts: 2, backoffMs: 50 },
    );
    try {
      const status = source.status();
      assert.equal(status[0]!.state, 'failed');
      assert.equal(status[0]!.restarts, 2);
      assert.match(status[0]!.error ?? '', /refusing to start/);
      assert.equal(status[1]!.state, 'failed');
      assert.match(status[1]!.error ?? '', /ENOENT/);
      assert.equal(status[2]!.state, 'ready');
      assert.ok(source.tools().every((t) => t.name.startsWith('ok__')));
      assert.ok(Date.now() - started < 20_000);
    } finally {
      await source.close();
      await http.close();
    }
  });
});
