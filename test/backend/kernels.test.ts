// The CPU backend's kernels against plain-JS oracles computed in f64.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { slice, type Matrix } from '../../src/backend/backend.js';
import { CpuBackend } from '../../src/backend/cpu/cpu-backend.js';
import { vExpf } from '../../src/backend/ggml-math.js';
import { GGMLType, typeName } from '../../src/gguf/ggml-types.js';
import { dequantizeRow, f16ToF32, f32ToF16, quantizeRow, rowBytes } from '../../src/gguf/quant/index.js';
import { Rng } from '../../src/model/make/rng.js';

function randn(n: number, seed: number, std = 1): Float32Array {
  const a = new Float32Array(n);
  new Rng(seed).fillNormal(a, std);
  return a;
}

/** The activation values llama.cpp multiplies a weight of this type with. */
function roundActivations(type: GGMLType, x: Float32Array): Float32Array {
  const f = Math.fround;
  const out = new Float32Array(x);
  if (type === GGMLType.F32) return out;
  if (type === GGMLType.F16) return out.map((v) => f16ToF32(f32ToF16(v)));
  if (type === GGMLType.BF16) {
    const q = new Uint8Array(out.length * 2);
    quantizeRow(GGMLType.BF16, out, q, out.length);
    dequantizeRow(GGMLType.BF16, q, out, out.length);
    return out;
  }
  const kQuant = [GGMLType.Q2_K, GGMLType.Q3_K, GGMLType.Q4_K, GGMLType.Q5_K, GGMLType.Q6_K].includes(type);
  const block = kQuant ? 256 : 32;
  for (let b = 0; b < out.length / block; b++) {
    const xs = out.subarray(b * block, (b + 1) * block);
    if (kQuant) {
      let amax = 0, mx = 0;
      for (const v of xs) if (Math.abs(v) > amax) { amax = Math.abs(v); mx = v; }
      if (amax === 0) continue;
      const iscale = f(-127 / mx), d = f(1 / iscale);
      for (let i = 0; i < block; i++) {
        const v = f(iscale * xs[i]!);
        let q = Math.round(v);
        if (Math.abs(v % 1) === 0.5) q = 2 * Math.round(v / 2);
        xs[i] = f(d * Math.min(127, q));
      }
    } else {
      let amax = 0;
      for (const v of xs) amax = Math.max(amax, Math.abs(v));
      const d = f16ToF32(f32ToF16(f(amax / 127))), id = amax ? f(127 / amax) : 0;
      for (let i = 0; i < block; i++) {
        const v = f(xs[i]! * id);
        let q = Math.round(v);
        if (Math.abs(v % 1) === 0.5) q = 2 * Math.round(v / 2);
        xs[i] = f(q * d);
      }
    }
  }
  return out;
}

/** A rows x cols matrix of normal random weights in `type`: its GGUF bytes and the backend's copy. */
function randomMatrix(B: CpuBackend, type: GGMLType, rows: number, cols: number, seed: number): { raw: Uint8Array; m: Matrix } {
  const W = randn(rows * cols, seed);
  const rb = rowBytes(type, cols);
  const raw = new Uint8Array(rows * rb);
  for (let r = 0; r < rows; r++) quantizeRow(type, W.subarray(r * cols, (r + 1) * cols), raw.subarray(r * rb, (r + 1) * rb), cols);
  return { raw, m: B.uploadMatrix({ name: 'w', type, rows, cols, readRows: (r0, n) => raw.subarray(r0 * rb, (r0 + n) * rb) }) };
}

describe('matmul', () => {
  const types = [GGMLType.F32, GGMLType.F16, GGMLType.BF16, GGMLType.Q8_0, GGMLType.Q4_0, GGMLType.Q4_1, GGMLType.Q5_0,
    GGMLType.Q5_1, GGMLType.Q2_K, GGMLType.Q3_K, GGMLType.Q4_K, GGMLType.Q5_K, GGMLType.Q6_K];
  for (const type of types) {
    test(`${typeName(type)} weights equal dequantized weights times llama.cpp-rounded activations`, () => {
      const B = new CpuBackend();
      const rows = 19, cols = 512, nt = 5;
      const { raw, m } = randomMatrix(B, type, rows, cols, 1);
      const Wd = new Float32Array(rows * cols);
      dequantizeRow(type, raw, Wd, rows * cols);
      const X = randn(nt * cols, 2);
      const y = B.alloc(nt * rows);
      B.matmul(y, m, B.uploadVector(X), nt);
      const Y = B.view(y);
      for (let t = 0; t < nt; t++) {
        const xr = roundActivations(type, X.subarray(t * cols, (t + 1) * cols));
        for (let r = 0; r < rows; r++) {
          let s = 0, mag = 0;
          for (let i = 0; i < cols; i++) {
            s += Wd[r * cols + i]! * xr[i]!;
            mag += Math.abs(Wd[r * cols + i]! * xr[i]!);
          }
          assert.ok(Math.abs(Y[t * rows + r]! - s) <= 2e-6 * mag + 1e-6, `${typeName(type)} t${t} r${r}: ${Y[t * rows + r]} vs ${s}`);
        }
      }
    });
  }

  // From 1 MiB an f32 product of several tokens streams panels of rows into the cache before multiplying
  // (kernels/matmul.ts); the sums must stay those of one token at a time (tinyBLAS's order either way).
  for (const type of [GGMLType.F32, GGMLType.F16]) {
    test(`${typeName(type)}: a matrix over 1 MiB gives each token of a batch the bits it gets alone`, () => {
      const B = new CpuBackend();
      const rows = 1028, cols = 512, nt = 5;
      const { m } = randomMatrix(B, type, rows, cols, 5);
      const X = randn(nt * cols, 6);
      const y = B.alloc(nt * rows);
      B.matmul(y, m, B.uploadVector(X), nt);
      const batched = [...B.view(y)];
      for (let t = 0; t < nt; t++) {
        const one = B.alloc(rows);
        B.matmul(one, m, B.uploadVector(X.slice(t * cols, (t + 1) * cols)), 1);
        assert.deepEqual(batched.slice(t * rows, (t + 1) * rows), [...B.view(one)], `token ${t}`);
      }
    });
  }

  for (const type of [GGMLType.F32, GGMLType.F16, GGMLType.Q8_0, GGMLType.Q4_0, GGMLType.Q4_K, GGMLType.Q6_K]) {
    test(`${typeName(type)}: a product over chosen rows of an input equals one over a gathered copy, bit for bit`, () => {
      const B = new CpuBackend();
      const rows = 16, cols = 512, src = 5;
      const { m } = randomMatrix(B, type, rows, cols, 3);
      const X = randn(src * cols, 4);
      const x = B.uploadVector(X);
      for (const pick of [[4, 0, 4, 2], [1, 2], [0, 1, 2, 3, 4], [3]]) {
        const copy = B.uploadVector(Float32Array.from(pick.flatMap((r) => [...X.subarray(r * cols, (r + 1) * cols)])));
        const want = B.alloc(pick.length * rows), got = B.alloc(pick.length * rows);
        B.matmul(want, m, copy, pick.length);
        // With a plain product on the same input in the same call, as an MoE layer's shared expert.
        const whole = B.alloc(src * rows);
        B.matmuls([{ y: got, w: m, x, nt: pick.length, rows: pick }, { y: whole, w: m, x, nt: src }]);
        assert.deepEqual([...B.view(got)], [...B.view(want)], `rows ${pick}`);
      }
      const y = B.alloc(4 * rows);
      assert.throws(() => B.matmuls([{ y, w: m, x, nt: 1, rows: [5] }]), RangeError);
      assert.throws(() => B.matmuls([{ y, w: m, x, nt: 2, rows: [1] }]), /2 tokens|1 rows/);
    });
  }

  // 7 rows keep the row layout; 12 are interleaved in groups of four (kernels/q8_0x4.ts).
  for (const rows of [7, 12]) test(`Q8_0 accumulates in llama.cpp x86 order, bit for bit (${rows} rows)`, () => {
    const B = new CpuBackend();
    const cols = 256, nt = 3;
    const W = randn(rows * cols, 3);
    const rb = rowBytes(GGMLType.Q8_0, cols);
    const raw = new Uint8Array(rows * rb);
    for (let r = 0; r < rows; r++) quantizeRow(GGMLType.Q8_0, W.subarray(r * cols, (r + 1) * cols), raw.subarray(r * rb, (r + 1) * rb), cols);
    const m = B.uploadMatrix({ name: 'w', type: GGMLType.Q8_0, rows, cols, readRows: (r0, n) => raw.subarray(r0 * rb, (r0 + n) * rb) });
    const X = randn(nt * cols, 4);
    const y = B.alloc(nt * rows);
    B.matmul(y, m, B.uploadVector(X), nt);
    const f = Math.fround;
    for (let t = 0; t < nt; t++) {
      // Activations quantized like quantize_row_q8_0 (AVX): id = 127/amax, round half to even, d in f16.
      const xq = new Int8Array(cols), xd = new Float32Array(cols / 32);
      for (let b = 0; b < cols / 32; b++) {
        let amax = 0;
        for (let i = 0; i < 32; i++) amax = Math.max(amax, Math.abs(X[t * cols + b * 32 + i]!));
        xd[b] = f16ToF32(f32ToF16(f(amax / 127)));
        const id = f(127 / amax);
        for (let i = 0; i < 32; i++) {
          const v = f(X[t * cols + b * 32 + i]! * id);
          let q = Math.round(v);
          if (Math.abs(v % 1) === 0.5) q = 2 * Math.round(v / 2);
          xq[b * 32 + i] = q;
        }
      }
      for (let r = 0; r < rows; r++) {
        const acc = new Array<number>(8).fill(0);
        for (let b = 0; b < cols / 32; b++) {
          const o = r * rb + b * 34;
          const d = f(f16ToF32(raw[o]! | (raw[o + 1]! << 8)) * xd[b]!);
          for (let l = 0; l < 8; l++) {
            let q = 0;
            for (let j = 0; j < 4; j++) q += ((raw[o + 2 + l * 4 + j]! << 24) >> 24) * xq[b * 32 + l * 4 + j]!;
            acc[l] = f(d * q + acc[l]!);
          }
        }
        const a = acc;
        const want = f(f(f(a[0]! + a[4]!) + f(a[2]! + a[6]!)) + f(f(a[1]! + a[5]!) + f(a[3]! + a[7]!)));
        assert.equal(B.view(y)[t * rows + r], want);
      }
    }
  });

  test('rejects tokens that do not fit its buffers', () => {
    const B = new CpuBackend();
    const m = B.uploadMatrix({ name: 'w', type: GGMLType.F32, rows: 4, cols: 8, readRows: (_r0, n) => new Uint8Array(n * 32) });
    assert.throws(() => B.matmul(B.alloc(4), m, B.alloc(8), 2), /do not fit/);
  });
});

describe('attention', () => {
  function naive(q: Float32Array, K: Float32Array, Vv: Float32Array, nt: number, pos0: number, nHead: number, nKv: number, hd: number, cap: number, window: number): Float64Array {
    const out = new Float64Array(nt * nHead * hd);
    for (let t = 0; t < nt; t++) {
      const P = pos0 + t;
      for (let h = 0; h < nHead; h++) {
        const g = Math.floor(h / (nHead / nKv));
        const keys: number[] = [];
        for (let j = 0; j <= P; j++) if (window === 0 || P - j < window) keys.push(j);
        const s = keys.map((j) => {
          let d = 0;
          for (let i = 0; i < hd; i++) d += q[(t * nHead + h) * hd + i]! * K[((j % cap) * nKv + g) * hd + i]!;
          return d / Math.sqrt(hd);
        });
        const mx = Math.max(...s);
        const e = s.map((v) => Math.exp(v - mx));
        const sum = e.reduce((a, b) => a + b, 0);
        keys.forEach((j, n) => {
          for (let i = 0; i < hd; i++) out[(t * nHead + h) * hd + i] += (e[n]! / sum) * Vv[((j % cap) * nKv + g) * hd + i]!;
        });
      }
    }
    return out;
  }

  for (const [hd, window, pos0, nt, cap] of [[16, 0, 0, 9, 64], [32, 5, 3, 12, 20], [64, 0, 40, 1, 64], [128, 16, 70, 4, 24]] as const) {
    test(`head dim ${hd}, window ${window}, positions ${pos0}..${pos0 + nt - 1}, ring of ${cap}`, () => {
      const B = new CpuBackend();
      const nHead = 6, nKv = 2;
      const q = randn(nt * nHead * hd, 5), K = randn(cap * nKv * hd, 6), V = randn(cap * nKv * hd, 7);
      const o = B.alloc(nt * nHead * hd);
      B.attention(o, B.uploadVector(q), B.uploadVector(K), B.uploadVector(V), nt, pos0, nHead, nKv, hd, cap, window, 1 / Math.sqrt(hd));
      const want = naive(q, K, V, nt, pos0, nHead, nKv, hd, cap, window);
      const got = B.view(o);
      for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) < 2e-5, `${i}: ${got[i]} vs ${want[i]}`);
    });
  }
});

describe('small kernels', () => {
  test('rmsNorm with and without a gain', () => {
    const B = new CpuBackend();
    const x = randn(3 * 40, 8), w = randn(40, 9);
    const y = B.alloc(120), y2 = B.alloc(120);
    B.rmsNorm(y, B.uploadVector(x), B.uploadVector(w), 3, 40, 1e-5);
    B.rmsNorm(y2, B.uploadVector(x), null, 3, 40, 1e-5);
    for (let r = 0; r < 3; r++) {
      let ss = 0;
      for (let i = 0; i < 40; i++) ss += x[r * 40 + i]! ** 2;
      const s = 1 / Math.sqrt(ss / 40 + 1e-5);
      for (let i = 0; i < 40; i++) {
        assert.ok(Math.abs(B.view(y)[r * 40 + i]! - x[r * 40 + i]! * s * w[i]!) < 1e-5);
        assert.ok(Math.abs(B.view(y2)[r * 40 + i]! - x[r * 40 + i]! * s) < 1e-5);
      }
    }
  });

  for (const neox of [true, false]) {
    test(`rope (${neox ? 'NeoX halves' : 'adjacent pairs'}) rotates only the first nRot dims`, () => {
      const B = new CpuBackend();
      const nt = 2, nHeads = 3, hd = 16, nRot = 8;
      const x = randn(nt * nHeads * hd, 10);
      const cs = new Float32Array(nt * (nRot / 2) * 2);
      for (let i = 0; i < cs.length / 2; i++) {
        cs[2 * i] = Math.cos(i * 0.3);
        cs[2 * i + 1] = Math.sin(i * 0.3);
      }
      const t = B.uploadVector(x);
      B.rope(t, nt, nHeads, hd, nRot, neox, cs);
      const got = B.view(t);
      for (let tok = 0; tok < nt; tok++) {
        for (let h = 0; h < nHeads; h++) {
          const base = (tok * nHeads + h) * hd;
          for (let i = 0; i < nRot / 2; i++) {
            const [a, b] = neox ? [i, i + nRot / 2] : [2 * i, 2 * i + 1];
            const c = cs[(tok * (nRot / 2) + i) * 2]!, s = cs[(tok * (nRot / 2) + i) * 2 + 1]!;
            assert.ok(Math.abs(got[base + a]! - (x[base + a]! * c - x[base + b]! * s)) < 1e-6);
            assert.ok(Math.abs(got[base + b]! - (x[base + a]! * s + x[base + b]! * c)) < 1e-6);
          }
          for (let i = nRot; i < hd; i++) assert.equal(got[base + i], x[base + i]);
        }
      }
    });
  }

  test('swiglu: plain, and clamped as min(silu(g), L) * clamp(u, -L, L)', () => {
    const B = new CpuBackend();
    const g = randn(2 * 40, 11, 6), u = randn(2 * 40, 12, 6);
    const y = B.alloc(80), yc = B.alloc(80);
    B.swiglu(y, B.uploadVector(g), B.uploadVector(u), 2, 40, 0);
    B.swiglu(yc, B.uploadVector(g), B.uploadVector(u), 2, 40, 3);
    for (let i = 0; i < 80; i++) {
      const silu = g[i]! / (1 + Math.exp(-g[i]!));
      assert.ok(Math.abs(B.view(y)[i]! - silu * u[i]!) < 1e-5 * (1 + Math.abs(silu * u[i]!)));
      const want = Math.min(silu, 3) * Math.min(Math.max(u[i]!, -3), 3);
      assert.ok(Math.abs(B.view(yc)[i]! - want) < 1e-5 * (1 + Math.abs(want)));
    }
  });

  test('ggml_v_expf is within 2 ulp of exp and the wasm copy agrees bit for bit', () => {
    const B = new CpuBackend();
    const xs = randn(2000, 13, 20);
    for (const x of xs) {
      const v = vExpf(x);
      assert.ok(Math.abs(v - Math.exp(x)) <= 2.5 * 2 ** -23 * Math.exp(x), `${x}: ${v}`);
      assert.equal(B.k.v_expf(x), v);
    }
    assert.equal(vExpf(-200), 0);
    assert.equal(vExpf(200), Infinity);
  });

  test('headGate scales each head by sigmoid of its gate logit', () => {
    const B = new CpuBackend();
    const x = randn(2 * 3 * 4, 14), g = randn(2 * 3, 15);
    const t = B.uploadVector(x);
    B.headGate(t, B.uploadVector(g), 2, 3, 4);
    for (let h = 0; h < 6; h++) for (let i = 0; i < 4; i++) assert.ok(Math.abs(B.view(t)[h * 4 + i]! - x[h * 4 + i]! / (1 + Math.exp(-g[h]!))) < 1e-6);
  });

  test('slice checks its bounds', () => {
    const B = new CpuBackend();
    const t = B.alloc(10);
    assert.equal(slice(t, 2, 8).ptr, t.ptr + 8);
    assert.throws(() => slice(t, 5, 6), RangeError);
  });
});
