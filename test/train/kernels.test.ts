// The wasm training kernels (kernels/train.ts, through the thread pool) against the f64 reference engine
// on the same f32 inputs, at shapes with every kind of tail (rows, columns, inner length, keys not
// multiples of the vector or tile sizes), and the same results on one thread and on two.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Engine } from '../../src/train/autograd/engine.js';
import type { FloatArray } from '../../src/train/autograd/tensor.js';
import { WasmEngine } from '../../src/train/autograd/wasm-engine.js';
import { f64, maxRelDiff, Rng } from './helpers.js';

let one: WasmEngine;
let two: WasmEngine;
before(async () => {
  one = new WasmEngine({ threads: 1 });
  two = new WasmEngine({ threads: 2 });
  await two.ready();
});
after(async () => {
  await one.close();
  await two.close();
});

/** The same random values in an engine's own memory. */
function values(e: Engine, seed: number, n: number, std = 1): FloatArray {
  const f = new Float32Array(n);
  new Rng(seed).fillNormal(f, std);
  const a = e.persistent(n);
  a.set(f);
  return a;
}

describe('wasm training kernels against the f64 reference', () => {
  test('NT products, overwrite and accumulate, odd shapes', () => {
    for (const [m, n, k] of [[13, 7, 10], [8, 6, 128], [33, 17, 5], [1, 1, 1], [64, 130, 36]] as const) {
      for (const accumulate of [false, true]) {
        const run = (e: Engine) => {
          const c = values(e, 3, m * n);
          e.matmulNT([{ a: values(e, 1, m * k), b: values(e, 2, n * k), c, m, n, k, accumulate }]);
          return Float64Array.from(c);
        };
        const ref = run(f64), a = run(one), b = run(two);
        assert.ok(maxRelDiff(a, ref) < 2e-6, `${m}x${n}x${k}: ${maxRelDiff(a, ref)}`);
        assert.deepEqual(b, a, 'one and two threads agree exactly');
      }
    }
  });

  test('transposes', () => {
    for (const [rows, cols] of [[13, 7], [8, 12], [1, 5], [6, 1]] as const) {
      const run = (e: Engine) => {
        const dst = e.persistent(rows * cols);
        e.transpose([{ src: values(e, 4, rows * cols), dst, rows, cols }]);
        return Float64Array.from(dst);
      };
      assert.deepEqual(run(two), run(f64));
    }
  });

  for (const window of [0, 5]) {
    test(`attention forward and backward (window ${window || 'none'}), grouped heads, T not a multiple of 4`, () => {
      const s = { nSeq: 2, T: 13, nHead: 6, nKv: 2, hd: 8, window, scale: 1 / Math.sqrt(8) };
      const nt = s.nSeq * s.T, qn = nt * s.nHead * s.hd, kn = nt * s.nKv * s.hd;
      const run = (e: Engine) => {
        const q = values(e, 5, qn), k = values(e, 6, kn), v = values(e, 7, kn), dO = values(e, 8, qn);
        const o = e.persistent(qn), lse = e.persistent(nt * s.nHead);
        e.attentionForward(s, q, k, v, o, lse);
        const dq = values(e, 9, qn, 0.1), dk = values(e, 10, kn, 0.1), dv = values(e, 11, kn, 0.1);
        e.attentionBackward(s, q, k, v, o, dO, lse, dq, dk, dv);
        return [o, lse, dq, dk, dv].map((x) => Float64Array.from(x));
      };
      const ref = run(f64), a = run(one), b = run(two);
      ['o', 'lse', 'dq', 'dk', 'dv'].forEach((name, i) => assert.ok(maxRelDiff(a[i]!, ref[i]!) < 1e-5, `${name}: ${maxRelDiff(a[i]!, ref[i]!)}`));
      assert.deepEqual(b, a);
    });
  }

  test('SwiGLU forward and backward, with and without a clamp', () => {
    const rows = 5, cols = 12;
    for (const limit of [0, 1.5]) {
      const run = (e: Engine) => {
        const g = values(e, 12, rows * cols, 3), u = values(e, 13, rows * cols, 3), h = e.persistent(rows * cols);
        e.swigluForward(g, u, h, rows, cols, limit);
        const dg = values(e, 14, rows * cols), du = values(e, 15, rows * cols);
        e.swigluBackward(g, u, values(e, 16, rows * cols), dg, du, rows, cols, limit);
        return [h, dg, du].map((x) => Float64Array.from(x));
      };
      const ref = run(f64), a = run(two);
      ['h', 'dg', 'du'].forEach((name, i) => assert.ok(maxRelDiff(a[i]!, ref[i]!) < 1e-5, `${name} (limit ${limit}): ${maxRelDiff(a[i]!, ref[i]!)}`));
    }
  });

  test('softmax cross-entropy forward and backward, V not a multiple of 4', () => {
    const rows = 6, V = 37;
    const run = (e: Engine) => {
      const z = values(e, 17, rows * V, 4);
      const targets = e.ints(rows);
      targets.set([0, 36, 5, 17, 17, 2]);
      const loss = e.persistent(rows), inv = e.persistent(rows), hit = e.persistent(rows), scale = e.persistent(rows);
      e.crossEntropyForward(z, rows, V, targets, loss, inv, hit);
      const fwd = [loss, hit].map((x) => Float64Array.from(x));
      scale.set([1, 0.5, 2, 1, 0, 3]);
      e.crossEntropyBackward(z, rows, V, targets, inv, scale);
      return [...fwd, Float64Array.from(z)];
    };
    const ref = run(f64), a = run(two);
    assert.ok(maxRelDiff(a[0]!, ref[0]!) < 1e-5, `loss ${maxRelDiff(a[0]!, ref[0]!)}`);
    assert.deepEqual(a[1], ref[1], 'argmax hits');
    assert.ok(maxRelDiff(a[2]!, ref[2]!) < 1e-5, `dz ${maxRelDiff(a[2]!, ref[2]!)}`);
  });

  test('RMSNorm forward and backward (gain, zero-centred gain, none), per-head rows', () => {
    for (const [rows, dim, gain, offset] of [[7, 12, true, 0], [9, 8, true, 1], [5, 16, false, 0]] as const) {
      const run = (e: Engine) => {
        const x = values(e, 20, rows * dim), w = gain ? values(e, 21, dim, 0.3) : null;
        const y = e.persistent(rows * dim), inv = e.persistent(rows);
        e.rmsNormForward(x, w, y, inv, rows, dim, 1e-5, offset);
        const dx = values(e, 22, rows * dim), dw = values(e, 23, dim);
        e.rmsNormBackward(x, w, values(e, 24, rows * dim), inv, dx, gain ? dw : null, rows, dim, offset);
        return [y, inv, dx, dw].map((a) => Float64Array.from(a));
      };
      const ref = run(f64), a = run(one), b = run(two);
      ['y', 'inv', 'dx', 'dw'].forEach((name, i) => assert.ok(maxRelDiff(a[i]!, ref[i]!) < 1e-5, `${name}: ${maxRelDiff(a[i]!, ref[i]!)}`));
      assert.deepEqual(b, a);
    }
  });

  test('RoPE forward and inverse, partial NeoX and adjacent pairs, accumulating', () => {
    const T = 5, rows = 10, nHead = 3, hd = 8;
    for (const [nRot, neox] of [[4, true], [8, true], [8, false]] as const) {
      const cs = Float32Array.from({ length: T * nRot }, (_, i) => (i % 2 === 0 ? Math.cos(i * 0.37) : Math.sin(i * 0.37)));
      const shape = { nHead, hd, nRot, neox, cs, T };
      const run = (e: Engine) => {
        const x = values(e, 25, rows * nHead * hd), y = e.persistent(rows * nHead * hd), d = values(e, 26, rows * nHead * hd);
        e.rope(x, y, rows, shape, 1, false);
        e.rope(x, d, rows, shape, -1, true);
        return [y, d].map((a) => Float64Array.from(a));
      };
      const ref = run(f64), a = run(two);
      assert.ok(maxRelDiff(a[0]!, ref[0]!) < 1e-6 && maxRelDiff(a[1]!, ref[1]!) < 1e-6, `nRot ${nRot} neox ${neox}`);
    }
  });

  test('head gate forward and backward; adds with a tail', () => {
    const rows = 6, nHead = 3, hd = 8;
    const run = (e: Engine) => {
      const x = values(e, 27, rows * nHead * hd), g = values(e, 28, rows * nHead, 2);
      const y = e.persistent(rows * nHead * hd), sig = e.persistent(rows * nHead);
      e.headGateForward(x, g, y, sig, rows, nHead, hd);
      const dx = values(e, 29, rows * nHead * hd), dg = values(e, 30, rows * nHead);
      e.headGateBackward(x, sig, values(e, 31, rows * nHead * hd), dx, dg, rows, nHead, hd);
      const s = e.persistent(37);
      e.add(values(e, 32, 37), values(e, 33, 37), s, 37);
      e.accumulate(s, values(e, 34, 37), 37);
      return [y, dx, dg, s].map((a) => Float64Array.from(a));
    };
    const ref = run(f64), a = run(two);
    ['y', 'dx', 'dg', 'sum'].forEach((name, i) => assert.ok(maxRelDiff(a[i]!, ref[i]!) < 1e-5, `${name}: ${maxRelDiff(a[i]!, ref[i]!)}`));
  });
});
