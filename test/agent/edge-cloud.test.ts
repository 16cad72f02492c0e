// Edge-cloud delegation with real processes: the executor agent runs as its own process
// (src/agent/edge/executor-server.ts) and is offered to the planner as an MCP server; each agent has its
// own model endpoint (stepflash's OpenAI API over scripted models: a "cloud" planner and a "device"
// executor). The planner's delegated task is carried out by the executor's model with the executor's
// device tools (a file appears in the device workspace), and the executor's report comes back to the
// planner through MCP. Also: the planner itself as a process (`stepflash agent --mcp`), and the executor
// started by the planner over stdio.
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { runPlanner } from '../../src/agent/edge/index.js';
import type { ChatRequest } from '../../src/server/chat-service.js';
import { ScriptedChatService, type ScriptedReply } from '../helpers/scripted-service.js';
import { startServer, type TestServer } from '../server/openai/harness.js';

const root = new URL('../..', import.meta.url).pathname;
const executorEntry = join(root, 'src/agent/edge/executor-server.ts');
const TASK = 'Save my shopping list (milk, eggs) on my phone.';
const DEVICE_TASK = 'Create the file shopping.txt containing the lines milk and eggs';

type Msg = { role: string; content?: unknown };
const toolMsgs = (req: ChatRequest) => (req.messages as readonly Msg[]).filter((m) => m.role === 'tool').map((m) => String(m.content));
const offered = (req: ChatRequest) => (req.tools ?? []).map((t) => t.function.name);

/** The cloud planner: delegates one device task, then reports what the executor said. */
function plannerScript(req: ChatRequest): ScriptedReply {
  const results = toolMsgs(req);
  const delegate = offered(req).find((n) => n.endsWith('__execute_task'));
  if (!delegate) return { content: ['no executor offered'] };
  if (results.length === 0) return { reasoning: ['This must happen on the device.'], toolCalls: [{ name: delegate, arguments: JSON.stringify({ task: DEVICE_TASK }) }] };
  const report = /^report: (.*)$/m.exec(results[0]!)?.[1] ?? '(no report)';
  return { reasoning: ['The executor is done.'], content: [`Done on your phone: ${report}`] };
}

/** The small on-device model: writes the file with its device tool, then reports. */
function executorScript(req: ChatRequest): ScriptedReply {
  const results = toolMsgs(req);
  if (results.length === 0) return { toolCalls: [{ name: 'write_file', arguments: JSON.stringify({ path: 'shopping.txt', content: 'milk\neggs\n' }) }] };
  return { content: ['Created shopping.txt with 2 lines.'] };
}

interface Endpoint {
  server: TestServer;
  service: ScriptedChatService;
  baseURL: string;
}
async function endpoint(script: (req: ChatRequest) => ScriptedReply): Promise<Endpoint> {
  const service = new ScriptedChatService(script);
  const server = await startServer(service);
  return { server, service, baseURL: `${server.url}/v1` };
}

function userText(service: ScriptedChatService): string[] {
  return service.requests.map((r) => String((r.messages as readonly Msg[]).find((m) => m.role === 'user')?.content ?? ''));
}

/** Starts the executor process over HTTP and waits for its {"url"} line. */
async function startExecutor(baseURL: string, workspace: string): Promise<{ child: ChildProcess; url: string; pid: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', executorEntry, '--base-url', baseURL, '--model', 'small-device-model', '--workspace', workspace, '--tools', 'files', '--device', 'test-phone'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const line = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`executor exited with ${code}: ${stderr}`)));
  });
  const info = JSON.parse(line) as { url: string; pid: number; tools: string[] };
  assert.deepEqual(info.tools, ['execute_task', 'device_info']);
  return { child, url: info.url, pid: info.pid };
}

describe('edge-cloud: a planner delegates device tasks to an executor agent over MCP', () => {
  let cloud: Endpoint;
  let device: Endpoint;
  before(async () => {
    cloud = await endpoint(plannerScript);
    device = await endpoint(executorScript);
  });
  after(async () => {
    await cloud.server.close();
    await device.server.close();
  });

  it('the executor process runs the delegated task with its own model and tools; the report returns through MCP', async () => {
    const workspace = mkdtempSync(join(tmpdir(), 'device-'));
    const exec = await startExecutor(device.baseURL, workspace);
    try {
      assert.notEqual(exec.pid, process.pid);
      cloud.service.requests.length = 0;
      device.service.requests.length = 0;
      const result = await runPlanner({
        client: { baseURL: cloud.baseURL, model: 'cloud-planner', retry: { maxRetries: 0 } },
        task: TASK,
        executors: [{ kind: 'http', name: 'phone', url: exec.url, headers: {} }],
      });
      assert.equal(result.stopReason, 'final');
      assert.equal(result.final, 'Done on your phone: Created shopping.txt with 2 lines.');
      // The work happened on the device side, by the executor's model and tool.
      assert.equal(readFileSync(join(workspace, 'shopping.txt'), 'utf8'), 'milk\neggs\n');
      assert.deepEqual(userText(device.service), [DEVICE_TASK, DEVICE_TASK]);
      assert.ok(device.service.requests.every((r) => offered(r).includes('write_file') && !offered(r).some((n) => n.includes('execute_task'))));
      // The planner saw the executor as MCP tools and got its log back as the tool result.
      assert.deepEqual(offered(cloud.service.requests[0]!).sort(), ['phone__device_info', 'phone__execute_task']);
      const back = toolMsgs(cloud.service.requests[1]!)[0]!;
      assert.match(back, /^status: completed\nsession: exec-1\nsteps: 2\ntools used: write_file ×1\nreport: Created shopping.txt with 2 lines\.$/);
      assert.deepEqual(result.executors.map((s) => [s.name, s.state]), [['phone', 'ready']]);
      assert.equal(userText(cloud.service)[0], TASK);
    } finally {
      exec.child.kill('SIGTERM');
    }
  });

  it('works with the planner as a process too: stepflash agent --mcp pointing at the executor', async () => {
    const workspace = mkdtempSync(join(tmpdir(), 'device-'));
    const exec = await startExecutor(device.baseURL, workspace);
    try {
      const cfg = join(mkdtempSync(join(tmpdir(), 'planner-')), 'servers.json');
      writeFileSync(cfg, JSON.stringify({ mcpServers: { phone: { url: exec.url } } }));
      const planner = spawn(
        process.execPath,
        ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'agent', TASK, '--base-url', cloud.baseURL, '--model', 'cloud-planner', '--mcp', cfg, '--tools', '', '--json', '--quiet', '--workspace', mkdtempSync(join(tmpdir(), 'cloud-'))],
        { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let out = '';
      let err = '';
      planner.stdout!.on('data', (d) => (out += d));
      planner.stderr!.on('data', (d) => (err += d));
      const code = await new Promise<number | null>((resolve) => planner.on('close', resolve));
      assert.equal(code, 0, err);
      const j = JSON.parse(out) as { final: string; stopReason: string };
      assert.equal(j.final, 'Done on your phone: Created shopping.txt with 2 lines.');
      assert.equal(readFileSync(join(workspace, 'shopping.txt'), 'utf8'), 'milk\neggs\n');
    } finally {
      exec.child.kill('SIGTERM');
    }
  });

  it('starts the executor itself over stdio when configured as a command', async () => {
    const workspace = mkdtempSync(join(tmpdir(), 'device-'));
    const result = await runPlanner({
      client: { baseURL: cloud.baseURL, model: 'cloud-planner', retry: { maxRetries: 0 } },
      task: TASK,
      executors: [
        {
          kind: 'stdio',
          name: 'phone',
          command: process.execPath,
          args: ['--import', 'tsx', executorEntry, '--stdio', '--base-url', device.baseURL, '--model', 'small', '--workspace', workspace, '--tools', 'files'],
          env: {},
          cwd: root,
        },
      ],
    });
    assert.equal(result.final, 'Done on your phone: Created shopping.txt with 2 lines.');
    assert.equal(readFileSync(join(workspace, 'shopping.txt'), 'utf8'), 'milk\neggs\n');
  });

  it('reports clearly when no executor can be reached', async () => {
    // A port that was free a moment ago: nothing listens there.
    const probe = createServer();
    await new Promise<void>((ok) => probe.listen(0, '127.0.0.1', ok));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((ok) => probe.close(() => ok()));
    await assert.rejects(
      runPlanner({
        client: { baseURL: cloud.baseURL, model: 'cloud-planner' },
        task: TASK,
        executors: [{ kind: 'http', name: 'phone', url: `http://127.0.0.1:${port}/mcp`, headers: {} }],
      }),
      /no executor is reachable: phone: .*ECONNREFUSED/,
    );
  });
});
