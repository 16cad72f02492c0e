// One fidelity case against llama.cpp, shared by the per-type fidelity tests: write a random-weight model
// of a preset and type, run teacher-forced next-token distributions through stepflash and through
// node-llama-cpp, and compare them; plus whether this CPU gets llama.cpp's exact arithmetic order.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend } from '../../src/backend/backend.js';
import { KvCache } from '../../src/engine/kv-cache.js';
import type { GGMLType } from '../../src/gguf/ggml-types.js';
import { loadModel } from '../../src/model/load.js';
import { makeModel } from '../../src/model/make/random-model.js';
import type { Preset } from '../../src/model/make/presets.js';
import { compareDistributions, logSoftmax } from './fidelity.js';
import { referenceLogprobs } from './llama-oracle.js';

const cpuFlags = (() => {
  try {
    return new Set((/^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '').trim().split(/\s+/));
  } catch {
    return new Set<string>();
  }
})();

/**
 * On CPUs where node-llama-cpp loads its AVX-512 build (its "zen4" variant), stepflash reproduces
 * llama.cpp's arithmetic order exactly, so files must agree to the last bit; elsewhere only the issue's
 * bounds apply.
 */
export const exactOrder = ['avx512f', 'avx512dq', 'avx512bw', 'avx512vl', 'avx512_vnni', 'avx512_bf16', 'fma'].every((f) => cpuFlags.has(f));

export interface FidelityCase {
  readonly name: string;
  readonly preset: string;
  readonly type: GGMLType;
  readonly seed: number;
  readonly overrides?: Partial<Preset>;
  readonly positions: number;
}

/** Counts activations a SwiGLU clamp cut, by wrapping the backend's swiglu. */
function countClamps(backend: Backend): { bound: number; total: number } {
  const stats = { bound: 0, total: 0 };
  const inner = backend.swiglu.bind(backend);
  backend.swiglu = (y, g, u, rows, cols, limit) => {
    if (limit && limit > 0) {
      const G = backend.view(g).subarray(0, rows * cols), U = backend.view(u).subarray(0, rows * cols);
      for (let i = 0; i < G.length; i++) {
        stats.total++;
        const silu = G[i]! / (1 + Math.exp(-G[i]!));
        if (silu > limit || Math.abs(U[i]!) > limit) stats.bound++;
      }
    }
    inner(y, g, u, rows, cols, limit);
  };
  return stats;
}

/** Writes the case's model into `dir` and compares stepflash's distributions with llama.cpp's. */
export async function runFidelityCase(dir: string, c: FidelityCase) {
  const path = join(dir, `${c.name}.gguf`);
  makeModel({ preset: c.preset, type: c.type, seed: c.seed, out: path, overrides: c.overrides });
  const lm = loadModel(path);
  try {
    const cfg = lm.model.config;
    // Deterministic, varied token ids over the vocabulary (skipping the first special tokens).
    const tokens = Array.from({ length: c.positions }, (_, i) => 16 + ((i * 7919 + c.seed * 104729) % (cfg.nVocab - 16)));
    const clamps = countClamps(lm.model.backend);
    const kv = new KvCache(lm.model.backend, cfg, c.positions, lm.model.maxBatch);
    const logits = lm.model.forward(tokens, kv, { logits: 'all' });
    const V = cfg.nVocab;
    const ours = tokens.map((_, i) => logSoftmax(logits.subarray(i * V, (i + 1) * V)));
    const ref = await referenceLogprobs(path, tokens);
    const top1 = ref.map((lp) => Math.exp(Math.max(...lp))).sort((a, b) => a - b);
    return { cfg, report: compareDistributions(ours, ref), clamps, medianTop1: top1[Math.floor(top1.length / 2)]! };
  } finally {
    lm.close();
  }
}
