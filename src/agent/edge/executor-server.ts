// The executor as its own process:
//   node dist/agent/edge/executor-server.js --base-url URL [--model NAME] [--api-key K] [--workspace DIR]
//        [--tools files,todo] [--max-steps N] [--device NAME] [--host 127.0.0.1] [--port 0] [--stdio]
// Over HTTP it prints one JSON line {"url", "tools", "pid"} on stdout once it listens, and stops on
// SIGTERM/SIGINT; with --stdio it speaks MCP on stdin/stdout (for a planner that starts it). Its model is
// any OpenAI-compatible endpoint, typically a small local model (`stepflash serve --model small.gguf`).
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { builtinTools, bwrapPath, parseToolGroups, sandboxProblem } from '../tools/index.js';
import { serveExecutorHttp, serveExecutorStdio, type ServeExecutorOptions } from './serve.js';

const HELP = `usage: executor-server --base-url URL [--model NAME] [--api-key KEY] [--workspace DIR] [--tools files,todo]
                       [--max-steps N] [--device NAME] [--host 127.0.0.1] [--port 0] [--stdio]
An on-device executor agent served as an MCP server (tools execute_task and device_info).`;

function fail(message: string): never {
  process.stderr.write(`executor-server: ${message}\n${HELP}\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  let v;
  try {
    ({ values: v } = parseArgs({
      options: {
        'base-url': { type: 'string' },
        model: { type: 'string', default: 'default' },
        'api-key': { type: 'string' },
        workspace: { type: 'string', default: '.' },
        tools: { type: 'string', default: 'files,todo' },
        'max-steps': { type: 'string', default: '15' },
        device: { type: 'string' },
        host: { type: 'string', default: '127.0.0.1' },
        port: { type: 'string', default: '0' },
        stdio: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    }));
  } catch (e) {
    fail((e as Error).message);
  }
  if (v.help) {
    process.stdout.write(`${HELP}\n`);
    return;
  }
  const baseURL = v['base-url'] ?? process.env.OPENAI_BASE_URL;
  if (!baseURL) fail('--base-url is required (the executor model\'s OpenAI-compatible endpoint)');
  const maxSteps = Number(v['max-steps']);
  if (!Number.isInteger(maxSteps) || maxSteps < 1) fail(`--max-steps must be a positive integer, got "${v['max-steps']}"`);
  const port = Number(v.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`--port must be 0-65535, got "${v.port}"`);
  let groups;
  try {
    groups = v.tools.trim() === '' ? [] : parseToolGroups(v.tools);
  } catch (e) {
    fail((e as Error).message);
  }
  if ((groups.includes('shell') || groups.includes('python')) && !bwrapPath()) fail(`${sandboxProblem()}; choose tools without shell and python (e.g. --tools files,todo)`);
  const workspace = resolve(v.workspace);
  mkdirSync(workspace, { recursive: true });
  const apiKey = v['api-key'] ?? process.env.OPENAI_API_KEY;
  const options: ServeExecutorOptions = {
    client: { baseURL, model: v.model, ...(apiKey ? { apiKey } : {}) },
    tools: builtinTools(groups),
    workspace,
    maxSteps,
    ...(v.device ? { device: v.device } : {}),
  };
  if (v.stdio) {
    await serveExecutorStdio(options);
    return;
  }
  const handle = await serveExecutorHttp(options, { host: v.host, port });
  process.stdout.write(`${JSON.stringify({ url: handle.url, tools: handle.tools, pid: process.pid })}\n`);
  const stop = () => {
    void handle.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

await main();
