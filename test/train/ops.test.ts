// Every op of the Step 3.5 block against central finite differences in f64 (reference engine): the
// products, residual adds, RMSNorm (GGUF gain and zero-centred gain, whole rows and per head), partial
// NeoX and adjacent-pair RoPE, causal / sliding-window GQA attention, the head-wise gate, SwiGLU with
// and without a binding clamp, the embedding, the sigmoid top-k router, the expert gather/combine, and
// the cross-entropy head with ignored targets. The checker itself is shown to catch a wrong gradient.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { project } from '../../src/train/autograd/gradcheck.js';
import { gradCheck } from '../../src/train/autograd/gradcheck.js';
import { attention } from '../../src/train/autograd/ops/attention.js';
import { add, concatCols, mul, scale, weightedSum } from '../../src/train/autograd/ops/elementwise.js';
import { embedding } from '../../src/train/autograd/ops/embedding.js';
import { headGate } from '../../src/train/autograd/ops/gate.js';
import { groupedLinear, linear } from '../../src/train/autograd/ops/linear.js';
import { crossEntropyHead, IGNORE } from '../../src/train/autograd/ops/loss.js';
import { combineExperts, gatherRows, route } from '../../src/train/autograd/ops/moe.js';
import { rmsNorm } from '../../src/train/autograd/ops/norm.js';
import { rope } from '../../src/train/autograd/ops/rope.js';
import { swiglu } from '../../src/train/autograd/ops/swiglu.js';
import { Tape } from '../../src/train/autograd/tape.js';
import { Tensor } from '../../src/train/autograd/tensor.js';
import { ropeTable } from '../../src/model/rope.js';
import { assertGrads, f64, leaf, normals, Rng } from './helpers.js';

/** A scalar from any output: a fixed random projection, so every output element matters. */
function probe(seed: number) {
  const cache = new Map<number, Float64Array>();
  return (tape: Tape, y: Tensor) => {
    let r = cache.get(y.size);
    if (!r) cache.set(y.size, (r = normals(new Rng(seed), y.size)));
    return project(tape, y, r);
  };
}

describe('finite differences (f64)', () => {
  test('the checker catches a wrong gradient', () => {
    const rng = new Rng(1);
    const x = leaf(rng, [3, 4]);
    // y = 2x, but the backward claims dy/dx = 3.
    const wrong = (tape: Tape) => {
      const y = tape.empty(x.shape);
      for (let i = 0; i < y.size; i++) y.data[i] = 2 * x.data[i]!;
      tape.record(y, [x], () => {
        const d = tape.grad(x);
        for (let i = 0; i < d.length; i++) d[i] = d[i]! + 3 * y.grad![i]!;
      });
      return probe(2)(tape, y);
    };
    assert.ok(gradCheck(f64, [x], wrong).maxError > 0.1);
  });

  test('linear: y = x·Wᵀ (odd sizes)', () => {
    const rng = new Rng(2);
    const x = leaf(rng, [5, 7]), w = leaf(rng, [3, 7]);
    assertGrads([x, w], (t) => probe(3)(t, linear(t, x, w)));
  });

  test('grouped expert products, an unused expert and an empty group', () => {
    const rng = new Rng(3);
    const x = leaf(rng, [9, 6]), w = leaf(rng, [4, 5, 6]);
    const groups = [{ expert: 2, start: 0, count: 3 }, { expert: 0, start: 3, count: 4 }, { expert: 3, start: 7, count: 0 }, { expert: 1, start: 7, count: 2 }];
    assertGrads([x, w], (t) => probe(4)(t, groupedLinear(t, x, w, groups)));
    const tape = new Tape(f64);
    x.grad = null;
    w.grad = null;
    tape.backward(probe(4)(tape, groupedLinear(tape, x, w, groups)));
    assert.ok(w.grad!.subarray(3 * 30, 4 * 30).every((v) => v === 0), 'expert 3 saw no rows and gets no gradient');
  });

  test('add, mul, scale, concat, weighted sum', () => {
    const rng = new Rng(4);
    const a = leaf(rng, [4, 3]), b = leaf(rng, [4, 3]), c = leaf(rng, [4, 2]);
    assertGrads([a, b, c], (t) => {
      const y = concatCols(t, scale(t, mul(t, add(t, a, b), a), 0.7), c);
      const s1 = probe(5)(t, y), s2 = probe(6)(t, b);
      return weightedSum(t, [s1, s2], [1, 0.3]);
    });
  });

  test('RMSNorm: GGUF gain, zero-centred gain, no gain', () => {
    const rng = new Rng(5);
    const x = leaf(rng, [3, 8]), w = leaf(rng, [8], 0.3);
    assertGrads([x, w], (t) => probe(7)(t, rmsNorm(t, x, w, 8, { eps: 1e-5 })));
    assertGrads([x, w], (t) => probe(8)(t, rmsNorm(t, x, w, 8, { eps: 1e-5, zeroCentered: true })));
    assertGrads([x], (t) => probe(9)(t, rmsNorm(t, x, null, 8, { eps: 1e-5 })));
  });

  test('RMSNorm per head (q/k norm: one weight shared by every head)', () => {
    const rng = new Rng(6);
    const q = leaf(rng, [4, 3 * 8]), w = leaf(rng, [8], 0.3);
    assertGrads([q, w], (t) => probe(10)(t, rmsNorm(t, q, w, 8, { eps: 1e-5 })));
  });

  test('zero-centred and GGUF gains give the same values when the GGUF weight is 1 + w', () => {
    const rng = new Rng(7);
    const x = leaf(rng, [2, 8]), w = leaf(rng, [8], 0.3);
    const w1 = new Tensor(w.data.map((v) => v + 1), [8]);
    const t = new Tape(f64);
    const a = rmsNorm(t, x, w, 8, { eps: 1e-5, zeroCentered: true }).data, b = rmsNorm(t, x, w1, 8, { eps: 1e-5 }).data;
    for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) < 1e-12);
  });

  test('RoPE: partial NeoX with llama3 factors, full NeoX, adjacent pairs', () => {
    const rng = new Rng(8);
    const T = 5, nHead = 2, hd = 8;
    const x = leaf(rng, [2 * T, nHead * hd]);
    const factors = Float32Array.from([1, 1.5, 2, 1]);
    for (const [nRot, neox, cs] of [
      [4, true, ropeTable([0, 1, 2, 3, 4], 4, 5e6, 1, factors)],
      [8, true, ropeTable([0, 1, 2, 3, 4], 8, 1e4, 1, null)],
      [8, false, ropeTable([0, 1, 2, 3, 4], 8, 1e4, 1, null)],
    ] as const) {
      assertGrads([x], (t) => probe(11)(t, rope(t, x, { nHead, hd, nRot, neox, cs, T })));
    }
    // Dims past nRot pass through unchanged.
    const t = new Tape(f64);
    const y = rope(t, x, { nHead, hd, nRot: 4, neox: true, cs: ropeTable([0, 1, 2, 3, 4], 4, 5e6, 1, factors), T });
    for (let r = 0; r < 2 * T; r++) for (let h = 0; h < nHead; h++) for (let d = 4; d < hd; d++) assert.equal(y.data[(r * nHead + h) * hd + d], x.data[(r * nHead + h) * hd + d]);
  });

  test('attention: causal and sliding window, grouped heads, two sequences', () => {
    const rng = new Rng(9);
    const nSeq = 2, T = 7, nHead = 6, nKv = 2, hd = 4;
    const q = leaf(rng, [nSeq * T, nHead * hd]), k = leaf(rng, [nSeq * T, nKv * hd]), v = leaf(rng, [nSeq * T, nKv * hd]);
    for (const window of [0, 3]) {
      assertGrads([q, k, v], (t) => probe(12)(t, attention(t, q, k, v, { nSeq, T, nHead, nKv, hd, window, scale: 0.5 })), 1e-5, { samples: 40 });
    }
  });

  test('attention: the window holds the query and window - 1 keys before it', () => {
    const rng = new Rng(10);
    const T = 6, hd = 4;
    const q = leaf(rng, [T, hd]), k = leaf(rng, [T, hd]), v = leaf(rng, [T, hd]);
    const t = new Tape(f64);
    const o = attention(t, q, k, v, { nSeq: 1, T, nHead: 1, nKv: 1, hd, window: 2, scale: 1 });
    t.backward(project(t, o, new Float64Array(T * hd).fill(0).map((_, i) => (i < 5 * hd ? 0 : 1))));
    // The last query (t = 5) sees keys 4 and 5 only.
    for (let j = 0; j < T; j++) {
      const touched = k.grad!.subarray(j * hd, (j + 1) * hd).some((x) => x !== 0);
      assert.equal(touched, j >= 4, `key ${j}`);
    }
  });

  test('head-wise sigmoid gate', () => {
    const rng = new Rng(11);
    const x = leaf(rng, [3, 4 * 5]), g = leaf(rng, [3, 4]);
    assertGrads([x, g], (t) => probe(13)(t, headGate(t, x, g, 4, 5)));
  });

  test('SwiGLU without and with a clamp; no gradient where the clamp binds', () => {
    const rng = new Rng(12);
    const g = leaf(rng, [4, 8], 3), u = leaf(rng, [4, 8], 3);
    // Keep every value away from the clamp's kinks (|u| = 2, silu(g) = 2), where differences are one-sided.
    const L = 2;
    for (let i = 0; i < g.size; i++) {
      while (Math.abs(Math.abs(u.data[i]!) - L) < 0.05) u.data[i] = u.data[i]! + 0.1;
      while (Math.abs(g.data[i]! / (1 + Math.exp(-g.data[i]!)) - L) < 0.05) g.data[i] = g.data[i]! + 0.1;
    }
    assertGrads([g, u], (t) => probe(14)(t, swiglu(t, g, u)));
    assertGrads([g, u], (t) => probe(15)(t, swiglu(t, g, u, L)));
    const t = new Tape(f64);
    g.grad = null;
    u.grad = null;
    t.backward(probe(15)(t, swiglu(t, g, u, L)));
    let bindsG = 0, bindsU = 0;
    for (let i = 0; i < g.size; i++) {
      const s = g.data[i]! / (1 + Math.exp(-g.data[i]!));
      if (s > L) {
        bindsG++;
        assert.equal(g.grad![i], 0);
      }
      if (Math.abs(u.data[i]!) > L) {
        bindsU++;
        assert.equal(u.grad![i], 0);
      }
    }
    assert.ok(bindsG > 0 && bindsU > 0, 'the clamp binds somewhere in this test');
  });

  test('embedding with repeated ids', () => {
    const rng = new Rng(13);
    const table = leaf(rng, [6, 4]);
    assertGrads([table], (t) => probe(16)(t, embedding(t, table, [3, 1, 3, 0, 5])));
  });

  test('sigmoid router: top-k by score + bias, renormalised, scaled; gradient only through the chosen', () => {
    const rng = new Rng(14);
    const nt = 5, nE = 8, K = 3;
    const z = leaf(rng, [nt, nE], 1.5);
    const bias = Array.from(normals(rng, nE, 0.5));
    const opts = { k: K, normalize: true, scale: 3 };
    // Finite differences are valid only where a step does not change the choice: check the margins.
    const t0 = new Tape(f64);
    const r0 = route(t0, z, bias, opts);
    for (let t = 0; t < nt; t++) {
      const sel = Array.from({ length: nE }, (_, e) => 1 / (1 + Math.exp(-z.data[t * nE + e]!)) + bias[e]!).sort((a, b) => b - a);
      assert.ok(sel[K - 1]! - sel[K]! > 1e-4, 'no near-tie at the top-k boundary');
    }
    assert.ok(Math.abs(r0.weights.data.slice(0, K).reduce((a, b) => a + b, 0) - 3) < 1e-12, 'weights sum to the scale');
    assertGrads([z], (t) => probe(17)(t, route(t, z, bias, opts).weights));
    assertGrads([z], (t) => probe(18)(t, route(t, z, bias, { k: K, normalize: false, scale: 1 }).weights));
    const t1 = new Tape(f64);
    z.grad = null;
    const r = route(t1, z, bias, opts);
    t1.backward(probe(17)(t1, r.weights));
    for (let t = 0; t < nt; t++) {
      const chosen = new Set(Array.from(r.experts.subarray(t * K, (t + 1) * K)));
      for (let e = 0; e < nE; e++) if (!chosen.has(e)) assert.equal(z.grad![t * nE + e], 0);
    }
  });

  test('expert gather and weighted combine', () => {
    const rng = new Rng(15);
    const x = leaf(rng, [4, 5]), ye = leaf(rng, [8, 5]), w = leaf(rng, [4, 2]);
    const rows = Int32Array.from([2, 0, 1, 3, 0, 2, 3, 1]);
    const rowOf = Int32Array.from([1, 4, 2, 7, 0, 5, 3, 6]);
    assertGrads([x], (t) => probe(19)(t, gatherRows(t, x, rows)));
    assertGrads([ye, w], (t) => probe(20)(t, combineExperts(t, ye, w, rowOf)));
  });

  test('cross-entropy head: ignored targets, mean over the counted, a divisor', () => {
    const rng = new Rng(16);
    const x = leaf(rng, [6, 5]), w = leaf(rng, [7, 5]);
    const targets = [3, IGNORE, 0, 6, IGNORE, 2];
    assertGrads([x, w], (t) => crossEntropyHead(t, x, w, targets).loss);
    assertGrads([x, w], (t) => crossEntropyHead(t, x, w, targets, { divisor: 10 }).loss);
    const t = new Tape(f64);
    x.grad = null;
    const h = crossEntropyHead(t, x, w, targets);
    assert.equal(h.count, 4);
    t.backward(h.loss);
    for (const r of [1, 4]) assert.ok(x.grad!.subarray(r * 5, (r + 1) * 5).every((v) => v === 0), `row ${r} has no target`);
    // The value: -log softmax at the target, averaged.
    let ref = 0;
    for (const r of [0, 2, 3, 5]) {
      const z = Array.from({ length: 7 }, (_, j) => Array.from({ length: 5 }, (_, i) => x.data[r * 5 + i]! * w.data[j * 5 + i]!).reduce((a, b) => a + b, 0));
      const m = Math.max(...z);
      ref += Math.log(z.reduce((a, b) => a + Math.exp(b - m), 0)) + m - z[targets[r]!]!;
    }
    assert.ok(Math.abs(h.loss.data[0]! - ref / 4) < 1e-12);
  });
});
