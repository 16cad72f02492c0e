// Fidelity against llama.cpp (node-llama-cpp 3.22.1, prebuilt CPU build) on K-quant files: Q4_K, Q5_K
// and Q6_K weights stay quantized and are multiplied the way llama.cpp's x86 build multiplies them (the
// repacked q4_K_8x8 gemm/gemv for Q4_K, ggml_vec_dot_q5_K/q6_K_q8_K otherwise), so on CPUs where
// node-llama-cpp loads its AVX-512 build the next-token distributions must be identical; elsewhere top-1
// agreement must be at least 99%. The files are step35-test models widened to 256 (K-quant rows are
// multiples of 256; the narrower matrices fall back to Q8_0).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { KvCache } from '../../src/engine/kv-cache.js';
import { GGMLType, typeName } from '../../src/gguf/ggml-types.js';
import { loadModel } from '../../src/model/load.js';
import { makeModel } from '../../src/model/make/random-model.js';
import type { Preset } from '../../src/model/make/presets.js';
import { compareDistributions, logSoftmax } from '../helpers/fidelity.js';
import { referenceLogprobs } from '../helpers/llama-oracle.js';
import { exactOrder } from '../helpers/fidelity-case.js';


let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'stepflash-fidelity-kq-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

interface Case {
  readonly name: string;
  readonly type: GGMLType;
  readonly seed: number;
  readonly positions: number;
  readonly overrides?: Partial<Preset>;
}

async function runCase(c: Case) {
  const path = join(dir, `${c.name}.gguf`);
  makeModel({ preset: 'step35-test', type: c.type, seed: c.seed, out: path, overrides: { nEmbd: 256, ...c.overrides } });
  const lm = loadModel(path);
  try {
    const cfg = lm.model.config;
    const tokens = Array.from({ length: c.positions }, (_, i) => 16 + ((i * 7919 + c.seed * 104729) % (cfg.nVocab - 16)));
    const kv = new KvCache(lm.model.backend, cfg, c.positions, lm.model.maxBatch);
    const logits = lm.model.forward(tokens, kv, { logits: 'all' });
    const V = cfg.nVocab;
    const ours = tokens.map((_, i) => logSoftmax(logits.subarray(i * V, (i + 1) * V)));
    const ref = await referenceLogprobs(path, tokens);
    // Matrices that really are K-quants in this file (the rest fell back to Q8_0).
    const kq = lm.file.tensors.filter((t) => t.type === c.type).length;
    return { cfg, report: compareDistributions(ours, ref), kq };
  } finally {
    lm.close();
  }
}

const cases: Case[] = [
  // 158 positions: the repacked Q4_K gemm for 156 tokens, the gemv for the last two.
  { name: 'step35-256-q4_k', type: GGMLType.Q4_K, seed: 1, positions: 158 },
  { name: 'step35-256-q5_k', type: GGMLType.Q5_K, seed: 2, positions: 160 },
  { name: 'step35-256-q6_k', type: GGMLType.Q6_K, seed: 3, positions: 160 },
  {
    name: 'step35-256-3dense-q4_k', type: GGMLType.Q4_K, seed: 5, positions: 131,
    overrides: { nLeadingDense: 3, nLayer: 8, headDim: 32, nHeadFull: 2, nHeadSwa: 3, nHeadKv: 1, window: 32, nExpert: 16, nExpertUsed: 4 },
  },
];

describe('step35 next-token distributions on K-quant files match llama.cpp', () => {
  for (const c of cases) {
    test(c.name, { timeout: 120_000 }, async (t) => {
      const { cfg, report, kq } = await runCase(c);
      t.diagnostic(`${c.name}: ${JSON.stringify(report)}, ${kq} ${typeName(c.type)} tensors`);
      assert.ok(kq >= 20, `the file holds ${kq} ${typeName(c.type)} tensors`);
      assert.ok(c.positions > 1.5 * cfg.slidingWindow, 'sequence longer than 1.5 windows');
      assert.ok(report.clearPositions >= 64, `at least 64 positions with a clear reference top-1 (${report.clearPositions})`);
      if (exactOrder) assert.ok(report.maxAbsLogprobDiff <= 1e-5, `not bit-exact: largest log-probability difference ${report.maxAbsLogprobDiff}`);
      else assert.ok(report.top1Agreement >= 0.99, `top-1 agreement ${report.top1Agreement}`);
    });
  }
});
