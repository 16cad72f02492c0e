// Parameter counts of a GGUF model: total, per token (active: routed experts count only for the ones a
// token uses; the embedding is a lookup, not a product), and MTP layers apart from the trunk.
import type { GGUFHeader } from '../gguf/reader.js';
import type { ModelConfig } from '../model/config.js';

export interface ParamCounts {
  readonly total: number;
  readonly trunk: number;
  readonly mtp: number;
  /** Parameters one token touches in the trunk, the embedding row excluded. */
  readonly active: number;
}

export function countParams(h: GGUFHeader, cfg: ModelConfig): ParamCounts {
  let total = 0, mtp = 0, active = 0;
  for (const t of h.tensors) {
    total += t.nelements;
    const m = /^blk\.(\d+)\./.exec(t.name);
    if (m && Number(m[1]) >= cfg.nLayer) {
      mtp += t.nelements;
      continue;
    }
    if (t.name === 'token_embd.weight') {
      if (!h.tensors.some((x) => x.name === 'output.weight')) active += t.nelements; // tied output head
      continue;
    }
    active += t.name.includes('_exps.') && cfg.nExpert > 0 ? (t.nelements * cfg.nExpertUsed) / cfg.nExpert : t.nelements;
  }
  return { total, trunk: total - mtp, mtp, active };
}

export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}K`;
  return String(n);
}
