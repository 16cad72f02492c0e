// stepflash logits: teacher-forced next-token log-probabilities at every position, one JSON line each.
import type { Command } from 'commander';
import { KvCache } from '../../engine/kv-cache.js';
import { cacheTypesFrom, type CacheTypeFlags } from '../cache-type-flags.js';
import { openModel } from '../open-model.js';
import { threadsFrom } from '../sampling-options.js';

export function parseTokenList(s: string): number[] {
  const parts = s.split(',').map((p) => p.trim()).filter((p) => p.length > 0);
  if (parts.length === 0) throw new Error('--tokens needs at least one token id, e.g. --tokens 1,2,3');
  return parts.map((p) => {
    if (!/^\d+$/.test(p)) throw new Error(`--tokens: "${p}" is not a token id (expected comma-separated non-negative integers)`);
    return Number(p);
  });
}

/** Indices and log-probabilities of the k largest entries of a log-softmax over `logits`. */
export function topLogprobs(logits: Float32Array, k: number): [number, number][] {
  let mx = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i]! > mx) mx = logits[i]!;
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i]! - mx);
  const lse = mx + Math.log(sum);
  const idx: number[] = [];
  for (let i = 0; i < logits.length; i++) {
    if (idx.length < k) {
      idx.push(i);
      if (idx.length === k) idx.sort((a, b) => logits[b]! - logits[a]! || a - b);
    } else if (logits[i]! > logits[idx[k - 1]!]!) {
      let j = k - 1;
      while (j > 0 && logits[idx[j - 1]!]! < logits[i]!) j--;
      idx.splice(j, 0, i);
      idx.pop();
    }
  }
  if (idx.length < k) idx.sort((a, b) => logits[b]! - logits[a]! || a - b);
  return idx.map((i) => [i, logits[i]! - lse]);
}

export function registerLogits(program: Command): void {
  program
    .command('logits')
    .description('print the next-token log-probabilities after each input position, one JSON object per line')
    .option('-m, --model <file>', 'GGUF file (default: the embedded default model)')
    .option('--tokens <ids>', 'comma-separated token ids, e.g. 1,2,3')
    .option('--text <text>', 'text to tokenize instead of --tokens (special tokens parsed)')
    .option('--top <k>', 'how many of the most likely tokens to print per position', '10')
    .option('-t, --threads <n>', 'threads computing kernels (default: the machine\'s cores)')
    .option('--cache-type-k <type>', 'key cache type: f32 (default), f16, bf16, q8_0')
    .option('--cache-type-v <type>', 'value cache type: f32 (default), f16, bf16, q8_0')
    .action((opts: { model?: string; tokens?: string; text?: string; top: string; threads?: string } & CacheTypeFlags) => {
      const cacheTypes = cacheTypesFrom(opts);
      const k = Number(opts.top);
      if (!Number.isInteger(k) || k < 1) throw new Error(`--top must be a positive integer, got ${opts.top}`);
      if (!opts.tokens && opts.text === undefined) throw new Error('give the input as --tokens 1,2,3 or --text "..."');
      const m = openModel(opts.model, { quiet: true, threads: threadsFrom(opts.threads) });
      try {
        const ids = opts.tokens ? parseTokenList(opts.tokens) : m.tokenizer.encode(opts.text!, { parseSpecial: true });
        const V = m.model.config.nVocab;
        for (const id of ids) if (id >= V) throw new Error(`token id ${id} is outside the vocabulary (0..${V - 1})`);
        const kv = new KvCache(m.model.backend, m.model.config, Math.max(ids.length, 1), m.model.maxBatch, cacheTypes);
        const logits = m.model.forward(ids, kv, { logits: 'all' });
        const lines: string[] = [];
        for (let pos = 0; pos < ids.length; pos++) {
          const top = topLogprobs(logits.subarray(pos * V, (pos + 1) * V), Math.min(k, V));
          lines.push(JSON.stringify({ pos, top: top.map(([id, lp]) => [id, Number(lp.toFixed(6))]) }));
        }
        process.stdout.write(lines.join('\n') + '\n');
      } finally {
        m.close();
      }
    });
}
