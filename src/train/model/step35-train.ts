// The trainable Step 3.5 model: the trunk, the main next-token head and the multi-token-prediction
// heads with their losses, on the autograd. It reads like the inference forward pass (src/model/step35.ts)
// and computes the same function of the same weights, named as in GGUF (params.ts).
//
//   h⁰ = trunk(E[x])                              the 45 (here nLayer) decoder layers, pre-norm output
//   main:  logits_t = W_out · RMSNorm(h⁰_t)        predicts x_{t+1}
//   MTP k = 1..nNextn (spec §2.5, llama.cpp graph_mtp, DeepSeek-V3 style):
//     u_t   = W_eh,k · [ enorm_k(E[x_{t+k}]) | hnorm_k(h^{k-1}_t) ]
//     h^k   = DecoderLayer_{nLayer+k-1}(u)        its own attention over positions t, own FFN
//     logits = W_head,k · headnorm_k(h^k_t)        predicts x_{t+1+k}
//   loss = CE_main + Σ_k w_k · CE_k               w_k = 0.3 by default (the reference's MTP weight)
import type { LayerConfig, ModelConfig } from '../../model/config.js';
import { ropeTable } from '../../model/rope.js';
import type { Engine } from '../autograd/engine.js';
import { concatCols, weightedSum } from '../autograd/ops/elementwise.js';
import { embedding } from '../autograd/ops/embedding.js';
import { linear } from '../autograd/ops/linear.js';
import { crossEntropyHead, IGNORE, type HeadLoss } from '../autograd/ops/loss.js';
import { rmsNorm } from '../autograd/ops/norm.js';
import { Tape } from '../autograd/tape.js';
import type { FloatArray, Param, Tensor } from '../autograd/tensor.js';
import { decoderLayer, type BatchShape, type MoeLayerStats } from './block.js';
import { createParams, type InitOptions, type ModelParams, type ParamOptions } from './params.js';

/** nSeq sequences of T tokens, laid end to end; each sequence's positions start at 0. */
export interface TrainBatch {
  readonly tokens: ArrayLike<number>;
  /** targets[i] = the token after tokens[i] (for the last position, the one after the window), or < 0: no loss there. */
  readonly targets: ArrayLike<number>;
  readonly nSeq: number;
  readonly T: number;
}

export interface LossOptions {
  /** Weight of each MTP head's loss in the total (one number for all heads). Default 0.3. */
  readonly mtpWeight?: number | readonly number[];
  /** Run only the first n MTP heads (default: all). */
  readonly mtpHeads?: number;
  /** Divide each head's summed loss by this instead of its own count of targets (gradient accumulation). */
  readonly divisor?: number;
}

export interface HeadStats {
  /** Mean cross-entropy over the counted positions. */
  readonly loss: number;
  /** Positions with a target. */
  readonly count: number;
  /** Positions whose most likely token is the target (accuracy = correct / count). */
  readonly correct: number;
}

export interface ForwardResult {
  /** The weighted total, a scalar to call tape.backward() on. */
  readonly loss: Tensor;
  readonly main: HeadStats;
  /** One per MTP head: head k predicts the token k + 1 positions after the next. */
  readonly mtp: readonly HeadStats[];
  /** Per MoE layer (MTP layers included), in layer order. */
  readonly moe: readonly MoeLayerStats[];
}

export interface Step35TrainableOptions extends ParamOptions {
  readonly init: InitOptions;
}

export class Step35Trainable {
  readonly params: ModelParams;
  private readonly ropeCache = new Map<string, Float32Array>();
  private ropeT = -1;

  constructor(
    readonly config: ModelConfig,
    readonly engine: Engine,
    opts: Step35TrainableOptions,
  ) {
    if (config.nLayer < 1) throw new RangeError('a model needs at least one trunk layer');
    this.params = createParams(config, engine, opts.init, opts);
  }

  /** Number of values in all parameters (constants such as rope_freqs included). */
  get parameterCount(): number {
    return this.params.all.reduce((a, p) => a + p.size, 0);
  }

  param(name: string): Param {
    const p = this.params.all.find((q) => q.name === name);
    if (!p) throw new Error(`no parameter "${name}"`);
    return p;
  }

  /** Zeroes every parameter's gradient (call before accumulating a new step's). */
  zeroGrad(): void {
    for (const p of this.params.all) p.grad?.fill(0);
  }

  /** The trunk, the main head and the MTP heads with their losses. */
  forward(tape: Tape, batch: TrainBatch, opts: LossOptions = {}): ForwardResult {
    const cfg = this.config, P = this.params;
    const { nSeq, T } = batch;
    this.checkBatch(batch);
    const b = this.shape(nSeq, T);
    const moe: MoeLayerStats[] = [];
    const eps = cfg.rmsEps;

    const h0 = this.trunk(tape, batch.tokens, b, moe);
    const main = crossEntropyHead(tape, rmsNorm(tape, h0, P.outputNorm, cfg.nEmbd, { eps }), P.output, batch.targets, opts);

    const nHeads = Math.min(cfg.nNextn, opts.mtpHeads ?? cfg.nNextn);
    const w = opts.mtpWeight ?? 0.3;
    const weights = Array.from({ length: nHeads }, (_, k) => (typeof w === 'number' ? w : w[k] ?? 0));
    const mtp: HeadLoss[] = [];
    let hPrev = h0;
    for (let k = 1; k <= nHeads; k++) {
      const L = cfg.layers[cfg.nLayer + k - 1]!;
      const p = P.layers[L.index]!;
      const nx = p.nextn!;
      // Position t reads x_{t+k} and predicts x_{t+1+k}: both shifted k places within its sequence.
      const ahead = shifted(batch.tokens, nSeq, T, k, 0);
      const e = rmsNorm(tape, embedding(tape, P.tokEmbd, ahead), nx.enorm, cfg.nEmbd, { eps });
      const hh = rmsNorm(tape, hPrev, nx.hnorm, cfg.nEmbd, { eps });
      const hk = decoderLayer(tape, cfg, L, p, linear(tape, concatCols(tape, e, hh), nx.ehProj), b, moe);
      const head = crossEntropyHead(tape, rmsNorm(tape, hk, nx.headNorm ?? P.outputNorm, cfg.nEmbd, { eps }), nx.head ?? P.output,
        shifted(batch.targets, nSeq, T, k, IGNORE), opts);
      mtp.push(head);
      hPrev = hk;
    }

    const loss = weightedSum(tape, [main.loss, ...mtp.map((m) => m.loss)], [1, ...weights]);
    return { loss, main: stats(main), mtp: mtp.map(stats), moe };
  }

  /**
   * Next-token logits of the main head at every position, [nSeq*T][vocab], without recording: what the
   * inference model computes for the same tokens. Runs on a fresh tape (which rewinds the engine's scratch).
   */
  logits(tokens: ArrayLike<number>, nSeq: number, T: number): FloatArray {
    const tape = new Tape(this.engine);
    return tape.noGrad(() => {
      const h = this.trunk(tape, tokens, this.shape(nSeq, T), []);
      const normed = rmsNorm(tape, h, this.params.outputNorm, this.config.nEmbd, { eps: this.config.rmsEps });
      return linear(tape, normed, this.params.output).data.slice();
    });
  }

  /** h⁰: the trunk's output before output_norm (what the first MTP head reads). */
  trunk(tape: Tape, tokens: ArrayLike<number>, b: BatchShape, moe: MoeLayerStats[]): Tensor {
    let h = embedding(tape, this.params.tokEmbd, tokens);
    for (let il = 0; il < this.config.nLayer; il++) h = decoderLayer(tape, this.config, this.config.layers[il]!, this.params.layers[il]!, h, b, moe);
    return h;
  }

  private shape(nSeq: number, T: number): BatchShape {
    if (T !== this.ropeT) {
      this.ropeCache.clear();
      this.ropeT = T;
    }
    return { nSeq, T, ropeFor: (L) => this.ropeFor(L, T) };
  }

  /** RoPE tables of positions 0..T-1, one per kind of layer, computed as the inference path computes them. */
  private ropeFor(L: LayerConfig, T: number): Float32Array {
    const key = `${L.nRot}:${L.ropeBase}:${L.ropeFactors}`;
    let cs = this.ropeCache.get(key);
    if (!cs) {
      const factors = L.ropeFactors && this.params.ropeFreqs ? Float32Array.from(this.params.ropeFreqs.data) : null;
      cs = ropeTable(Array.from({ length: T }, (_, i) => i), L.nRot, L.ropeBase, this.config.ropeFreqScale, factors);
      this.ropeCache.set(key, cs);
    }
    return cs;
  }

  private checkBatch(b: TrainBatch): void {
    const n = b.nSeq * b.T;
    if (!(b.nSeq >= 1 && b.T >= 1)) throw new RangeError(`a batch needs at least one sequence of one token (got ${b.nSeq}x${b.T})`);
    if (b.tokens.length !== n || b.targets.length !== n) throw new RangeError(`a ${b.nSeq}x${b.T} batch needs ${n} tokens and targets, got ${b.tokens.length} and ${b.targets.length}`);
  }
}

/** a[t + k] within each sequence of T values, `fill` past its end. */
function shifted(a: ArrayLike<number>, nSeq: number, T: number, k: number, fill: number): Int32Array {
  const out = new Int32Array(nSeq * T).fill(fill);
  for (let s = 0; s < nSeq; s++) for (let t = 0; t + k < T; t++) out[s * T + t] = a[s * T + t + k]!;
  return out;
}

function stats(h: HeadLoss): HeadStats {
  return { loss: h.count > 0 ? h.sum / h.count : 0, count: h.count, correct: h.correct };
}
