// The committed models/nano.gguf in llama.cpp (node-llama-cpp 3.22.1): it loads, and its next-token
// distributions over a held-out conversation agree with stepflash's (the training issue's check, on the
// file itself; export-llama.test.ts checks the exporter on a freshly trained model).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { nanoModelPath } from '../../src/cli/default-model.js';
import { openModel, type OpenModel } from '../../src/cli/open-model.js';
import { KvCache } from '../../src/engine/kv-cache.js';
import { generateTasks, renderTrainingText } from '../../src/train/data/corpus.js';
import { compareDistributions, logSoftmax } from '../helpers/fidelity.js';
import { referenceLogprobs } from '../helpers/llama-oracle.js';

let opened: OpenModel;
let path: string;

before(() => {
  const p = nanoModelPath();
  assert.ok(p, 'models/nano.gguf is part of the repository');
  path = p;
  opened = openModel(path, { quiet: true, threads: 2 });
});

after(() => opened?.close());

test('llama.cpp gives models/nano.gguf the next-token distributions stepflash gives it', { timeout: 120_000 }, async (t) => {
  const task = generateTasks({ split: 'heldout', count: 1, seed: 7 })[0]!;
  const tokens = opened.tokenizer.encode(renderTrainingText(task).text, { parseSpecial: true }).slice(0, 400);
  const { model } = opened;
  const kv = new KvCache(model.backend, model.config, tokens.length, model.maxBatch);
  const V = model.config.nVocab;
  const ours: Float32Array[] = [];
  for (let i = 0; i < tokens.length; i += model.maxBatch) {
    const chunk = tokens.slice(i, i + model.maxBatch);
    const logits = model.forward(chunk, kv, { logits: 'all' });
    for (let j = 0; j < chunk.length; j++) ours.push(logSoftmax(logits.subarray(j * V, (j + 1) * V)));
  }
  const ref = await referenceLogprobs(path, tokens);
  const report = compareDistributions(ours, ref);
  t.diagnostic(JSON.stringify(report));
  assert.ok(report.clearPositions >= 100, `clear positions ${report.clearPositions}`);
  assert.ok(report.top1Agreement >= 0.99, `top-1 agreement ${report.top1Agreement}`);
  assert.ok(report.meanTV <= 0.01, `mean TV ${report.meanTV}`);
});
