// stepflash agent "TASK": the agent loop on any OpenAI-compatible endpoint (--base-url), or on a local
// engine this command starts itself (--model file.gguf, or the embedded default model when no endpoint
// is given). Progress streams to stderr; the final answer (or, with --json, the whole result) goes to
// stdout. Exit codes: 0 final answer, 1 error, 3 stopped by --max-steps or --token-budget, 130 cancelled.
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { DEFAULT_SYSTEM, runAgent } from '../../agent/loop/index.js';
import type { ChatClientOptions, ContextMode } from '../../agent/loop/types.js';
import { progressPrinter } from '../../agent/progress.js';
import type { AgentTool, JsonSchema, ToolSource } from '../../agent/tool.js';
import { builtinTools, bwrapPath, httpJsonSearch, parseToolGroups, sandboxProblem } from '../../agent/tools/index.js';
import { createChatService } from '../../server/engine/index.js';
import { startServer, type RunningServer } from '../../server/server.js';
import { openModel } from '../open-model.js';
import { addThreadsFlag, positiveInt, threadsFrom } from '../sampling-options.js';
import { cancelOnInterrupt } from '../interrupt.js';

interface AgentFlags {
  baseUrl?: string;
  apiKey?: string;
  model?: string;
  mcp?: string;
  tools: string;
  maxSteps: string;
  tokenBudget?: string;
  maxTokens?: string;
  temperature?: string;
  context?: string;
  contextThreshold?: string;
  workspace?: string;
  trace?: string;
  json?: boolean;
  quiet?: boolean;
  system?: string;
  schema?: string;
  toolTimeout: string;
  memory: string;
  network?: boolean;
  webAllow?: string;
  searchUrl?: string;
  ctx?: string;
  threads?: string;
  reasoning: boolean;
}

const CONTEXT_MODES: readonly ContextMode[] = ['reset', 'discard', 'summarize'];

function isLocalModel(m: string | undefined): boolean {
  return m !== undefined && (m.endsWith('.gguf') || (existsSync(m) && statSync(m).isFile()));
}

/** The MCP client is built alongside (src/agent/mcp); loaded only when --mcp is used. */
async function loadMcp(path: string): Promise<ToolSource> {
  if (!existsSync(path)) throw new Error(`--mcp: no such file: ${path}`);
  const spec = '../../agent/mcp/index.js';
  let mod: { loadMcpTools?: (p: string) => Promise<ToolSource> };
  try {
    mod = (await import(spec)) as typeof mod;
  } catch (e) {
    throw new Error(`--mcp is not available in this build (the MCP client could not be loaded: ${(e as Error).message})`);
  }
  if (typeof mod.loadMcpTools !== 'function') throw new Error('--mcp is not available in this build (no loadMcpTools in src/agent/mcp)');
  return mod.loadMcpTools(path);
}

async function startLocal(f: AgentFlags, note: (s: string) => void): Promise<{ server: RunningServer; client: Pick<ChatClientOptions, 'baseURL' | 'model'>; close: () => Promise<void> }> {
  const m = openModel(f.model, { quiet: f.quiet || f.json, threads: threadsFrom(f.threads) });
  const trained = m.model.config.nCtxTrain || 8192;
  const contextSize = f.ctx === undefined ? Math.min(trained, 8192) : positiveInt('ctx', f.ctx);
  const service = createChatService({ model: m.model, tokenizer: m.tokenizer, modelName: m.isDefault ? 'stepflash-default' : m.model.config.name || 'step3.5-flash', contextSize, parallel: 2, draft: 0 });
  const server = await startServer({ service, host: '127.0.0.1', port: 0, webChat: false });
  note(`local engine: ${m.label} at ${server.url} (context ${contextSize})`);
  return {
    server,
    client: { baseURL: `${server.url}/v1`, model: service.modelName },
    close: async () => {
      await server.close();
      m.close();
    },
  };
}

export function registerAgent(program: Command): void {
  const cmd = program
    .command('agent')
    .description('run an agent on a task: a model with tools (sandboxed shell and python, files, web, todo, MCP) until it answers')
    .argument('<task>', 'what the agent should do')
    .option('--base-url <url>', 'OpenAI-compatible endpoint, e.g. http://127.0.0.1:8080/v1 (default: $OPENAI_BASE_URL, else a local engine)')
    .option('--api-key <key>', 'API key for the endpoint (default: $OPENAI_API_KEY)')
    .option('-m, --model <name|file.gguf>', 'model name at the endpoint, or a GGUF file to run locally (default: the embedded model when no endpoint is given)')
    .option('--mcp <servers.json>', 'MCP servers whose tools the agent gets')
    .option('--tools <list>', 'built-in tool groups: shell,python,files,web,todo (empty for none)', 'shell,python,files,web,todo')
    .option('--max-steps <n>', 'model calls allowed', '20')
    .option('--token-budget <n>', 'stop once prompt + completion tokens over all calls pass this')
    .option('--max-tokens <n>', 'completion tokens per model call')
    .option('--temperature <t>', 'sampling temperature')
    .option('--context <mode>', `context management past --context-threshold: ${CONTEXT_MODES.join(', ')}`)
    .option('--context-threshold <tokens>', 'context size that triggers --context', '24000')
    .option('--workspace <dir>', 'directory the tools work in (created if missing; default: the current directory)')
    .option('--trace <file>', 'append a JSONL trace of every model call and tool call')
    .option('--system <text>', 'system prompt (default: a short agent prompt)')
    .option('--schema <file>', 'JSON schema the final answer must satisfy (the model is asked to fix a failing answer)')
    .option('--tool-timeout <s>', 'seconds one tool call may run (shell/python are killed)', '60')
    .option('--memory <MiB>', 'memory limit for shell/python', '1024')
    .option('--network', 'let shell/python use the network (default: none)')
    .option('--web-allow <hosts>', 'hosts fetch_url may reach, comma-separated (default: any public host, no private addresses)')
    .option('--search-url <url>', 'search endpoint for web_search: GET url?q=QUERY&n=N returning [{title,url,snippet}]')
    .option('--ctx <n>', 'context size of a local engine (default: the model\'s, at most 8192)')
    .option('--no-reasoning', 'do not print the model\'s reasoning in the progress')
    .option('--json', 'print the whole result as JSON on stdout')
    .option('-q, --quiet', 'no progress on stderr')
    .addHelpText(
      'after',
      '\nExit status: 0 final answer, 1 error, 3 stopped by --max-steps or --token-budget, 130 cancelled.\nExample: stepflash agent "How many lines are in *.md here?" --base-url http://127.0.0.1:8080/v1 --tools shell,files\nDetails: docs/agent.md',
    );
  addThreadsFlag(cmd).action(async (task: string, f: AgentFlags) => {
    const note = (s: string) => {
      if (!f.quiet) process.stderr.write(`${s}\n`);
    };
    const maxSteps = positiveInt('max-steps', f.maxSteps);
    const tokenBudget = f.tokenBudget === undefined ? undefined : positiveInt('token-budget', f.tokenBudget);
    const maxTokens = f.maxTokens === undefined ? undefined : positiveInt('max-tokens', f.maxTokens);
    const contextThreshold = positiveInt('context-threshold', f.contextThreshold ?? '24000');
    const toolTimeoutS = Number(f.toolTimeout);
    if (!(toolTimeoutS > 0)) throw new Error(`--tool-timeout must be a positive number of seconds, got "${f.toolTimeout}"`);
    const memoryMiB = positiveInt('memory', f.memory);
    let temperature: number | undefined;
    if (f.temperature !== undefined) {
      temperature = Number(f.temperature);
      if (!(temperature >= 0 && temperature <= 2)) throw new Error(`--temperature must be in [0, 2], got "${f.temperature}"`);
    }
    if (f.context !== undefined && !CONTEXT_MODES.includes(f.context as ContextMode)) throw new Error(`--context must be one of ${CONTEXT_MODES.join(', ')}, got "${f.context}"`);
    const groups = f.tools.trim() === '' ? [] : parseToolGroups(f.tools);
    if ((groups.includes('shell') || groups.includes('python')) && !bwrapPath()) {
      throw new Error(`${sandboxProblem()}. Install it, or choose tools without shell and python (e.g. --tools files,web,todo).`);
    }
    let finalSchema: JsonSchema | undefined;
    if (f.schema) {
      try {
        finalSchema = JSON.parse(readFileSync(f.schema, 'utf8')) as JsonSchema;
      } catch (e) {
        throw new Error(`--schema ${f.schema}: ${(e as Error).message}`);
      }
    }
    const workspace = resolve(f.workspace ?? process.cwd());
    if (!existsSync(workspace)) {
      mkdirSync(workspace, { recursive: true });
      note(`created the workspace ${workspace}`);
    } else if (!statSync(workspace).isDirectory()) throw new Error(`--workspace ${workspace} is not a directory`);

    const tools: (AgentTool | ToolSource)[] = builtinTools(groups, {
      sandbox: { timeMs: toolTimeoutS * 1000, memoryBytes: memoryMiB * 1024 * 1024, network: f.network === true },
      web: {
        ...(f.webAllow ? { allowHosts: f.webAllow.split(',').map((s) => s.trim()).filter(Boolean) } : {}),
        ...(f.searchUrl ? { search: httpJsonSearch(f.searchUrl) } : {}),
      },
    });
    const closers: (() => Promise<void>)[] = [];
    try {
      let system = f.system;
      if (f.mcp) {
        const mcp = await loadMcp(f.mcp);
        tools.push(mcp);
        if (mcp.close) closers.push(() => mcp.close!());
        // Servers may say how their tools are meant to be used (MCP `instructions`): the model should know.
        const instructions = (mcp as ToolSource & { instructions?: () => string[] }).instructions?.() ?? [];
        if (instructions.length) system = `${system ?? DEFAULT_SYSTEM}\n\nNotes from the tool servers:\n${instructions.join('\n')}`;
      }
      const baseUrl = f.baseUrl ?? process.env.OPENAI_BASE_URL;
      let client: ChatClientOptions;
      if (baseUrl && !isLocalModel(f.model)) {
        client = { baseURL: baseUrl, apiKey: f.apiKey ?? process.env.OPENAI_API_KEY, model: f.model ?? 'default', maxTokens, temperature };
      } else {
        if (f.baseUrl && isLocalModel(f.model)) throw new Error('give either --base-url (a remote endpoint) or --model file.gguf (a local engine), not both');
        const local = await startLocal(f, note);
        closers.push(local.close);
        client = { ...local.client, maxTokens, temperature };
      }
      const interrupt = cancelOnInterrupt(note);
      const print = f.quiet ? undefined : progressPrinter((s) => process.stderr.write(s), { color: process.stderr.isTTY === true, showReasoning: f.reasoning });
      let result;
      try {
        result = await runAgent({
          client,
          task,
          system,
          tools,
          maxSteps,
          tokenBudget,
          context: f.context as ContextMode | undefined,
          contextThreshold,
          finalSchema,
          signal: interrupt.signal,
          onEvent: print,
          trace: f.trace ? resolve(f.trace) : undefined,
          workspace,
          toolTimeoutMs: toolTimeoutS * 1000 + 5000,
        });
      } finally {
        interrupt.dispose();
      }
      if (f.json) {
        process.stdout.write(`${JSON.stringify({ ...result, model: client.model, baseURL: client.baseURL, trace: f.trace ?? null })}\n`);
      } else if (result.final) {
        process.stdout.write(result.final.endsWith('\n') ? result.final : `${result.final}\n`);
      }
      if (result.stopReason === 'final' && result.finishReason === 'length') note('note: the answer was cut at --max-tokens (or the context end); it may be incomplete');
      note(`${result.stopReason}: ${result.steps} model calls, ${result.usage.promptTokens} prompt + ${result.usage.completionTokens} completion tokens${result.error ? `; ${result.error}` : ''}`);
      process.exitCode = result.stopReason === 'final' ? 0 : result.stopReason === 'cancelled' ? 130 : result.stopReason === 'error' ? 1 : 3;
    } finally {
      for (const c of closers.reverse()) await c().catch(() => {});
    }
  });
}
