// stepflash cost: the decoding-cost model of the Step-3 paper (arXiv 2507.19427) as published, on its own
// comparison models, and the Step 3.5 Flash README's "Est. decoding cost @ 128K context, Hopper GPU"
// ratios: the published model's ratios (which do not reproduce the table) and a fitted latency- and
// capacity-bounded extension (docs/cost.md), each beside the table's value with its error.
import type { Command } from 'commander';
import { accelerator, ACCELERATORS } from '../../cost/hardware.js';
import { README_TABLE, STEP3_PAPER_MODELS } from '../../cost/models.js';
import { fittedPreset, reconstruct, rmsLogError } from '../../cost/readme-table.js';
import { step3PaperCost } from '../../cost/step3-paper.js';

interface Opts {
  ctx: string;
  gpu: string;
  acceptance: string;
  json?: boolean;
}

const PAPER_MODELS = STEP3_PAPER_MODELS;

export function registerCost(program: Command): void {
  program
    .command('cost')
    .description('decoding cost per token: the Step-3 paper\'s model and the Step 3.5 Flash README table, computed beside the published ratios')
    .option('-c, --ctx <list>', 'contexts for the paper\'s tables, comma-separated', '8192,32768')
    .option('--gpu <name>', `card of the README-table reconstruction (${Object.keys(ACCELERATORS).join(', ')})`, 'H20')
    .option('--acceptance <list>', 'mean accepted tokens per step for MTP-1 and MTP-3 in the published model\'s MTP variant', '1.8,3.5')
    .option('--json', 'print one JSON object')
    .action((opts: Opts) => {
      const ctxs = opts.ctx.split(',').map((s) => {
        const n = Number(s);
        if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`--ctx takes positive whole numbers, got "${s}"`);
        return n;
      });
      const acc = opts.acceptance.split(',').map(Number);
      if (acc.length !== 2 || acc.some((x) => !(x >= 1))) throw new Error(`--acceptance takes two numbers ≥ 1 (MTP-1, MTP-3), got "${opts.acceptance}"`);
      const gpu = accelerator(opts.gpu);

      const paper = ctxs.flatMap((ctx) => PAPER_MODELS.map((m) => step3PaperCost(m, ctx)));
      // The published model applied to the README's six models at 128K (ratios to Step 3.5 Flash).
      const variant = (label: string, cost: (i: number) => number) => {
        const c = README_TABLE.map((_, i) => cost(i));
        return { label, ratios: c.map((x) => x / c[0]!) };
      };
      const at = (i: number, card?: string, mtp = false) => {
        const row = README_TABLE[i]!;
        const mtpOpt = mtp && row.mtp > 0 ? { k: row.mtp, acceptance: row.mtp === 1 ? acc[0]! : acc[1]! } : undefined;
        const r = step3PaperCost(row.model, 131072, { mtp: mtpOpt }, card ? [ACCELERATORS[card]!] : undefined);
        return card ? r.perHardware[0]!.total : r.afd.total;
      };
      const published = [
        variant('H800, MTP ignored', (i) => at(i, 'H800')),
        variant('H20, MTP ignored', (i) => at(i, 'H20')),
        variant('H20, with MTP', (i) => at(i, 'H20', true)),
        variant('AFD (cheapest card per part), with MTP', (i) => at(i, undefined, true)),
      ];
      const fitted = reconstruct(fittedPreset(gpu));

      if (opts.json) {
        process.stdout.write(JSON.stringify({
          step3_paper: paper.map((r) => ({
            model: r.model, ctx: r.ctx, kv_bytes: r.shape.kvStored, kv_read_bytes: r.shape.kvRead, attention_flops: r.shape.attnFlops, linear_flops: r.shape.linearFlops, ffn_flops: r.shape.ffnFlops,
            intensity: r.intensity,
            per_hardware: r.perHardware.map((p) => ({ hardware: p.hardware, attention_usd_per_1m: p.attention * 1e6, ffn_usd_per_1m: p.ffn * 1e6, total_usd_per_1m: p.total * 1e6, memory_bound: p.memoryBound })),
            afd: { attention_hardware: r.afd.attention.hardware, ffn_hardware: r.afd.ffn.hardware, total_usd_per_1m: r.afd.total * 1e6 },
          })),
          readme_table: {
            table: README_TABLE.map((r) => ({ model: r.model.name, ratio: r.ratio, speed: r.speed, mtp: r.mtp, ep: r.ep })),
            published_model: published.map((v) => ({ variant: v.label, ratios: v.ratios })),
            fitted: { gpu: gpu.name, rms_log_error: rmsLogError(fitted), rows: fitted },
          },
        }) + '\n');
        return;
      }
      const out: string[] = [];
      out.push('Step-3 paper cost model (arXiv 2507.19427 §4): FP8 weights and KV, per decoded token, $ per 1M tokens');
      for (const r of paper) {
        const s = r.shape;
        out.push(`  ${r.model.padEnd(16)} ${String(r.ctx).padStart(6)}  KV/state read ${s.kvRead.toExponential(2)} B  attn ${s.attnFlops.toExponential(2)}  linear ${s.linearFlops.toExponential(2)}  FFN ${s.ffnFlops.toExponential(2)} FLOP  intensity ${r.intensity.toFixed(0)}`);
        out.push(`  ${''.padEnd(22)}` + r.perHardware.map((p) => `${p.hardware}: attn ${(p.attention * 1e6).toFixed(3)} ffn ${(p.ffn * 1e6).toFixed(3)}`).join('  ') +
          `  AFD ${(r.afd.total * 1e6).toFixed(3)} (${r.afd.attention.hardware}+${r.afd.ffn.hardware})`);
      }
      out.push('', 'README "Est. decoding cost @ 128K context, Hopper GPU", ratios to Step 3.5 Flash');
      const names = README_TABLE.map((r) => r.model.name);
      out.push(`  ${'variant'.padEnd(40)}` + names.map((n) => n.padStart(15)).join(''));
      out.push(`  ${'README table'.padEnd(40)}` + README_TABLE.map((r) => `${r.ratio.toFixed(1)}x`.padStart(15)).join(''));
      for (const v of published) out.push(`  ${('published model: ' + v.label).slice(0, 40).padEnd(40)}` + v.ratios.map((x) => `${x.toFixed(2)}x`.padStart(15)).join(''));
      out.push(`  ${`fitted extension (${gpu.name}, docs/cost.md)`.padEnd(40)}` + fitted.map((r) => `${r.ratio.toFixed(2)}x`.padStart(15)).join(''));
      out.push(`  ${'  error against the table'.padEnd(40)}` + fitted.map((r) => `${r.error >= 0 ? '+' : ''}${(r.error * 100).toFixed(1)}%`.padStart(15)).join(''));
      out.push(`  ${'  tokens/s per GPU'.padEnd(40)}` + fitted.map((r) => r.throughputPerGpu.toFixed(0).padStart(15)).join(''));
      out.push(`  ${'  bound by'.padEnd(40)}` + fitted.map((r) => r.bound.padStart(15)).join(''));
      out.push(`  RMS log error ${(rmsLogError(fitted) * 100).toFixed(1)}%, worst ${(Math.max(...fitted.map((r) => Math.abs(r.error))) * 100).toFixed(1)}%. The extension is a fit to the table, not StepFun's published method.`);
      process.stdout.write(out.join('\n') + '\n');
    });
}
