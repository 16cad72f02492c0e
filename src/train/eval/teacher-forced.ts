// Teacher-forced scoring: each task's reference conversation, tokenized exactly as training sees it
// (recipes/encode.ts), goes through the model in one pass, and every token the assistant writes is checked
// against the model's top token given the reference before it. Where the agent loop only says that a task
// failed, this says which tokens the model cannot produce even with everything before them right: a word it
// cannot copy, a digit it adds, the first word of a wrong operation.
import { KvCache } from '../../engine/kv-cache.js';
import { argmax } from '../../engine/sampler.js';
import type { Step35Model } from '../../model/step35.js';
import type { Tokenizer } from '../../tokenizer/index.js';
import { encodeTask } from '../recipes/encode.js';
import type { FamilyName, Task } from '../data/task.js';

export interface TeacherForcedFamily {
  readonly tasks: number;
  /** Tokens the assistant writes (the trained positions), and how many of them the model ranks first. */
  readonly tokens: number;
  readonly correct: number;
  /** Tasks whose every assistant token the model ranks first. */
  readonly exact: number;
}

export interface TeacherForcedMiss {
  readonly id: string;
  readonly template: string;
  readonly question: string;
  readonly misses: number;
  /** The assistant's tokens in order, each miss written as [expected→predicted]. */
  readonly marked: string;
}

export interface TeacherForcedReport {
  readonly tasks: number;
  readonly tokens: number;
  readonly correct: number;
  readonly accuracy: number;
  readonly exact: number;
  readonly perFamily: Partial<Record<FamilyName, TeacherForcedFamily>>;
  /** The first tasks with a miss (up to the option's count). */
  readonly failures: readonly TeacherForcedMiss[];
  readonly ms: number;
}

export interface TeacherForcedOptions {
  /** Tasks with a miss to keep in the report (default 5). */
  readonly keepFailures?: number;
  /** Largest conversation in tokens (default: the model's training context, at most 4096). */
  readonly contextSize?: number;
  readonly onProgress?: (done: number, total: number, exact: number) => void;
}

export function teacherForced(model: Step35Model, tokenizer: Tokenizer, tasks: readonly Task[], opts: TeacherForcedOptions = {}): TeacherForcedReport {
  const t0 = performance.now();
  const V = model.config.nVocab;
  const ctx = opts.contextSize ?? Math.min(model.config.nCtxTrain, 4096);
  const keep = opts.keepFailures ?? 5;
  // As the training run writes it (recipes/run.ts): the BOS text whenever the tokenizer has one.
  const bos = tokenizer.bos !== undefined && tokenizer.bos >= 0 ? tokenizer.tokenText(tokenizer.bos) : '';
  const cache = new KvCache(model.backend, model.config, ctx, model.maxBatch);
  const fam = new Map<FamilyName, { tasks: number; tokens: number; correct: number; exact: number }>();
  const failures: TeacherForcedMiss[] = [];
  let tokens = 0, correct = 0, exact = 0;
  tasks.forEach((task, i) => {
    const ex = encodeTask(task, tokenizer, bos);
    if (ex.tokens.length > ctx) throw new Error(`task ${task.id} is ${ex.tokens.length} tokens, more than the context of ${ctx}: raise --ctx`);
    cache.truncate(0);
    const logits = model.forward(Array.from(ex.tokens), cache, { logits: 'all' });
    let n = 0, ok = 0, marked = '';
    for (let p = 0; p + 1 < ex.tokens.length; p++) {
      if (!ex.trained[p + 1]) continue;
      const best = argmax(logits.subarray(p * V, (p + 1) * V));
      const want = ex.tokens[p + 1]!;
      n++;
      if (best === want) ok++;
      if (failures.length < keep) marked += best === want ? tokenizer.decode([want]) : `[${JSON.stringify(tokenizer.decode([want]))}→${JSON.stringify(tokenizer.decode([best]))}]`;
    }
    const f = fam.get(task.family) ?? { tasks: 0, tokens: 0, correct: 0, exact: 0 };
    f.tasks++;
    f.tokens += n;
    f.correct += ok;
    if (ok === n) f.exact++;
    fam.set(task.family, f);
    tokens += n;
    correct += ok;
    if (ok === n) exact++;
    else if (failures.length < keep) failures.push({ id: task.id, template: task.template, question: task.question, misses: n - ok, marked });
    opts.onProgress?.(i + 1, tasks.length, exact);
  });
  return {
    tasks: tasks.length,
    tokens,
    correct,
    accuracy: tokens ? correct / tokens : 0,
    exact,
    perFamily: Object.fromEntries(fam),
    failures,
    ms: performance.now() - t0,
  };
}
