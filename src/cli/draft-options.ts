// The speculative-decoding flags shared by run, chat and bench: --draft N (0-3) and --draft-mode.
import type { Command } from 'commander';
import type { DraftMode, DraftOptions, DraftStats } from '../engine/speculative.js';

export interface DraftFlags {
  draft?: string;
  draftMode?: string;
  draftPMin?: string;
}

export function addDraftFlags(cmd: Command, defaultN = '0'): Command {
  return cmd
    .option('--draft <n>', 'speculative decoding: tokens the MTP heads draft per step, 0-3 (0 = off; the output is unchanged)', defaultN)
    .option('--draft-mode <mode>', 'chain (head k drafts token k; the default when the model has n heads) or roundrobin (one head, taken in turn, drafts all n)')
    .option('--draft-p-min <p>', 'stop drafting at a token the head gives less than this probability (0 = never)', '0');
}

export function draftFrom(f: DraftFlags): DraftOptions {
  const n = Number(f.draft ?? '0');
  if (!Number.isInteger(n) || n < 0 || n > 3) throw new Error(`--draft must be an integer from 0 to 3, got ${f.draft}`);
  const mode = f.draftMode;
  if (mode !== undefined && mode !== 'chain' && mode !== 'roundrobin') throw new Error(`--draft-mode must be chain or roundrobin, got ${mode}`);
  const pMin = Number(f.draftPMin ?? '0');
  if (!(pMin >= 0 && pMin <= 1)) throw new Error(`--draft-p-min must be a number from 0 to 1, got ${f.draftPMin}`);
  return { n, ...(mode ? { mode: mode as DraftMode } : {}), ...(pMin > 0 ? { pMin } : {}) };
}

/** The stats in snake_case, as `run --json` and `bench --json` print them. */
export function draftStatsJson(s: DraftStats): Record<string, unknown> {
  return {
    n: s.n,
    mode: s.mode,
    steps: s.steps,
    drafted: s.drafted,
    accepted: s.accepted,
    acceptance_rate: s.acceptanceRate,
    drafted_by_depth: s.draftedByDepth,
    accepted_by_depth: s.acceptedByDepth,
    acceptance_by_depth: s.acceptanceByDepth,
    mean_accepted_per_step: s.meanAccepted,
    mean_tokens_per_step: s.meanTokensPerStep,
    draft_ms: s.draftMs,
    verify_ms: s.verifyMs,
    mtp_cache_type_k: s.cacheTypeK,
    mtp_cache_type_v: s.cacheTypeV,
    mtp_cache_bytes: s.cacheBytes,
  };
}

/** One line for humans. */
export function draftStatsLine(s: DraftStats): string {
  const depth = s.acceptanceByDepth.map((a, i) => `d${i + 1} ${(a * 100).toFixed(0)}%`).join(', ');
  return `draft ${s.n} (${s.mode}): ${s.steps} steps, ${s.accepted}/${s.drafted} drafts accepted (${(s.acceptanceRate * 100).toFixed(1)}%; ${depth}), ${s.meanAccepted.toFixed(2)} accepted and ${s.meanTokensPerStep.toFixed(2)} tokens per step`;
}
