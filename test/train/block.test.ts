// Finite differences (f64) through whole Step 3.5 decoder layers — a full-attention layer with partial
// RoPE, llama3 factors and a dense FFN, a sliding-window layer with more query heads and a routed MoE
// with a selection bias and a shared expert — and through the whole model: trunk, main head and two
// chained MTP heads with the weighted loss, every kind of parameter.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Preset } from '../../src/model/make/presets.js';
import { PRESETS } from '../../src/model/make/presets.js';
import { gradCheck, project } from '../../src/train/autograd/gradcheck.js';
import { IGNORE } from '../../src/train/autograd/ops/loss.js';
import { Tape } from '../../src/train/autograd/tape.js';
import { decoderLayer, type MoeLayerStats } from '../../src/train/model/block.js';
import { presetConfig } from '../../src/train/model/config.js';
import { Step35Trainable } from '../../src/train/model/step35-train.js';
import { ropeTable } from '../../src/model/rope.js';
import { f64, leaf, normals, Rng } from './helpers.js';

/** A step35 model small enough for finite differences, with every architectural feature. */
const micro: Preset = {
  ...PRESETS['step35-test']!,
  name: 'micro', nEmbd: 16, nLayer: 3, nNextn: 2, headDim: 8, nHeadFull: 2, nHeadSwa: 4, nHeadKv: 2, window: 3,
  nLeadingDense: 1, ffDense: 24, nExpert: 4, nExpertUsed: 2, ffExp: 8, ffShexp: 12, ctx: 64,
};

function model(seed: number, tieEmbeddings = false): Step35Trainable {
  const m = new Step35Trainable(presetConfig(micro, 40), f64, { init: { seed, embedStd: tieEmbeddings ? 0.3 : 1, outputStd: 0.3 }, tieEmbeddings });
  // Norm gains away from 1 and a router bias that changes the choice, so both matter in the check.
  const rng = new Rng(seed + 100);
  for (const p of m.params.all) {
    if (p.kind === 'norm') for (let i = 0; i < p.size; i++) p.data[i] = 1 + 0.2 * normals(rng, 1)[0]!;
    if (p.kind === 'bias') p.data.set(normals(rng, p.size, 0.3));
  }
  return m;
}

describe('finite differences through Step 3.5 layers (f64)', () => {
  const m = model(1);
  const cfg = m.config;
  const T = 6, nSeq = 2;
  const rope = new Map<string, Float32Array>();
  const b = {
    nSeq, T,
    ropeFor: (L: (typeof cfg.layers)[number]) => {
      const key = `${L.nRot}:${L.ropeBase}:${L.ropeFactors}`;
      if (!rope.has(key)) rope.set(key, ropeTable([0, 1, 2, 3, 4, 5], L.nRot, L.ropeBase, 1, L.ropeFactors ? Float32Array.from(m.params.ropeFreqs!.data) : null));
      return rope.get(key)!;
    },
  };

  for (const il of [0, 1]) {
    const L = cfg.layers[il]!;
    test(`layer ${il}: ${L.sliding ? 'sliding window' : 'full attention'}, ${L.moe ? 'MoE + shared expert' : 'dense FFN'}`, () => {
      assert.equal(L.sliding, il === 1);
      assert.equal(L.moe, il === 1);
      const rng = new Rng(7 + il);
      const h = leaf(rng, [nSeq * T, cfg.nEmbd]);
      const r = normals(rng, nSeq * T * cfg.nEmbd);
      const p = m.params.layers[il]!;
      const params = [p.attnNorm, p.q, p.k, p.v, p.o, p.qNorm!, p.kNorm!, p.gate!, p.ffnNorm,
        ...(p.mlp ? [p.mlp.gate, p.mlp.up, p.mlp.down] : [p.moe!.router, p.moe!.gate, p.moe!.up, p.moe!.down, p.moe!.shared!.gate, p.moe!.shared!.up, p.moe!.shared!.down])];
      const stats: MoeLayerStats[] = [];
      const res = gradCheck(f64, [h, ...params], (tape) => project(tape, decoderLayer(tape, cfg, L, p, h, b, stats), r), { samples: 48 });
      assert.ok(res.maxError < 1e-5, `max error ${res.maxError.toExponential(2)} at leaf ${res.worst.leaf}[${res.worst.index}]: ${res.worst.analytic} vs ${res.worst.numeric}`);
      if (L.moe) {
        // Every expert is used by some token here, and the stats add up.
        const load = stats[0]!.load;
        assert.equal(load.reduce((a, x) => a + x, 0), nSeq * T * cfg.nExpertUsed);
      }
    });
  }

  test('the whole model: trunk, main head, two chained MTP heads, weighted loss', () => {
    const rng = new Rng(21);
    const tokens = Array.from({ length: nSeq * T }, () => Math.floor(rng.next() * 40));
    const targets = tokens.map((_, i) => (i % T === T - 1 ? Math.floor(rng.next() * 40) : tokens[i + 1]!));
    targets[2] = IGNORE; // a prompt position
    const trainable = m.params.all.filter((p) => p.trainable);
    // Every parameter takes part; check a few coordinates of each.
    const res = gradCheck(f64, trainable, (tape) => m.forward(tape, { tokens, targets, nSeq, T }, { mtpWeight: [0.3, 0.5] }).loss, { samples: 3 });
    assert.ok(res.maxError < 1e-5, `max error ${res.maxError.toExponential(2)} at ${trainable[res.worst.leaf]!.name}[${res.worst.index}]: ${res.worst.analytic} vs ${res.worst.numeric}`);
    // Each MTP parameter received a gradient.
    const tape = new Tape(f64);
    m.zeroGrad();
    tape.backward(m.forward(tape, { tokens, targets, nSeq, T }).loss);
    for (const p of trainable) assert.ok(p.grad!.some((v) => v !== 0), `${p.name} gets a gradient`);
  });

  test('the whole model with every output head tied to the token embedding (its gradient sums both uses)', () => {
    const tied = model(2, true);
    const rng = new Rng(22);
    const tokens = Array.from({ length: nSeq * T }, () => Math.floor(rng.next() * 40));
    const targets = tokens.map((_, i) => (i % T === T - 1 ? Math.floor(rng.next() * 40) : tokens[i + 1]!));
    const trainable = tied.params.all.filter((p) => p.trainable);
    assert.ok(!trainable.some((p) => p.name === 'output.weight'), 'the head is not a parameter of its own');
    const res = gradCheck(f64, [tied.params.tokEmbd], (tape) => tied.forward(tape, { tokens, targets, nSeq, T }).loss, { samples: 48 });
    assert.ok(res.maxError < 1e-5, `max error ${res.maxError.toExponential(2)} at token_embd[${res.worst.index}]: ${res.worst.analytic} vs ${res.worst.numeric}`);
  });
});
