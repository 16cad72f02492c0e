// A trained model exported to GGUF loads in stepflash and in llama.cpp (node-llama-cpp 3.22.1), with the
// project's trained tokenizer: a small model with every Step 3.5 feature and three MTP layers is trained
// for a few dozen steps on the task corpus (so its distributions are peaked where the format is
// predictable), exported, and llama.cpp's next-token distributions over a held-out conversation are
// compared with stepflash's within the core issue's bounds (top-1 agreement >= 99% on clear positions;
// for F32, mean total variation <= 0.01). llama.cpp also tokenizes the conversation exactly as
// stepflash does.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { KvCache } from '../../src/engine/kv-cache.js';
import { GGMLType } from '../../src/gguf/ggml-types.js';
import { loadModel } from '../../src/model/load.js';
import { PRESETS, type Preset } from '../../src/model/make/presets.js';
import type { Tokenizer } from '../../src/tokenizer/index.js';
import { WasmEngine } from '../../src/train/autograd/wasm-engine.js';
import { generateTasks, renderTrainingText } from '../../src/train/data/corpus.js';
import { batchSchedule, packRows } from '../../src/train/loop/batches.js';
import { Trainer } from '../../src/train/loop/trainer.js';
import { presetConfig } from '../../src/train/model/config.js';
import { exportGguf } from '../../src/train/model/export.js';
import { Step35Trainable } from '../../src/train/model/step35-train.js';
import { encodeTask } from '../../src/train/recipes/encode.js';
import { tokenizerMetadata, trainBpe, trainedTokenizer } from '../../src/train/tokenizer/index.js';
import { compareDistributions, logSoftmax } from '../helpers/fidelity.js';
import { oracleLlama, referenceLogprobs } from '../helpers/llama-oracle.js';

const preset: Preset = {
  ...PRESETS['step35-test']!,
  name: 'export-test', nEmbd: 64, nLayer: 4, nNextn: 3, headDim: 16, nHeadFull: 2, nHeadSwa: 4, nHeadKv: 2, window: 32,
  nLeadingDense: 1, ffDense: 128, nExpert: 4, nExpertUsed: 2, ffExp: 32, ffShexp: 32, ctx: 1024,
};

let dir: string;
let engine: WasmEngine;
let model: Step35Trainable;
let tok: Tokenizer;
let entries: ReturnType<typeof tokenizerMetadata>;
let heldout: number[];
let text: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'stepflash-export-'));
  const tasks = generateTasks({ split: 'train', count: 200, seed: 11 });
  const trained = trainBpe(tasks.slice(0, 60).map((t) => renderTrainingText(t).text), { vocabSize: 1024 });
  entries = tokenizerMetadata(trained);
  tok = trainedTokenizer(trained);
  const bos = tok.tokenText(tok.bos!);
  const examples = tasks.map((t) => encodeTask(t, tok, bos));
  engine = new WasmEngine({ threads: 2 });
  await engine.ready();
  model = new Step35Trainable(presetConfig(preset, tok.vocabSize), engine, { init: { seed: 3 } });
  const packed = packRows(examples, 512, { pad: tok.eos!, sharePrefix: true });
  const steps = 40;
  const trainer = new Trainer(model, { schedule: { peak: 1e-2, warmup: 5, total: steps }, batches: batchSchedule(packed, { nSeq: 2, accum: 1, seed: 1 }) });
  while (!trainer.done) trainer.trainStep();
  const h = generateTasks({ split: 'heldout', count: 1, seed: 5 })[0]!;
  text = renderTrainingText(h, { bosToken: bos }).text;
  heldout = tok.encode(text, { parseSpecial: true });
});

after(async () => {
  await engine?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('a trained model exported to GGUF, in stepflash and llama.cpp', () => {
  test('llama.cpp tokenizes a conversation exactly as stepflash does', { timeout: 60_000 }, async () => {
    const path = join(dir, 'tok.gguf');
    exportGguf(model, entries, path, { type: GGMLType.F32 });
    const llama = await oracleLlama();
    const m = await llama.loadModel({ modelPath: path, gpuLayers: 0 });
    try {
      assert.deepEqual(Array.from(m.tokenize(text, true)).map(Number), heldout);
    } finally {
      await m.dispose();
    }
  });

  for (const type of [GGMLType.F32, GGMLType.F16] as const) {
    test(`next-token distributions agree (${type === GGMLType.F32 ? 'F32' : 'F16'})`, { timeout: 120_000 }, async (t) => {
      const path = join(dir, `m-${type}.gguf`);
      exportGguf(model, entries, path, { type });
      const tokens = heldout.slice(0, 320);
      const lm = loadModel(path);
      let ours: Float32Array[];
      try {
        const cfg = lm.model.config;
        assert.equal(cfg.nNextn, 3);
        const kv = new KvCache(lm.model.backend, cfg, tokens.length, lm.model.maxBatch);
        const logits = lm.model.forward(tokens, kv, { logits: 'all' });
        const V = cfg.nVocab;
        ours = tokens.map((_, i) => logSoftmax(logits.subarray(i * V, (i + 1) * V)));
      } finally {
        lm.close();
      }
      const ref = await referenceLogprobs(path, tokens);
      const report = compareDistributions(ours, ref);
      t.diagnostic(JSON.stringify(report));
      assert.ok(report.clearPositions >= 64, `clear positions ${report.clearPositions}`);
      assert.ok(report.top1Agreement >= 0.99, `top-1 agreement ${report.top1Agreement}`);
      if (type === GGMLType.F32) assert.ok(report.meanTV <= 0.01, `mean TV ${report.meanTV}`);
    });
  }
});
