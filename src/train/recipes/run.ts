// Runs a recipe end to end: the tokenizer (trained once, kept next to the output), the tokenized corpus,
// the model, the training loop with checkpoints, the loss curve, and the GGUF export. Resuming reads the
// checkpoint and the tokenizer back and continues at the next step with exactly the state it stopped in.
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { GGMLType } from '../../gguf/ggml-types.js';
import { Metadata } from '../../gguf/metadata.js';
import { readGGUFHeader } from '../../gguf/reader.js';
import type { GGUFEntry } from '../../gguf/values.js';
import { gguf } from '../../gguf/values.js';
import { writeGGUF } from '../../gguf/writer.js';
import { Tokenizer } from '../../tokenizer/index.js';
import { WasmEngine } from '../autograd/wasm-engine.js';
import { generateTasks, renderTrainingText } from '../data/corpus.js';
import { batchSchedule, packRows, type PackedRows } from '../loop/batches.js';
import { loadCheckpoint, saveCheckpoint } from '../loop/checkpoint.js';
import { lossSvg, smooth } from '../loop/loss-svg.js';
import { Trainer, type StepLog } from '../loop/trainer.js';
import { presetConfig } from '../model/config.js';
import { exportGguf } from '../model/export.js';
import { Step35Trainable } from '../model/step35-train.js';
import { encodeTask } from './encode.js';
import type { Recipe } from './recipe.js';
import { trainTokenizer } from './tokenizer.js';

export interface RunOptions {
  readonly recipe: Recipe;
  readonly out: string;
  readonly threads?: number;
  readonly resume?: boolean;
  /** Override the recipe's step count (the schedule stretches to it). */
  readonly steps?: number;
  /** Where the loss curve goes (default: next to the output, NAME.loss.svg). */
  readonly svg?: string;
  /** Stop after this many steps of this invocation (a checkpoint is written), to be resumed later. */
  readonly stopAfter?: number;
  readonly onPhase?: (message: string) => void;
  readonly onStep?: (log: StepLog, total: number, elapsedMs: number, stepsThisRun: number) => void;
}

export interface RunResult {
  readonly out: string;
  readonly svg: string;
  readonly steps: number;
  readonly finished: boolean;
  readonly parameters: number;
  readonly bytes: number;
  /** Mean tokens/s of this invocation's steps (all tokens through the model, masked ones included). */
  readonly tokensPerSecond: number;
  readonly trainSeconds: number;
  readonly last: StepLog | null;
  readonly corpus: { examples: number; rows: number; skipped: number; density: number; meanTokens: number };
}

/** The files a run keeps next to its output: tokenizer, checkpoint, step log. */
export function runDir(out: string): string {
  return out.replace(/\.gguf$/i, '') + '.train';
}

export async function runRecipe(o: RunOptions): Promise<RunResult> {
  const r = o.recipe;
  const steps = o.steps ?? r.steps;
  if (!(Number.isInteger(steps) && steps >= 1)) throw new Error(`--steps must be a positive integer, got ${steps}`);
  const dir = runDir(o.out);
  const ckpt = join(dir, 'checkpoint.bin');
  const tokPath = join(dir, 'tokenizer.gguf');
  const logPath = join(dir, 'log.jsonl');
  const svg = o.svg ?? o.out.replace(/\.gguf$/i, '') + '.loss.svg';
  const phase = o.onPhase ?? (() => {});
  if (o.resume && !existsSync(ckpt)) throw new Error(`--resume: no checkpoint at ${ckpt}`);
  if (!o.resume && existsSync(dir)) rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  mkdirSync(dirname(o.out), { recursive: true });

  // The tokenizer: trained on the first conversations of the corpus, or read back when resuming.
  let tokEntries: [string, GGUFEntry][];
  if (existsSync(tokPath)) {
    tokEntries = [...readGGUFHeader(tokPath).metadata.entries].filter(([k]) => k.startsWith('tokenizer.'));
  } else {
    phase(`training a ${r.vocabSize}-token BPE on ${r.tokenizerExamples} conversations`);
    const texts = generateTasks({ split: 'train', count: r.tokenizerExamples, seed: r.dataSeed }).map((t) => renderTrainingText(t).text);
    tokEntries = trainTokenizer(texts, r.vocabSize, r.tokenizerMinDocuments ?? 1);
    writeGGUF(tokPath, { metadata: [['general.architecture', gguf.str('step35')], ...tokEntries], tensors: [] });
  }
  const tok = Tokenizer.fromMetadata(new Metadata(new Map(tokEntries)));
  // BPE training stops early when no pair repeats (the corpus is templated), so the model takes the
  // vocabulary the tokenizer ended with.
  const nVocab = tok.vocabSize;
  if (nVocab > r.vocabSize) throw new Error(`the tokenizer has ${nVocab} tokens, more than the recipe's ${r.vocabSize}`);
  const bos = tok.bos !== undefined ? tok.tokenText(tok.bos) : '';

  phase(`tokenizing ${r.examples} training conversations`);
  const tasks = generateTasks({ split: 'train', count: r.examples, seed: r.dataSeed });
  const examples = tasks.map((t) => encodeTask(t, tok, bos));
  const meanTokens = examples.reduce((a, e) => a + e.tokens.length, 0) / Math.max(1, examples.length);
  const packed: PackedRows = packRows(examples, r.T, { pad: tok.eos ?? 0, sharePrefix: r.sharePrefix });
  phase(`${examples.length} conversations (mean ${meanTokens.toFixed(0)} tokens) packed into ${packed.rows} rows of ${r.T}, ${(packed.density * 100).toFixed(1)}% of positions trained${packed.skipped ? `, ${packed.skipped} too long and left out` : ''}`);

  const engine = new WasmEngine({ threads: o.threads });
  try {
    await engine.ready();
    const model = new Step35Trainable(presetConfig(r.model, nVocab), engine, { init: { seed: r.seed }, tieEmbeddings: r.tieEmbeddings === true });
    const trainer = new Trainer(model, {
      schedule: { peak: r.lr, warmup: r.warmup, total: steps, minRatio: r.minLrRatio },
      adamw: { weightDecay: r.weightDecay },
      clip: r.clip,
      biasUpdate: r.biasUpdate,
      mtpWeight: r.mtpWeight,
      batches: batchSchedule(packed, { nSeq: r.nSeq, accum: r.accum, seed: r.seed }),
    });
    const identity = { recipe: r.name, vocab: nVocab, examples: r.examples, T: r.T, nSeq: r.nSeq, accum: r.accum, ...(r.tieEmbeddings ? { tied: true } : {}) };
    if (o.resume) {
      const extra = loadCheckpoint(ckpt, trainer) as { identity?: typeof identity; steps?: number } | null;
      if (JSON.stringify(extra?.identity) !== JSON.stringify(identity))
        throw new Error(`the checkpoint in ${dir} was written for ${JSON.stringify(extra?.identity)}, not ${JSON.stringify(identity)}; start afresh without --resume`);
      if (trainer.step > steps) throw new Error(`the checkpoint is at step ${trainer.step}, past --steps ${steps}`);
      // Same steps: exactly the uninterrupted run. Other steps: the schedule is stretched or cut from here on.
      phase(`resumed at step ${trainer.step} of ${steps}${extra?.steps !== undefined && extra.steps !== steps ? ` (the run was started for ${extra.steps} steps: the schedule changes from here)` : ''}`);
    }
    const history = readHistory(logPath).filter((l) => l.step < trainer.step);
    writeFileSync(logPath, history.map((l) => JSON.stringify(l)).join('\n') + (history.length ? '\n' : ''));
    const save = () => {
      saveCheckpoint(ckpt, trainer, { identity, steps });
      writeFileSync(svg, curve(history, r.name));
    };

    const t0 = performance.now();
    let ran = 0, tokens = 0;
    let last: StepLog | null = history.at(-1) ?? null;
    while (!trainer.done && (o.stopAfter === undefined || ran < o.stopAfter)) {
      const log = trainer.trainStep();
      ran++;
      tokens += log.tokens;
      history.push(log);
      last = log;
      appendFileSync(logPath, JSON.stringify(log) + '\n');
      o.onStep?.(log, steps, performance.now() - t0, ran);
      if (trainer.step % r.checkpointEvery === 0 || trainer.done) save();
    }
    if (!trainer.done) save();
    const trainSeconds = (performance.now() - t0) / 1000;

    let bytes = 0;
    if (trainer.done) {
      phase(`writing ${o.out}`);
      const facts: [string, GGUFEntry][] = [
        ['stepflash.train.recipe', gguf.str(r.name)],
        ['stepflash.train.steps', gguf.u32(steps)],
        ['stepflash.train.examples', gguf.u32(r.examples)],
        ['stepflash.train.final_loss', gguf.f32(last?.mainLoss ?? 0)],
      ];
      exportGguf(model, tokEntries, o.out, { type: GGMLType.F16, name: r.model.name, description: r.description, extra: facts });
      bytes = readFileSync(o.out).length;
    }
    return {
      out: o.out,
      svg,
      steps: trainer.step,
      finished: trainer.done,
      parameters: model.parameterCount,
      bytes,
      tokensPerSecond: trainSeconds > 0 ? tokens / trainSeconds : 0,
      trainSeconds,
      last,
      corpus: { examples: examples.length, rows: packed.rows, skipped: packed.skipped, density: packed.density, meanTokens },
    };
  } finally {
    await engine.close();
  }
}

function readHistory(path: string): StepLog[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as StepLog);
}

/** The loss curve: main head and each MTP head, smoothed. */
function curve(history: readonly StepLog[], name: string): string {
  const colors = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728'];
  const series = [{ name: 'main head', color: colors[0]!, points: smooth(history.map((l) => [l.step, l.mainLoss] as [number, number])) }];
  const heads = history[0]?.mtpLoss.length ?? 0;
  for (let k = 0; k < heads; k++) series.push({ name: `MTP head ${k + 1}`, color: colors[(k + 1) % colors.length]!, points: smooth(history.map((l) => [l.step, l.mtpLoss[k]!] as [number, number])) });
  return lossSvg(series, `stepflash ${name}: training loss (smoothed)`);
}
