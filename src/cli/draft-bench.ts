// bench --draft N: decode speed of real generation with and without speculative decoding. Drafts only pay
// off where the MTP heads predict the trunk, so this decodes greedily from held-out agentic-task prompts
// (the kind of text the project's trained model was trained on), alternating the two settings, and checks
// that both produce the same tokens.
import { complete, type GenerateResult } from '../engine/generate.js';
import type { KvCacheTypes } from '../engine/kv-cache.js';
import { Session } from '../engine/session.js';
import type { DraftOptions, DraftStats } from '../engine/speculative.js';
import type { GGUFFile } from '../gguf/reader.js';
import { MtpHeads } from '../model/mtp.js';
import type { Step35Model } from '../model/step35.js';
import { Tokenizer } from '../tokenizer/index.js';
import { generateTasks, renderPrompt } from '../train/data/corpus.js';
import { draftStatsJson } from './draft-options.js';
import { progressBar } from './progress.js';

export interface DraftBenchOptions {
  readonly draft: DraftOptions;
  /** Most tokens generated per prompt (generation also stops at end-of-generation tokens). */
  readonly nGen: number;
  readonly prompts: number;
  readonly reps: number;
  readonly quiet?: boolean;
  /** KV cache storage of the trunk and the heads (default f32), as bench's --cache-type-k/-v. */
  readonly cacheTypes?: KvCacheTypes;
}

export interface DraftBench {
  readonly tokens: number;
  readonly baselineTokensPerSecond: number;
  readonly draftTokensPerSecond: number;
  readonly speedup: number;
  readonly identical: boolean;
  readonly stats: DraftStats;
  readonly costs: PassCosts;
  readonly json: Record<string, unknown>;
}

/** What a step costs, in units of a one-token trunk pass: the cost model's inputs. */
export interface PassCosts {
  readonly oneTokenMs: number;
  /** Trunk pass over n + 1 tokens / one-token pass. */
  readonly verifyRatio: number;
  /** One head pass / one-token trunk pass. */
  readonly headRatio: number;
  /** The speedup if every draft were accepted: (n + 1) / (verifyRatio + n * headRatio). */
  readonly ceiling: number;
}

/** Times one-token and (n + 1)-token trunk passes and a head pass at the end of `session`'s context. */
function passCosts(session: Session, n: number): PassCosts {
  const model = session.model;
  const heads = new MtpHeads(model, model.maxBatch);
  const cache = heads.newCache(0, session.contextSize, { k: session.cache.typeK, v: session.cache.typeV });
  cache.length = Math.max(0, session.cache.length - 1);
  const hidden = new Float32Array(model.config.nEmbd).fill(0.1);
  const tokens = session.tokens.slice(-(n + 1));
  const time = (f: () => void) => {
    const runs: number[] = [];
    for (let r = 0; r < 5; r++) {
      const t0 = performance.now();
      for (let i = 0; i < 10; i++) f();
      runs.push((performance.now() - t0) / 10);
    }
    return median(runs);
  };
  const L = session.cache.length - tokens.length; // rewrite the last positions, then restore them
  const one = time(() => {
    session.rollback(L);
    session.decodeMany(tokens.slice(0, 1));
  });
  const many = time(() => {
    session.rollback(L);
    session.decodeMany(tokens);
  });
  const head = time(() => {
    heads.run(0, [tokens[0]!], hidden, cache, true);
    cache.length--;
  });
  const verifyRatio = many / one, headRatio = head / one;
  return { oneTokenMs: one, verifyRatio, headRatio, ceiling: (n + 1) / (verifyRatio + n * headRatio) };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Sums the per-generation statistics of one setting. */
function mergeStats(all: readonly DraftStats[]): DraftStats {
  const first = all[0]!;
  const sum = (f: (s: DraftStats) => number) => all.reduce((a, s) => a + f(s), 0);
  const byDepth = (f: (s: DraftStats) => readonly number[]) => first.draftedByDepth.map((_, j) => all.reduce((a, s) => a + (f(s)[j] ?? 0), 0));
  const steps = sum((s) => s.steps), drafted = sum((s) => s.drafted), accepted = sum((s) => s.accepted);
  const draftedByDepth = byDepth((s) => s.draftedByDepth), acceptedByDepth = byDepth((s) => s.acceptedByDepth);
  return {
    n: first.n,
    mode: first.mode,
    steps,
    drafted,
    accepted,
    acceptanceRate: drafted ? accepted / drafted : 0,
    draftedByDepth,
    acceptedByDepth,
    acceptanceByDepth: draftedByDepth.map((d, j) => (d ? acceptedByDepth[j]! / d : 0)),
    meanAccepted: steps ? accepted / steps : 0,
    meanTokensPerStep: steps ? (accepted + steps) / steps : 0,
    draftMs: sum((s) => s.draftMs),
    verifyMs: sum((s) => s.verifyMs),
    cacheTypeK: first.cacheTypeK,
    cacheTypeV: first.cacheTypeV,
    cacheBytes: first.cacheBytes,
  };
}

export async function benchDraft(model: Step35Model, file: GGUFFile, o: DraftBenchOptions): Promise<DraftBench> {
  const tok = Tokenizer.fromMetadata(file.metadata);
  const prompts = generateTasks({ split: 'heldout', count: o.prompts, seed: 7 }).map((t) =>
    tok.encode(renderPrompt(t), { addSpecial: false, parseSpecial: true }),
  );
  const ctx = Math.max(...prompts.map((p) => p.length)) + o.nGen + 1;
  if (ctx > model.config.nCtxTrain && model.config.nCtxTrain > 0) throw new Error(`the bench prompts need a context of ${ctx}, the model has ${model.config.nCtxTrain}`);
  const session = new Session(model, { contextSize: ctx, ...(o.cacheTypes ? { cacheTypes: o.cacheTypes } : {}) });
  const bar = o.quiet ? undefined : progressBar('draft bench', ' gens');
  const total = (o.reps + 1) * 2 * prompts.length;
  let done = 0;

  /** One pass over the prompts with `draft` (n = 0: off): tokens/s over decode time, outputs, stats. */
  const pass = async (draft: DraftOptions | undefined) => {
    const results: GenerateResult[] = [];
    for (const prompt of prompts) {
      session.reset(); // every prompt from scratch, so the heads' caches hold the whole window
      results.push(await complete(session, tok, prompt, { maxTokens: o.nGen, sampling: { temperature: 0 }, ...(draft ? { draft } : {}) }));
      bar?.update(++done, total);
    }
    const tokens = results.reduce((a, r) => a + r.timings.generatedTokens, 0);
    const ms = results.reduce((a, r) => a + r.timings.decodeMs, 0);
    return { tps: ms > 0 ? (tokens * 1000) / ms : 0, tokens, outputs: results.map((r) => r.tokens), stats: results.flatMap((r) => (r.draft ? [r.draft] : [])) };
  };

  const base: number[] = [];
  const spec: number[] = [];
  let identical = true;
  let tokens = 0;
  let stats: DraftStats | null = null;
  for (let r = -1; r < o.reps; r++) {
    // r = -1 warms up; the two settings alternate so drift on a busy machine hits both alike.
    const a = await pass(undefined);
    const b = await pass(o.draft);
    identical &&= a.outputs.length === b.outputs.length && a.outputs.every((x, i) => x.length === b.outputs[i]!.length && x.every((t, j) => t === b.outputs[i]![j]));
    if (r < 0) continue;
    base.push(a.tps);
    spec.push(b.tps);
    tokens = a.tokens;
    stats = mergeStats(b.stats);
  }
  bar?.done();
  const costs = passCosts(session, o.draft.n);
  const baselineTokensPerSecond = median(base), draftTokensPerSecond = median(spec);
  const speedup = baselineTokensPerSecond > 0 ? draftTokensPerSecond / baselineTokensPerSecond : 0;
  return {
    tokens,
    baselineTokensPerSecond,
    draftTokensPerSecond,
    speedup,
    identical,
    stats: stats!,
    costs,
    json: {
      prompts: prompts.length,
      tokens,
      baseline_tokens_per_second: baselineTokensPerSecond,
      draft_tokens_per_second: draftTokensPerSecond,
      speedup,
      identical_output: identical,
      baseline_runs: base,
      draft_runs: spec,
      ...draftStatsJson(stats!),
      one_token_pass_ms: costs.oneTokenMs,
      verify_pass_ratio: costs.verifyRatio,
      head_pass_ratio: costs.headRatio,
      speedup_ceiling: costs.ceiling,
    },
  };
}

export function draftBenchLines(d: DraftBench): string[] {
  const s = d.stats;
  return [
    `generation, greedy, ${d.tokens} tokens from held-out task prompts: draft 0 ${d.baselineTokensPerSecond.toFixed(1)} tokens/s, ` +
      `draft ${s.n} (${s.mode}) ${d.draftTokensPerSecond.toFixed(1)} tokens/s: ${d.speedup.toFixed(2)}x${d.identical ? ', identical output' : ', OUTPUT DIFFERS (a bug)'}`,
    `  ${s.meanAccepted.toFixed(2)} drafts accepted per step (${s.meanTokensPerStep.toFixed(2)} tokens per step); acceptance ${(s.acceptanceRate * 100).toFixed(1)}%, by depth ` +
      s.acceptanceByDepth.map((a, i) => `${i + 1}: ${(a * 100).toFixed(0)}%`).join(', '),
    `  a trunk pass over ${s.n + 1} tokens costs ${d.costs.verifyRatio.toFixed(2)}x a one-token pass (${d.costs.oneTokenMs.toFixed(3)} ms), a head pass ${d.costs.headRatio.toFixed(2)}x: ` +
      `with every draft accepted the speedup would be ${d.costs.ceiling.toFixed(2)}x`,
  ];
}
