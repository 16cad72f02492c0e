// The training loop: the schedule, clipping and AdamW by their definitions, the loss-free router-bias
// update, packing and batch order, the smoke run (the loss falls on a small batch with the real loop on
// the multithreaded wasm engine, MTP heads and balancing on), the wasm engine agreeing with the f64
// reference on a whole model's loss and gradients, and exact resume from a checkpoint.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PRESETS, type Preset } from '../../src/model/make/presets.js';
import { IGNORE } from '../../src/train/autograd/ops/loss.js';
import { Tape } from '../../src/train/autograd/tape.js';
import { Param } from '../../src/train/autograd/tensor.js';
import { WasmEngine } from '../../src/train/autograd/wasm-engine.js';
import { sumLoads, updateRouterBias } from '../../src/train/loop/balance.js';
import { batchSchedule, packRows } from '../../src/train/loop/batches.js';
import { loadCheckpoint, saveCheckpoint } from '../../src/train/loop/checkpoint.js';
import { lossSvg } from '../../src/train/loop/loss-svg.js';
import { Trainer, type TrainerOptions } from '../../src/train/loop/trainer.js';
import { presetConfig } from '../../src/train/model/config.js';
import { Step35Trainable } from '../../src/train/model/step35-train.js';
import { AdamW } from '../../src/train/optim/adamw.js';
import { clipScale, gradNorm } from '../../src/train/optim/clip.js';
import { learningRate } from '../../src/train/optim/schedule.js';
import { f64, maxRelDiff, Rng } from './helpers.js';

/** Every Step 3.5 feature, dims multiples of 4 so the wasm kernels (not the JS fallback) run. */
const small: Preset = {
  ...PRESETS['step35-test']!,
  name: 'loop-test', nEmbd: 32, nLayer: 4, nNextn: 3, headDim: 8, nHeadFull: 2, nHeadSwa: 4, nHeadKv: 2, window: 8,
  nLeadingDense: 1, ffDense: 48, nExpert: 4, nExpertUsed: 2, ffExp: 16, ffShexp: 16, ctx: 64,
};
const V = 48;

describe('optimizer pieces', () => {
  test('warm-up then cosine to the floor', () => {
    const o = { peak: 1e-3, warmup: 10, total: 110, minRatio: 0.1 };
    assert.equal(learningRate(0, o), 1e-4);
    assert.equal(learningRate(9, o), 1e-3);
    assert.ok(Math.abs(learningRate(10, o) - 1e-3) < 1e-12);
    assert.ok(Math.abs(learningRate(109, o) - 1e-4) < 1e-12);
    const mid = learningRate(10 + 99 / 2, o);
    assert.ok(Math.abs(mid - 5.5e-4) < 1e-9, `${mid}`);
    for (let s = 11; s < 110; s++) assert.ok(learningRate(s, o) <= learningRate(s - 1, o));
  });

  test('global-norm clipping', () => {
    const a = new Param('a', new Float32Array([0, 0]), [2], 'matrix', new Float32Array([3, 0]));
    const b = new Param('b', new Float32Array([0]), [1], 'norm', new Float32Array([4]));
    assert.equal(gradNorm([a, b]), 5);
    assert.equal(clipScale(5, 1), 0.2);
    assert.equal(clipScale(5, 10), 1);
    assert.equal(clipScale(5, 0), 1);
  });

  test('AdamW: bias-corrected first step moves each weight by lr·sign(g); decay only on matrices', () => {
    const w = new Param('w', new Float32Array([1, -2]), [1, 2], 'matrix', new Float32Array([0.5, -3]));
    const n = new Param('n', new Float32Array([1]), [1], 'norm', new Float32Array([2]));
    const opt = new AdamW([w, n], { weightDecay: 0.5, eps: 0 });
    opt.step(0.1);
    // m̂ = g, v̂ = g², so the step is lr·g/|g|; the matrix also shrinks by lr·wd.
    assert.ok(Math.abs(w.data[0]! - (1 * 0.95 - 0.1)) < 1e-6);
    assert.ok(Math.abs(w.data[1]! - (-2 * 0.95 + 0.1)) < 1e-6);
    assert.ok(Math.abs(n.data[0]! - 0.9) < 1e-6);
    // The gradient scale (clipping) cancels in Adam's first step but not in the moments.
    opt.step(0.1, 0.5);
    assert.equal(opt.t, 2);
  });

  test('loss-free balancing: the bias rises for under-loaded experts and falls for over-loaded ones', () => {
    const m = new Step35Trainable(presetConfig(small, V), f64, { init: { seed: 1 } });
    const moeLayer = m.config.layers.findIndex((l) => l.moe);
    const loads = sumLoads([
      [{ layer: moeLayer, load: Int32Array.from([6, 2, 4, 4]), meanScore: 0.5, tokens: 8 }],
      [{ layer: moeLayer, load: Int32Array.from([2, 2, 4, 0]), meanScore: 0.7, tokens: 4 }],
    ]);
    assert.deepEqual(loads[0]!.load, [8, 4, 8, 4]);
    assert.ok(Math.abs(loads[0]!.meanScore - (0.5 * 8 + 0.7 * 4) / 12) < 1e-12);
    assert.equal(loads[0]!.maxOverMean, 8 / 6);
    updateRouterBias(m.params, loads, 0.01);
    assert.deepEqual(Array.from(m.params.layers[moeLayer]!.moe!.bias.data), [-0.01, 0.01, -0.01, 0.01]);
  });
});

describe('batches', () => {
  test('packing: whole examples per row, targets only on trained tokens, padding without targets', () => {
    const ex = (n: number, from: number, trainedFrom: number) => ({
      tokens: Array.from({ length: n }, (_, i) => from + i),
      trained: Array.from({ length: n }, (_, i) => (i >= trainedFrom ? 1 : 0)),
    });
    const p = packRows([ex(4, 10, 2), ex(3, 20, 1), ex(9, 30, 0), ex(5, 40, 4)], 8, { pad: 0 });
    assert.equal(p.skipped, 1);
    assert.equal(p.rows, 2);
    assert.deepEqual(Array.from(p.tokens.subarray(0, 8)), [10, 11, 12, 13, 20, 21, 22, 0]);
    assert.deepEqual(Array.from(p.targets.subarray(0, 8)), [IGNORE, 12, 13, IGNORE, 21, 22, IGNORE, IGNORE]);
    assert.deepEqual(Array.from(p.targets.subarray(8, 16)), [IGNORE, IGNORE, IGNORE, 44, IGNORE, IGNORE, IGNORE, IGNORE]);
  });

  test('a shared prefix is written once per row; the next example continues after it', () => {
    const ex = (body: number[]) => ({ tokens: [1, 2, ...body], trained: [0, 0, ...body.map(() => 1)], prefix: 2 });
    const p = packRows([ex([10, 11]), ex([20, 21, 22]), ex([30, 31, 32])], 8, { pad: 0, sharePrefix: true });
    assert.equal(p.rows, 2);
    assert.deepEqual(Array.from(p.tokens.subarray(0, 8)), [1, 2, 10, 11, 20, 21, 22, 0]);
    assert.deepEqual(Array.from(p.targets.subarray(0, 8)), [IGNORE, 10, 11, IGNORE, 21, 22, IGNORE, IGNORE]);
    assert.deepEqual(Array.from(p.tokens.subarray(8, 13)), [1, 2, 30, 31, 32]);
  });

  test('a step always gets the same rows, every row once per epoch', () => {
    const ex = Array.from({ length: 10 }, (_, i) => ({ tokens: [i, i], trained: [0, 1] }));
    const p = packRows(ex, 2, { pad: 0 });
    const sched = batchSchedule(p, { nSeq: 2, accum: 1, seed: 3 });
    const seen = new Set<number>();
    for (let s = 0; s < 5; s++) for (const b of sched(s)) for (let r = 0; r < b.nSeq; r++) seen.add(b.tokens[r * 2]!);
    assert.equal(seen.size, 10);
    assert.deepEqual(sched(7), batchSchedule(p, { nSeq: 2, accum: 1, seed: 3 })(7));
    assert.notDeepEqual(sched(1), batchSchedule(p, { nSeq: 2, accum: 1, seed: 4 })(1));
  });
});

describe('the training loop on the wasm engine', () => {
  let engine: WasmEngine;
  let dir: string;
  before(async () => {
    engine = new WasmEngine({ threads: 2 });
    await engine.ready();
    dir = mkdtempSync(join(tmpdir(), 'stepflash-loop-'));
  });
  after(async () => {
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Sequences with structure (a repeating pattern per sequence) the model can learn quickly. */
  function data(seed: number) {
    const rng = new Rng(seed);
    const examples = Array.from({ length: 24 }, () => {
      const period = 2 + Math.floor(rng.next() * 3);
      const base = Array.from({ length: period }, () => 1 + Math.floor(rng.next() * (V - 1)));
      const tokens = Array.from({ length: 16 }, (_, i) => base[i % period]!);
      return { tokens, trained: tokens.map((_, i) => (i >= 2 ? 1 : 0)) };
    });
    return packRows(examples, 16, { pad: 0 });
  }

  function trainer(seed: number, total: number, eng = engine): Trainer {
    const m = new Step35Trainable(presetConfig(small, V), eng, { init: { seed } });
    const opts: TrainerOptions = {
      schedule: { peak: 1e-2, warmup: 3, total },
      batches: batchSchedule(data(seed), { nSeq: 4, accum: 2, seed }),
      biasUpdate: 1e-2,
    };
    return new Trainer(m, opts);
  }

  test('smoke: the loss falls, every head learns, the router bias moves', () => {
    const t = trainer(1, 30);
    const logs = [];
    while (!t.done) logs.push(t.trainStep());
    const first = logs[0]!, last = logs.at(-1)!;
    assert.ok(last.mainLoss < 0.5 * first.mainLoss, `main loss ${first.mainLoss} → ${last.mainLoss}`);
    assert.equal(last.mtpLoss.length, 3);
    last.mtpLoss.forEach((l, k) => assert.ok(l < first.mtpLoss[k]!, `MTP head ${k + 1}: ${first.mtpLoss[k]} → ${l}`));
    assert.ok(last.mainAcc > first.mainAcc);
    assert.ok(logs.every((l) => Number.isFinite(l.loss) && l.gradNorm > 0));
    assert.equal(last.moe.length, 3); // the three MoE trunk layers
    const bias = t.model.params.layers[1]!.moe!.bias.data;
    assert.ok(bias.some((b) => b !== 0));
    assert.ok(lossSvg([{ name: 'main', color: 'black', points: logs.map((l) => [l.step, l.mainLoss]) }], 'smoke').includes('<polyline'));
  });

  test('deterministic given a seed; resuming from a checkpoint gives exactly the uninterrupted parameters', () => {
    const straight = trainer(2, 6);
    for (let i = 0; i < 6; i++) straight.trainStep();
    const first = trainer(2, 6);
    for (let i = 0; i < 3; i++) first.trainStep();
    const path = join(dir, 'ck.bin');
    saveCheckpoint(path, first, { note: 'x' });
    // A fresh model from another seed: everything must come from the checkpoint.
    const resumed = trainer(2, 6);
    resumed.model.params.all.forEach((p) => p.data.fill(0.5));
    assert.deepEqual(loadCheckpoint(path, resumed), { note: 'x' });
    assert.equal(resumed.step, 3);
    while (!resumed.done) resumed.trainStep();
    const again = trainer(2, 6);
    for (let i = 0; i < 6; i++) again.trainStep();
    straight.model.params.all.forEach((p, i) => {
      assert.deepEqual(resumed.model.params.all[i]!.data, p.data, `${p.name} after resume`);
      assert.deepEqual(again.model.params.all[i]!.data, p.data, `${p.name} on a second run`);
    });
  });

  test('a checkpoint of another shape is refused with the name of the array', () => {
    const t = trainer(3, 2);
    const path = join(dir, 'ck2.bin');
    saveCheckpoint(path, t);
    const other = new Trainer(new Step35Trainable(presetConfig({ ...small, ffExp: 8 }, V), engine, { init: { seed: 1 } }), { schedule: { peak: 1, warmup: 1, total: 1 }, batches: () => [] });
    assert.throws(() => loadCheckpoint(path, other), /ffn_gate_exps.*different model shape/);
  });

  test('the f32 wasm engine agrees with the f64 reference on a whole model (loss and every gradient)', () => {
    const a = new Step35Trainable(presetConfig(small, V), engine, { init: { seed: 5 } });
    const b = new Step35Trainable(presetConfig(small, V), f64, { init: { seed: 5 } });
    const batch = batchSchedule(data(5), { nSeq: 2, accum: 1, seed: 5 })(0)[0]!;
    const ta = new Tape(engine), tb = new Tape(f64);
    a.zeroGrad();
    b.zeroGrad();
    const ra = a.forward(ta, batch), rb = b.forward(tb, batch);
    ta.backward(ra.loss);
    tb.backward(rb.loss);
    assert.ok(Math.abs(ra.loss.data[0]! - rb.loss.data[0]!) < 1e-4 * rb.loss.data[0]!);
    a.params.all.forEach((p, i) => {
      if (!p.trainable) return;
      const d = maxRelDiff(p.grad!, b.params.all[i]!.grad!);
      assert.ok(d < 2e-3, `${p.name}: relative gradient difference ${d}`);
    });
  });
});
