// stepflash make-model: write a deterministic random-weight model file.
import type { Command } from 'commander';
import { typeFromName, typeName } from '../../gguf/ggml-types.js';
import { canQuantize } from '../../gguf/quant/index.js';
import { PRESETS } from '../../model/make/presets.js';
import { makeModel } from '../../model/make/random-model.js';
import { formatCount } from '../params.js';
import { progressBar } from '../progress.js';

export function registerMakeModel(program: Command): void {
  program
    .command('make-model')
    .description('write a deterministic random-weight step35 or llama GGUF (loadable by llama.cpp too)')
    .option('--preset <name>', `shape: ${Object.keys(PRESETS).join(', ')}`, 'tiny')
    .option('--type <type>', 'weight type: f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q4_k, q5_k, q6_k', 'q8_0')
    .option('--seed <n>', 'random seed', '0')
    .option('--out <file>', 'output path')
    .option('--list', 'list the presets and exit')
    .option('--json', 'print the result as JSON')
    .action((opts: { preset: string; type: string; seed: string; out?: string; list?: boolean; json?: boolean }) => {
      if (opts.list) {
        for (const p of Object.values(PRESETS)) process.stdout.write(`${p.name.padEnd(14)} ${p.arch.padEnd(7)} ${p.description}\n`);
        return;
      }
      if (!PRESETS[opts.preset]) throw new Error(`unknown preset "${opts.preset}"; run with --list to see them`);
      const type = typeFromName(opts.type);
      if (type === undefined || !canQuantize(type)) throw new Error(`unknown or unsupported weight type "${opts.type}"`);
      const seed = Number(opts.seed);
      if (!Number.isInteger(seed) || seed < 0) throw new Error(`--seed must be a non-negative integer, got ${opts.seed}`);
      if (!opts.out) throw new Error('--out <file> is required (where to write the model)');
      const bar = progressBar('generating', '');
      const t0 = performance.now();
      const made = makeModel({ preset: opts.preset, type, seed, out: opts.out, onProgress: (d, t) => bar.update(d, t) });
      bar.done();
      const ms = performance.now() - t0;
      const info = { path: made.path, preset: made.preset.name, type: typeName(type), seed, params: made.params, bytes: made.bytes, ms: Math.round(ms), random_weights: true };
      if (opts.json) process.stdout.write(JSON.stringify(info) + '\n');
      else process.stdout.write(`wrote ${made.path}: ${made.preset.name} ${typeName(type)}, ${formatCount(made.params)} parameters, ${(made.bytes / 2 ** 20).toFixed(1)} MiB of weights, RANDOM WEIGHTS (${ms.toFixed(0)} ms)\n`);
    });
}
