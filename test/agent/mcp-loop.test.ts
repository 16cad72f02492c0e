// MCP tools inside the agent loop (runAgent over stepflash's OpenAI API with a scripted model): tool
// search loads a schema that the next model call is offered and the call works; a server killed during a
// call does not end the run: the model reads the error, calls again, and a restarted server answers.
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runAgent, type AgentEvent } from '../../src/agent/loop/index.js';
import { connectMcpServers } from '../../src/agent/mcp/index.js';
import type { ChatRequest } from '../../src/server/chat-service.js';
import { ScriptedChatService, type ScriptedReply } from '../helpers/scripted-service.js';
import { startServer } from '../server/openai/harness.js';

const root = new URL('../..', import.meta.url).pathname;
const kit = (...extra: string[]) => ({ kind: 'stdio' as const, name: 'kit', command: process.execPath, args: ['--import', 'tsx', join(root, 'test/helpers/mcp-stdio-server.ts'), ...extra], env: {}, cwd: root });

type Msg = { role: string; content?: unknown };
const toolMsgs = (req: ChatRequest) => (req.messages as readonly Msg[]).filter((m) => m.role === 'tool').map((m) => String(m.content));
const offered = (req: ChatRequest) => (req.tools ?? []).map((t) => t.function.name);
const call = (name: string, args: unknown): ScriptedReply => ({ toolCalls: [{ name, arguments: JSON.stringify(args) }] });

async function withModel<T>(script: (req: ChatRequest) => ScriptedReply, body: (baseURL: string, service: ScriptedChatService) => Promise<T>): Promise<T> {
  const service = new ScriptedChatService(script);
  const server = await startServer(service);
  try {
    return await body(`${server.url}/v1`, service);
  } finally {
    await server.close();
  }
}

describe('MCP tools in the agent loop', () => {
  it('tool_search among 106 tools: the found tool is offered at the next call and works', async () => {
    const source = await connectMcpServers([kit('--many', '100')]);
    try {
      await withModel(
        (req) => {
          const results = toolMsgs(req);
          if (results.length === 0) return call('tool_search', { query: 'weather forecast for a city' });
          if (results.length === 1) return call('kit__weather_forecast', { city: 'Oslo', days: 2 });
          return { content: [`Answer: ${results[1]}`] };
        },
        async (baseURL, service) => {
          const r = await runAgent({ client: { baseURL, model: 'm', retry: { maxRetries: 0 } }, task: 'Weather in Oslo for two days?', tools: [source], maxSteps: 5 });
          assert.equal(r.stopReason, 'final');
          assert.equal(r.final, 'Answer: forecast for Oslo: sunny for 2 day(s)');
          const [first, second] = service.requests;
          assert.deepEqual(offered(first!), ['tool_search']);
          assert.ok(offered(second!).includes('kit__weather_forecast'));
          assert.ok(offered(second!).length <= 6, `only the search and what it loaded: ${offered(second!).join(', ')}`);
          const spec = second!.tools!.find((t) => t.function.name === 'kit__weather_forecast')!;
          assert.deepEqual((spec.function.parameters as { required: string[] }).required, ['city']);
        },
      );
    } finally {
      await source.close();
    }
  });

  it('a server killed during a call: the run goes on, the model retries and the restarted server answers', async () => {
    const source = await connectMcpServers([kit()], { backoffMs: 50 });
    const pids: number[] = [];
    try {
      await withModel(
        (req) => {
          const results = toolMsgs(req);
          if (results.length === 0) return call('kit__whoami', {});
          if (results.length === 1) return call('kit__sleep', { ms: 10_000 });
          if (results.length === 2) return call('kit__whoami', {});
          return { content: [`Recovered after: ${results[1]!.split(' (')[0]}`] };
        },
        async (baseURL) => {
          const onEvent = (e: AgentEvent) => {
            if (e.type === 'tool_end' && e.name === 'kit__whoami') pids.push(Number(/pid (\d+)/.exec(e.content)?.[1]));
            if (e.type === 'tool_start' && e.name === 'kit__sleep') setTimeout(() => process.kill(pids[0]!, 'SIGKILL'), 200);
          };
          const r = await runAgent({ client: { baseURL, model: 'm', retry: { maxRetries: 0 } }, task: 'Who are you, twice?', tools: [source], maxSteps: 6, onEvent });
          assert.equal(r.stopReason, 'final');
          assert.equal(r.final, 'Recovered after: MCP server "kit" died during the call');
          assert.equal(pids.length, 2);
          assert.ok(pids[0]! > 0 && pids[1]! > 0 && pids[0] !== pids[1], `a new process answered: ${pids.join(' → ')}`);
          assert.equal(source.status()[0]!.restarts, 1);
        },
      );
    } finally {
      await source.close();
    }
  });
});
