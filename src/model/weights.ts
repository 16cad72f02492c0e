// Loads a model's tensors from an open GGUF file into a backend, checking every shape against the
// configuration so that a wrong file fails with the tensor's name instead of garbage output.
import type { Backend, Matrix, Tensor } from '../backend/backend.js';
import { bytesFor, typeName } from '../gguf/ggml-types.js';
import { dequantizeRow } from '../gguf/quant/index.js';
import type { GGUFFile, TensorInfo } from '../gguf/reader.js';
import type { LayerConfig, ModelConfig } from './config.js';

export interface AttentionWeights {
  readonly norm: Tensor;
  readonly q: Matrix;
  readonly k: Matrix;
  readonly v: Matrix;
  readonly o: Matrix;
  readonly qNorm: Tensor | null;
  readonly kNorm: Tensor | null;
  /** Head-wise gate (Step 3.5 g_proj): one logit per query head. */
  readonly gate: Matrix | null;
}

export interface MlpWeights {
  readonly gate: Matrix;
  readonly up: Matrix;
  readonly down: Matrix;
}

export interface MoeWeights {
  readonly router: Matrix;
  /** Selection-only bias (exp_probs_b). */
  readonly bias: Float32Array | null;
  readonly experts: readonly MlpWeights[];
  readonly shared: MlpWeights | null;
}

export interface NextnWeights {
  readonly ehProj: Matrix;
  readonly enorm: Tensor;
  readonly hnorm: Tensor;
  readonly headNorm: Tensor | null;
  readonly head: Matrix | null;
}

export interface LayerWeights {
  readonly attn: AttentionWeights;
  readonly ffnNorm: Tensor;
  readonly mlp: MlpWeights | null;
  readonly moe: MoeWeights | null;
  readonly nextn: NextnWeights | null;
}

export interface ModelWeights {
  readonly embedding: TensorInfo;
  readonly outputNorm: Tensor;
  readonly output: Matrix;
  readonly ropeFreqs: Float32Array | null;
  readonly layers: readonly LayerWeights[];
}

export class WeightError extends Error {
  constructor(file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = 'WeightError';
  }
}

export interface LoadProgress {
  (done: number, total: number, name: string): void;
}

export function loadWeights(file: GGUFFile, cfg: ModelConfig, backend: Backend, onProgress?: LoadProgress): ModelWeights {
  const fail = (msg: string): never => {
    throw new WeightError(file.path, msg);
  };
  const total = file.tensors.reduce((a, t) => a + t.nbytes, 0);
  let done = 0;
  const progress = (t: TensorInfo) => {
    done += t.nbytes;
    onProgress?.(done, total, t.name);
  };

  const info = (name: string, shape: readonly number[], required = true): TensorInfo | null => {
    const t = file.tensor(name);
    if (!t) return required ? fail(`required tensor "${name}" is missing`) : null;
    const same = t.dims.length >= shape.length && shape.every((d, i) => t.dims[i] === d) && t.dims.slice(shape.length).every((d) => d === 1);
    if (!same) fail(`tensor "${name}" has shape [${t.dims.join(', ')}], expected [${shape.join(', ')}]`);
    return t;
  };

  const vector = (name: string, n: number, required = true): Float32Array | null => {
    const t = info(name, [n], required);
    if (!t) return null;
    const out = new Float32Array(n);
    dequantizeRow(t.type, file.readTensorBytes(t), out, n);
    progress(t);
    return out;
  };
  const norm = (name: string, n: number): Tensor => backend.uploadVector(vector(name, n)!);
  const optNorm = (name: string, n: number): Tensor | null => {
    const v = vector(name, n, false);
    return v ? backend.uploadVector(v) : null;
  };

  /** A [rows][cols] matrix, optionally one of `count` stacked experts (ggml dims [cols, rows, count]). */
  const matrixOf = (t: TensorInfo, cols: number, rows: number, expert = 0): Matrix => {
    const rowBytes = bytesFor(t.type, cols);
    if (rowBytes === undefined) fail(`tensor "${t.name}": type ${typeName(t.type)} cannot hold rows of ${cols}`);
    const base = expert * rows * rowBytes!;
    return backend.uploadMatrix({
      name: t.name,
      type: t.type,
      rows,
      cols,
      readRows: (r0, n, dst) => file.readTensorBytes(t, base + r0 * rowBytes!, n * rowBytes!, dst && dst.length >= n * rowBytes! ? dst : undefined).subarray(0, n * rowBytes!),
      expert: t.dims.length === 3,
    });
  };
  const matrix = (name: string, cols: number, rows: number): Matrix => {
    const t = info(name, [cols, rows])!;
    const m = matrixOf(t, cols, rows);
    progress(t);
    return m;
  };
  const optMatrix = (name: string, cols: number, rows: number): Matrix | null => (file.tensor(name) ? matrix(name, cols, rows) : null);
  const mlp = (prefix: string, suffix: string, nFf: number): MlpWeights => ({
    gate: matrix(`${prefix}.ffn_gate${suffix}.weight`, cfg.nEmbd, nFf),
    up: matrix(`${prefix}.ffn_up${suffix}.weight`, cfg.nEmbd, nFf),
    down: matrix(`${prefix}.ffn_down${suffix}.weight`, nFf, cfg.nEmbd),
  });

  const E = cfg.nEmbd;
  const embedding = info('token_embd.weight', [E, cfg.nVocab])!;
  if (embedding.dims[1] !== cfg.nVocab) fail(`token_embd.weight has ${embedding.dims[1]} rows, the vocabulary has ${cfg.nVocab}`);
  progress(embedding);
  const outputNorm = norm('output_norm.weight', E);
  const output = file.tensor('output.weight') ? matrix('output.weight', E, cfg.nVocab) : (() => {
    const m = matrixOf(embedding, E, cfg.nVocab);
    return m;
  })();
  const maxRot = Math.max(...cfg.layers.map((l) => l.nRot));
  const ropeFreqs = vector('rope_freqs.weight', maxRot / 2, false);

  const layers: LayerWeights[] = cfg.layers.map((l: LayerConfig) => {
    const p = `blk.${l.index}`;
    const hd = cfg.headDimK;
    const attn: AttentionWeights = {
      norm: norm(`${p}.attn_norm.weight`, E),
      q: matrix(`${p}.attn_q.weight`, E, l.nHead * hd),
      k: matrix(`${p}.attn_k.weight`, E, l.nHeadKv * hd),
      v: matrix(`${p}.attn_v.weight`, E, l.nHeadKv * cfg.headDimV),
      o: matrix(`${p}.attn_output.weight`, l.nHead * cfg.headDimV, E),
      qNorm: optNorm(`${p}.attn_q_norm.weight`, hd),
      kNorm: optNorm(`${p}.attn_k_norm.weight`, hd),
      gate: optMatrix(`${p}.attn_gate.weight`, E, l.nHead),
    };
    const ffnNorm = norm(`${p}.ffn_norm.weight`, E);
    let moe: MoeWeights | null = null;
    let dense: MlpWeights | null = null;
    if (l.moe) {
      if (cfg.nExpert <= 0 || cfg.nExpertUsed <= 0 || cfg.nExpertUsed > cfg.nExpert)
        fail(`layer ${l.index} is MoE but expert_count=${cfg.nExpert}, expert_used_count=${cfg.nExpertUsed}`);
      const F = cfg.nFfExp;
      const stacked = (kind: string, cols: number, rows: number) => info(`${p}.ffn_${kind}_exps.weight`, [cols, rows, cfg.nExpert])!;
      const tg = stacked('gate', E, F), tu = stacked('up', E, F), td = stacked('down', F, E);
      const experts: MlpWeights[] = [];
      for (let e = 0; e < cfg.nExpert; e++) {
        experts.push({ gate: matrixOf(tg, E, F, e), up: matrixOf(tu, E, F, e), down: matrixOf(td, F, E, e) });
      }
      progress(tg);
      progress(tu);
      progress(td);
      moe = {
        router: matrix(`${p}.ffn_gate_inp.weight`, E, cfg.nExpert),
        bias: vector(`${p}.exp_probs_b.bias`, cfg.nExpert, false),
        experts,
        shared: file.tensor(`${p}.ffn_gate_shexp.weight`) ? mlp(p, '_shexp', cfg.nFfShexp) : null,
      };
    } else {
      if (l.nFf <= 0) fail(`layer ${l.index} is dense but feed_forward_length is ${l.nFf}`);
      dense = mlp(p, '', l.nFf);
    }
    const nextn: NextnWeights | null = l.mtp
      ? {
          ehProj: matrix(`${p}.nextn.eh_proj.weight`, 2 * E, E),
          enorm: norm(`${p}.nextn.enorm.weight`, E),
          hnorm: norm(`${p}.nextn.hnorm.weight`, E),
          headNorm: optNorm(`${p}.nextn.shared_head_norm.weight`, E),
          head: optMatrix(`${p}.nextn.shared_head_head.weight`, E, cfg.nVocab),
        }
      : null;
    return { attn, ffnNorm, mlp: dense, moe, nextn };
  });
  return { embedding, outputNorm, output, ropeFreqs, layers };
}
