// The Step 3.5 forward pass (and, as a configuration of it, Llama's), top to bottom as in the spec:
//
//   h_0 = E[token]
//   per layer:  a = RMSNorm(h);  h += W_o · gate ⊙ Attn(RoPE(qnorm(W_q a)), RoPE(knorm(W_k a)), W_v a)
//               f = RMSNorm(h);  h += FFN(f)      (dense SwiGLU, or routed experts + shared expert)
//   logits = W_out · RMSNorm(h)
//
// Norm weights come from GGUF with the zero-centred (1 + w) gain already baked in, as llama.cpp's
// converter writes them, so every norm here is a plain RMSNorm.
import { slice, type Backend, type Tensor } from '../backend/backend.js';
import { dequantizeRow } from '../gguf/quant/index.js';
import { bytesFor } from '../gguf/ggml-types.js';
import type { GGUFFile } from '../gguf/reader.js';
import type { LayerConfig, ModelConfig } from './config.js';
import type { SequenceKV } from './kv.js';
import { ropeTable } from './rope.js';
import { routeTokens } from './router.js';
import type { LayerWeights, MlpWeights, ModelWeights } from './weights.js';

export interface ForwardOptions {
  /** Which of the new tokens need next-token logits: the last one (default), all of them, or none. */
  readonly logits?: 'last' | 'all' | 'none';
}

export class Step35Model {
  /** Largest number of tokens pushed through the layers at once; longer inputs are split. */
  readonly maxBatch: number;
  private hidden: Tensor | null = null;

  constructor(
    readonly config: ModelConfig,
    readonly weights: ModelWeights,
    readonly backend: Backend,
    private readonly file: GGUFFile,
    maxBatch = 256,
  ) {
    this.maxBatch = maxBatch;
  }

  /**
   * Runs `tokens` at the next positions of `seq`, appending their keys and values to its cache, and
   * returns next-token logits: [1][vocab] for 'last', [tokens][vocab] for 'all'.
   */
  forward(tokens: readonly number[], seq: SequenceKV, opts: ForwardOptions = {}): Float32Array {
    const mode = opts.logits ?? 'last';
    const V = this.config.nVocab;
    for (const id of tokens) if (!Number.isInteger(id) || id < 0 || id >= V) throw new RangeError(`token id ${id} is outside the vocabulary (0..${V - 1})`);
    if (seq.length + tokens.length > seq.maxLength)
      throw new RangeError(`${tokens.length} more tokens do not fit: the sequence holds ${seq.length} of at most ${seq.maxLength}`);
    const out = new Float32Array(mode === 'all' ? tokens.length * V : mode === 'last' ? V : 0);
    for (let start = 0; start < tokens.length; start += this.maxBatch) {
      const chunk = tokens.slice(start, start + this.maxBatch);
      const isLastChunk = start + chunk.length === tokens.length;
      const logits = this.forwardBatch(chunk, seq, mode === 'all' ? 'all' : mode === 'last' && isLastChunk ? 'last' : 'none');
      if (mode === 'all') out.set(logits, start * V);
      else if (mode === 'last' && isLastChunk) out.set(logits);
    }
    return out;
  }

  private forwardBatch(tokens: readonly number[], seq: SequenceKV, mode: 'last' | 'all' | 'none'): Float32Array {
    const { config: cfg, backend: B, weights: W } = this;
    const nt = tokens.length;
    const E = cfg.nEmbd;
    const pos0 = seq.length;
    // The residual stream lives across layers; everything else is scratch reused layer by layer.
    this.hidden ??= B.alloc(this.maxBatch * E);
    const h = slice(this.hidden, 0, nt * E);
    this.embed(tokens, B.view(h));

    for (let il = 0; il < cfg.nLayer; il++) {
      B.resetTemp();
      const L = cfg.layers[il]!;
      const lw = W.layers[il]!;
      this.attentionBlock(h, L, lw, seq, il, nt, pos0);
      this.ffnBlock(h, L, lw, nt);
    }
    seq.length = pos0 + nt;

    if (mode === 'none') return new Float32Array(0);
    B.resetTemp();
    const rows = mode === 'all' ? nt : 1;
    const last = mode === 'all' ? h : slice(h, (nt - 1) * E, E);
    const normed = B.temp(rows * E);
    B.rmsNorm(normed, last, W.outputNorm, rows, E, cfg.rmsEps);
    const logits = B.temp(rows * cfg.nVocab);
    B.matmul(logits, W.output, normed, rows);
    return B.view(logits).slice();
  }

  private embed(tokens: readonly number[], dst: Float32Array): void {
    const t = this.weights.embedding;
    const E = this.config.nEmbd;
    const rowBytes = bytesFor(t.type, E)!;
    tokens.forEach((id, i) => {
      const raw = this.file.readTensorBytes(t, id * rowBytes, rowBytes);
      dequantizeRow(t.type, raw, dst.subarray(i * E, (i + 1) * E), E);
    });
  }

  /** h += W_o · (sigmoid(W_g a) ⊙ softmax(q kᵀ/√d) v), a = RMSNorm(h). */
  private attentionBlock(h: Tensor, L: LayerConfig, lw: LayerWeights, seq: SequenceKV, il: number, nt: number, pos0: number): void {
    const { config: cfg, backend: B } = this;
    const E = cfg.nEmbd;
    const hd = cfg.headDimK;
    const aw = lw.attn;
    const a = B.temp(nt * E);
    B.rmsNorm(a, h, aw.norm, nt, E, cfg.rmsEps);

    const q = B.temp(nt * L.nHead * hd);
    const k = B.temp(nt * L.nHeadKv * hd);
    const v = B.temp(nt * L.nHeadKv * cfg.headDimV);
    B.matmul(q, aw.q, a, nt);
    B.matmul(k, aw.k, a, nt);
    B.matmul(v, aw.v, a, nt);
    if (aw.qNorm) B.rmsNorm(q, q, aw.qNorm, nt * L.nHead, hd, cfg.rmsEps);
    if (aw.kNorm) B.rmsNorm(k, k, aw.kNorm, nt * L.nHeadKv, hd, cfg.rmsEps);

    const positions = Array.from({ length: nt }, (_, i) => pos0 + i);
    const cs = ropeTable(positions, L.nRot, L.ropeBase, cfg.ropeFreqScale, L.ropeFactors ? this.weights.ropeFreqs : null);
    const neox = cfg.ropeMode === 'neox';
    B.rope(q, nt, L.nHead, hd, L.nRot, neox, cs);
    B.rope(k, nt, L.nHeadKv, hd, L.nRot, neox, cs);

    const kv = seq.layers[il]!;
    const kRow = L.nHeadKv * hd;
    const vRow = L.nHeadKv * cfg.headDimV;
    for (let t = 0; t < nt; t++) {
      const slot = (pos0 + t) % kv.capacity;
      B.copy(slice(kv.k, slot * kRow, kRow), slice(k, t * kRow, kRow), kRow);
      B.copy(slice(kv.v, slot * vRow, vRow), slice(v, t * vRow, vRow), vRow);
    }
    const o = B.temp(nt * L.nHead * cfg.headDimV);
    const window = L.sliding ? cfg.slidingWindow : 0;
    B.attention(o, q, kv.k, kv.v, nt, pos0, L.nHead, L.nHeadKv, hd, kv.capacity, window, 1 / Math.sqrt(hd));

    if (aw.gate) {
      const g = B.temp(nt * L.nHead);
      B.matmul(g, aw.gate, a, nt);
      B.headGate(o, g, nt, L.nHead, cfg.headDimV);
    }
    const proj = B.temp(nt * E);
    B.matmul(proj, aw.o, o, nt);
    B.add(h, h, proj, nt * E);
  }

  /** h += FFN(RMSNorm(h)): a dense SwiGLU, or Σ w_e Expert_e + Shared on MoE layers. */
  private ffnBlock(h: Tensor, L: LayerConfig, lw: LayerWeights, nt: number): void {
    const { config: cfg, backend: B } = this;
    const E = cfg.nEmbd;
    const f = B.temp(nt * E);
    B.rmsNorm(f, h, lw.ffnNorm, nt, E, cfg.rmsEps);
    const y = B.temp(nt * E);
    if (lw.moe) {
      this.moe(y, f, L, lw, nt);
      if (lw.moe.shared) {
        const s = B.temp(nt * E);
        this.mlp(s, f, lw.moe.shared, nt, L.clampShexp);
        B.add(y, y, s, nt * E);
      }
    } else {
      this.mlp(y, f, lw.mlp!, nt, L.clampShexp);
    }
    B.add(h, h, y, nt * E);
  }

  /** y = W_down · act(W_gate x, W_up x) with the layer's SwiGLU clamp. */
  private mlp(y: Tensor, x: Tensor, w: MlpWeights, nt: number, clamp: number, scratch?: { g: Tensor; u: Tensor }): void {
    const B = this.backend;
    const F = w.gate.rows;
    const g = scratch ? slice(scratch.g, 0, nt * F) : B.temp(nt * F);
    const u = scratch ? slice(scratch.u, 0, nt * F) : B.temp(nt * F);
    B.matmul(g, w.gate, x, nt);
    B.matmul(u, w.up, x, nt);
    B.swiglu(g, g, u, nt, F, clamp);
    B.matmul(y, w.down, g, nt);
  }

  /** Routed experts: only the experts some token selected are computed, each over its tokens only. */
  private moe(y: Tensor, f: Tensor, L: LayerConfig, lw: LayerWeights, nt: number): void {
    const { config: cfg, backend: B } = this;
    const moe = lw.moe!;
    const E = cfg.nEmbd;
    const logits = B.temp(nt * cfg.nExpert);
    B.matmul(logits, moe.router, f, nt);
    const route = routeTokens(B.view(logits), nt, cfg, moe.bias);

    // Each (token, rank) output goes to its own row so the weighted outputs can be summed in rank order,
    // the order llama.cpp adds them in.
    const K = route.k;
    const byExpert = new Map<number, number[]>();
    for (let slot = 0; slot < nt * K; slot++) {
      const e = route.experts[slot]!;
      let list = byExpert.get(e);
      if (!list) byExpert.set(e, (list = []));
      list.push(slot);
    }
    const xe = B.temp(nt * E);
    const ye = B.temp(nt * E);
    const outs = B.temp(nt * K * E);
    const scratch = { g: B.temp(nt * cfg.nFfExp), u: B.temp(nt * cfg.nFfExp) };
    for (const [e, slots] of byExpert) {
      slots.forEach((slot, i) => B.copy(slice(xe, i * E, E), slice(f, Math.floor(slot / K) * E, E), E));
      this.mlp(ye, xe, moe.experts[e]!, slots.length, L.clampExp, scratch);
      slots.forEach((slot, i) => B.scale(slice(outs, slot * E, E), slice(ye, i * E, E), route.weights[slot]!, E));
    }
    for (let t = 0; t < nt; t++) {
      const yt = slice(y, t * E, E);
      B.copy(yt, slice(outs, t * K * E, E), E);
      for (let j = 1; j < K; j++) B.add(yt, yt, slice(outs, (t * K + j) * E, E), E);
    }
  }
}
