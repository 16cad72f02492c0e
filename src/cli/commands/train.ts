// stepflash train: train a small Step 3.5 model from scratch with a recipe (src/train/recipes) and write
// it as GGUF, with a progress line on stderr, checkpoints next to the output and an SVG loss curve.
import type { Command } from 'commander';
import type { StepLog } from '../../train/loop/trainer.js';
import { RECIPES } from '../../train/recipes/nano.js';
import { runDir, runRecipe } from '../../train/recipes/run.js';

interface TrainOpts {
  recipe: string;
  out?: string;
  threads?: string;
  resume?: boolean;
  steps?: string;
  stopAfter?: string;
  svg?: string;
  json?: boolean;
}

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description('train a small Step 3.5 model (with MTP heads) from scratch on the agentic task corpus and write it as GGUF')
    .option('--recipe <name>', `recipe: ${Object.keys(RECIPES).join(', ')}`, 'nano')
    .option('--out <file>', 'the GGUF to write (checkpoints go to FILE.train/ next to it)')
    .option('--threads <n>', 'compute threads (default: the machine\'s cores)')
    .option('--resume', 'continue from the checkpoint next to --out')
    .option('--steps <n>', 'optimizer steps (default: the recipe\'s; the schedule stretches to it)')
    .option('--stop-after <n>', 'stop after n steps of this run, leaving a checkpoint to --resume from')
    .option('--svg <file>', 'where to write the loss curve (default: OUT without .gguf + .loss.svg)')
    .option('--json', 'print the result as one JSON object on stdout')
    .addHelpText('after', `
Recipes:
${Object.values(RECIPES).map((r) => `  ${r.name.padEnd(8)} ${r.description}; ${r.steps} steps of ${r.nSeq * r.accum}x${r.T} tokens`).join('\n')}

Example:
  stepflash train --recipe nano --out models/nano.gguf --threads 2`)
    .action(async (opts: TrainOpts) => {
      const recipe = RECIPES[opts.recipe];
      if (!recipe) throw new Error(`unknown recipe "${opts.recipe}" (known: ${Object.keys(RECIPES).join(', ')})`);
      if (!opts.out) throw new Error('--out <file> is required (where to write the model)');
      if (!/\.gguf$/i.test(opts.out)) throw new Error(`--out must name a .gguf file, got ${opts.out}`);
      const int = (v: string | undefined, name: string): number | undefined => {
        if (v === undefined) return undefined;
        const n = Number(v);
        if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got ${v}`);
        return n;
      };
      const line = statusLine();
      const result = await runRecipe({
        recipe,
        out: opts.out,
        threads: int(opts.threads, '--threads'),
        resume: opts.resume === true,
        steps: int(opts.steps, '--steps'),
        stopAfter: int(opts.stopAfter, '--stop-after'),
        svg: opts.svg,
        onPhase: (m) => line.message(m),
        onStep: (log, total, ms, ran) => line.step(log, total, ms, ran),
      });
      line.done();
      const last = result.last;
      const info = {
        out: result.finished ? result.out : null,
        checkpoint_dir: runDir(result.out),
        loss_svg: result.svg,
        recipe: recipe.name,
        finished: result.finished,
        steps: result.steps,
        parameters: result.parameters,
        bytes: result.bytes,
        train_seconds: Math.round(result.trainSeconds),
        tokens_per_second: Math.round(result.tokensPerSecond),
        main_loss: last?.mainLoss ?? null,
        main_accuracy: last?.mainAcc ?? null,
        mtp_loss: last?.mtpLoss ?? null,
        mtp_accuracy: last?.mtpAcc ?? null,
        expert_load: last?.moe.map((m) => ({ layer: m.layer, load: m.load, max_over_mean: m.maxOverMean, mean_score: m.meanScore })) ?? null,
        corpus: result.corpus,
      };
      if (opts.json) {
        process.stdout.write(JSON.stringify(info) + '\n');
        return;
      }
      const acc = last ? ` main accuracy ${(last.mainAcc * 100).toFixed(1)}%, MTP accuracy ${last.mtpAcc.map((a) => (a * 100).toFixed(1) + '%').join(' / ')}` : '';
      if (result.finished) process.stdout.write(`wrote ${result.out}: ${result.parameters} parameters, ${(result.bytes / 2 ** 20).toFixed(1)} MiB, ${result.steps} steps in ${fmtTime(result.trainSeconds)} (${info.tokens_per_second} tokens/s), final loss ${last?.mainLoss.toFixed(3)};${acc}; loss curve ${result.svg}\n`);
      else process.stdout.write(`stopped at step ${result.steps}; resume with --resume (checkpoint in ${runDir(result.out)});${acc}\n`);
    });
}

/** The progress line: redrawn in place on a terminal, one line every 10 steps otherwise (logs). */
function statusLine() {
  const err = process.stderr;
  const tty = err.isTTY === true;
  let drawn = false;
  let tokens = 0;
  return {
    message(m: string) {
      if (drawn && tty) err.write('\r\x1b[K');
      drawn = false;
      err.write(`${m}\n`);
    },
    step(log: StepLog, total: number, ms: number, ran: number) {
      tokens += log.tokens;
      const done = log.step + 1;
      const rate = tokens / (ms / 1000);
      const eta = ((total - done) * ms) / ran / 1000;
      const width = 20, fill = Math.round((done / total) * width);
      const mtp = log.mtpLoss.map((l) => l.toFixed(2)).join('/');
      const text = `step ${done}/${total} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] loss ${log.mainLoss.toFixed(3)} (acc ${(log.mainAcc * 100).toFixed(1)}%, MTP ${mtp}) lr ${log.lr.toExponential(1)} ${Math.round(rate)} tok/s ETA ${fmtTime(eta)}`;
      if (tty) {
        err.write(`\r${text.slice(0, (err.columns ?? 160) - 1)}\x1b[K`);
        drawn = true;
      } else if (done % 10 === 0 || done === total || ran === 1) {
        err.write(`${new Date().toISOString().slice(11, 19)} ${text}\n`);
      }
    },
    done() {
      if (drawn && tty) err.write('\n');
      drawn = false;
    },
  };
}

function fmtTime(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const t = Math.round(s);
  const m = Math.floor(t / 60), h = Math.floor(m / 60);
  return h > 0 ? `${h}h${String(m % 60).padStart(2, '0')}m` : m > 0 ? `${m}m${String(t % 60).padStart(2, '0')}s` : `${t}s`;
}
