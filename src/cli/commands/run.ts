// stepflash run: generate from a prompt, streaming text to stdout, or one JSON object with --json.
import type { Command } from 'commander';
import { addCacheTypeFlags, cacheTypesFrom, type CacheTypeFlags } from '../cache-type-flags.js';
import { generate, type GenerateResult } from '../../engine/generate.js';
import { Session } from '../../engine/session.js';
import { parseModelOutput } from '../../format/index.js';
import { chatPromptTokens } from '../chat-prompt.js';
import { addDraftFlags, draftFrom, draftStatsJson, draftStatsLine, type DraftFlags } from '../draft-options.js';
import { openModel } from '../open-model.js';
import { addSamplingFlags, addThreadsFlag, positiveInt, samplingFrom, threadsFrom, type SamplingFlags } from '../sampling-options.js';

interface RunFlags extends SamplingFlags, DraftFlags {
  threads?: string;
  model?: string;
  prompt: string;
  chat?: boolean;
  system?: string;
  nPredict: string;
  stop: string[];
  ctx?: string;
  json?: boolean;
}

export function registerRun(program: Command): void {
  const cmd = program
    .command('run')
    .description('generate text from a prompt (streamed to stdout; --json prints one object at the end)')
    .option('-m, --model <file>', 'GGUF file (default: the embedded default model)')
    .requiredOption('-p, --prompt <text>', 'the prompt')
    .option('--chat', 'wrap the prompt as a user turn in the Step 3.5 chat format (the model reasons first)')
    .option('--system <text>', 'system message (with --chat)')
    .option('-n, --n-predict <n>', 'most tokens to generate', '128')
    .option('--stop <text...>', 'stop when the output contains this text', [])
    .option('--ctx <n>', 'context size in tokens (default: the model\'s, at most 4096)')
    .option('--json', 'print one JSON object with the text, token counts, timings and parsed reasoning/tool calls');
  addCacheTypeFlags(addDraftFlags(addThreadsFlag(addSamplingFlags(cmd)))).action(async (f: RunFlags & CacheTypeFlags) => {
    const maxTokens = positiveInt('n-predict', f.nPredict);
    const sampling = samplingFrom(f);
    const draft = draftFrom(f);
    const cacheTypes = cacheTypesFrom(f);
    const m = openModel(f.model, { quiet: f.json, threads: threadsFrom(f.threads) });
    const controller = new AbortController();
    const onSigint = () => controller.abort();
    process.once('SIGINT', onSigint);
    try {
      if (!f.json) process.stderr.write(`model: ${m.label}\n`);
      const tok = m.tokenizer;
      const prompt = f.chat
        ? chatPromptTokens(tok, [...(f.system ? [{ role: 'system' as const, content: f.system }] : []), { role: 'user' as const, content: f.prompt }])
        : tok.encode(f.prompt, { addSpecial: true, parseSpecial: false });
      const session = new Session(m.model, { ...(f.ctx ? { contextSize: positiveInt('ctx', f.ctx) } : {}), cacheTypes });
      let result: GenerateResult | undefined;
      for await (const ev of generate(session, tok, prompt, { maxTokens, stop: f.stop, sampling, signal: controller.signal, draft })) {
        if (ev.type === 'token' && !f.json) process.stdout.write(ev.text);
        if (ev.type === 'done') {
          if (!f.json) process.stdout.write(ev.text + '\n');
          result = ev.result;
        }
      }
      const r = result!;
      if (f.json) {
        const parsed = f.chat ? parseModelOutput(r.text) : null;
        process.stdout.write(JSON.stringify({
          model: m.path,
          label: m.label,
          random_weights: m.randomWeights,
          text: r.text,
          ...(parsed ? { reasoning: parsed.reasoning, content: parsed.content, tool_calls: parsed.toolCalls } : {}),
          finish_reason: r.finishReason,
          finish_detail: r.finishDetail,
          prompt_tokens: r.usage.promptTokens,
          completion_tokens: r.usage.completionTokens,
          seed: r.seed,
          timings: r.timings,
          ...(r.draft ? { draft: draftStatsJson(r.draft) } : {}),
          load_ms: Math.round(m.loadMs),
          // The heads' caches (stored in the same types) when drafting: they come on top of the trunk's.
          kv_bytes: r.draft ? { ...session.cache.info, mtpBytes: r.draft.cacheBytes } : session.cache.info,
        }) + '\n');
      } else {
        const t = r.timings;
        process.stderr.write(`[${r.finishReason}${r.finishDetail !== r.finishReason ? `: ${r.finishDetail}` : ''}] prompt ${t.promptTokens} tokens at ${t.prefillTokensPerSecond.toFixed(1)} tok/s, generated ${t.generatedTokens} at ${t.decodeTokensPerSecond.toFixed(1)} tok/s\n`);
        if (r.draft) process.stderr.write(draftStatsLine(r.draft) + '\n');
      }
    } finally {
      process.off('SIGINT', onSigint);
      m.close();
    }
  });
}
