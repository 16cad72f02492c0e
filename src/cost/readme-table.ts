// A latency- and capacity-bounded extension of the Step-3 cost model that reproduces the Step 3.5 Flash
// README's "Est. decoding cost @ 128K context, Hopper GPU" ratios. The README says only that its method is
// "similar to, but more accurate than" arXiv 2507.19427; this is a reconstruction FITTED to the table
// (rl-mispo-and-cost.md §3.5), not StepFun's method. Every assumption is a parameter:
//
//   - each model runs on `ep` identical GPUs; each holds total_params · weightBytes / ep of weights and
//     runs attention data-parallel for b concurrent sequences;
//   - one decoding step verifies 1 + k tokens (MTP-k) and must finish in (1 + k) / speed seconds, the
//     per-user speed the table states (i.e. every draft accepted);
//   - step time per GPU, memory and compute not overlapped:
//       weights/BW + b · [KV_read/BW + (1+k)·attn_FLOPs/peak_attn + (1+k)·2·active/peak_FP8];
//   - capacity: weights + b · KV_stored ≤ memFraction · HBM;
//   - b is the largest value meeting both, with b · ep floored to whole sequences;
//   - cost ∝ GPU-seconds per token = 1 / (b · speed); prices cancel on identical GPUs.
import type { Accelerator } from './hardware.js';
import { README_TABLE, type ReadmeRow } from './models.js';
import { tokenShape, type KvPrecision } from './shapes.js';

export interface ReconstructionOptions {
  readonly gpu: Accelerator;
  /** FLOP/s used for core attention (BF16 math in the fitted preset). */
  readonly attnFlops: 'bf16' | 'fp8';
  readonly overlap: 'sum' | 'max';
  readonly memFraction: number;
  readonly weightBytes: number;
  /** KV element bytes per model name (the fit chose FP8 for Step 3.5 Flash and MiniMax M2.1, BF16 elsewhere). */
  readonly kvBytes: (model: string) => number;
  readonly integerSequences: boolean;
  readonly ctx: number;
  /** Use published parameter counts (as the table's makers would) instead of counting from the config. */
  readonly publishedParams: boolean;
}

/** The fitted preset: H20-class Hopper (96 GB, 4.0 TB/s, 148 TFLOPS BF16, 296 TFLOPS FP8). */
export function fittedPreset(gpu: Accelerator): ReconstructionOptions {
  const fp8Kv = new Set(['Step 3.5 Flash', 'MiniMax M2.1']);
  return {
    gpu,
    attnFlops: 'bf16',
    overlap: 'sum',
    memFraction: 0.9,
    weightBytes: 1,
    kvBytes: (name) => (fp8Kv.has(name) ? 1 : 2),
    integerSequences: true,
    ctx: 131072,
    publishedParams: true,
  };
}

export interface RowResult {
  readonly model: string;
  readonly speed: number;
  readonly mtp: number;
  readonly ep: number;
  readonly kvBytes: number;
  readonly weightsPerGpu: number;
  readonly kvStored: number;
  readonly kvRead: number;
  /** Sequences per GPU allowed by the step-time budget and by memory, and the one used. */
  readonly bLatency: number;
  readonly bCapacity: number;
  readonly b: number;
  readonly bound: 'latency' | 'capacity';
  /** Tokens per second per GPU. */
  readonly throughputPerGpu: number;
  readonly ratio: number;
  readonly tableRatio: number;
  /** ratio / tableRatio − 1. */
  readonly error: number;
}

export function reconstruct(opts: ReconstructionOptions, rows: readonly ReadmeRow[] = README_TABLE): RowResult[] {
  const g = opts.gpu;
  const peakAttn = opts.attnFlops === 'fp8' ? g.fp8Flops ?? g.bf16Flops : g.bf16Flops;
  const peakFfn = g.fp8Flops ?? g.bf16Flops;
  const raw = rows.map((row) => {
    const m = row.model;
    const kvBytes = opts.kvBytes(m.name);
    const kv: KvPrecision = { kvBytes, indexerKeyBytes: 1, indexerScaleBytes: 4 };
    const s = tokenShape(m, opts.ctx, kv);
    const q = 1 + row.mtp;
    const weightsPerGpu = (m.publishedTotal * opts.weightBytes) / row.ep;
    const active = opts.publishedParams ? m.publishedActive : (s.linearFlops + s.ffnFlops) / 2;
    const budget = q / row.speed;
    const wTime = weightsPerGpu / g.bandwidth;
    const kvTime = s.kvRead / g.bandwidth;
    const compute = (q * s.attnFlops) / peakAttn + (q * 2 * active) / peakFfn;
    // With overlap 'max', memory and compute time run in parallel: the step takes the longer of the two.
    let bLatency: number;
    if (opts.overlap === 'sum') bLatency = (budget - wTime) / (kvTime + compute);
    else bLatency = Math.min((budget - wTime) / kvTime, budget / compute);
    const bCapacity = (opts.memFraction * g.memory - weightsPerGpu) / s.kvStored;
    let b = Math.max(0, Math.min(bLatency, bCapacity));
    if (opts.integerSequences) b = Math.floor(b * row.ep + 1e-9) / row.ep;
    return { row, kvBytes, weightsPerGpu, s, bLatency, bCapacity, b, tput: b * row.speed };
  });
  const ref = raw[0]!.tput;
  return raw.map((r) => {
    const ratio = r.tput > 0 ? ref / r.tput : Infinity;
    return {
      model: r.row.model.name, speed: r.row.speed, mtp: r.row.mtp, ep: r.row.ep, kvBytes: r.kvBytes,
      weightsPerGpu: r.weightsPerGpu, kvStored: r.s.kvStored, kvRead: r.s.kvRead,
      bLatency: r.bLatency, bCapacity: r.bCapacity, b: r.b, bound: r.bCapacity < r.bLatency ? 'capacity' : 'latency',
      throughputPerGpu: r.tput, ratio, tableRatio: r.row.ratio, error: ratio / r.row.ratio - 1,
    };
  });
}

/** Root-mean-square of log(ratio / table ratio) over the rows after the reference. */
export function rmsLogError(rows: readonly RowResult[]): number {
  const e = rows.slice(1).map((r) => Math.log(r.ratio / r.tableRatio) ** 2);
  return Math.sqrt(e.reduce((a, x) => a + x, 0) / e.length);
}
