// stepflash serve: the OpenAI- and Anthropic-compatible HTTP server with the web chat, on one model.
// Binds to loopback unless --host says otherwise; prints the URL (and, with --json, one JSON line that
// scripts can wait for); stops cleanly on SIGINT/SIGTERM.
import type { Command } from 'commander';
import { addCacheTypeFlags, cacheTypesFrom, type CacheTypeFlags } from '../cache-type-flags.js';
import { addDraftFlags, draftFrom, type DraftFlags } from '../draft-options.js';
import { createChatService } from '../../server/engine/index.js';
import { startServer } from '../../server/server.js';
import type { ReasoningField } from '../../server/api/openai/index.js';
import { openModel } from '../open-model.js';
import { addThreadsFlag, positiveInt, threadsFrom } from '../sampling-options.js';

interface ServeFlags {
  model?: string;
  host: string;
  port: string;
  apiKey?: string;
  parallel: string;
  ctx?: string;
  queue?: string;
  reasoningBudget?: string;
  reasoningFormat: string;
  bodyLimit: string;
  web: boolean;
  json?: boolean;
  quiet?: boolean;
  threads?: string;
}

const REASONING_FIELDS: readonly ReasoningField[] = ['reasoning_content', 'reasoning', 'both', 'inline'];
const DEFAULT_CTX = 8192;

function nonNegativeInt(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got "${v}"`);
  return n;
}

export function registerServe(program: Command): void {
  const cmd = program
    .command('serve')
    .description('serve a model over the OpenAI and Anthropic HTTP APIs, with a web chat at /')
    .option('-m, --model <file>', 'GGUF file (default: the embedded default model)')
    .option('--host <address>', 'address to bind (default loopback; 0.0.0.0 exposes the server to the network)', '127.0.0.1')
    .option('--port <n>', 'port to listen on (0 picks a free one)', '8080')
    .option('--api-key <key>', 'require this key as "Authorization: Bearer" or "x-api-key" (default: $STEPFLASH_API_KEY, else none)')
    .option('--parallel <n>', 'sequences decoded together in one batched forward pass', '1')
    .option('--ctx <n>', `context per sequence in tokens (default: the model's, at most ${DEFAULT_CTX})`)
    .option('--queue <n>', 'requests that may wait for a slot before new ones get 429/529 (default 4 x parallel)')
    .option('--reasoning-budget <n>', 'reasoning tokens after which the server closes the reasoning itself (default 16384)')
    .option('--reasoning-format <field>', `where OpenAI responses put reasoning: ${REASONING_FIELDS.join(', ')}`, 'reasoning_content')
    .option('--body-limit <MiB>', 'largest request body accepted, in MiB', '32')
    .option('--no-web', 'do not serve the web chat at /')
    .option('--json', 'print one JSON line {"url", "model", ...} when ready, for scripts')
    .option('-q, --quiet', 'no per-request log lines');
  addDraftFlags(addCacheTypeFlags(addThreadsFlag(cmd))).action(async (f: ServeFlags & CacheTypeFlags & DraftFlags) => {
    const port = nonNegativeInt('port', f.port);
    if (port > 65535) throw new Error(`--port must be at most 65535, got ${port}`);
    const parallel = positiveInt('parallel', f.parallel);
    const drafting = draftFrom(f);
    const draft = drafting.n;
    const queueSize = f.queue === undefined ? undefined : nonNegativeInt('queue', f.queue);
    const reasoningBudget = f.reasoningBudget === undefined ? undefined : nonNegativeInt('reasoning-budget', f.reasoningBudget);
    const bodyLimitMiB = Number(f.bodyLimit);
    if (!(bodyLimitMiB > 0 && bodyLimitMiB <= 1024)) throw new Error(`--body-limit must be a number of MiB in (0, 1024], got "${f.bodyLimit}"`);
    if (!REASONING_FIELDS.includes(f.reasoningFormat as ReasoningField)) {
      throw new Error(`--reasoning-format must be one of ${REASONING_FIELDS.join(', ')}, got "${f.reasoningFormat}"`);
    }
    const apiKey = f.apiKey ?? (process.env.STEPFLASH_API_KEY || undefined);
    const cacheTypes = cacheTypesFrom(f);

    const m = openModel(f.model, { quiet: f.json, threads: threadsFrom(f.threads) });
    const trained = m.model.config.nCtxTrain || DEFAULT_CTX;
    const contextSize = f.ctx === undefined ? Math.min(trained, DEFAULT_CTX) : positiveInt('ctx', f.ctx);
    const note = (s: string) => process.stderr.write(`${s}\n`);
    if (contextSize > trained) note(`note: --ctx ${contextSize} is beyond the ${trained} positions the model was trained on`);
    const service = createChatService({
      model: m.model,
      tokenizer: m.tokenizer,
      modelName: m.isDefault ? 'stepflash-default' : m.model.config.name || 'step3.5-flash',
      contextSize,
      parallel,
      draft,
      ...(drafting.mode ? { draftMode: drafting.mode } : {}),
      ...(drafting.pMin ? { draftPMin: drafting.pMin } : {}),
      cacheTypes,
      ...(queueSize !== undefined ? { queueSize } : {}),
      ...(reasoningBudget !== undefined ? { reasoningBudget } : {}),
    });
    const running = await startServer({
      service,
      host: f.host,
      port,
      apiKey,
      bodyLimitBytes: Math.floor(bodyLimitMiB * 1024 * 1024),
      openai: { reasoningField: f.reasoningFormat as ReasoningField },
      webChat: f.web,
      log: f.quiet ? undefined : note,
    });
    if (f.json) {
      process.stdout.write(`${JSON.stringify({ url: running.url, model: service.modelName, label: m.label, contextSize, parallel, draft, apiKey: apiKey !== undefined })}\n`);
    } else {
      note(`model: ${m.label}`);
      note(`context ${contextSize} tokens x ${parallel} parallel, draft ${draft}${apiKey ? ', API key required' : ''}`);
      process.stdout.write(`stepflash is serving ${service.modelName} at ${running.url}  (web chat: ${running.url}/ , OpenAI: ${running.url}/v1 , Anthropic: ANTHROPIC_BASE_URL=${running.url})\n`);
    }
    await new Promise<void>((resolve) => {
      const stop = () => {
        note('stopping...');
        void running.close().then(() => {
          m.close();
          resolve();
        });
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
  });
}
