// Per-token quantities of one decoding step at a given context, from a model's configuration, with the
// Step-3 paper's conventions (arXiv 2507.19427 §4.1):
//   GQA: KV elements per position per layer n_kv·(d_k + d_v); attention FLOPs 2·n_q·(d_k + d_v)·positions.
//   MLA: KV (kv_lora + rope) = 576 elements; FLOPs 4·n_heads·576·positions (the paper's count, which gives
//        DeepSeek-V3 an arithmetic intensity of 512 at one byte per element).
//   MFA: one shared KV head of d_head for K and for V; FLOPs 2·n_q·2·d_head·positions.
//   Linear attention (MiniMax M1's lightning attention): a heads × d × d FP32 state read and written
//   once per token, whatever the context; 10·heads·d² FLOPs per layer. The paper states no formula for
//   these; the byte count is its stated convention (FP32 state) and the FLOP count is what its Tables 2
//   and 3 imply (7.4e8 FLOPs for 70 layers at both 8K and 32K).
// "Linear" is the attention projections (compute-bound under batching); "FFN" is 2 × the FFN parameters a
// token activates (the router is not counted, as in the paper's DeepSeek-V3 figures).
import type { AttentionGroup, CostModelConfig } from './models.js';

export interface KvPrecision {
  /** Bytes per cached KV element (1 = FP8/INT8, 2 = BF16). */
  readonly kvBytes: number;
  /** Bytes per DSA indexer key element, plus its per-token scale. */
  readonly indexerKeyBytes?: number;
  readonly indexerScaleBytes?: number;
}

export interface TokenShape {
  /** KV bytes one sequence keeps at this context. */
  readonly kvStored: number;
  /** KV bytes one decoding step reads for one sequence (DSA reads only the selected tokens' latents). */
  readonly kvRead: number;
  /** Core attention FLOPs for one query token. */
  readonly attnFlops: number;
  /** Attention projection FLOPs for one token. */
  readonly linearFlops: number;
  /** FFN FLOPs for one token. */
  readonly ffnFlops: number;
}

export interface ParamCount {
  readonly total: number;
  readonly active: number;
  readonly attention: number;
  readonly ffnActive: number;
}

function groupLinearParams(g: AttentionGroup, E: number): number {
  switch (g.kind) {
    case 'gqa':
      return E * g.nQ * g.dK + E * g.nKv * (g.dK + g.dV) + g.nQ * g.dV * E + (g.headGate ? E * g.nQ : 0);
    case 'mla': {
      const qk = g.dNope + g.rope;
      const q = g.qLora ? E * g.qLora + g.qLora * g.nHeads * qk : E * g.nHeads * qk;
      const idx = g.dsa ? (g.qLora ?? E) * g.dsa.heads * g.dsa.dim + E * g.dsa.dim + E * g.dsa.heads : 0;
      return q + E * (g.kvLora + g.rope) + g.kvLora * g.nHeads * (g.dNope + g.dV) + g.nHeads * g.dV * E + idx;
    }
    case 'mfa':
      return E * g.qLora + g.qLora * g.nQ * g.dHead + 2 * E * g.dHead + g.nQ * g.dHead * E;
    case 'linear':
      // q, k, v, output gate (E -> heads·d) and output (heads·d -> E).
      return 5 * E * g.heads * g.dHead;
  }
}

export function paramCount(m: CostModelConfig): ParamCount {
  const E = m.hidden;
  const f = m.ffn;
  const attention = m.attention.reduce((a, g) => a + g.layers * groupLinearParams(g, E), 0);
  const expert = 3 * E * f.expertFf;
  const dense = f.denseLayers * 3 * E * f.denseFf;
  const ffnActive = dense + f.moeLayers * (f.topK + f.shared) * expert;
  const ffnTotal = dense + f.moeLayers * ((f.experts + f.shared) * expert + E * f.experts);
  const embed = m.vocab * E * (m.tiedEmbedding ? 1 : 2);
  return { total: attention + ffnTotal + embed, active: attention + ffnActive + m.vocab * E, attention, ffnActive };
}

export function tokenShape(m: CostModelConfig, ctx: number, p: KvPrecision): TokenShape {
  let kvStored = 0, kvRead = 0, attnFlops = 0;
  for (const g of m.attention) {
    const L = g.layers;
    switch (g.kind) {
      case 'gqa': {
        const pos = g.window ? Math.min(ctx, g.window) : ctx;
        const kv = L * pos * g.nKv * (g.dK + g.dV) * (g.kvBytes ?? p.kvBytes);
        kvStored += kv;
        kvRead += kv;
        attnFlops += 2 * L * g.nQ * (g.dK + g.dV) * pos;
        break;
      }
      case 'mla': {
        const lat = g.kvLora + g.rope;
        kvStored += L * ctx * lat * p.kvBytes;
        if (g.dsa) {
          const sel = Math.min(ctx, g.dsa.topK);
          const idxBytes = L * ctx * (g.dsa.dim * (p.indexerKeyBytes ?? 1) + (p.indexerScaleBytes ?? 4));
          kvStored += idxBytes;
          kvRead += L * sel * lat * p.kvBytes + idxBytes;
          attnFlops += 4 * L * g.nHeads * lat * sel + 2 * L * g.dsa.heads * g.dsa.dim * ctx;
        } else {
          kvRead += L * ctx * lat * p.kvBytes;
          attnFlops += 4 * L * g.nHeads * lat * ctx;
        }
        break;
      }
      case 'mfa': {
        const kv = L * ctx * 2 * g.dHead * p.kvBytes;
        kvStored += kv;
        kvRead += kv;
        attnFlops += 2 * L * g.nQ * 2 * g.dHead * ctx;
        break;
      }
      case 'linear': {
        const state = L * g.heads * g.dHead * g.dHead * 4;
        kvStored += state;
        kvRead += 2 * state;
        attnFlops += 10 * L * g.heads * g.dHead * g.dHead;
        break;
      }
    }
  }
  const pc = paramCount(m);
  return { kvStored, kvRead, attnFlops, linearFlops: 2 * pc.attention, ffnFlops: 2 * pc.ffnActive };
}
