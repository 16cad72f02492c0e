// Runs inside a network namespace that has only loopback (see claude-code.test.ts): starts the real
// stepflash server (every route, the real engine and chat format) over a scripted model, runs the real
// Claude Code CLI against it with ANTHROPIC_BASE_URL, and prints one JSON line with what happened.
//
// The scripted model answers like a model that knows Claude Code's Bash tool: asked to run a command, it
// emits a Step 3.5 tool call; once the tool's output is in the prompt, it reports it. Anything else
// Claude Code asks (titles, topic checks) gets a short plain answer.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { tinyRandomModelPath } from '../../src/cli/default-model.js';
import { GGUFFile } from '../../src/gguf/reader.js';
import { createChatService } from '../../src/server/engine/index.js';
import { startServer } from '../../src/server/server.js';
import { Tokenizer } from '../../src/tokenizer/index.js';
import { ScriptedModel, type ScriptedPrompt } from '../helpers/scripted-model.js';
import { GREETING, TOOL_MARKER } from './claude-code-runner-constants.js';


function reply(p: ScriptedPrompt): string {
  // Only the last user turn matters: the system prompt mentions all sorts of things.
  const lastUser = p.text.lastIndexOf('<|im_start|>user');
  const turn = lastUser >= 0 ? p.text.slice(lastUser) : p.text;
  if (turn.includes('<tool_response>') && turn.includes(TOOL_MARKER)) {
    return `The command ran and printed its marker.\n</think>\nThe command printed ${TOOL_MARKER}.`;
  }
  if (turn.includes('run the marker command')) {
    return (
      'The user wants me to run a shell command; the Bash tool does that.\n</think>\n' +
      `<tool_call>\n<function=Bash>\n<parameter=command>\necho ${TOOL_MARKER}\n</parameter>\n` +
      '<parameter=description>\nPrint the marker\n</parameter>\n</function>\n</tool_call>'
    );
  }
  if (turn.includes('say hi')) return `A greeting is all that is asked.\n</think>\n${GREETING}`;
  return 'A short answer will do.\n</think>\nOK.';
}

function claudeBinary(): string {
  const require = createRequire(import.meta.url);
  try {
    return join(dirname(require.resolve('@anthropic-ai/claude-code-linux-x64/package.json')), 'claude');
  } catch {
    return join(dirname(require.resolve('@anthropic-ai/claude-code/package.json')), 'bin', 'claude.exe');
  }
}

async function runClaude(url: string, prompt: string, extraArgs: string[], home: string, cwd: string) {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: home,
    TERM: 'dumb',
    // The documented set (README "Serving"): where to send requests, the key, the model, the context.
    ANTHROPIC_BASE_URL: url,
    ANTHROPIC_AUTH_TOKEN: 'e2e-key',
    ANTHROPIC_MODEL: 'stepflash-default',
    CLAUDE_CODE_MAX_CONTEXT_TOKENS: '131072',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    DISABLE_AUTOUPDATER: '1',
  };
  const args = ['-p', prompt, '--output-format', 'stream-json', '--verbose', ...extraArgs];
  const child = spawn(claudeBinary(), args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 150_000);
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  clearTimeout(timer);
  const events = out
    .split('\n')
    .filter((l) => l.trim().startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { code, events, stderr: err.slice(-4000) };
}

async function main(): Promise<void> {
  const file = GGUFFile.open(tinyRandomModelPath());
  const tokenizer = Tokenizer.fromMetadata(file.metadata);
  file.close();
  const model = new ScriptedModel(tokenizer, reply, { maxBatch: 4096 });
  const service = createChatService({ model, tokenizer, modelName: 'stepflash-default', contextSize: 131072, parallel: 2 });
  const requests: string[] = [];
  const server = await startServer({ service, port: 0, apiKey: 'e2e-key', log: (l) => requests.push(l) });
  const home = mkdtempSync(join(tmpdir(), 'stepflash-cc-home-'));
  const work = mkdtempSync(join(tmpdir(), 'stepflash-cc-work-'));
  try {
    const oneTurn = await runClaude(server.url, 'say hi', [], home, work);
    const toolTurn = await runClaude(server.url, 'Please run the marker command.', ['--allowedTools', 'Bash'], home, work);
    process.stdout.write(`${JSON.stringify({ oneTurn, toolTurn, requests, prompts: model.prompts.length })}\n`);
  } finally {
    await server.close();
    rmSync(home, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
