// Expert selection: topK must pick exactly what sorting every expert by (score descending, index
// ascending) and keeping the first k picks, ties included, since routing decides which weights a token uses.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { topK } from '../../src/model/router.js';

test('topK equals a full sort by score then index, with ties and repeated values', () => {
  let seed = 3;
  const rnd = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  for (let trial = 0; trial < 3000; trial++) {
    const n = 1 + Math.floor(rnd() * 70);
    const k = 1 + Math.floor(rnd() * n);
    const sel = new Float32Array(n);
    // Few distinct values in some trials, so that ties are common.
    const levels = trial % 3 === 0 ? 3 : 1000;
    for (let i = 0; i < n; i++) sel[i] = Math.floor(rnd() * levels) / levels - (trial % 5 === 0 ? 0.5 : 0);
    const want = Array.from({ length: n }, (_, i) => i).sort((a, b) => sel[b]! - sel[a]! || a - b).slice(0, k);
    const got = new Int32Array(k);
    topK(sel, n, k, got);
    assert.deepEqual(Array.from(got), want, `n ${n} k ${k}: ${Array.from(sel).join(',')}`);
  }
});
