// stepflash bench: prefill and decode speed on a model file, the weight bytes a decoded token touches, and
// the fraction of this machine's memory bandwidth (measured here, with the same threads) that reaches.
import type { Command } from 'commander';
import { CpuBackend } from '../../backend/cpu/cpu-backend.js';
import { kernelBuild } from '../../backend/cpu/kernels.js';
import { KvCache } from '../../engine/kv-cache.js';
import type { GGUFHeader } from '../../gguf/reader.js';
import type { ModelConfig } from '../../model/config.js';
import { loadModel } from '../../model/load.js';
import { resolveModel } from '../default-model.js';
import { addCacheTypeFlags, cacheTypesFrom, type CacheTypeFlags } from '../cache-type-flags.js';
import { addDraftFlags, draftFrom, type DraftFlags } from '../draft-options.js';
import type { DraftBench } from '../draft-bench.js';
import { positiveInt } from '../sampling-options.js';

interface BenchFlags extends DraftFlags {
  draftPrompts: string;
  model?: string;
  threads?: string;
  prompt: string;
  nGen: string;
  depth: string;
  reps: string;
  json?: boolean;
}

/** GGUF bytes of the weights one decoded token reads: every trunk tensor except the embedding (one row of
 *  it is read), and of the routed experts only the share a token selects. */
export function bytesPerToken(h: GGUFHeader, cfg: ModelConfig): number {
  let bytes = 0;
  for (const t of h.tensors) {
    const m = /^blk\.(\d+)\./.exec(t.name);
    if (m && Number(m[1]) >= cfg.nLayer) continue;
    if (t.name === 'token_embd.weight') {
      bytes += t.nbytes / t.dims[1]!;
      if (!h.tensors.some((x) => x.name === 'output.weight')) bytes += t.nbytes;
      continue;
    }
    bytes += t.name.includes('_exps.') && cfg.nExpert > 0 ? (t.nbytes * cfg.nExpertUsed) / cfg.nExpert : t.nbytes;
  }
  return bytes;
}

/** Decoding before the measured runs: until this many tokens, or this long, whichever comes first. */
const WARMUP_DECODE_TOKENS = 512;
const WARMUP_DECODE_MS = 3000;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export function registerBench(program: Command): void {
  const cmd = program
    .command('bench')
    .description('measure prefill and decode tokens per second, bytes per decoded token and bandwidth use')
    .option('-m, --model <file>', 'GGUF file (default: the embedded default model)')
    .option('-t, --threads <n>', 'threads (default: the machine\'s cores)')
    .option('-p, --prompt <n>', 'prompt tokens for the prefill test (0 = skip)', '512')
    .option('-n, --n-gen <n>', 'tokens for the decode test (0 = skip)', '128')
    .option('-d, --depth <n>', 'tokens already in the cache when each prefill and decode run starts (as llama-bench -d)', '0')
    .option('-r, --reps <n>', 'repetitions; medians are reported', '3')
    .option('--json', 'print one JSON object')
    .option('--draft-prompts <n>', 'with --draft: held-out task prompts the generation test decodes from', '4');
  addCacheTypeFlags(addDraftFlags(cmd))
    .action(async (f: BenchFlags & CacheTypeFlags) => {
      const p = Number(f.prompt), n = Number(f.nGen);
      if (!Number.isInteger(p) || p < 0) throw new Error(`--prompt must be a non-negative integer, got ${f.prompt}`);
      if (!Number.isInteger(n) || n < 0) throw new Error(`--n-gen must be a non-negative integer, got ${f.nGen}`);
      const depth = Number(f.depth);
      if (!Number.isInteger(depth) || depth < 0) throw new Error(`--depth must be a non-negative integer, got ${f.depth}`);
      const reps = positiveInt('reps', f.reps);
      const draft = draftFrom(f);
      const cacheTypes = cacheTypesFrom(f);
      const draftPrompts = positiveInt('draft-prompts', f.draftPrompts);
      const { path } = resolveModel(f.model);
      const threads = f.threads ? positiveInt('threads', f.threads) : undefined;
      const backend = new CpuBackend({ threads });
      const rss0 = process.memoryUsage().rss;
      // Drafting verifies n + 1 tokens in one pass.
      const lm = loadModel(path, { backend, maxBatch: Math.max(1 + draft.n, Math.min(p || 1, 512)) });
      try {
        const { model } = lm;
        const cfg = model.config;
        const rssLoaded = process.memoryUsage().rss;
        const needed = depth + Math.max(p, n, 1);
        // Only a depth is held to the model's context: without one the tests ran as before on any model.
        if (depth > 0 && needed > cfg.nCtxTrain) throw new Error(`--depth ${depth} with these tests needs ${needed} positions; the model's context is ${cfg.nCtxTrain}`);
        const ctx = needed + 1;
        const tokens = (count: number, seed: number) => Array.from({ length: count }, (_, i) => 16 + ((i * 7919 + seed * 104729) % (cfg.nVocab - 16)));

        const prefillRuns: number[] = [];
        const decodeRuns: number[] = [];
        // One cache for both tests, emptied before each run as a server reuses its sequences' caches (the
        // backend never frees an allocation, so a fresh cache per run would count every run's cache in the
        // peak).
        const kv = new KvCache(backend, cfg, ctx, model.maxBatch, cacheTypes);
        const kvPrefill = p > 0 ? kv : null;
        const kvDecode = n > 0 ? kv : null;
        // --depth: the cache is filled once; every run starts from it (a checkpoint keeps the sliding layers'
        // windows as they were at the depth, so that truncating back restores them).
        if (depth > 0) {
          const fill = tokens(depth, 5);
          for (let i = 0; i < depth; i += model.maxBatch) model.forward(fill.slice(i, i + model.maxBatch), kv, { logits: 'last' });
          kv.checkpoint();
        }
        const prefillOnce = (seed: number): number => {
          const kv = kvPrefill!;
          kv.truncate(depth);
          const t0 = performance.now();
          model.forward(tokens(p, seed), kv, { logits: 'last' });
          return (p * 1000) / (performance.now() - t0);
        };
        const decodeOnce = (seed: number): number => {
          const kv = kvDecode!;
          kv.truncate(depth);
          const ids = tokens(n, seed);
          const t0 = performance.now();
          for (const id of ids) model.forward([id], kv, { logits: 'last' });
          return (n * 1000) / (performance.now() - t0);
        };
        // Each test as llama-bench runs it: its warm-up, then its repetitions (a prompt between two decode
        // runs leaves the next one slower while V8 re-optimizes the per-token code for one token).
        // The warm-up, not counted: one prompt; decoding until WARMUP_DECODE_TOKENS or WARMUP_DECODE_MS.
        // V8 compiles the per-token JavaScript (and the pool's dispatch loop on every thread) to optimized
        // code only after some hundreds of tokens: a small model's first 128 decoded tokens ran at half its
        // steady speed, mini's at ~80%. A server decodes for hours; the bench reports that speed, and the
        // warm-up's own speed beside it.
        if (kvPrefill) {
          prefillOnce(1);
          for (let r = 0; r < reps; r++) prefillRuns.push(prefillOnce(r + 2));
        }
        const warmup = { tokens: 0, ms: 0 };
        if (kvDecode) {
          const t0 = performance.now();
          do {
            decodeOnce(6);
            warmup.tokens += n;
            warmup.ms = performance.now() - t0;
          } while (warmup.tokens < WARMUP_DECODE_TOKENS && warmup.ms < WARMUP_DECODE_MS);
          for (let r = 0; r < reps; r++) decodeRuns.push(decodeOnce(r + 7));
        }
        // Peak resident memory so far (load and runs), before the bandwidth probe adds its own buffer.
        const rssPeak = process.resourceUsage().maxRSS * 1024;
        const bw = backend.measureReadBandwidth();
        const perToken = bytesPerToken(lm.file, cfg);
        const decode = decodeRuns.length ? median(decodeRuns) : 0;
        // Speculative decoding is measured on real generation (drafts only help where the heads predict).
        // Imported only here: the held-out prompts come from the training side, tens of MiB of modules
        // that would count in the peak memory of every other bench run.
        let drafting: DraftBench | null = null;
        let draftLines: string[] = [];
        if (draft.n > 0 && n > 0) {
          const { benchDraft, draftBenchLines } = await import('../draft-bench.js');
          drafting = await benchDraft(model, lm.file, { draft, nGen: n, prompts: draftPrompts, reps, quiet: f.json, cacheTypes });
          draftLines = draftBenchLines(drafting);
        }
        const result = {
          model: path,
          threads: backend.threads,
          file_bytes: lm.file.fileSize,
          load_ms: Math.round(lm.loadMs),
          rss_peak_bytes: rssPeak,
          rss_peak_to_file: rssPeak / lm.file.fileSize,
          rss_model_bytes: rssLoaded - rss0,
          kernels: kernelBuild(),
          cache_type_k: cacheTypes.k,
          cache_type_v: cacheTypes.v,
          depth,
          prefill: p > 0 ? { tokens: p, tokens_per_second: median(prefillRuns), runs: prefillRuns } : null,
          decode: n > 0 ? { tokens: n, tokens_per_second: decode, runs: decodeRuns, warmup_tokens: warmup.tokens, warmup_tokens_per_second: (warmup.tokens * 1000) / warmup.ms } : null,
          bytes_per_token: Math.round(perToken),
          bandwidth_bytes_per_second: Math.round(bw),
          bandwidth_fraction: decode > 0 ? (perToken * decode) / bw : null,
          ...(drafting ? { draft: drafting.json } : {}),
        };
        if (f.json) {
          process.stdout.write(JSON.stringify(result) + '\n');
          return;
        }
        const gb = (x: number) => `${(x / 1e9).toFixed(1)} GB`;
        const at = depth > 0 ? ` @ d${depth}` : '';
        const lines = [
          `${path} on ${backend.threads} thread(s), ${result.kernels} kernels: ${(lm.file.fileSize / 2 ** 20).toFixed(1)} MiB, loaded in ${result.load_ms} ms, peak RSS ${(rssPeak / 2 ** 20).toFixed(0)} MiB (${result.rss_peak_to_file.toFixed(2)}x the file)`,
          p > 0 ? `prefill pp${p}${at}: ${result.prefill!.tokens_per_second.toFixed(1)} tokens/s` : '',
          n > 0 ? `decode tg${n}${at}: ${decode.toFixed(1)} tokens/s (after a warm-up of ${warmup.tokens} tokens at ${((warmup.tokens * 1000) / warmup.ms).toFixed(1)} tokens/s)` : '',
          `weights read per decoded token: ${(perToken / 2 ** 20).toFixed(1)} MiB; measured read bandwidth ${gb(bw)}/s` +
            (result.bandwidth_fraction !== null ? `; decode reaches ${(result.bandwidth_fraction * 100).toFixed(0)}% of it` : ''),
          ...draftLines,
        ];
        process.stdout.write(lines.filter(Boolean).join('\n') + '\n');
      } finally {
        lm.close();
        void backend.close();
      }
    });
}
