// stepflash eval-tasks: run a model on generated agentic tasks (held-out by default) as a tool-calling
// agent, greedily, through stepflash's engine, chat format and parser, and report the solve rate.
import type { Command } from 'commander';
import { FAMILY_NAMES, generateTasks, type FamilyName, type Split } from '../../train/data/corpus.js';
import { engineGenerator, evaluateTasks, formatReport, formatTeacherForced, oracleGenerator, teacherForced, type EvalReport, type TurnGenerator } from '../../train/eval/index.js';
import { openModel, type OpenModel } from '../open-model.js';
import { progressBar } from '../progress.js';
import { addThreadsFlag, positiveInt, threadsFrom } from '../sampling-options.js';

interface EvalFlags {
  model?: string;
  split: string;
  count: string;
  seed: string;
  families?: string;
  maxRounds: string;
  maxTokens: string;
  ctx?: string;
  failures: string;
  threads?: string;
  oracle?: boolean;
  teacherForced?: boolean;
  json?: boolean;
}

function nonNegativeInt(name: string, v: string): number {
  const x = Number(v);
  if (!Number.isSafeInteger(x) || x < 0) throw new Error(`--${name} must be a non-negative integer, got "${v}"`);
  return x;
}

export function registerEvalTasks(program: Command): void {
  const cmd = program
    .command('eval-tasks')
    .description('solve generated agentic tasks (calculator, python, dates, units) with a model as a tool-calling agent and report the solve rate')
    .option('-m, --model <file>', 'GGUF file (default: the embedded default model)')
    .option('--split <split>', 'train or heldout', 'heldout')
    .option('--count <n>', 'number of tasks', '200')
    .option('--seed <n>', 'task generator seed', '1')
    .option('--families <list>', `comma-separated families (${FAMILY_NAMES.join(', ')})`)
    .option('--max-rounds <n>', 'most assistant turns per task', '4')
    .option('--max-tokens <n>', 'most tokens per turn', '256')
    .option('--ctx <n>', 'context size in tokens (default: the model\'s, at most 4096)')
    .option('--failures <n>', 'failures to show', '5')
    .option('--oracle', 'replay each task\'s reference conversation instead of running a model (checks the harness; must score 100%)')
    .option('--teacher-forced', 'instead of the agent loop, score each reference conversation token by token: the model\'s top token at every position the assistant writes, given the reference before it (shows which tokens fail)')
    .option('--json', 'print the report as one JSON object');
  addThreadsFlag(cmd).action(async (f: EvalFlags) => {
    if (f.split !== 'train' && f.split !== 'heldout') throw new Error(`--split must be train or heldout, got "${f.split}"`);
    const families = f.families?.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
    for (const fam of families ?? []) if (!FAMILY_NAMES.includes(fam as FamilyName)) throw new Error(`--families: unknown family "${fam}" (known: ${FAMILY_NAMES.join(', ')})`);
    const tasks = generateTasks({
      split: f.split as Split,
      count: positiveInt('count', f.count),
      seed: nonNegativeInt('seed', f.seed),
      ...(families ? { families: families as FamilyName[] } : {}),
    });
    const maxRounds = positiveInt('max-rounds', f.maxRounds);
    const maxTokens = positiveInt('max-tokens', f.maxTokens);
    const keepFailures = nonNegativeInt('failures', f.failures);
    const ctx = f.ctx ? positiveInt('ctx', f.ctx) : undefined;
    if (f.teacherForced) {
      if (f.oracle) throw new Error('--teacher-forced scores a model on the reference conversations; it cannot be combined with --oracle');
      const m = openModel(f.model, { quiet: f.json, threads: threadsFrom(f.threads) });
      try {
        const bar = progressBar('tasks', '');
        const report = teacherForced(m.model, m.tokenizer, tasks, {
          keepFailures,
          ...(ctx ? { contextSize: ctx } : {}),
          onProgress: (done, total, exact) => bar.update(done, total, `exact ${exact}/${done}`),
        });
        bar.done();
        const title = `${m.label}: ${tasks.length} ${f.split} tasks, seed ${f.seed}, teacher-forced`;
        if (f.json) process.stdout.write(JSON.stringify({ model: m.path, label: m.label, random_weights: m.randomWeights, split: f.split, seed: Number(f.seed), teacher_forced: true, ...report }) + '\n');
        else process.stdout.write(formatTeacherForced(report, title) + '\n');
      } finally {
        m.close();
      }
      return;
    }
    let m: OpenModel | undefined;
    let gen: TurnGenerator;
    let label: string;
    if (f.oracle) {
      gen = oracleGenerator();
      label = 'oracle (reference conversations)';
    } else {
      m = openModel(f.model, { quiet: f.json, threads: threadsFrom(f.threads) });
      gen = engineGenerator(m.model, m.tokenizer, { maxTokens, ...(ctx ? { contextSize: ctx } : {}) });
      label = m.label;
    }
    try {
      const bar = progressBar('tasks', '');
      const report: EvalReport = await evaluateTasks(tasks, gen, {
        maxRounds,
        keepFailures,
        onProgress: (done, total, solved) => bar.update(done, total, `solved ${solved}/${done}`),
      });
      bar.done();
      const title = `${label}: ${tasks.length} ${f.split} tasks, seed ${f.seed}`;
      if (f.json) {
        process.stdout.write(JSON.stringify({ model: m?.path ?? null, label, random_weights: m?.randomWeights ?? false, split: f.split, seed: Number(f.seed), ...report }) + '\n');
      } else {
        process.stdout.write(formatReport(report, title) + '\n');
      }
    } finally {
      m?.close();
    }
  });
}
