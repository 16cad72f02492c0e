// Multi-token-prediction (nextn) heads, spec §2.5 (DeepSeek-V3 style, llama.cpp graph_mtp):
//
//   e   = RMSNorm_enorm(E[token])            the main embedding, shared
//   hh  = RMSNorm_hnorm(h_in)                h_in: the trunk's pre-final-norm hidden (head 1) or the previous
//                                             head's output before its head norm (chained heads)
//   u   = W_eh · concat(e, hh)               eh_proj [E][2E], embedding first
//   h   = DecoderLayer(u)                    a sliding-window layer with a dense FFN and its own KV cache
//   logits = W_head · RMSNorm_headnorm(h)    shared_head_{norm,head}, or output_norm/output where absent
//
// The head at position t reads the embedding of a token further ahead and the hidden state at t; which ones
// (and what its KV cache must hold) is the drafter's business (engine/speculative.ts). This file only runs
// one head over a run of consecutive positions.
import { kvRowBytes, slice, type Backend, type KvCacheType, type Tensor } from '../backend/backend.js';
import type { LayerConfig, ModelConfig } from './config.js';
import type { LayerKV, SequenceKV } from './kv.js';
import type { Step35Model } from './step35.js';

/** Storage of an MTP cache's keys and values (default f32), as for the trunk's (engine/kv-cache.ts). */
export interface MtpCacheTypes {
  readonly k?: KvCacheType;
  readonly v?: KvCacheType;
}

/** One MTP layer's KV cache (a one-layer sequence). */
export class MtpLayerCache implements SequenceKV {
  readonly layers: LayerKV[];
  length = 0;
  /** Bytes its keys and values take in their storage types. */
  readonly bytes: number;

  constructor(backend: Backend, cfg: ModelConfig, L: LayerConfig, readonly maxLength: number, margin: number, types: MtpCacheTypes = {}) {
    // Like the trunk's caches: a sliding layer keeps a ring of window + margin positions, where the margin
    // (the largest pass) keeps every key a pass's first query needs while later ones are written, and
    // makes rolling back up to `margin` positions safe.
    const capacity = L.sliding ? Math.min(maxLength, cfg.slidingWindow + margin) : maxLength;
    const typeK = types.k ?? 'f32', typeV = types.v ?? 'f32';
    for (const [t, d, what] of [[typeK, cfg.headDimK, 'key'], [typeV, cfg.headDimV, 'value']] as const)
      if (t === 'q8_0' && d % 32 !== 0) throw new RangeError(`a q8_0 ${what} cache needs a head dimension that is a multiple of 32; this model's is ${d}`);
    // Stored like the trunk's: rows converted on the way in (kvWrite) and read by the typed attention;
    // tensors count f32 elements, so byte-sized caches round up to whole words.
    const kBytes = capacity * kvRowBytes(typeK, L.nHeadKv * cfg.headDimK);
    const vBytes = capacity * kvRowBytes(typeV, L.nHeadKv * cfg.headDimV);
    const [k, v] = backend.allocCaches([Math.ceil(kBytes / 4), Math.ceil(vBytes / 4)]);
    this.bytes = kBytes + vBytes;
    this.layers = [{ k: k!, v: v!, capacity, typeK, typeV }];
  }

  /** Positions a query can still see: the window of a sliding layer, everything otherwise. */
  get capacity(): number {
    return this.layers[0]!.capacity;
  }
}

export interface MtpResult {
  /** [nt][E] outputs before the head norm: what a chained head (or the next round) reads. */
  readonly hidden: Float32Array;
  /** [vocab] next-token logits of the last position, when asked for. */
  readonly logits: Float32Array | null;
}

export class MtpHeads {
  /** Number of MTP layers in the file. */
  readonly count: number;
  private readonly residual: Tensor;

  constructor(readonly model: Step35Model, readonly maxBatch: number) {
    const cfg = model.config;
    this.count = cfg.nNextn;
    for (let k = 0; k < this.count; k++) {
      if (!model.weights.layers[cfg.nLayer + k]?.nextn) throw new Error(`layer ${cfg.nLayer + k} is an MTP layer without nextn weights`);
      if (model.weights.layers[cfg.nLayer + k]!.moe) throw new Error(`MTP layer ${cfg.nLayer + k} has routed experts; MTP layers have a dense FFN`);
    }
    this.residual = model.backend.alloc(maxBatch * cfg.nEmbd);
  }

  layer(k: number): LayerConfig {
    if (!(k >= 0 && k < this.count)) throw new RangeError(`MTP head ${k} does not exist (the model has ${this.count})`);
    return this.model.config.layers[this.model.config.nLayer + k]!;
  }

  /** A KV cache for head k holding up to maxLength positions, stored as `types` (default f32). */
  newCache(k: number, maxLength: number, types: MtpCacheTypes = {}): MtpLayerCache {
    return new MtpLayerCache(this.model.backend, this.model.config, this.layer(k), maxLength, this.maxBatch, types);
  }

  /**
   * Runs head k at positions cache.length .. cache.length + n - 1: row i pairs the embedding of tokens[i]
   * with hidden row i ([n][E]). Writes those positions' keys and values to the cache and advances it.
   */
  run(k: number, tokens: readonly number[], hidden: Float32Array, cache: MtpLayerCache, logits: boolean): MtpResult {
    const { model } = this;
    const cfg = model.config;
    const B = model.backend;
    const E = cfg.nEmbd;
    const nt = tokens.length;
    const L = this.layer(k);
    const lw = model.weights.layers[L.index]!;
    const nx = lw.nextn!;
    if (nt === 0 || nt > this.maxBatch) throw new RangeError(`an MTP pass takes 1..${this.maxBatch} positions, got ${nt}`);
    if (hidden.length !== nt * E) throw new RangeError(`expected ${nt} hidden rows of ${E}, got ${hidden.length} values`);
    if (cache.length + nt > cache.maxLength) throw new RangeError(`${nt} more positions do not fit the MTP cache (${cache.length} of ${cache.maxLength})`);
    for (const id of tokens) if (!Number.isInteger(id) || id < 0 || id >= cfg.nVocab) throw new RangeError(`token id ${id} is outside the vocabulary`);

    B.resetTemp();
    const emb = B.temp(nt * E);
    model.embed(tokens, B.view(emb));
    const hin = B.temp(nt * E);
    B.view(hin).set(hidden);
    const en = B.temp(nt * E);
    const hn = B.temp(nt * E);
    B.rmsNorm(en, emb, nx.enorm, nt, E, cfg.rmsEps);
    B.rmsNorm(hn, hin, nx.hnorm, nt, E, cfg.rmsEps);
    const cat = B.temp(nt * 2 * E);
    for (let i = 0; i < nt; i++) {
      B.copy(slice(cat, i * 2 * E, E), slice(en, i * E, E), E);
      B.copy(slice(cat, i * 2 * E + E, E), slice(hn, i * E, E), E);
    }
    const h = slice(this.residual, 0, nt * E);
    B.matmul(h, nx.ehProj, cat, nt);

    B.resetTemp();
    const pos0 = cache.length;
    model.attentionBlock(h, L, lw, [{ seq: cache, pos0, offset: 0, nt }], 0, nt);
    model.ffnBlock(h, L, lw, nt);
    cache.length = pos0 + nt;
    const out = B.view(h).slice(0, nt * E);
    if (!logits) return { hidden: out, logits: null };

    B.resetTemp();
    const last = slice(h, (nt - 1) * E, E);
    const normed = B.temp(E);
    B.rmsNorm(normed, last, nx.headNorm ?? model.weights.outputNorm, 1, E, cfg.rmsEps);
    const lg = B.temp(cfg.nVocab);
    B.matmul(lg, nx.head ?? model.weights.output, normed, 1);
    return { hidden: out, logits: B.view(lg).slice() };
  }
}
