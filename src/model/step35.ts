// The Step 3.5 forward pass (and, as a configuration of it, Llama's), top to bottom as in the spec:
//
//   h_0 = E[token]
//   per layer:  a = RMSNorm(h);  h += W_o · gate ⊙ Attn(RoPE(qnorm(W_q a)), RoPE(knorm(W_k a)), W_v a)
//               f = RMSNorm(h);  h += FFN(f)      (dense SwiGLU, or routed experts + shared expert)
//   logits = W_out · RMSNorm(h)
//
// Norm weights come from GGUF with the zero-centred (1 + w) gain already baked in, as llama.cpp's
// converter writes them, so every norm here is a plain RMSNorm.
import { slice, type AttentionJob, type Backend, type MatmulOp, type Tensor } from '../backend/backend.js';
import { dequantizeRow } from '../gguf/quant/index.js';
import { bytesFor } from '../gguf/ggml-types.js';
import type { GGUFFile } from '../gguf/reader.js';
import type { LayerConfig, ModelConfig } from './config.js';
import type { SequenceKV } from './kv.js';
import { getLibmVariant } from '../backend/libm.js';
import { RopeRows } from './rope.js';
import { routeTokens } from './router.js';
import type { LayerWeights, MlpWeights, ModelWeights } from './weights.js';

/**
 * The FFN's scratch of a long prompt stays within FFN_SCRATCH_SHARE of the weights' bytes less
 * FFN_SCRATCH_RESERVE, and at least FFN_SCRATCH_MIN (see ffnSlice()).
 */
const FFN_SCRATCH_SHARE = 0.3;
const FFN_SCRATCH_RESERVE = 96 << 20;
const FFN_SCRATCH_MIN = 16 << 20;

export interface ForwardOptions {
  /** Which of the new tokens need next-token logits: the last one (default), all of them, or none. */
  readonly logits?: 'last' | 'all' | 'none';
  /**
   * Debugging: called with intermediate tensors under llama.cpp's graph names ("attn_norm-3",
   * "ffn_out-3", ...) so that a run can be compared with llama.cpp's eval callback tensor by tensor.
   */
  readonly trace?: (name: string, values: Float32Array) => void;
}

/** One sequence's new tokens in a multi-sequence pass. */
export interface BatchItem {
  readonly tokens: readonly number[];
  readonly seq: SequenceKV;
  readonly logits: 'last' | 'all' | 'none';
}

export interface Segment {
  readonly seq: SequenceKV;
  readonly pos0: number;
  /** First row of this sequence's tokens in the pass. */
  readonly offset: number;
  readonly nt: number;
}

/** Token embedding tables up to this many bytes are kept in memory rather than read from the file per token. */
const EMBEDDING_TABLE_MAX = 16 << 20;

export class Step35Model {
  /** Largest number of tokens pushed through the layers at once; longer inputs are split. */
  readonly maxBatch: number;
  private hidden: Tensor | null = null;
  private trace: ForwardOptions['trace'] = undefined;
  /**
   * RoPE rows per layer, kept across passes (rope.ts RopeRows: lazily computed blocks of positions, bounded);
   * layers with the same rotary configuration share one. Rebuilt if the libm variant changes.
   */
  private readonly ropeRows = new Map<LayerConfig, RopeRows>();
  private readonly ropeByConfig = new Map<string, RopeRows>();
  private ropeVariant = getLibmVariant();
  /** Tokens per FFN pass of a long prompt (see ffnBlock()). */
  private readonly ffnSlice: number;
  /** The token embedding as f32 rows or as its bytes when they are few enough to keep (see embed()); undefined until first used. */
  private embeddingTable: Float32Array | Uint8Array | null | undefined = undefined;

  constructor(
    readonly config: ModelConfig,
    readonly weights: ModelWeights,
    readonly backend: Backend,
    private readonly file: GGUFFile,
    maxBatch = 256,
    /** Tokens per FFN pass of a long prompt (default: ffnSlice()). */
    ffnSliceTokens?: number,
  ) {
    this.maxBatch = maxBatch;
    this.ffnSlice = ffnSliceTokens ?? ffnSlice(config, backend.memoryBytes());
  }

  /**
   * Runs `tokens` at the next positions of `seq`, appending their keys and values to its cache, and
   * returns next-token logits: [1][vocab] for 'last', [tokens][vocab] for 'all'.
   */
  forward(tokens: readonly number[], seq: SequenceKV, opts: ForwardOptions = {}): Float32Array {
    const mode = opts.logits ?? 'last';
    const V = this.config.nVocab;
    this.trace = opts.trace;
    // Passes of at most maxBatch tokens, and no longer than an FFN slice where the FFN must be sliced
    // anyway: a prompt's attention scratch then shrinks with its FFN's, and each pass still reads the
    // experts once per slice as the sliced FFN did (not while tracing: a trace holds whole tensors).
    const step = this.trace ? this.maxBatch : Math.min(this.maxBatch, this.ffnSlice);
    // The usual cases, one batch: its logits come back as they are, without a second copy.
    if (tokens.length <= step) return this.forwardMany([{ tokens, seq, logits: mode }])[0]!;
    this.check(tokens, seq);
    const out = new Float32Array(mode === 'all' ? tokens.length * V : mode === 'last' ? V : 0);
    for (let start = 0; start < tokens.length; start += step) {
      const chunk = tokens.slice(start, start + step);
      const isLastChunk = start + chunk.length === tokens.length;
      const logits = this.forwardMany([{ tokens: chunk, seq, logits: mode === 'all' ? 'all' : mode === 'last' && isLastChunk ? 'last' : 'none' }])[0]!;
      if (mode === 'all') out.set(logits, start * V);
      else if (mode === 'last' && isLastChunk) out.set(logits);
    }
    return out;
  }

  /**
   * Runs several sequences' new tokens in one pass (continuous batching): every weight is read once for all
   * of them, while each sequence attends over its own cache. The tokens of all items together must fit
   * maxBatch. Returns each item's logits like forward().
   */
  forwardMany(items: readonly BatchItem[]): Float32Array[] {
    const { config: cfg, backend: B, weights: W } = this;
    const E = cfg.nEmbd;
    const V = cfg.nVocab;
    const nt = items.reduce((a, it) => a + it.tokens.length, 0);
    if (nt > this.maxBatch) throw new RangeError(`${nt} tokens in one pass exceed the batch size ${this.maxBatch}`);
    const seqs = new Set<SequenceKV>();
    const segments: Segment[] = [];
    let offset = 0;
    for (const it of items) {
      this.check(it.tokens, it.seq);
      if (seqs.has(it.seq)) throw new Error('a sequence may appear only once in a batch');
      seqs.add(it.seq);
      segments.push({ seq: it.seq, pos0: it.seq.length, offset, nt: it.tokens.length });
      offset += it.tokens.length;
    }
    // The residual stream lives across layers; everything else is scratch reused block by block.
    this.hidden ??= B.alloc(this.maxBatch * E);
    const h = slice(this.hidden, 0, nt * E);
    this.embed(items.flatMap((it) => it.tokens), B.view(h));

    for (let il = 0; il < cfg.nLayer; il++) {
      const L = cfg.layers[il]!;
      const lw = W.layers[il]!;
      B.resetTemp();
      this.attentionBlock(h, L, lw, segments, il, nt);
      B.resetTemp();
      this.ffnBlock(h, L, lw, nt);
    }
    for (const sg of segments) sg.seq.length = sg.pos0 + sg.nt;

    // Logits only for the rows asked for: gathered, normed and projected together.
    const rows: number[] = [];
    items.forEach((it, i) => {
      const sg = segments[i]!;
      if (it.logits === 'all') for (let t = 0; t < sg.nt; t++) rows.push(sg.offset + t);
      else if (it.logits === 'last' && sg.nt > 0) rows.push(sg.offset + sg.nt - 1);
    });
    if (rows.length === 0) return items.map(() => new Float32Array(0));
    B.resetTemp();
    const picked = B.temp(rows.length * E);
    rows.forEach((r, i) => B.copy(slice(picked, i * E, E), slice(h, r * E, E), E));
    const normed = B.temp(rows.length * E);
    B.rmsNorm(normed, picked, W.outputNorm, rows.length, E, cfg.rmsEps);
    const logits = B.temp(rows.length * V);
    B.matmul(logits, W.output, normed, rows.length);
    const all = B.view(logits);
    let next = 0;
    return items.map((it, i) => {
      const n = it.logits === 'all' ? segments[i]!.nt : it.logits === 'last' && segments[i]!.nt > 0 ? 1 : 0;
      const out = all.slice(next * V, (next + n) * V);
      next += n;
      return out;
    });
  }

  /**
   * The pre-final-norm hidden states h of rows [row0, row0 + n) of the last pass (rows in pass order: the
   * items' tokens end to end), a copy: what the first MTP head reads. Valid until the next pass.
   */
  hiddenRows(row0: number, n: number): Float32Array {
    const E = this.config.nEmbd;
    if (!this.hidden || row0 < 0 || n < 0 || (row0 + n) * E > this.hidden.size) throw new RangeError(`hidden rows ${row0}+${n} are not in the last pass`);
    return this.backend.view(slice(this.hidden, row0 * E, n * E)).slice();
  }

  private check(tokens: readonly number[], seq: SequenceKV): void {
    const V = this.config.nVocab;
    for (const id of tokens) if (!Number.isInteger(id) || id < 0 || id >= V) throw new RangeError(`token id ${id} is outside the vocabulary (0..${V - 1})`);
    if (seq.length + tokens.length > seq.maxLength)
      throw new RangeError(`${tokens.length} more tokens do not fit: the sequence holds ${seq.length} of at most ${seq.maxLength}`);
  }

  /** RoPE angles for positions pos0 .. pos0 + nt - 1 of layer L's rotary configuration (do not write to them). */
  private ropeFor(L: LayerConfig, pos0: number, nt: number): Float32Array {
    const variant = getLibmVariant();
    if (variant !== this.ropeVariant) {
      // The rows were computed with the other build of cosf/sinf.
      for (const r of this.ropeByConfig.values()) r.clear();
      this.ropeVariant = variant;
    }
    let rows = this.ropeRows.get(L);
    if (!rows) {
      const key = `${L.nRot}:${L.ropeBase}:${L.ropeFactors}`;
      rows = this.ropeByConfig.get(key);
      if (!rows) {
        rows = new RopeRows(L.nRot, L.ropeBase, this.config.ropeFreqScale, L.ropeFactors ? this.weights.ropeFreqs : null);
        this.ropeByConfig.set(key, rows);
      }
      this.ropeRows.set(L, rows);
    }
    return rows.rows(pos0, nt);
  }

  private t(name: string, il: number, x: Tensor, n: number): void {
    if (this.trace) this.trace(il >= 0 ? `${name}-${il}` : name, this.backend.view(x).slice(0, n));
  }

  /** Embedding rows of `tokens` into dst (also used by the MTP drafter, src/model/mtp.ts). */
  embed(tokens: readonly number[], dst: Float32Array): void {
    const t = this.weights.embedding;
    const E = this.config.nEmbd;
    const rowBytes = bytesFor(t.type, E)!;
    // A small table is read once and kept, as f32 rows when those fit too (a file read and a conversion
    // per token cost a small model's decode ~4%); a large one (Step 3.5 Flash's is ~1 GiB) stays in the
    // file, read a row at a time.
    if (this.embeddingTable === undefined) this.embeddingTable = this.loadEmbeddingTable();
    const table = this.embeddingTable;
    tokens.forEach((id, i) => {
      if (table instanceof Float32Array) dst.set(table.subarray(id * E, (id + 1) * E), i * E);
      else dequantizeRow(t.type, table ? table.subarray(id * rowBytes, (id + 1) * rowBytes) : this.file.readTensorBytes(t, id * rowBytes, rowBytes), dst.subarray(i * E, (i + 1) * E), E);
    });
  }

  private loadEmbeddingTable(): Float32Array | Uint8Array | null {
    const t = this.weights.embedding;
    if (t.nbytes > EMBEDDING_TABLE_MAX) return null;
    const raw = this.file.readTensorBytes(t);
    const E = this.config.nEmbd, rows = this.config.nVocab;
    if (rows * E * 4 > EMBEDDING_TABLE_MAX) return raw;
    const rowBytes = bytesFor(t.type, E)!;
    const f32 = new Float32Array(rows * E);
    for (let r = 0; r < rows; r++) dequantizeRow(t.type, raw.subarray(r * rowBytes, (r + 1) * rowBytes), f32.subarray(r * E, (r + 1) * E), E);
    return f32;
  }

  /** h += W_o · (sigmoid(W_g a) ⊙ softmax(q kᵀ/√d) v), a = RMSNorm(h). Also runs MTP layers (mtp.ts). */
  attentionBlock(h: Tensor, L: LayerConfig, lw: LayerWeights, segments: readonly Segment[], il: number, nt: number): void {
    const { config: cfg, backend: B } = this;
    const E = cfg.nEmbd;
    const hd = cfg.headDimK;
    const aw = lw.attn;
    const a = B.temp(nt * E);
    B.rmsNorm(a, h, aw.norm, nt, E, cfg.rmsEps);
    this.t('attn_norm', L.index, a, nt * E);

    const q = B.temp(nt * L.nHead * hd);
    const k = B.temp(nt * L.nHeadKv * hd);
    const v = B.temp(nt * L.nHeadKv * cfg.headDimV);
    const g = aw.gate ? B.temp(nt * L.nHead) : null;
    B.matmuls([
      { y: q, w: aw.q, x: a, nt },
      { y: k, w: aw.k, x: a, nt },
      { y: v, w: aw.v, x: a, nt },
      ...(g ? [{ y: g, w: aw.gate!, x: a, nt }] : []),
    ]);
    if (aw.qNorm) B.rmsNorm(q, q, aw.qNorm, nt * L.nHead, hd, cfg.rmsEps);
    if (aw.kNorm) B.rmsNorm(k, k, aw.kNorm, nt * L.nHeadKv, hd, cfg.rmsEps);

    this.t('Qcur_normed', L.index, q, nt * L.nHead * hd);
    this.t('Kcur_normed', L.index, k, nt * L.nHeadKv * hd);
    const neox = cfg.ropeMode === 'neox';
    const qRow = L.nHead * hd;
    const kRow = L.nHeadKv * hd;
    const vRow = L.nHeadKv * cfg.headDimV;
    const oRow = L.nHead * cfg.headDimV;
    const o = B.temp(nt * oRow);
    const window = L.sliding ? cfg.slidingWindow : 0;
    const jobs: AttentionJob[] = [];
    for (const sg of segments) {
      // Each sequence rotates by its own positions and writes its own cache.
      const cs = this.ropeFor(L, sg.pos0, sg.nt);
      const qs = slice(q, sg.offset * qRow, sg.nt * qRow);
      const ks = slice(k, sg.offset * kRow, sg.nt * kRow);
      B.rope(qs, sg.nt, L.nHead, hd, L.nRot, neox, cs);
      B.rope(ks, sg.nt, L.nHeadKv, hd, L.nRot, neox, cs);
      const kv = sg.seq.layers[il]!;
      const typeK = kv.typeK ?? 'f32', typeV = kv.typeV ?? 'f32';
      // New positions go to consecutive slots of the ring: one copy, or two where it wraps. Caches stored
      // as f16/bf16/q8_0 convert the rows on the way in.
      for (let t = 0; t < sg.nt; ) {
        const slot = (sg.pos0 + t) % kv.capacity;
        const run = Math.min(sg.nt - t, kv.capacity - slot);
        if (typeK === 'f32') B.copy(slice(kv.k, slot * kRow, run * kRow), slice(ks, t * kRow, run * kRow), run * kRow);
        else B.kvWrite(kv.k, typeK, slot, kRow, slice(ks, t * kRow, run * kRow), run);
        if (typeV === 'f32') B.copy(slice(kv.v, slot * vRow, run * vRow), slice(v, (sg.offset + t) * vRow, run * vRow), run * vRow);
        else B.kvWrite(kv.v, typeV, slot, vRow, slice(v, (sg.offset + t) * vRow, run * vRow), run);
        t += run;
      }
      jobs.push({ o: slice(o, sg.offset * oRow, sg.nt * oRow), q: qs, kCache: kv.k, vCache: kv.v, nt: sg.nt, pos0: sg.pos0, cap: kv.capacity, first: sg.seq.first ?? 0, typeK, typeV });
    }
    this.t('Qcur_pos', L.index, q, nt * qRow);
    this.t('Kcur_pos', L.index, k, nt * kRow);
    B.attentions(jobs, L.nHead, L.nHeadKv, hd, window, 1 / Math.sqrt(hd));

    this.t('attn_out', L.index, o, nt * oRow);
    if (g) B.headGate(o, g, nt, L.nHead, cfg.headDimV);
    if (g) this.t('attn_gated', L.index, o, nt * oRow);
    const proj = B.temp(nt * E);
    B.matmul(proj, aw.o, o, nt);
    this.t('attn_proj', L.index, proj, nt * E);
    B.add(h, h, proj, nt * E);
    this.t('ffn_inp', L.index, h, nt * E);
  }

  /** h += FFN(RMSNorm(h)): a dense SwiGLU, or Σ w_e Expert_e + Shared on MoE layers. Also runs MTP layers. */
  ffnBlock(h: Tensor, L: LayerConfig, lw: LayerWeights, nt: number): void {
    // A long prompt goes through in slices of ffnSlice tokens whose scratch is reused: a token's FFN
    // reads no other token, and MoE's expert outputs and encoded inputs take nt * K rows of E values
    // (~40 MiB for 512 tokens of the mini shape), the largest buffers of a prefill. Each slice
    // still reads every selected expert once.
    // (Not while tracing: a trace holds whole tensors.)
    const E = this.config.nEmbd;
    const step = this.trace ? nt : this.ffnSlice;
    // One slice (every decoding step): nothing to release between slices.
    if (nt <= step) return this.ffnRows(h, L, lw, nt);
    for (let t0 = 0; t0 < nt; t0 += step) {
      const n = Math.min(step, nt - t0);
      const mark = this.backend.tempMark();
      this.ffnRows(slice(h, t0 * E, n * E), L, lw, n);
      this.backend.tempRelease(mark);
    }
  }

  private ffnRows(h: Tensor, L: LayerConfig, lw: LayerWeights, nt: number): void {
    const { config: cfg, backend: B } = this;
    const E = cfg.nEmbd;
    const f = B.temp(nt * E);
    B.rmsNorm(f, h, lw.ffnNorm, nt, E, cfg.rmsEps);
    this.t('ffn_norm', L.index, f, nt * E);
    const y = B.temp(nt * E);
    if (lw.moe) this.moe(y, f, L, lw, nt);
    else this.mlp(y, f, lw.mlp!, nt, L.clampShexp);
    this.t('ffn_out', L.index, y, nt * E);
    B.add(h, h, y, nt * E);
  }

  /** y = W_down · act(W_gate x, W_up x) with the layer's SwiGLU clamp. */
  private mlp(y: Tensor, x: Tensor, w: MlpWeights, nt: number, clamp: number): void {
    const B = this.backend;
    const F = w.gate.rows;
    const g = B.temp(nt * F);
    const u = B.temp(nt * F);
    B.matmuls([{ y: g, w: w.gate, x, nt }, { y: u, w: w.up, x, nt }]);
    B.swiglu(g, g, u, nt, F, clamp);
    B.matmul(y, w.down, g, nt);
  }

  /**
   * y = Σ_k w_k Expert_{e_k}(f) + Shared(f). Only the experts some token selected are computed, each over
   * its tokens only, and all of them (with the shared expert) in one dispatch for gate/up and one for down.
   */
  private moe(y: Tensor, f: Tensor, L: LayerConfig, lw: LayerWeights, nt: number): void {
    const { config: cfg, backend: B } = this;
    const moe = lw.moe!;
    const E = cfg.nEmbd;
    const F = cfg.nFfExp;
    const logits = B.temp(nt * cfg.nExpert);
    B.matmul(logits, moe.router, f, nt);
    this.t('ffn_moe_logits', L.index, logits, nt * cfg.nExpert);
    const route = routeTokens(B.view(logits), nt, cfg, moe.bias);

    // Group the (token, rank) slots by expert; each group's outputs take consecutive rows.
    const K = route.k;
    const groups = new Map<number, number[]>();
    for (let slot = 0; slot < nt * K; slot++) {
      const e = route.experts[slot]!;
      const list = groups.get(e);
      if (list) list.push(slot);
      else groups.set(e, [slot]);
    }
    const ge = B.temp(nt * K * F);
    const ue = B.temp(nt * K * F);
    const de = B.temp(nt * K * E);
    const rowOf = new Int32Array(nt * K);
    const up: MatmulOp[] = [];
    const down: MatmulOp[] = [];
    let row = 0;
    for (const [e, slots] of groups) {
      const n = slots.length;
      // Every expert reads its tokens' rows of f through one encoding of f (matmuls() gathers the encoded
      // rows), not a gathered copy encoded again per expert.
      const tokens = slots.map((slot, i) => {
        rowOf[slot] = row + i;
        return Math.floor(slot / K);
      });
      const w = moe.experts[e]!;
      up.push({ y: slice(ge, row * F, n * F), w: w.gate, x: f, nt: n, rows: tokens }, { y: slice(ue, row * F, n * F), w: w.up, x: f, nt: n, rows: tokens });
      down.push({ y: slice(de, row * E, n * E), w: w.down, x: slice(ge, row * F, n * F), nt: n });
      row += n;
    }
    const sh = moe.shared;
    const S = sh ? sh.gate.rows : 0;
    const gs = B.temp(nt * S), us = B.temp(nt * S), ds = B.temp(nt * E);
    if (sh) {
      up.push({ y: gs, w: sh.gate, x: f, nt }, { y: us, w: sh.up, x: f, nt });
      down.push({ y: ds, w: sh.down, x: gs, nt });
    }
    B.matmuls(up);
    B.swiglu(ge, ge, ue, row, F, L.clampExp);
    if (sh) B.swiglu(gs, gs, us, nt, S, L.clampShexp);
    B.matmuls(down);

    // Weighted expert outputs are added in rank order (the order llama.cpp adds them in), then the shared expert.
    B.weightedRowSum(y, de, rowOf, route.weights, nt, K, E, sh ? ds : null);
  }
}

/**
 * Tokens per FFN pass: the largest power of two (at least 64) whose scratch fits the budget. Per token a
 * MoE layer holds its experts' outputs (K E floats), gate and up (2 K F), the Q8 encoding of its input and
 * of each expert's gathered copy of it (~3 bytes a value) and the residual's norm and output: ~42 MiB for
 * 512 tokens of the mini shape. Every slice reads the experts again and waits for the threads twice more
 * (mini Q8_0 prefill ~3-5% slower in 256- or 128-token slices than in one 512-token pass), so the budget
 * is what keeps the process within 1.3x of the weights' bytes: 30% of them, less ~96 MiB for Node, the
 * KV cache and the attention's scratch, and never under 16 MiB. Mini Q8_0 (703 MiB) runs 512-token
 * passes whole, mini Q4_0 (357 MiB) in 128-token slices, small models whole.
 */
export function ffnSlice(cfg: ModelConfig, weightBytes: number): number {
  const E = cfg.nEmbd, K = Math.max(1, cfg.nExpertUsed);
  const F = Math.max(cfg.nFfExp, ...cfg.layers.map((L) => L.nFf / K));
  const perToken = 4 * (K * E + 2 * K * F + 2 * E) + 3 * (K + 1) * E;
  const budget = Math.max(FFN_SCRATCH_SHARE * weightBytes - FFN_SCRATCH_RESERVE, FFN_SCRATCH_MIN);
  let n = 64;
  while (2 * n * perToken <= budget) n *= 2;
  return n;
}
