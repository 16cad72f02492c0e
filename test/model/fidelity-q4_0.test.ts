// Fidelity against llama.cpp on Q4_0 files (node-llama-cpp 3.22.1, prebuilt CPU build, F32 KV cache, no
// flash attention), as fidelity.test.ts does for F32, F16 and Q8_0: teacher-forced next-token distributions
// on random-weight step35 and llama files. llama.cpp's x86 build repacks every Q4_0 matrix with a multiple
// of 8 rows (all of these files' matrices, stacked experts and the tied llama output included) and
// multiplies it with its q4_0_8x8 gemv/gemm kernels; stepflash reproduces that order.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Backend } from '../../src/backend/backend.js';
import { KvCache } from '../../src/engine/kv-cache.js';
import { GGMLType } from '../../src/gguf/ggml-types.js';
import { loadModel } from '../../src/model/load.js';
import { makeModel } from '../../src/model/make/random-model.js';
import type { Preset } from '../../src/model/make/presets.js';
import { compareDistributions, logSoftmax } from '../helpers/fidelity.js';
import { referenceLogprobs } from '../helpers/llama-oracle.js';

// On CPUs where node-llama-cpp loads its AVX-512 build (its "zen4" variant), stepflash reproduces
// llama.cpp's arithmetic order exactly, so the files must agree to the last bit; elsewhere only the issue's
// bounds apply.
const cpuFlags = (() => {
  try {
    return new Set((/^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '').trim().split(/\s+/));
  } catch {
    return new Set<string>();
  }
})();
const exactOrder = ['avx512f', 'avx512dq', 'avx512bw', 'avx512vl', 'avx512_vnni', 'avx512_bf16', 'fma'].every((f) => cpuFlags.has(f));

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'stepflash-fidelity-q4_0-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

interface Case {
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

async function runCase(c: Case) {
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

const step35Cases: Case[] = [
  { name: 'step35-q4_0', preset: 'step35-test', type: GGMLType.Q4_0, seed: 1, positions: 160 },
  { name: 'tiny-q4_0', preset: 'tiny', type: GGMLType.Q4_0, seed: 3, positions: 160 },
  {
    name: 'step35-3dense-q4_0', preset: 'step35-test', type: GGMLType.Q4_0, seed: 5, positions: 128,
    overrides: { nLeadingDense: 3, nLayer: 8, headDim: 32, nHeadFull: 2, nHeadSwa: 3, nHeadKv: 1, window: 32, nExpert: 16, nExpertUsed: 4 },
  },
];

describe('step35 Q4_0 next-token distributions match llama.cpp', () => {
  for (const c of step35Cases) {
    test(c.name, { timeout: 120_000 }, async (t) => {
      const { cfg, report, clamps, medianTop1 } = await runCase(c);
      t.diagnostic(`${c.name}: ${JSON.stringify(report)} clamps bound ${clamps.bound}/${clamps.total}, median top-1 p ${medianTop1.toFixed(2)}`);
      // The file exercises what the issue asks for.
      assert.ok(c.positions > 1.5 * cfg.slidingWindow, 'sequence longer than 1.5 windows');
      assert.ok(clamps.bound > 0, 'some SwiGLU clamp binds');
      assert.ok(medianTop1 > 0.3, `distributions are peaked (median top-1 p ${medianTop1})`);
      assert.ok(report.clearPositions >= 64, `at least 64 positions with a clear reference top-1 (${report.clearPositions})`);
      // The bound, and, where the arithmetic order is reproduced, identical results.
      assert.ok(report.top1Agreement >= 0.99, `top-1 agreement ${report.top1Agreement}`);
      if (exactOrder) assert.ok(report.maxAbsLogprobDiff <= 1e-5, `not bit-exact: largest log-probability difference ${report.maxAbsLogprobDiff}`);
    });
  }
});

describe('llama Q4_0 next-token distributions match llama.cpp', () => {
  test('llama-test q4_0', { timeout: 60_000 }, async (t) => {
    const { report } = await runCase({ name: 'llama-q4_0', preset: 'llama-test', type: GGMLType.Q4_0, seed: 7, positions: 128 });
    t.diagnostic(JSON.stringify(report));
    assert.ok(report.clearPositions >= 64);
    assert.ok(report.top1Agreement >= 0.99, `top-1 agreement ${report.top1Agreement}`);
    if (exactOrder) assert.ok(report.maxAbsLogprobDiff <= 1e-5, `not bit-exact: largest log-probability difference ${report.maxAbsLogprobDiff}`);
  });
});
