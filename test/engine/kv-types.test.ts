// Key/value caches stored as f16, bf16 and q8_0: the stored bytes (llama.cpp's block_q8_0 layout), the
// attention kernel over them against a float64 reference, and the model's fidelity with a q8_0 cache
// against an f16 cache (next-token distributions and 64-token greedy continuations).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { KvCacheType, Tensor } from '../../src/backend/backend.js';
import { CpuBackend } from '../../src/backend/cpu/cpu-backend.js';
import { KvCache } from '../../src/engine/kv-cache.js';
import { kvRowBytes } from '../../src/engine/kv-types.js';
import { GGMLType } from '../../src/gguf/ggml-types.js';
import { bf16ToF32, f16ToF32, f32BitsToF16Bits, f32ToBits } from '../../src/gguf/quant/f16.js';

const f32ToF16Bits = (x: number) => f32BitsToF16Bits(f32ToBits(x));
import { loadModel, type LoadedModel } from '../../src/model/load.js';
import { makeModel } from '../../src/model/make/random-model.js';
import { Rng } from '../../src/common/rng.js';

const f = Math.fround;

/** Dequantizes n values of `type` from bytes (the layouts the kernels write). */
function decode(type: KvCacheType, bytes: Uint8Array, n: number): Float64Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    if (type === 'f32') out[i] = dv.getFloat32(i * 4, true);
    else if (type === 'f16') out[i] = f16ToF32(dv.getUint16(i * 2, true));
    else if (type === 'bf16') out[i] = bf16ToF32(dv.getUint16(i * 2, true));
    else {
      const b = Math.floor(i / 32);
      out[i] = f(f16ToF32(dv.getUint16(b * 34, true)) * dv.getInt8(b * 34 + 2 + (i % 32)));
    }
  }
  return out;
}

/** x rounded through q8_0 blocks as quantize_row_q8_0 makes them (f16 scale amax/127, round half to even). */
function roundQ8_0(x: Float32Array): Float32Array {
  const out = new Float32Array(x.length);
  for (let b = 0; b < x.length; b += 32) {
    let amax = 0;
    for (let i = b; i < b + 32; i++) amax = Math.max(amax, Math.abs(x[i]!));
    const d = f16ToF32(f32ToF16Bits(f(amax / 127)));
    const id = amax === 0 ? 0 : f(127 / amax);
    for (let i = b; i < b + 32; i++) {
      const r = f(x[i]! * id);
      const fl = Math.floor(r);
      const q = r - fl === 0.5 ? (fl % 2 === 0 ? fl : fl + 1) : Math.round(r);
      out[i] = f(d * q);
    }
  }
  return out;
}

describe('KV cache storage formats', () => {
  let B: CpuBackend;
  before(() => {
    B = new CpuBackend({ threads: 2, minParallelWork: 0 });
  });
  after(async () => B.close());

  const bytesOf = (t: Tensor, n: number) => {
    const v = B.view(t);
    return new Uint8Array(v.buffer, v.byteOffset, n).slice();
  };

  test('kvWrite stores f16/bf16 rounded to nearest and q8_0 as block_q8_0 (f16 amax/127, round-half-even quants)', () => {
    const rng = new Rng(5);
    const rowLen = 64, rows = 3;
    const src = B.alloc(rowLen * rows);
    const x = Float32Array.from({ length: rowLen * rows }, (_, i) => (i % 37 === 0 ? 0 : (rng.next() - 0.5) * 8 * (1 + (i % 5))));
    x.fill(0, 64, 96); // an all-zero block: scale 0, quants 0
    B.view(src).set(x);
    for (const type of ['f16', 'bf16', 'q8_0'] as const) {
      const rb = kvRowBytes(type, rowLen);
      const cache = B.alloc(Math.ceil((rb * (rows + 2)) / 4));
      B.kvWrite(cache, type, 2, rowLen, src, rows);
      const all = bytesOf(cache, rb * (rows + 2));
      assert.ok(all.subarray(0, 2 * rb).every((b) => b === 0), `${type}: slots before the write untouched`);
      const got = decode(type, all.subarray(2 * rb), rowLen * rows);
      for (let i = 0; i < x.length; i++) {
        const v = x[i]!;
        if (type === 'q8_0') {
          const blk = x.subarray(i - (i % 32), i - (i % 32) + 32);
          const amax = Math.max(...Array.from(blk, Math.abs));
          const d = f16ToF32(new DataView(all.buffer, all.byteOffset + 2 * rb + Math.floor(i / 32) * 34).getUint16(0, true));
          assert.ok(Math.abs(d - amax / 127) <= (amax / 127) * 2 ** -10, `block scale ${d} vs ${amax / 127}`);
          // round-half-even(x · 127/amax) with f32 arithmetic
          const r = amax === 0 ? 0 : f(v * f(127 / amax));
          const fl = Math.floor(r);
          const q = r - fl === 0.5 ? (fl % 2 === 0 ? fl : fl + 1) : Math.round(r);
          assert.equal(got[i], f(d * q), `q8_0 value ${i}`);
        } else {
          const step = type === 'f16' ? 2 ** -11 : 2 ** -8;
          assert.ok(Math.abs(got[i]! - v) <= Math.abs(v) * step + 1e-7, `${type} ${i}: ${got[i]} vs ${v}`);
        }
      }
    }
  });

  test('attention over every cache type equals a float64 reference on the stored values (full and sliding, wrapped ring)', () => {
    const rng = new Rng(9);
    const hd = 64, nKv = 2, nHead = 6, cap = 24;
    for (const [typeK, typeV] of [['f16', 'f16'], ['q8_0', 'q8_0'], ['bf16', 'q8_0'], ['q8_0', 'f32'], ['f32', 'f32']] as const) {
      for (const window of [0, 10]) {
        const pos0 = window ? 37 : 15, nt = 5; // positions 37..41 wrap the 24-slot ring
        const kRow = nKv * hd;
        const kc = B.alloc(Math.ceil((cap * kvRowBytes(typeK, kRow)) / 4));
        const vc = B.alloc(Math.ceil((cap * kvRowBytes(typeV, kRow)) / 4));
        const keys = new Map<number, Float32Array>(), vals = new Map<number, Float32Array>();
        const row = B.alloc(kRow);
        for (let p = window ? pos0 + nt - cap : 0; p < pos0 + nt; p++) {
          const k = Float32Array.from({ length: kRow }, () => (rng.next() - 0.5) * 4);
          const v = Float32Array.from({ length: kRow }, () => (rng.next() - 0.5) * 4);
          B.view(row).set(k);
          B.kvWrite(kc, typeK, p % cap, kRow, row, 1);
          B.view(row).set(v);
          B.kvWrite(vc, typeV, p % cap, kRow, row, 1);
        }
        const kb = bytesOf(kc, cap * kvRowBytes(typeK, kRow)), vb = bytesOf(vc, cap * kvRowBytes(typeV, kRow));
        for (let s = 0; s < cap; s++) {
          keys.set(s, Float32Array.from(decode(typeK, kb.subarray(s * kvRowBytes(typeK, kRow)), kRow)));
          vals.set(s, Float32Array.from(decode(typeV, vb.subarray(s * kvRowBytes(typeV, kRow)), kRow)));
        }
        const q = B.alloc(nt * nHead * hd);
        const qv = Float32Array.from({ length: nt * nHead * hd }, () => rng.next() - 0.5);
        B.view(q).set(qv);
        const o = B.alloc(nt * nHead * hd);
        const scale = 1 / Math.sqrt(hd);
        B.attentions([{ o, q, kCache: kc, vCache: vc, nt, pos0, cap, typeK, typeV }], nHead, nKv, hd, window, scale);
        const out = B.view(o).slice();
        // With a q8_0 key cache each query head is rounded to q8_0 first (llama.cpp's flash attention does
        // the same): the reference takes the rounded queries.
        const qRef = typeK === 'q8_0' ? roundQ8_0(qv) : qv;
        for (let t = 0; t < nt; t++) {
          const P = pos0 + t;
          for (let h = 0; h < nHead; h++) {
            const g = Math.floor(h / (nHead / nKv));
            const lo = window ? Math.max(0, P - window + 1) : 0;
            const sc: number[] = [];
            for (let j = lo; j <= P; j++) {
              let s = 0;
              for (let d = 0; d < hd; d++) s += qRef[(t * nHead + h) * hd + d]! * keys.get(j % cap)![g * hd + d]!;
              sc.push(s * scale);
            }
            const m = Math.max(...sc);
            const e = sc.map((s) => Math.exp(s - m));
            const z = e.reduce((a, b) => a + b, 0);
            for (let d = 0; d < hd; d++) {
              let y = 0;
              for (let j = lo; j <= P; j++) y += (e[j - lo]! / z) * vals.get(j % cap)![g * hd + d]!;
              const got = out[(t * nHead + h) * hd + d]!;
              assert.ok(Math.abs(got - y) < 2e-5, `${typeK}/${typeV} window ${window} t${t} h${h} d${d}: ${got} vs ${y}`);
            }
          }
        }
      }
    }
  });

  test('a batch mixing prompts (widened to f32 first) and single tokens (read in place) gives each sequence its own bits', () => {
    // A sequence with two or more query tokens over an f16/bf16 cache is widened to f32 for the call; one
    // token is not. In one call both then go through attention_kv, which must give each what it gets alone.
    const rng = new Rng(21);
    const hd = 32, nKv = 2, nHead = 4, cap = 40, kRow = nKv * hd;
    for (const [typeK, typeV] of [['f16', 'f16'], ['bf16', 'q8_0']] as const) {
      const seqs = [{ nt: 6, pos0: 30 }, { nt: 1, pos0: 33 }, { nt: 3, pos0: 12 }].map(({ nt, pos0 }) => {
        const kCache = B.alloc(Math.ceil((cap * kvRowBytes(typeK, kRow)) / 4)), vCache = B.alloc(Math.ceil((cap * kvRowBytes(typeV, kRow)) / 4));
        const row = B.alloc(kRow);
        for (let p = 0; p < pos0 + nt; p++) {
          B.view(row).set(Float32Array.from({ length: kRow }, () => (rng.next() - 0.5) * 4));
          B.kvWrite(kCache, typeK, p % cap, kRow, row, 1);
          B.view(row).set(Float32Array.from({ length: kRow }, () => (rng.next() - 0.5) * 4));
          B.kvWrite(vCache, typeV, p % cap, kRow, row, 1);
        }
        const q = B.alloc(nt * nHead * hd);
        B.view(q).set(Float32Array.from({ length: nt * nHead * hd }, () => rng.next() - 0.5));
        return { o: B.alloc(nt * nHead * hd), q, kCache, vCache, nt, pos0, cap, typeK, typeV };
      });
      for (const window of [0, 16]) {
        const alone = seqs.map((j) => {
          B.attentions([j], nHead, nKv, hd, window, 0.17);
          return [...B.view(j.o)].map((x) => x.toString());
        });
        B.attentions(seqs, nHead, nKv, hd, window, 0.17);
        seqs.forEach((j, i) => assert.deepEqual([...B.view(j.o)].map((x) => x.toString()), alone[i], `${typeK}/${typeV} window ${window}, sequence ${i}`));
      }
    }
  });

  test('values exact in bf16/f16 give bit-identical attention to the f32 kernel, for any head grouping and thread count', async () => {
    // attention_kv converts each cache row once for a subgroup of the query heads sharing it; the
    // subgroup size depends on the thread count. None of that may change a bit of the result.
    const toBf16 = (x: number) => {
      const u = new Uint32Array(new Float32Array([x]).buffer);
      u[0] = u[0]! & 0xffff0000;
      return new Float32Array(u.buffer)[0]!;
    };
    for (const threads of [1, 3, 8]) {
      const b = new CpuBackend({ threads, minParallelWork: 0 });
      try {
        for (const [hd, nKv, nHead, nt, pos0, window] of [[32, 2, 6, 1, 15, 0], [64, 2, 6, 5, 30, 10], [128, 2, 24, 1, 40, 16], [128, 1, 8, 3, 7, 0]] as const) {
          const cap = 24, kRow = nKv * hd;
          const outs: Float32Array[] = [];
          for (const type of ['f32', 'bf16', 'f16'] as const) {
            const kc = b.alloc(Math.ceil((cap * kvRowBytes(type, kRow)) / 4)), vc = b.alloc(Math.ceil((cap * kvRowBytes(type, kRow)) / 4));
            const row = b.alloc(kRow);
            for (let p = Math.max(0, pos0 + nt - cap); p < pos0 + nt; p++) {
              // bf16 values with few mantissa bits are exact in f16 too.
              b.view(row).set(Float32Array.from({ length: kRow }, (_, i) => toBf16(Math.round(Math.sin(p * 7 + i) * 64) / 64)));
              b.kvWrite(kc, type, p % cap, kRow, row, 1);
              b.view(row).set(Float32Array.from({ length: kRow }, (_, i) => toBf16(Math.round(Math.cos(p * 3 + i) * 64) / 64)));
              b.kvWrite(vc, type, p % cap, kRow, row, 1);
            }
            const q = b.alloc(nt * nHead * hd);
            b.view(q).set(Float32Array.from({ length: nt * nHead * hd }, (_, i) => Math.sin(i * 0.37)));
            const o = b.alloc(nt * nHead * hd);
            b.attentions([{ o, q, kCache: kc, vCache: vc, nt, pos0, cap, typeK: type, typeV: type }], nHead, nKv, hd, window, 1 / Math.sqrt(hd));
            outs.push(b.view(o).slice());
          }
          assert.deepEqual(outs[1], outs[0], `bf16, threads ${threads}, hd ${hd}, ${nHead}/${nKv} heads`);
          assert.deepEqual(outs[2], outs[0], `f16, threads ${threads}, hd ${hd}, ${nHead}/${nKv} heads`);
        }
      } finally {
        await b.close();
      }
    }
  });

  test('f16 and bf16 values read back exactly through attention: subnormals, signed zeros, overflow to infinity', () => {
    // One visible key: the softmax weight is exactly 1, so the output is the stored value row itself.
    const hd = 32;
    const special = [1e-6, -3e-5, 6e-8, -6e-8, 0, -0, 65504, -65504, 70000, -70000, 1 / 3, -2.5e-3, 1e-40, 3.0e38, -1.5, 7];
    const v = Float32Array.from({ length: hd }, (_, i) => special[i % special.length]!);
    for (const type of ['f16', 'bf16'] as const) {
      const row = B.alloc(hd);
      B.view(row).set(v);
      const kc = B.alloc(hd), vc = B.alloc(Math.ceil(kvRowBytes(type, hd) / 4));
      B.kvWrite(vc, type, 0, hd, row, 1);
      const q = B.alloc(hd), o = B.alloc(hd);
      B.attentions([{ o, q, kCache: kc, vCache: vc, nt: 1, pos0: 0, cap: 1, typeK: 'f32', typeV: type }], 1, 1, hd, 0, 1);
      const want = decode(type, bytesOf(vc, kvRowBytes(type, hd)), hd);
      const got = B.view(o).slice();
      for (let i = 0; i < hd; i++) assert.ok(Object.is(got[i], Math.fround(want[i]!)) || got[i] === want[i], `${type} ${v[i]}: ${got[i]} vs ${want[i]}`);
      if (type === 'f16') {
        assert.equal(got[8], Infinity);
        assert.equal(got[9], -Infinity);
        assert.equal(got[0], f16ToF32(0x0011)); // 1e-6 is an f16 subnormal
      }
    }
  });

  test('q8_0 caches refuse head dimensions that are not whole blocks; bytes shrink as planned', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stepflash-kvt-'));
    try {
      const path = join(dir, 't.gguf');
      makeModel({ preset: 'step35-test', type: GGMLType.F32, seed: 1, out: path }); // head dim 16
      const lm = loadModel(path, { backend: B });
      try {
        assert.throws(() => new KvCache(B, lm.model.config, 64, 8, { k: 'q8_0' }), /multiple of 32/);
        const f32 = new KvCache(B, lm.model.config, 64, 8);
        const f16 = new KvCache(B, lm.model.config, 64, 8, { k: 'f16', v: 'f16' });
        assert.equal(f16.info.bytes * 2, f32.info.bytes);
      } finally {
        lm.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('model fidelity: q8_0 cache against f16 cache', () => {
  let dir: string;
  let lm: LoadedModel;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'stepflash-kvf-'));
    const path = join(dir, 'tiny.gguf');
    // F32 weights: with Q8_0 weights llama.cpp rounds activations to 8 bits, which makes a random MoE model
    // chaotic (llama.cpp differs from itself by mean TV 0.24 between its attention paths on such a file),
    // hiding the cache's own effect. Head dim 32, window 64; maxBatch 16 makes the sliding rings wrap.
    makeModel({ preset: 'tiny', type: GGMLType.F32, seed: 21, out: path });
    lm = loadModel(path, { maxBatch: 16, threads: 2 });
  });
  after(() => {
    lm.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const softmax = (l: Float32Array, off: number, V: number) => {
    let m = -Infinity;
    for (let i = 0; i < V; i++) m = Math.max(m, l[off + i]!);
    const p = new Float64Array(V);
    let z = 0;
    for (let i = 0; i < V; i++) z += p[i] = Math.exp(l[off + i]! - m);
    for (let i = 0; i < V; i++) p[i]! /= z;
    return p;
  };

  function promptLogits(tokens: number[], k: KvCacheType, v: KvCacheType): Float32Array {
    const kv = new KvCache(lm.model.backend, lm.model.config, tokens.length, lm.model.maxBatch, { k, v });
    return lm.model.forward(tokens, kv, { logits: 'all' });
  }

  function greedy(prompt: number[], n: number, k: KvCacheType, v: KvCacheType): number[] {
    const kv = new KvCache(lm.model.backend, lm.model.config, prompt.length + n, lm.model.maxBatch, { k, v });
    let logits = lm.model.forward(prompt, kv);
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let j = 1; j < logits.length; j++) if (logits[j]! > logits[best]!) best = j;
      out.push(best);
      if (i + 1 < n) logits = lm.model.forward([best], kv);
    }
    return out;
  }

  test('next-token distributions over 160 positions (ring wrapped): q8_0 vs f16 median KL < 5e-3, top-1 ≥ 90%; f16 vs f32 KL < 1e-4', () => {
    const V = lm.model.config.nVocab;
    const rng = new Rng(3);
    const tokens = Array.from({ length: 160 }, () => 10 + Math.floor(rng.next() * (V - 10)));
    const a = promptLogits(tokens, 'f16', 'f16');
    const b = promptLogits(tokens, 'q8_0', 'q8_0');
    const c = promptLogits(tokens, 'f32', 'f32');
    const kls: number[] = [], klRef: number[] = [], tvs: number[] = [];
    let top1 = 0;
    for (let t = 0; t < tokens.length; t++) {
      const p = softmax(a, t * V, V), q = softmax(b, t * V, V), r = softmax(c, t * V, V);
      let kl = 0, kr = 0, tv = 0, am = 0, bm = 0;
      for (let i = 0; i < V; i++) {
        if (p[i]! > 0) kl += p[i]! * Math.log(p[i]! / q[i]!);
        if (r[i]! > 0) kr += r[i]! * Math.log(r[i]! / p[i]!);
        tv += Math.abs(p[i]! - q[i]!) / 2;
        if (p[i]! > p[am]!) am = i;
        if (q[i]! > q[bm]!) bm = i;
      }
      kls.push(kl);
      klRef.push(kr);
      tvs.push(tv);
      if (am === bm) top1++;
    }
    const sorted = [...kls].sort((x, y) => x - y);
    const median = sorted[sorted.length >> 1]!, p90 = sorted[Math.floor(sorted.length * 0.9)]!;
    const meanTv = tvs.reduce((x, y) => x + y, 0) / tvs.length;
    const maxRef = Math.max(...klRef);
    console.log(`# q8_0 vs f16 cache: KL median ${median.toExponential(2)}, p90 ${p90.toExponential(2)}, mean TV ${meanTv.toFixed(4)}, top-1 ${top1}/${tokens.length}; f16 vs f32: max KL ${maxRef.toExponential(2)}`);
    assert.ok(median < 5e-3, `median KL ${median}`);
    assert.ok(p90 < 3e-2, `p90 KL ${p90}`);
    assert.ok(meanTv < 0.1, `mean TV ${meanTv}`);
    assert.ok(top1 >= tokens.length * 0.9, `top-1 agreement ${top1}`);
    assert.ok(maxRef < 1e-4, `f16 vs f32 max KL ${maxRef}`);
    assert.ok(median > 0, 'q8_0 must actually differ from f16 (the cache types are in use)');
  });

  // A random-weight MoE model amplifies any difference (a flipped expert changes the next token), so free-
  // running continuations part early even between llama.cpp's own q8_0 and f16 caches. The decisions are
  // compared along the f16 greedy path (same prefix at every step); whole continuations are reported.
  test('greedy decoding: q8_0 picks the f16 token at ≥ 85% of 8×64 steps along the f16 path', () => {
    const V = lm.model.config.nVocab;
    let agree = 0, same = 0, matched = 0;
    for (let s = 0; s < 8; s++) {
      const rng = new Rng(100 + s);
      const prompt = Array.from({ length: 24 }, () => 10 + Math.floor(rng.next() * (V - 10)));
      const a = greedy(prompt, 64, 'f16', 'f16');
      const forced = promptLogits([...prompt, ...a.slice(0, 63)], 'q8_0', 'q8_0');
      for (let i = 0; i < 64; i++) {
        const row = (prompt.length - 1 + i) * V;
        let best = 0;
        for (let j = 1; j < V; j++) if (forced[row + j]! > forced[row + best]!) best = j;
        if (best === a[i]) agree++;
      }
      const b = greedy(prompt, 64, 'q8_0', 'q8_0');
      let n = 0;
      while (n < 64 && a[n] === b[n]) n++;
      matched += n;
      if (n === 64) same++;
    }
    console.log(`# greedy steps agreeing along the f16 path: ${agree}/512; free-running 64-token continuations identical ${same}/8, ${matched}/512 tokens before the first divergence`);
    assert.ok(agree >= 0.85 * 512, `${agree}/512 steps agree`);
  });
});

describe('--cache-type-k / --cache-type-v on the command line', () => {
  const root = new URL('../..', import.meta.url).pathname;
  const cli = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  test('logits with f16 caches stay next to f32; q8_0 runs; a bad type is refused', () => {
    const ids = Array.from({ length: 40 }, (_, i) => 30 + i * 17).join(',');
    const lines = (args: string[]) => {
      const r = cli(['logits', '--tokens', ids, '--top', '1', '--threads', '1', ...args]);
      assert.equal(r.status, 0, r.stderr);
      return r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { pos: number; top: [number, number][] });
    };
    const f32 = lines([]);
    const f16 = lines(['--cache-type-k', 'f16', '--cache-type-v', 'f16']);
    const q8 = lines(['--cache-type-k', 'q8_0', '--cache-type-v', 'q8_0']);
    assert.equal(f16.length, 40);
    assert.equal(q8.length, 40);
    const same = f32.filter((l, i) => l.top[0]![0] === f16[i]!.top[0]![0]).length;
    // The default model has Q8_0 weights, whose 8-bit activation rounding makes a random model chaotic
    // (measured 29/40); a broken cache agrees on almost none.
    assert.ok(same >= 20, `${same}/40 top tokens agree between f32 and f16 caches`);
    assert.ok(q8.some((l, i) => l.top[0]![1] !== f32[i]!.top[0]![1]), 'the flag changes the cache');
    const bad = cli(['run', '-p', 'hi', '-n', '1', '--cache-type-v', 'q4_0']);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /--cache-type-v "q4_0" is not a KV cache type/);
    const j = cli(['run', '-p', 'hello', '-n', '4', '--temp', '0', '--cache-type-k', 'q8_0', '--cache-type-v', 'bf16', '--json']);
    assert.equal(j.status, 0, j.stderr);
    // the trained default model may end its reply before the limit; the run must still finish cleanly
    const out = JSON.parse(j.stdout) as { completion_tokens: number; finish_reason: string };
    assert.ok(out.completion_tokens >= 1 && out.completion_tokens <= 4, String(out.completion_tokens));
    if (out.completion_tokens < 4) assert.equal(out.finish_reason, 'stop');
  });
});

describe('caches in memories of their own', () => {
  test('caches spread over several wasm memories give bit-identical logits (f32 and q8_0, rings wrapped, checkpoints)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stepflash-kvm-'));
    try {
      const path = join(dir, 'tiny.gguf');
      makeModel({ preset: 'tiny', type: GGMLType.Q8_0, seed: 4, out: path });
      const rng = new Rng(8);
      const tokens = Array.from({ length: 150 }, () => 10 + Math.floor(rng.next() * 8000));
      const run = (opts: ConstructorParameters<typeof CpuBackend>[0]) => {
        const backend = new CpuBackend({ threads: 2, minParallelWork: 0, ...opts });
        const lm = loadModel(path, { backend, maxBatch: 16 });
        try {
          const out: Float32Array[] = [];
          for (const t of ['f32', 'q8_0'] as const) {
            const kv = new KvCache(backend, lm.model.config, 200, 16, { k: t, v: t });
            out.push(lm.model.forward(tokens.slice(0, 120), kv, { logits: 'all' }));
            kv.checkpoint();
            out.push(lm.model.forward(tokens.slice(120), kv, { logits: 'all' }));
            kv.truncate(120); // back to the checkpoint: restores the rings across memories
            out.push(lm.model.forward(tokens.slice(130, 140), kv, { logits: 'all' }));
          }
          return { out, memories: backend.memoryCount };
        } finally {
          lm.close();
          void backend.close();
        }
      };
      const main = run({});
      // Caches never in the main memory, and at most 200 KiB per cache memory: several memories.
      const spread = run({ mainCacheBytes: 0, cacheShardBytes: 200 * 1024 });
      assert.equal(main.memories, 1);
      assert.ok(spread.memories >= 4, `${spread.memories} memories`);
      spread.out.forEach((x, i) => assert.deepEqual(x, main.out[i], `output ${i}`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
