// stepflash research "QUESTION": multi-agent research (src/agent/multi). A Master agent dispatches Search
// and Verify sub-agents in parallel, Summary agents condense their work, and the Master answers citing
// the pages the sub-agents fetched. Progress goes to stderr; the answer with its Sources list (or, with
// --json, the whole result) to stdout. Exit codes: 0 answered, 1 error, 3 stopped by a budget (the
// answer is then assembled from the reports), 130 cancelled.
import { existsSync, mkdirSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { ChatClientOptions } from '../../agent/loop/types.js';
import { research, type ResearchEvent, type ResearchResult } from '../../agent/multi/index.js';
import { bwrapPath, httpJsonSearch, pythonTool, sandboxProblem } from '../../agent/tools/index.js';
import { createChatService } from '../../server/engine/index.js';
import { startServer } from '../../server/server.js';
import { openModel } from '../open-model.js';
import { addThreadsFlag, positiveInt, threadsFrom } from '../sampling-options.js';
import { cancelOnInterrupt } from '../interrupt.js';

interface ResearchFlags {
  baseUrl?: string;
  apiKey?: string;
  model?: string;
  subBaseUrl?: string;
  subModel?: string;
  searchUrl?: string;
  webAllow?: string;
  maxAgents: string;
  maxSubAgents?: string;
  maxSteps: string;
  subMaxSteps: string;
  subTokenBudget?: string;
  maxTokens?: string;
  trace?: string;
  python?: boolean;
  workspace?: string;
  ctx?: string;
  threads?: string;
  json?: boolean;
  quiet?: boolean;
}

function isLocalModel(m: string | undefined): boolean {
  return m !== undefined && (m.endsWith('.gguf') || (existsSync(m) && statSync(m).isFile()));
}

function short(v: unknown, max = 100): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** One stderr line per thing worth seeing: dispatches, each sub-agent's tool calls and end, summaries. */
function progress(write: (s: string) => void): (e: ResearchEvent) => void {
  return (e) => {
    switch (e.type) {
      case 'dispatch':
        write(`master: dispatching ${e.tasks.length} sub-agent${e.tasks.length === 1 ? '' : 's'}\n`);
        break;
      case 'agent_start':
        write(`[${e.id}] ${e.objective}\n`);
        break;
      case 'agent_event':
        if (e.event.type === 'tool_start') write(`[${e.id}]   → ${e.event.name} ${short(e.event.args)}\n`);
        else if (e.event.type === 'retry') write(`[${e.id}]   retry ${e.event.attempt}: ${e.event.reason}\n`);
        break;
      case 'agent_end':
        write(`[${e.id}] ${e.stopReason} after ${e.steps} model calls, ${e.sources} page${e.sources === 1 ? '' : 's'} fetched\n`);
        break;
      case 'summary':
        write(`[${e.id}] summary: ${e.findings} finding${e.findings === 1 ? '' : 's'}${e.by === 'fallback' ? ' (from its own report: the summary agent gave no usable JSON)' : ''}\n`);
        break;
      case 'master_event':
        if (e.event.type === 'step') write(`master: step ${e.event.step}\n`);
        break;
    }
  };
}

function jsonResult(r: ResearchResult, client: ChatClientOptions): unknown {
  return {
    answer: r.answer,
    text: r.text,
    cited: r.cited.map(({ n, url, title }) => ({ n, url, title })),
    invalidCitations: r.invalidCitations,
    sources: r.sources.map(({ n, url, title, fetchedBy }) => ({ n, url, title, fetchedBy })),
    reports: r.reports.map((x) => ({
      id: x.id,
      role: x.role,
      objective: x.objective,
      stopReason: x.stopReason,
      steps: x.steps,
      sources: x.sources.map((s) => s.n),
      feedback: x.feedback,
      ...(x.error ? { error: x.error } : {}),
    })),
    stopReason: r.stopReason,
    masterSteps: r.masterSteps,
    usage: r.usage,
    model: client.model,
    baseURL: client.baseURL,
    ...(r.error ? { error: r.error } : {}),
  };
}

export function registerResearch(program: Command): void {
  const cmd = program
    .command('research')
    .description('multi-agent research: a Master dispatches parallel Search and Verify sub-agents and answers with citations of the pages they fetched')
    .argument('<question>', 'what to find out')
    .option('--base-url <url>', 'OpenAI-compatible endpoint, e.g. http://127.0.0.1:8080/v1 (default: $OPENAI_BASE_URL, else a local engine)')
    .option('--api-key <key>', 'API key for the endpoint (default: $OPENAI_API_KEY)')
    .option('-m, --model <name|file.gguf>', 'model name at the endpoint, or a GGUF file to run locally (default: the embedded model when no endpoint is given)')
    .option('--sub-base-url <url>', 'a separate endpoint for the sub-agents and summaries (default: the Master\'s)')
    .option('--sub-model <name>', 'model name at --sub-base-url')
    .option('--search-url <url>', 'search endpoint: GET url?q=QUERY&n=N returning [{title,url,snippet}] (or {results: [...]})')
    .option('--web-allow <hosts>', 'hosts fetch_url may reach, comma-separated (default: any public host, no private addresses)')
    .option('--max-agents <n>', 'sub-agents running at once', '3')
    .option('--max-sub-agents <n>', 'sub-agents over the whole run (default 3 × --max-agents)')
    .option('--max-steps <n>', 'model calls of the Master', '12')
    .option('--sub-max-steps <n>', 'model calls of each sub-agent', '10')
    .option('--sub-token-budget <n>', 'tokens each sub-agent may use (prompt + completion, from the endpoint\'s usage)')
    .option('--max-tokens <n>', 'completion tokens per model call')
    .option('--python', 'give sub-agents the sandboxed python tool, to compute and check numbers (needs bubblewrap)')
    .option('--workspace <dir>', 'directory python runs in (default: a fresh temporary directory)')
    .option('--trace <file>', 'append a JSONL trace of every agent\'s model and tool calls')
    .option('--ctx <n>', 'context size of a local engine (default: the model\'s, at most 8192)')
    .option('--json', 'print the whole result as JSON on stdout')
    .option('-q, --quiet', 'no progress on stderr');
  addThreadsFlag(cmd).action(async (question: string, f: ResearchFlags) => {
    const note = (s: string) => {
      if (!f.quiet) process.stderr.write(`${s}\n`);
    };
    if (!question.trim()) throw new Error('the question is empty');
    const maxParallel = positiveInt('max-agents', f.maxAgents);
    const maxSubAgents = f.maxSubAgents === undefined ? undefined : positiveInt('max-sub-agents', f.maxSubAgents);
    const maxSteps = positiveInt('max-steps', f.maxSteps);
    const subMaxSteps = positiveInt('sub-max-steps', f.subMaxSteps);
    const subTokenBudget = f.subTokenBudget === undefined ? undefined : positiveInt('sub-token-budget', f.subTokenBudget);
    const maxTokens = f.maxTokens === undefined ? undefined : positiveInt('max-tokens', f.maxTokens);
    if (f.subModel && !f.subBaseUrl) throw new Error('--sub-model needs --sub-base-url');
    if (f.searchUrl) {
      try {
        new URL(f.searchUrl);
      } catch {
        throw new Error(`--search-url "${f.searchUrl}" is not a URL`);
      }
    } else note('no --search-url: sub-agents can only fetch pages they already know');
    if (f.python && !bwrapPath()) throw new Error(`--python: ${sandboxProblem()}`);
    const workspace = f.workspace ? resolve(f.workspace) : f.python ? mkdtempSync(join(tmpdir(), 'stepflash-research-')) : undefined;
    if (workspace) mkdirSync(workspace, { recursive: true });

    const closers: (() => Promise<void>)[] = [];
    try {
      const baseUrl = f.baseUrl ?? process.env.OPENAI_BASE_URL;
      let client: ChatClientOptions;
      if (baseUrl && !isLocalModel(f.model)) {
        client = { baseURL: baseUrl, apiKey: f.apiKey ?? process.env.OPENAI_API_KEY, model: f.model ?? 'default', maxTokens };
      } else {
        if (f.baseUrl && isLocalModel(f.model)) throw new Error('give either --base-url (a remote endpoint) or --model file.gguf (a local engine), not both');
        const m = openModel(f.model, { quiet: f.quiet || f.json, threads: threadsFrom(f.threads) });
        const trained = m.model.config.nCtxTrain || 8192;
        const contextSize = f.ctx === undefined ? Math.min(trained, 8192) : positiveInt('ctx', f.ctx);
        // Parallel sub-agents share the engine: give it as many slots as run at once, plus the Master.
        const service = createChatService({ model: m.model, tokenizer: m.tokenizer, modelName: m.isDefault ? 'stepflash-default' : m.model.config.name || 'step3.5-flash', contextSize, parallel: maxParallel + 1, draft: 0 });
        const server = await startServer({ service, host: '127.0.0.1', port: 0, webChat: false });
        note(`local engine: ${m.label} at ${server.url} (context ${contextSize})`);
        closers.push(async () => {
          await server.close();
          m.close();
        });
        client = { baseURL: `${server.url}/v1`, model: service.modelName, maxTokens };
      }
      const subClient: ChatClientOptions | undefined = f.subBaseUrl ? { baseURL: f.subBaseUrl, apiKey: f.apiKey ?? process.env.OPENAI_API_KEY, model: f.subModel ?? client.model, maxTokens } : undefined;

      const interrupt = cancelOnInterrupt(note);
      let result: ResearchResult;
      try {
        result = await research(question, {
          client,
          ...(subClient ? { subClient } : {}),
          ...(f.searchUrl ? { search: httpJsonSearch(f.searchUrl) } : {}),
          ...(f.webAllow ? { allowHosts: f.webAllow.split(',').map((s) => s.trim()).filter(Boolean) } : {}),
          ...(f.python ? { extraTools: () => [pythonTool()] } : {}),
          ...(workspace ? { workspace } : {}),
          maxParallel,
          ...(maxSubAgents ? { maxSubAgents } : {}),
          maxSteps,
          subMaxSteps,
          ...(subTokenBudget ? { subTokenBudget } : {}),
          signal: interrupt.signal,
          ...(f.quiet ? {} : { onEvent: progress((s) => process.stderr.write(s)) }),
          ...(f.trace ? { trace: resolve(f.trace) } : {}),
        });
      } finally {
        interrupt.dispose();
      }
      if (f.json) process.stdout.write(`${JSON.stringify(jsonResult(result, client))}\n`);
      else process.stdout.write(result.answer.endsWith('\n') ? result.answer : `${result.answer}\n`);
      if (result.invalidCitations.length) note(`warning: the answer cited ${result.invalidCitations.map((n) => `[${n}]`).join('')}, which name no fetched page (shown as [?])`);
      note(
        `${result.stopReason}: ${result.reports.length} sub-agents, ${result.sources.length} pages fetched, ${result.cited.length} cited; ` +
          `${result.usage.calls} model calls, ${result.usage.promptTokens} prompt + ${result.usage.completionTokens} completion tokens${result.error ? `; ${result.error}` : ''}`,
      );
      process.exitCode = result.stopReason === 'final' ? 0 : result.stopReason === 'cancelled' ? 130 : result.stopReason === 'error' ? 1 : 3;
    } finally {
      for (const c of closers.reverse()) await c().catch(() => {});
    }
  });
}
