// src/backend/libm.ts against glibc: the exact fma emulation against a BigInt reference, the constant
// tables against their mathematical definitions, committed libm vectors (explicit input/output pairs and
// hashed output blocks of large deterministic input sets) bit for bit, a live cross-check against this
// machine's libm through Python ctypes when available, and a speed report.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as libm from '../../src/backend/libm.js';
import type { LibmVariant } from '../../src/backend/libm.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const FIXTURES = join(ROOT, 'test/fixtures/libm');
const SCRIPT = join(ROOT, 'scripts/libm-vectors.py');

type Fn = 'expf' | 'sinf' | 'cosf';
const FNS: readonly Fn[] = ['expf', 'sinf', 'cosf'];
const impl: Record<Fn, (x: number) => number> = { expf: libm.expf, sinf: libm.sinf, cosf: libm.cosf };

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
function bitsToF(u: number): number {
  u32[0] = u;
  return f32[0]!;
}
function fToBits(x: number): number {
  f32[0] = x;
  return u32[0]!;
}
const hex = (u: number) => '0x' + (u >>> 0).toString(16).padStart(8, '0');
const isNanBits = (u: number) => (u & 0x7f800000) === 0x7f800000 && (u & 0x7fffff) !== 0;

function withVariant<T>(v: LibmVariant, body: () => T): T {
  const prev = libm.getLibmVariant();
  libm.setLibmVariant(v);
  try {
    return body();
  } finally {
    libm.setLibmVariant(prev);
  }
}

/** Compare fn over input bits against expected output bits; NaN matches any NaN. Returns mismatch lines. */
function compare(fn: Fn, ins: Uint32Array, expected: Uint32Array): string[] {
  const f = impl[fn];
  const bad: string[] = [];
  const xs = new Float32Array(ins.buffer, ins.byteOffset, ins.length);
  const out = new Float32Array(ins.length);
  const outBits = new Uint32Array(out.buffer);
  for (let i = 0; i < ins.length; i++) out[i] = f(xs[i]!);
  for (let i = 0; i < ins.length; i++) {
    const a = outBits[i]!;
    const b = expected[i]!;
    if (a !== b && !(isNanBits(a) && isNanBits(b))) {
      if (bad.length < 20) bad.push(`${fn}(${hex(ins[i]!)} = ${xs[i]}) = ${hex(a)}, libm ${hex(b)}`);
      else if (bad.length === 20) bad.push('...');
    }
  }
  return bad;
}

// ------------------------------------------------------------------------------------------------------
// Exact BigInt reference for fma.

const d64 = new Float64Array(1);
const b64 = new BigUint64Array(d64.buffer);

/** x = sign * mant * 2^exp with mant an integer (finite x). */
function decompose(x: number): { mant: bigint; exp: number } {
  d64[0] = x;
  const bits = b64[0]!;
  const e = Number((bits >> 52n) & 0x7ffn);
  let mant = bits & ((1n << 52n) - 1n);
  let exp: number;
  if (e === 0) exp = -1074;
  else {
    mant |= 1n << 52n;
    exp = e - 1075;
  }
  return { mant: bits >> 63n ? -mant : mant, exp };
}

/** num * 2^exp rounded to the nearest double, ties to even (normal range only). */
function roundToDouble(num: bigint, exp: number): number {
  if (num === 0n) return 0;
  const neg = num < 0n;
  let a = neg ? -num : num;
  const len = a.toString(2).length;
  if (len > 53) {
    const shift = BigInt(len - 53);
    const q = a >> shift;
    const rem = a - (q << shift);
    const half = 1n << (shift - 1n);
    a = rem > half || (rem === half && (q & 1n) === 1n) ? q + 1n : q;
    exp += len - 53;
  }
  const v = Number(a) * 2 ** exp;
  return neg ? -v : v;
}

function fmaRef(a: number, b: number, c: number): number {
  const A = decompose(a);
  const B = decompose(b);
  const C = decompose(c);
  const pe = A.exp + B.exp;
  const e = Math.min(pe, C.exp);
  const sum = ((A.mant * B.mant) << BigInt(pe - e)) + (C.mant << BigInt(C.exp - e));
  if (sum === 0n) return a * b + c; // sign of zero as the hardware gives it
  return roundToDouble(sum, e);
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('fma is correctly rounded (against an exact BigInt reference)', () => {
  const r = rng(1);
  const randDouble = (emin: number, emax: number) =>
    (r() < 0.5 ? -1 : 1) * (1 + r()) * (1 + r() * 2 ** -26) * 2 ** Math.floor(emin + r() * (emax - emin));
  const cases: [number, number, number][] = [
    [1 + 2 ** -52, 1 + 2 ** -52, -1],
    [1 + 2 ** -30, 1 - 2 ** -30, -1],
    [0.1, 10, -1],
    [3, 1 / 3, -1],
  ];
  for (let i = 0; i < 20000; i++) {
    const a = randDouble(-60, 60);
    const b = randDouble(-60, 60);
    const kind = i % 4;
    let c: number;
    if (kind === 0) c = randDouble(-130, 130);
    else if (kind === 1) c = -(a * b) * (1 + (r() - 0.5) * 2 ** -40); // heavy cancellation
    else if (kind === 2) c = -(a * b);
    else {
      // a * b close to half an ulp of c: where a separately rounded product double-rounds
      c = randDouble(-10, 10);
      const half = Math.abs(c) * 2 ** -53;
      const t = half * (1 + (r() - 0.5) * 2 ** -50);
      cases.push([t * (1 + 2 ** -30), 1 - 2 ** -30 + (r() < 0.5 ? 2 ** -52 : 0), c]);
      cases.push([-t, 1 + 2 ** -29, c]);
    }
    cases.push([a, b, c]);
  }
  let naiveWrong = 0;
  for (const [a, b, c] of cases) {
    const want = fmaRef(a, b, c);
    const got = libm.fma(a, b, c);
    if (!Object.is(got, want)) assert.fail(`fma(${a}, ${b}, ${c}) = ${got}, exact ${want}`);
    if (a * b + c !== want) naiveWrong++;
  }
  assert.ok(naiveWrong > 1000, `the cases should exercise double rounding (naive wrong on ${naiveWrong})`);
  assert.equal(libm.fma(Infinity, 1, 1), Infinity);
  assert.ok(Number.isNaN(libm.fma(Infinity, 0, 1)));
  assert.ok(Number.isNaN(libm.fma(NaN, 1, 1)));
});

test('constant tables: 2^(i/32) correctly rounded, 4/pi to 192 bits', () => {
  libm.EXP2_TABLE_SIGNIFICANDS.forEach((m, i) => {
    const M = BigInt(m);
    const target = 1n << BigInt(i + 53 * 32);
    assert.ok((2n * M - 1n) ** 32n < target && target < (2n * M + 1n) ** 32n, `2^(${i}/32)`);
  });
  // pi by Machin's formula in 320-bit fixed point, then floor(4/pi * 2^191)
  const P = 320n;
  const one = 1n << P;
  const atanInv = (k: bigint) => {
    let sum = 0n;
    let term = one / k;
    for (let n = 0n; term !== 0n; n++) {
      sum += (n & 1n ? -term : term) / (2n * n + 1n);
      term /= k * k;
    }
    return sum;
  };
  const pi = 16n * atanInv(5n) - 4n * atanInv(239n);
  const fourOverPi = (4n << (191n + P)) / pi; // floor(4/pi * 2^191): 192 bits
  const words = libm.INV_PIO4_WORDS;
  assert.equal(words.length, 24);
  let table = 0n;
  for (let k = 0; k < 24; k++) table = (table << 8n) | BigInt(words[k]! & 0xff);
  assert.equal(table.toString(16), fourOverPi.toString(16));
  for (let k = 0; k < 24; k++) assert.equal(words[k], Number((table >> BigInt(8 * (23 - k))) & 0xffffffffn));
});

test('special values', () => {
  for (const v of ['fma', 'sse2'] as const) {
    withVariant(v, () => {
      assert.ok(Number.isNaN(libm.expf(NaN)));
      assert.equal(libm.expf(Infinity), Infinity);
      assert.ok(Object.is(libm.expf(-Infinity), 0));
      assert.equal(libm.expf(0), 1);
      assert.equal(libm.expf(-0), 1);
      assert.equal(libm.expf(100), Infinity);
      assert.ok(Object.is(libm.expf(-200), 0));
      assert.equal(libm.expf(-103.5), 2 ** -149);
      for (const x of [NaN, Infinity, -Infinity]) {
        assert.ok(Number.isNaN(libm.sinf(x)));
        assert.ok(Number.isNaN(libm.cosf(x)));
      }
      assert.ok(Object.is(libm.sinf(-0), -0));
      assert.ok(Object.is(libm.sinf(0), 0));
      assert.equal(libm.cosf(-0), 1);
      assert.equal(libm.sinf(2 ** -149), 2 ** -149);
      // inputs are rounded to float first
      assert.equal(libm.expf(0.1), libm.expf(Math.fround(0.1)));
      assert.equal(libm.sinf(1e10 + 0.3), libm.sinf(Math.fround(1e10 + 0.3)));
    });
  }
  assert.throws(() => libm.setLibmVariant('x87' as LibmVariant));
  assert.equal(libm.libmVariantForCpuFlags(['sse2', 'avx2', 'fma']), 'fma');
  assert.equal(libm.libmVariantForCpuFlags(['sse2', 'avx', 'fma4']), 'sse2');
});

// ------------------------------------------------------------------------------------------------------
// Committed vectors (scripts/libm-vectors.py).

interface RopeSet {
  kind: 'rope';
  base: number;
  n: number;
  thetaScaleBits: number;
  p0: number;
  p1: number;
  pstep: number;
}
interface StridedSet {
  kind: 'strided';
  lo: number;
  hi: number;
  stride: number;
}
type VectorSet = (RopeSet | StridedSet) & { funcs: Fn[]; count: number; blocks: Record<string, string[]> };
interface Manifest {
  glibc: string;
  variants: string[];
  files: Record<string, number>;
  block: number;
  sets: VectorSet[];
  disagreements: Record<Fn, number>;
}

const manifest: Manifest = JSON.parse(readFileSync(join(FIXTURES, 'sets.json'), 'utf8'));

function setInputs(s: VectorSet): Uint32Array {
  const out = new Uint32Array(s.count);
  let k = 0;
  if (s.kind === 'rope') {
    const scale = bitsToF(s.thetaScaleBits);
    const half = s.n / 2;
    for (let p = s.p0; p < s.p1; p += s.pstep) {
      let theta = Math.fround(p);
      for (let i = 0; i < half; i++) {
        out[k++] = fToBits(theta);
        theta = Math.fround(theta * scale);
      }
    }
  } else {
    for (let u = s.lo; u < s.hi; u += s.stride) out[k++] = u;
  }
  assert.equal(k, s.count, 'set generator and manifest disagree');
  return out;
}

function fnvBlocks(bits: Uint32Array, block: number): string[] {
  const hashes: string[] = [];
  for (let start = 0; start < bits.length; start += block) {
    let h = 0x811c9dc5;
    const end = Math.min(bits.length, start + block);
    for (let i = start; i < end; i++) h = Math.imul(h ^ bits[i]!, 16777619);
    hashes.push((h >>> 0).toString(16).padStart(8, '0'));
  }
  return hashes;
}

function loadPairs(name: string): { ins: Uint32Array; outs: Uint32Array } | undefined {
  const path = join(FIXTURES, name);
  if (!existsSync(path)) return undefined;
  const buf = readFileSync(path);
  const all = new Uint32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  const n = all.length / 2;
  const ins = new Uint32Array(n);
  const outs = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    ins[i] = all[2 * i]!;
    outs[i] = all[2 * i + 1]!;
  }
  return { ins, outs };
}

for (const variant of ['fma', 'sse2'] as const) {
  test(`libm vectors, ${variant} variant: explicit pairs`, (t) => {
    let total = 0;
    for (const fn of FNS) {
      const pairs = loadPairs(`pairs-${variant}-${fn}.bin`);
      if (!pairs) {
        assert.notEqual(variant, 'fma', `missing pairs-${variant}-${fn}.bin`);
        t.skip('no vectors for this variant');
        return;
      }
      const bad = withVariant(variant, () => compare(fn, pairs.ins, pairs.outs));
      assert.deepEqual(bad, [], `${bad.length} mismatches`);
      if (variant === 'fma') {
        // the same vectors with every polynomial through the exact fused evaluation
        libm._forceExactPath(true);
        try {
          const bad2 = withVariant(variant, () => compare(fn, pairs.ins, pairs.outs));
          assert.deepEqual(bad2, [], `${bad2.length} mismatches on the exact path`);
        } finally {
          libm._forceExactPath(false);
        }
      }
      total += pairs.ins.length;
    }
    t.diagnostic(`${total} pairs, 0 mismatches (glibc ${manifest.glibc})`);
  });

  test(`libm vectors, ${variant} variant: hashed RoPE / dense sets`, (t) => {
    if (!manifest.variants.includes(variant)) {
      assert.notEqual(variant, 'fma');
      t.skip('no vectors for this variant');
      return;
    }
    let total = 0;
    const failures: string[] = [];
    withVariant(variant, () => {
      for (const s of manifest.sets) {
        const ins = setInputs(s);
        const xs = new Float32Array(ins.buffer);
        const out = new Float32Array(ins.length);
        const outBits = new Uint32Array(out.buffer);
        for (const fn of s.funcs) {
          const f = impl[fn];
          for (let i = 0; i < xs.length; i++) out[i] = f(xs[i]!);
          const want = s.blocks[`${variant}/${fn}`]!;
          const got = fnvBlocks(outBits, manifest.block);
          assert.equal(got.length, want.length);
          for (let b = 0; b < got.length; b++) {
            if (got[b] !== want[b]) failures.push(`${fn} ${JSON.stringify({ ...s, blocks: undefined })} block ${b}`);
          }
          total += ins.length;
        }
      }
    });
    assert.deepEqual(failures.slice(0, 10), [], `${failures.length} blocks differ`);
    t.diagnostic(`${total} outputs in ${manifest.sets.length} sets, all blocks equal`);
  });
}

// ------------------------------------------------------------------------------------------------------
// Live cross-check against this machine's libm.

function pythonInfo(): { native: string; variants: string[]; glibc: string } | undefined {
  const r = spawnSync('python3', [SCRIPT, '--info'], { encoding: 'utf8', timeout: 20000 });
  if (r.status !== 0 || !r.stdout) return undefined;
  try {
    return JSON.parse(r.stdout);
  } catch {
    return undefined;
  }
}

function liveInputs(fn: Fn, n: number, seed: number): Uint32Array {
  const r = rng(seed);
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const k = i % 4;
    const u = (r() * 4294967296) >>> 0;
    let x: number;
    if (k === 0) {
      out[i] = u; // any bit pattern
      continue;
    } else if (fn === 'expf') {
      x = k === 1 ? -104 + 193 * r() : k === 2 ? -20 + 40 * r() : (r() - 0.5) * 2 ** (r() * 8);
    } else {
      x = k === 1 ? 262144 * r() : k === 2 ? -120 + 240 * r() : (r() - 0.5) * 2 ** (r() * 40);
    }
    out[i] = fToBits(x);
  }
  return out;
}

test('live cross-check against libm (python3 ctypes)', (t) => {
  const info = pythonInfo();
  if (!info) {
    t.skip('python3 with ctypes not available');
    return;
  }
  if (info.native !== 'fma' && info.native !== 'sse2') {
    t.skip(`libm here is not an x86-64 glibc build these functions model (${info.native})`);
    return;
  }
  const seed = (Date.now() ^ process.pid) >>> 0;
  const report: string[] = [];
  for (const variant of info.variants.filter((v): v is LibmVariant => v === 'fma' || v === 'sse2')) {
    const n = variant === info.native ? 200000 : 50000;
    for (const fn of FNS) {
      const ins = liveInputs(fn, n, seed + fn.length);
      const r = spawnSync('python3', [SCRIPT, '--eval', fn, '--variant', variant], {
        input: Buffer.from(ins.buffer),
        maxBuffer: 64 << 20,
        timeout: 60000,
      });
      assert.equal(r.status, 0, `python: ${r.stderr?.toString()}`);
      const outs = new Uint32Array(r.stdout.buffer.slice(r.stdout.byteOffset, r.stdout.byteOffset + r.stdout.byteLength));
      assert.equal(outs.length, ins.length);
      const bad = withVariant(variant, () => compare(fn, ins, outs));
      assert.deepEqual(bad, [], `seed ${seed}: ${bad.length} mismatches against live libm (${variant})`);
      report.push(`${variant}/${fn} ${n}`);
    }
  }
  t.diagnostic(`glibc ${info.glibc}, seed ${seed}: 0 mismatches on ${report.join(', ')}`);
});

// ------------------------------------------------------------------------------------------------------

test('speed', (t) => {
  const N = 1 << 20;
  const rope = new Float32Array(N);
  const small = new Float32Array(N);
  const args = new Float32Array(N);
  const r = rng(7);
  for (let i = 0; i < N; i++) {
    // RoPE: p up to 32768, head dim 128, base 1e6: most angles small, the first few large
    const p = Math.floor(r() * 32768);
    const j = Math.floor(r() * 64);
    rope[i] = Math.fround(p * Math.fround(1e6) ** (-j / 64));
    small[i] = Math.fround((r() - 0.5) * 200);
    args[i] = Math.fround((r() - 0.5) * 40);
  }
  const { expf, sinf, cosf } = libm; // locals: imported bindings are getters under tsx
  const fround = Math.fround;
  const time = (f: (x: number) => number, xs: Float32Array) => {
    let best = Infinity;
    let acc = 0;
    for (let rep = 0; rep < 4; rep++) {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < xs.length; i++) acc += f(xs[i]!);
      best = Math.min(best, Number(process.hrtime.bigint() - t0) / xs.length);
    }
    assert.ok(!Number.isNaN(acc));
    return best.toFixed(1);
  };
  const lines = [
    `expf [-20, 20]: ${time(expf, args)} ns (Math.exp ${time((x) => fround(Math.exp(x)), args)})`,
    `sinf |x| < 100: ${time(sinf, small)} ns, cosf ${time(cosf, small)} ns (Math.sin ${time((x) => fround(Math.sin(x)), small)})`,
    `sinf RoPE angles: ${time(sinf, rope)} ns, cosf ${time(cosf, rope)} ns (Math.cos ${time((x) => fround(Math.cos(x)), rope)})`,
  ];
  for (const l of lines) t.diagnostic(l + ' per call');
});
