// The attention kernels take query rows in tiles that share a KV head (kernels/ops.ts attention for f32
// caches, kernels/kv.ts attention_kv for f16, bf16 and q8_0 ones). Each row must come out bit for bit as
// when it is computed alone: the tile only changes which rows read a key or value row together, never a
// row's order of operations (and so never its agreement with llama.cpp).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { attentionTiles } from '../../src/backend/cpu/cpu-backend.js';
import { readFileSync } from 'node:fs';
import { instantiateKernelModule, instantiateKernels, kernelBuild, kernelPath } from '../../src/backend/cpu/kernels.js';
import { Rng } from '../../src/model/make/rng.js';

const memory = new WebAssembly.Memory({ initial: 1024, maximum: 4096, shared: true });
const k = instantiateKernels(memory);
const f32 = new Float32Array(memory.buffer);
const u32 = new Uint32Array(memory.buffer);
const Q = 0, KC = 1 << 20, VC = 8 << 20, OUT = 16 << 20, SCRATCH = 20 << 20;

/** Runs the kernel over every tile of the given tiling; returns the output's bits. */
function run(nt: number, pos0: number, nHead: number, nKv: number, hd: number, cap: number, window: number, first: number, gs: number, tb: number): Uint32Array {
  const n = nt * nHead * hd;
  f32.fill(NaN, OUT / 4, OUT / 4 + n);
  const tiles = Math.ceil(nt / tb) * nKv * (nHead / nKv / gs);
  // in two calls, as two threads would split the units
  const mid = tiles >> 1;
  k.attention(Q, KC, VC, OUT, nt, pos0, nHead, nKv, hd, cap, window, Math.fround(1 / Math.sqrt(hd)), first, gs, tb, 0, mid, SCRATCH);
  k.attention(Q, KC, VC, OUT, nt, pos0, nHead, nKv, hd, cap, window, Math.fround(1 / Math.sqrt(hd)), first, gs, tb, mid, tiles, SCRATCH);
  return u32.slice(OUT / 4, OUT / 4 + n);
}

describe('attention tiles', () => {
  const shapes = [
    // nHead, nKv, hd: nano full / sliding, mini, llama-15m, odd sizes (tails of 4 and of 8 dims)
    [4, 2, 32], [6, 2, 32], [8, 2, 128], [6, 6, 48], [2, 1, 20], [12, 4, 36], [4, 1, 72], [3, 3, 4],
  ] as const;
  for (const [nHead, nKv, hd] of shapes) {
    test(`${nHead} query heads over ${nKv} KV heads of ${hd}: every tiling gives the untiled bits`, () => {
      const rng = new Rng(nHead * 100 + hd);
      const group = nHead / nKv;
      for (const [nt, pos0, window, first, cap] of [[1, 0, 0, 0, 64], [1, 300, 0, 0, 512], [5, 40, 0, 0, 64], [17, 3, 7, 0, 40], [9, 200, 32, 0, 48], [12, 20, 0, 11, 64], [3, 100, 16, 90, 24]]) {
        const a = new Float32Array(nt * nHead * hd), kv = new Float32Array(cap * nKv * hd);
        rng.fillNormal(a, 2);
        f32.set(a, Q / 4);
        rng.fillNormal(kv, 1.5);
        f32.set(kv, KC / 4);
        rng.fillNormal(kv, 1);
        for (let i = 0; i < kv.length; i += 37) kv[i] = i % 2 ? 0 : -0;
        f32.set(kv, VC / 4);
        const want = run(nt, pos0, nHead, nKv, hd, cap, window, first, 1, 1);
        const tilings = [attentionTiles(nHead, nKv, nt)];
        for (let gs = 1; gs <= Math.min(4, group); gs++) if (group % gs === 0) for (let tb = 1; gs * tb <= 4; tb++) tilings.push({ gs, tb, rows: gs * tb });
        for (const { gs, tb } of tilings) {
          const got = run(nt, pos0, nHead, nKv, hd, cap, window, first, gs, tb);
          const at = got.findIndex((v, i) => v !== want[i]);
          assert.equal(at, -1, `nt ${nt} pos0 ${pos0} window ${window} first ${first}, tiles of ${gs} heads x ${tb} tokens: value ${at} differs`);
        }
      }
    });
  }

  test('the tiling the backend picks', () => {
    assert.deepEqual(attentionTiles(8, 2, 64), { gs: 4, tb: 1, rows: 4 });
    assert.deepEqual(attentionTiles(6, 2, 64), { gs: 3, tb: 1, rows: 3 });
    assert.deepEqual(attentionTiles(4, 2, 64), { gs: 2, tb: 2, rows: 4 });
    assert.deepEqual(attentionTiles(6, 6, 64), { gs: 1, tb: 4, rows: 4 });
    assert.deepEqual(attentionTiles(6, 6, 1), { gs: 1, tb: 1, rows: 1 });
    assert.deepEqual(attentionTiles(12, 2, 3), { gs: 3, tb: 1, rows: 3 });
  });
});

describe('attention tiles over f16, bf16 and q8_0 caches', () => {
  const TYPE = { f16: 1, bf16: 2, q8_0: 3 } as const;
  /** Stores cap rows of nKv * hd values (f32 at src) into a cache of `type` at dst. */
  const fill = (src: Float32Array, dst: number, cap: number, row: number, type: number) => {
    f32.set(src, SCRATCH / 4);
    k.kv_store(SCRATCH, dst, cap, row, type);
  };
  function runKv(nt: number, pos0: number, nHead: number, nKv: number, hd: number, cap: number, window: number, first: number, types: number, gs: number, tb: number): Uint32Array {
    const n = nt * nHead * hd;
    f32.fill(NaN, OUT / 4, OUT / 4 + n);
    const tiles = Math.ceil(nt / tb) * nKv * (nHead / nKv / gs);
    const mid = tiles >> 1;
    const scale = Math.fround(1 / Math.sqrt(hd));
    k.attention_kv(Q, KC, VC, OUT, nt, pos0, nHead, nKv, hd, cap, window, scale, first, types | (gs << 8) | (tb << 16), 0, mid, SCRATCH);
    k.attention_kv(Q, KC, VC, OUT, nt, pos0, nHead, nKv, hd, cap, window, scale, first, types | (gs << 8) | (tb << 16), mid, tiles, SCRATCH);
    return u32.slice(OUT / 4, OUT / 4 + n);
  }
  for (const [nHead, nKv, hd] of [[4, 2, 32], [6, 2, 32], [8, 2, 64], [3, 3, 32]] as const) {
    for (const [tk, tv] of [['f16', 'f16'], ['q8_0', 'q8_0'], ['bf16', 'q8_0'], ['q8_0', 'f16']] as const) {
      test(`${nHead} query heads over ${nKv} KV heads of ${hd}, ${tk} keys and ${tv} values: every tiling gives the untiled bits`, () => {
        const rng = new Rng(nHead * 1000 + hd + tk.length * 7 + tv.length);
        const group = nHead / nKv;
        for (const [nt, pos0, window, first, cap] of [[1, 0, 0, 0, 64], [1, 200, 0, 0, 256], [5, 40, 0, 0, 64], [17, 3, 7, 0, 40], [9, 120, 32, 0, 48], [12, 20, 0, 11, 64]]) {
          const a = new Float32Array(nt * nHead * hd), kv = new Float32Array(cap * nKv * hd);
          rng.fillNormal(a, 2);
          f32.set(a, Q / 4);
          rng.fillNormal(kv, 1.5);
          fill(kv, KC, cap, nKv * hd, TYPE[tk]);
          rng.fillNormal(kv, 1);
          fill(kv, VC, cap, nKv * hd, TYPE[tv]);
          const types = TYPE[tk] | (TYPE[tv] << 4);
          for (let gs = 1; gs <= group; gs++) {
            if (group % gs !== 0) continue;
            const want = runKv(nt, pos0, nHead, nKv, hd, cap, window, first, types, gs, 1);
            for (let tb = 2; tb <= 4; tb++) {
              const got = runKv(nt, pos0, nHead, nKv, hd, cap, window, first, types, gs, tb);
              const at = got.findIndex((v, i) => v !== want[i]);
              assert.equal(at, -1, `nt ${nt} pos0 ${pos0} window ${window} first ${first}, tiles of ${gs} heads x ${tb} tokens: value ${at} differs`);
            }
          }
        }
      });
    }
  }
});

// For many query rows over an f16 or bf16 cache (or a q8_0 value cache) the backend widens the positions a
// call sees to f32 once (kv_widen, into a ring of just those positions) and runs the f32 kernel: it must give
// attention_kv's bits.
describe('attention over widened f16, bf16 and q8_0 caches', () => {
  const TYPE = { f32: 0, f16: 1, bf16: 2, q8_0: 3 } as const;
  const WK = 24 << 20, WV = 28 << 20;
  for (const [nHead, nKv, hd] of [[6, 6, 48], [4, 2, 32], [8, 2, 128], [12, 4, 36], [3, 3, 4]] as const) {
    for (const [tk, tv] of [['f16', 'f16'], ['bf16', 'bf16'], ['f16', 'q8_0'], ['f32', 'f16']] as const) {
      if ((tv === 'q8_0' && hd % 32 !== 0)) continue;
      test(`${nHead} query heads over ${nKv} KV heads of ${hd}, ${tk} keys and ${tv} values`, () => {
        const rng = new Rng(nHead * 31 + hd * 7 + tk.length + tv.length * 3);
        const row = nKv * hd;
        for (const [nt, pos0, window, first, cap] of [[1, 0, 0, 0, 64], [1, 200, 0, 0, 256], [16, 40, 0, 0, 64], [17, 3, 7, 0, 40], [9, 120, 32, 0, 48], [12, 20, 0, 11, 64]]) {
          const a = new Float32Array(nt * nHead * hd), kv = new Float32Array(cap * row);
          rng.fillNormal(a, 2);
          f32.set(a, Q / 4);
          rng.fillNormal(kv, 1.5);
          f32.set(kv, SCRATCH / 4);
          k.kv_store(SCRATCH, KC, cap, row, TYPE[tk]);
          rng.fillNormal(kv, 1);
          f32.set(kv, SCRATCH / 4);
          k.kv_store(SCRATCH, VC, cap, row, TYPE[tv]);
          const scale = Math.fround(1 / Math.sqrt(hd));
          const n = nt * nHead * hd;
          const { gs, tb, rows } = attentionTiles(nHead, nKv, nt);
          f32.fill(NaN, OUT / 4, OUT / 4 + n);
          k.attention_kv(Q, KC, VC, OUT, nt, pos0, nHead, nKv, hd, cap, window, scale, first, TYPE[tk] | (TYPE[tv] << 4) | (gs << 8) | (tb << 16), 0, Math.ceil(nt / tb) * nKv * (nHead / nKv / gs), SCRATCH);
          const want = u32.slice(OUT / 4, OUT / 4 + n);
          // the backend's widening: the positions the call sees, position p at slot p % count
          const lo = Math.max(window > 0 ? pos0 - window + 1 : 0, 0, first), hi = pos0 + nt - 1, count = hi - lo + 1;
          k.kv_widen(KC, TYPE[tk], row, cap, lo, hi, WK, count);
          k.kv_widen(VC, TYPE[tv], row, cap, lo, hi, WV, count);
          f32.fill(NaN, OUT / 4, OUT / 4 + n);
          k.attention(Q, WK, WV, OUT, nt, pos0, nHead, nKv, hd, count, window, scale, first, gs, tb, 0, rows > 0 ? Math.ceil(nt / tb) * nKv * (nHead / nKv / gs) : 0, SCRATCH);
          const got = u32.slice(OUT / 4, OUT / 4 + n);
          const at = got.findIndex((v, i) => v !== want[i]);
          assert.equal(at, -1, `nt ${nt} pos0 ${pos0} window ${window} first ${first}: value ${at} differs (${new Float32Array(got.buffer)[at]} vs ${new Float32Array(want.buffer)[at]})`);
        }
      });
    }
  }
});

// A q8_0 key cache's scores are integer block dots; the relaxed build takes them from the relaxed int8 dot
// (the query split in two 7-bit halves) and a fused multiply-add, the plain build from exact i16 products and
// an f64 multiply-add rounded once: the same numbers.
describe('q8_0 keys: the relaxed and the plain kernel builds agree bit for bit', () => {
  test('scores, softmax and value sums over q8_0 keys and f16/q8_0 values', (t) => {
    if (kernelBuild() !== 'relaxed') return t.skip('this runtime runs the plain build only');
    const mem2 = new WebAssembly.Memory({ initial: 1024, maximum: 4096, shared: true });
    const plain = instantiateKernelModule(new WebAssembly.Module(readFileSync(kernelPath('simd'))), mem2);
    const relaxed = instantiateKernelModule(new WebAssembly.Module(readFileSync(kernelPath('relaxed'))), memory);
    const g32 = new Float32Array(mem2.buffer), g8 = new Uint8Array(mem2.buffer), m8 = new Uint8Array(memory.buffer);
    const rng = new Rng(77);
    for (const [nHead, nKv, hd, tv] of [[8, 2, 128, 1], [4, 2, 32, 3], [6, 6, 64, 1]] as const) {
      for (const [nt, pos0, window, cap] of [[1, 300, 0, 512], [7, 40, 0, 64], [9, 120, 32, 48]]) {
        const row = nKv * hd;
        const a = new Float32Array(nt * nHead * hd), kv = new Float32Array(cap * row);
        rng.fillNormal(a, 2);
        f32.set(a, Q / 4);
        rng.fillNormal(kv, 1.5);
        f32.set(kv, SCRATCH / 4);
        relaxed.kv_store(SCRATCH, KC, cap, row, 3);
        rng.fillNormal(kv, 1);
        f32.set(kv, SCRATCH / 4);
        relaxed.kv_store(SCRATCH, VC, cap, row, tv);
        g8.set(m8.subarray(0, SCRATCH));
        const n = nt * nHead * hd;
        const { gs, tb } = attentionTiles(nHead, nKv, nt);
        const units = Math.ceil(nt / tb) * nKv * (nHead / nKv / gs);
        const layout = 3 | (tv << 4) | (gs << 8) | (tb << 16), scale = Math.fround(1 / Math.sqrt(hd));
        relaxed.attention_kv(Q, KC, VC, OUT, nt, pos0, nHead, nKv, hd, cap, window, scale, 0, layout, 0, units, SCRATCH);
        plain.attention_kv(Q, KC, VC, OUT, nt, pos0, nHead, nKv, hd, cap, window, scale, 0, layout, 0, units, SCRATCH);
        const want = new Uint32Array(g32.buffer, OUT, n), got = u32.subarray(OUT / 4, OUT / 4 + n);
        const at = got.findIndex((v, i) => v !== want[i]);
        assert.equal(at, -1, `${nHead}/${nKv}x${hd}, nt ${nt} pos0 ${pos0} window ${window}: value ${at} differs`);
        assert.ok(Number.isFinite(new Float32Array(got.buffer, got.byteOffset, n)[n - 1]!));
      }
    }
  });
});
