import { fma32, fma4, reduce16, vec_dot_f32 } from './ggml-order';

// Normalisation, rotary embedding and attention kernels (f32).

/** y = x / sqrt(mean(x^2) + eps) (* w when w != 0), per row of `dim` values; sums in f64 like ggml. */
export function rms_norm(x: usize, w: usize, y: usize, nrows: i32, dim: i32, eps: f32): void {
  for (let r = 0; r < nrows; r++) {
    const xr = x + ((<usize>r * dim) << 2);
    const yr = y + ((<usize>r * dim) << 2);
    let sum: f64 = 0;
    for (let i = 0; i < dim; i++) {
      const v = load<f32>(xr + (<usize>i << 2));
      sum += <f64>(v * v);
    }
    const mean = <f32>(sum / <f64>dim);
    const scale: f32 = <f32>1.0 / Mathf.sqrt(mean + eps);
    if (w != 0) {
      for (let i = 0; i < dim; i++) {
        const o = <usize>i << 2;
        store<f32>(yr + o, load<f32>(xr + o) * scale * load<f32>(w + o));
      }
    } else {
      for (let i = 0; i < dim; i++) {
        const o = <usize>i << 2;
        store<f32>(yr + o, load<f32>(xr + o) * scale);
      }
    }
  }
}

/**
 * Rotary embedding in place on x[nt][nHeads*hd], rotating the first nRot dims of each head.
 * cs holds (cos, sin) pairs per token: cs[t][i] for i < nRot/2. neox != 0 pairs dim i with i + nRot/2
 * (rotate-half layout); otherwise pairs 2i with 2i+1 (the original GPT-J/llama layout).
 */
export function rope(x: usize, nt: i32, nHeads: i32, hd: i32, nRot: i32, neox: i32, cs: usize): void {
  const half = nRot >> 1;
  for (let t = 0; t < nt; t++) {
    const cst = cs + ((<usize>t * half) << 3);
    for (let h = 0; h < nHeads; h++) {
      const xh = x + ((<usize>(t * nHeads + h) * hd) << 2);
      for (let i = 0; i < half; i++) {
        const c = load<f32>(cst + (<usize>i << 3));
        const s = load<f32>(cst + (<usize>i << 3) + 4);
        const i0 = neox != 0 ? i : i << 1;
        const i1 = neox != 0 ? i + half : (i << 1) + 1;
        const p0 = xh + (<usize>i0 << 2);
        const p1 = xh + (<usize>i1 << 2);
        const x0 = load<f32>(p0);
        const x1 = load<f32>(p1);
        // llama.cpp's compiler fuses these: x0*c - x1*s as fma(x0, c, -(x1*s)), x0*s + x1*c as fma(x0, s, x1*c).
        store<f32>(p0, fma32(x0, c, -(x1 * s)));
        store<f32>(p1, fma32(x0, s, x1 * c));
      }
    }
  }
}

// ---- Attention, computed in llama.cpp's order ------------------------------------------------------
//
// llama.cpp (no flash attention, f32 cache) computes each score with ggml_vec_dot_f32, the softmax with
// ggml_vec_soft_max_f32 over 16-wide chunks of cache cells (its exp is a polynomial, ggml_v_expf), and the
// weighted sum of values with its f32 GEMM, which keeps 16 fused-multiply-add lanes over the cells and
// reduces them as _mm512_reduce_add_ps does. Reproducing that order keeps attention outputs bit-identical,
// which matters because the next matmul rounds them to 8-bit integers. Cells hold positions in order, so
// a cell's lane is its position mod 16.

/** ggml_v_expf (AVX-512 build). */
export function v_expf(x: f32): f32 {
  const R: f32 = 12582912.0;
  const z = fma32(x, reinterpret<f32>(0x3fb8aa3b), R);
  const n: f32 = z - R;
  const b: f32 = <f32>(<f64>(<f32>(<f64>x - <f64>n * <f64>reinterpret<f32>(0x3f317200))) - <f64>n * <f64>reinterpret<f32>(0x35bfbe8e));
  if (Mathf.abs(n) > 192) return n <= 0 ? 0 : Infinity;
  const u: f32 = b * b;
  const j = fma32(fma32(fma32(reinterpret<f32>(0x3c072010), b, reinterpret<f32>(0x3d2b9f17)), u, fma32(reinterpret<f32>(0x3e2aaf33), b, reinterpret<f32>(0x3efffedb))), u, fma32(reinterpret<f32>(0x3f7ffff6), b, 1.0));
  return <f32>(<f64>j * Math.pow(2.0, <f64>n));
}

/** ggml_v_expf on four lanes (see v_expf). */
@inline export function v_expf4(x: v128): v128 {
  const R = f32x4.splat(12582912.0);
  const z = fma4(x, f32x4.splat(reinterpret<f32>(0x3fb8aa3b)), R);
  const n = f32x4.sub(z, R);
  const negn = f32x4.neg(n);
  const b = fma4(negn, f32x4.splat(reinterpret<f32>(0x35bfbe8e)), fma4(negn, f32x4.splat(reinterpret<f32>(0x3f317200)), x));
  const u = f32x4.mul(b, b);
  const j = fma4(
    fma4(fma4(f32x4.splat(reinterpret<f32>(0x3c072010)), b, f32x4.splat(reinterpret<f32>(0x3d2b9f17))), u,
      fma4(f32x4.splat(reinterpret<f32>(0x3e2aaf33)), b, f32x4.splat(reinterpret<f32>(0x3efffedb)))),
    u, fma4(f32x4.splat(reinterpret<f32>(0x3f7ffff6)), b, f32x4.splat(1.0)));
  // scalef(j, n) = j * 2^n with one rounding: exact in f64, then rounded to f32. 2^n is built from its
  // exponent bits (n is an integer in [-192, 192] on the path that is used).
  const ni = i32x4.trunc_sat_f32x4_s(f32x4.max(f32x4.min(n, f32x4.splat(200)), f32x4.splat(-200)));
  const lo = f64x2.mul(f64x2.promote_low_f32x4(j), pow2x2(i64x2.extend_low_i32x4_s(ni)));
  const hi = f64x2.mul(f64x2.promote_low_f32x4(i32x4.shuffle(j, j, 2, 3, 2, 3)), pow2x2(i64x2.extend_high_i32x4_s(ni)));
  let res = i32x4.shuffle(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5);
  const far = f32x4.gt(f32x4.abs(n), f32x4.splat(192));
  if (v128.any_true(far)) {
    const alt = v128.bitselect(f32x4.splat(0), f32x4.splat(Infinity), f32x4.le(n, f32x4.splat(0)));
    res = v128.bitselect(alt, res, far);
  }
  return res;
}

@inline function pow2x2(e: v128): v128 {
  return i64x2.shl(i64x2.add(e, i64x2.splat(1023)), 52);
}

/**
 * Scores of eight keys (rows at k0 + j * ks for j < 8 with ring wrap: the caller passes each row) against
 * q when the head has fewer than 64 dimensions: then ggml_vec_dot_f32 is its scalar tail alone, one
 * rounded product added at a time in order, which lanes (one key each) repeat exactly. The keys are read
 * four elements at a time and transposed; two groups of four keep two independent chains in flight.
 */
@inline function transposeStep(a: v128, b: v128, c: v128, d: v128, q: usize, acc: v128): v128 {
  // Columns of the 4x4 block [a; b; c; d]: element e of the four keys, e = 0..3.
  const ab0 = i32x4.shuffle(a, b, 0, 4, 1, 5), cd0 = i32x4.shuffle(c, d, 0, 4, 1, 5);
  const ab1 = i32x4.shuffle(a, b, 2, 6, 3, 7), cd1 = i32x4.shuffle(c, d, 2, 6, 3, 7);
  acc = f32x4.add(acc, f32x4.mul(i64x2.shuffle(ab0, cd0, 0, 2), v128.load32_splat(q)));
  acc = f32x4.add(acc, f32x4.mul(i64x2.shuffle(ab0, cd0, 1, 3), v128.load32_splat(q, 4)));
  acc = f32x4.add(acc, f32x4.mul(i64x2.shuffle(ab1, cd1, 0, 2), v128.load32_splat(q, 8)));
  return f32x4.add(acc, f32x4.mul(i64x2.shuffle(ab1, cd1, 1, 3), v128.load32_splat(q, 12)));
}

/** Stores the scaled scores of the keys at k0..k7 (hd a multiple of 4, under 64) at out; returns their max. */
@inline function scores8(k0: usize, k1: usize, k2: usize, k3: usize, k4: usize, k5: usize, k6: usize, k7: usize, q: usize, hd: i32, scale: v128, out: usize): v128 {
  let a = f32x4.splat(0), b = f32x4.splat(0);
  for (let i = 0; i < hd; i += 4) {
    const o = <usize>i << 2;
    a = transposeStep(v128.load(k0 + o), v128.load(k1 + o), v128.load(k2 + o), v128.load(k3 + o), q + o, a);
    b = transposeStep(v128.load(k4 + o), v128.load(k5 + o), v128.load(k6 + o), v128.load(k7 + o), q + o, b);
  }
  a = f32x4.mul(a, scale);
  b = f32x4.mul(b, scale);
  v128.store(out, a);
  v128.store(out, b, 16);
  return f32x4.max(a, b);
}

/**
 * out[d] = _mm512_reduce_add_ps over the 16 accumulator rows' element d, for every d (rows of hd floats
 * at acc): the reduction's additions are elementwise across d, so four d are reduced at once.
 */
@inline export function reduceRows16(acc: usize, hd: i32, out: usize): void {
  const rb = <usize>hd << 2;
  for (let d = 0; d < hd; d += 4) {
    const p = acc + (<usize>d << 2);
    const t0 = f32x4.add(f32x4.add(v128.load(p + 12 * rb), v128.load(p + 4 * rb)), f32x4.add(v128.load(p + 8 * rb), v128.load(p)));
    const t1 = f32x4.add(f32x4.add(v128.load(p + 13 * rb), v128.load(p + 5 * rb)), f32x4.add(v128.load(p + 9 * rb), v128.load(p + rb)));
    const t2 = f32x4.add(f32x4.add(v128.load(p + 14 * rb), v128.load(p + 6 * rb)), f32x4.add(v128.load(p + 10 * rb), v128.load(p + 2 * rb)));
    const t3 = f32x4.add(f32x4.add(v128.load(p + 15 * rb), v128.load(p + 7 * rb)), f32x4.add(v128.load(p + 11 * rb), v128.load(p + 3 * rb)));
    v128.store(out + (<usize>d << 2), f32x4.add(f32x4.add(t0, t2), f32x4.add(t1, t3)));
  }
}

/**
 * Accumulator row l of every row of a tile: for each query row g (its probability of cell c at
 * probs + g * ps + (c << cs), its row l at out + g * os), the fused multiply-add chain over positions
 * j0, j0 + 16, ... <= P of probability times value, all hd dimensions. The rows' chains run side by side so
 * each value load serves them all; each chain keeps its own order.
 */
@inline function valueChains(v: usize, rowAt: usize, probs: usize, ps: usize, cs: i32, base: i32, j0: i32, P: i32, G: i32, hd: i32, out: usize, os: usize): void {
  let d = 0;
  if (G == 2) {
    for (; d + 16 <= hd; d += 16) chains2x16(v + (<usize>d << 2), rowAt, probs, ps, cs, base, j0, P, out + (<usize>d << 2), os);
  } else if (G == 3) {
    for (; d + 8 <= hd; d += 8) chains3x8(v + (<usize>d << 2), rowAt, probs, ps, cs, base, j0, P, out + (<usize>d << 2), os);
  } else if (G == 4) {
    for (; d + 8 <= hd; d += 8) chains4x8(v + (<usize>d << 2), rowAt, probs, ps, cs, base, j0, P, out + (<usize>d << 2), os);
  } else {
    for (; d + 16 <= hd; d += 16) chains1x16(v + (<usize>d << 2), rowAt, probs, cs, base, j0, P, out + (<usize>d << 2));
  }
  for (; d < hd; d += 4) {
    for (let g = 0; g < G; g++) {
      const pg = probs + <usize>g * ps;
      let a0 = f32x4.splat(0);
      for (let jj = j0; jj <= P; jj += 16) {
        a0 = fma4(v128.load(v + load<u32>(rowAt + (<usize>(jj - base) << 2)) + (<usize>d << 2)), v128.load32_splat(pg + (<usize>(jj - base) << cs)), a0);
      }
      v128.store(out + <usize>g * os + (<usize>d << 2), a0);
    }
  }
}

@inline function chains1x16(v: usize, rowAt: usize, probs: usize, cs: i32, base: i32, j0: i32, P: i32, out: usize): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  for (let jj = j0; jj <= P; jj += 16) {
    const c = <usize>(jj - base);
    const pv = v128.load32_splat(probs + (c << cs));
    const vp = v + load<u32>(rowAt + (c << 2));
    a0 = fma4(v128.load(vp), pv, a0);
    a1 = fma4(v128.load(vp, 16), pv, a1);
    a2 = fma4(v128.load(vp, 32), pv, a2);
    a3 = fma4(v128.load(vp, 48), pv, a3);
  }
  v128.store(out, a0); v128.store(out, a1, 16); v128.store(out, a2, 32); v128.store(out, a3, 48);
}

@inline function chains2x16(v: usize, rowAt: usize, probs: usize, ps: usize, cs: i32, base: i32, j0: i32, P: i32, out: usize, os: usize): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let b0 = f32x4.splat(0), b1 = f32x4.splat(0), b2 = f32x4.splat(0), b3 = f32x4.splat(0);
  const pb = probs + ps;
  for (let jj = j0; jj <= P; jj += 16) {
    const c = <usize>(jj - base);
    const pa = v128.load32_splat(probs + (c << cs)), pbv = v128.load32_splat(pb + (c << cs));
    const vp = v + load<u32>(rowAt + (c << 2));
    const v0 = v128.load(vp), v1 = v128.load(vp, 16), v2 = v128.load(vp, 32), v3 = v128.load(vp, 48);
    a0 = fma4(v0, pa, a0); b0 = fma4(v0, pbv, b0);
    a1 = fma4(v1, pa, a1); b1 = fma4(v1, pbv, b1);
    a2 = fma4(v2, pa, a2); b2 = fma4(v2, pbv, b2);
    a3 = fma4(v3, pa, a3); b3 = fma4(v3, pbv, b3);
  }
  v128.store(out, a0); v128.store(out, a1, 16); v128.store(out, a2, 32); v128.store(out, a3, 48);
  const ob = out + os;
  v128.store(ob, b0); v128.store(ob, b1, 16); v128.store(ob, b2, 32); v128.store(ob, b3, 48);
}

@inline function chains3x8(v: usize, rowAt: usize, probs: usize, ps: usize, cs: i32, base: i32, j0: i32, P: i32, out: usize, os: usize): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), b0 = f32x4.splat(0), b1 = f32x4.splat(0), c0 = f32x4.splat(0), c1 = f32x4.splat(0);
  const pb = probs + ps, pc = probs + (ps << 1);
  for (let jj = j0; jj <= P; jj += 16) {
    const c = <usize>(jj - base);
    const vp = v + load<u32>(rowAt + (c << 2));
    const v0 = v128.load(vp), v1 = v128.load(vp, 16);
    const pa = v128.load32_splat(probs + (c << cs)), pbv = v128.load32_splat(pb + (c << cs)), pcv = v128.load32_splat(pc + (c << cs));
    a0 = fma4(v0, pa, a0); a1 = fma4(v1, pa, a1);
    b0 = fma4(v0, pbv, b0); b1 = fma4(v1, pbv, b1);
    c0 = fma4(v0, pcv, c0); c1 = fma4(v1, pcv, c1);
  }
  v128.store(out, a0); v128.store(out, a1, 16);
  v128.store(out + os, b0); v128.store(out + os, b1, 16);
  v128.store(out + (os << 1), c0); v128.store(out + (os << 1), c1, 16);
}

@inline function chains4x8(v: usize, rowAt: usize, probs: usize, ps: usize, cs: i32, base: i32, j0: i32, P: i32, out: usize, os: usize): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), b0 = f32x4.splat(0), b1 = f32x4.splat(0);
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0), e0 = f32x4.splat(0), e1 = f32x4.splat(0);
  const pb = probs + ps, pc = probs + (ps << 1), pe = probs + ps * 3;
  for (let jj = j0; jj <= P; jj += 16) {
    const c = <usize>(jj - base);
    const vp = v + load<u32>(rowAt + (c << 2));
    const v0 = v128.load(vp), v1 = v128.load(vp, 16);
    const pa = v128.load32_splat(probs + (c << cs)), pbv = v128.load32_splat(pb + (c << cs));
    a0 = fma4(v0, pa, a0); a1 = fma4(v1, pa, a1);
    b0 = fma4(v0, pbv, b0); b1 = fma4(v1, pbv, b1);
    const pcv = v128.load32_splat(pc + (c << cs)), pev = v128.load32_splat(pe + (c << cs));
    c0 = fma4(v0, pcv, c0); c1 = fma4(v1, pcv, c1);
    e0 = fma4(v0, pev, e0); e1 = fma4(v1, pev, e1);
  }
  v128.store(out, a0); v128.store(out, a1, 16);
  v128.store(out + os, b0); v128.store(out + os, b1, 16);
  v128.store(out + (os << 1), c0); v128.store(out + (os << 1), c1, 16);
  v128.store(out + os * 3, e0); v128.store(out + os * 3, e1, 16);
}

/**
 * Causal (optionally sliding-window) attention of nt query tokens at positions pos0..pos0+nt-1 over a
 * single sequence's cache. The cache holds position p at slot p % cap, one row of nKv*hd floats per
 * position, and must already contain the keys and values of the query tokens themselves. A key at
 * position j is visible to a query at P when first <= j <= P and, with window > 0, P - j < window (first
 * is the sequence's first position: 0, or where a sequence placed at a position offset begins).
 *
 * Every query row (token, head) is computed exactly as llama.cpp computes it (see above), but rows are
 * taken in tiles that share a KV head: tb consecutive tokens by gs query heads of one KV group (gs
 * divides nHead / nKv; at most four rows), so each key and value row is read from memory once for the
 * tile instead of once per row. A tile works over the union of its rows' visible positions: a row's cells
 * outside its own range hold probability 0, which leaves its sums bit for bit as they were (its softmax
 * adds exact zeros; its value chains start from +0 and add products with 0, and +0 or a nonzero sum plus
 * a zero is unchanged). Units r0..r1 are tiles (see attentionTiles in the CPU backend for their count).
 * scratch needs (cells + 64) + rows * (cells + 16*hd) + 4 * (cells + hd) + 8 floats, cells = the most keys
 * a tile sees plus 31 (chunk alignment); hd is a multiple of 4.
 */
export function attention(q: usize, kc: usize, vc: usize, o: usize, nt: i32, pos0: i32, nHead: i32, nKv: i32, hd: i32, cap: i32, window: i32, scale: f32, first: i32, gs: i32, tb: i32, r0: i32, r1: i32, scratch: usize): void {
  const group = nHead / nKv;
  const subs = group / gs;
  const perBlock = nKv * subs;
  const nTiles = ((nt + tb - 1) / tb) * perBlock;
  const kvBytes = <usize>(nKv * hd) << 2;
  const accBytes = (<usize>hd << 4) << 2;
  const sv = f32x4.splat(scale);
  // Units run over the tiles zigzag (first, last, second, second to last, ...): with causal masking a
  // later token's rows have more keys, so any contiguous range of units the thread pool hands out holds
  // light and heavy tiles alike and the threads finish together.
  for (let u = r0; u < r1; u++) {
    const tile = (u & 1) == 0 ? u >> 1 : nTiles - 1 - (u >> 1);
    const t0 = (tile / perBlock) * tb;
    const t1 = min(t0 + tb, nt);
    const kvh = (tile % perBlock) / subs;
    const h0 = kvh * group + ((tile % perBlock) % subs) * gs;
    const G = (t1 - t0) * gs;
    const lo = tileStart(pos0 + t0, window, first); // the first token's start is the tile's smallest
    const hi = pos0 + t1 - 1;
    // Cells are positions relative to the first 16-aligned chunk; every row uses the same grid.
    const base = lo & ~15;
    const nChunks = (hi >> 4) - (base >> 4) + 1;
    const cells = nChunks << 4;
    // Byte offsets of the cache rows of positions lo..hi, at their cell (a division per position would
    // cost more than the position's arithmetic).
    const rowAt = scratch;
    const rows0 = rowAt + ((<usize>cells + 64) << 2);
    const rowStride = (<usize>cells << 2) + accBytes; // per row: its cells (scores, then probabilities), its 16 accumulator rows
    {
      let slot = lo % cap;
      for (let jj = lo; jj <= hi; jj++) {
        store<u32>(rowAt + (<usize>(jj - base) << 2), <u32>(<usize>slot * kvBytes));
        if (++slot == cap) slot = 0;
      }
    }
    // The tile's query rows (byte offsets from q), worked out once: a division per key block would cost more
    // than a small head's scores.
    const qRows = rowAt + ((<usize>cells + 56) << 2);
    for (let g = 0; g < G; g++) store<u32>(qRows + (<usize>g << 2), <u32>((<usize>((t0 + g / gs) * nHead + h0 + g % gs) * hd) << 2));
    const kh = kc + ((<usize>kvh * hd) << 2);
    const vh = vc + ((<usize>kvh * hd) << 2);
    // Under 64 dimensions a score is one rounded product added at a time; with three or four rows the
    // rows go in vector lanes (one key value times four queries' values), every key read once for all.
    const inLanes = hd < 64 && G >= 3;
    const lanesAt = rows0 + <usize>G * rowStride;
    if (inLanes) {
      laneProbabilities(q, qRows, kh, rowAt, lanesAt, t0, gs, G, hd, pos0, window, first, lo, hi, base, nChunks, sv);
    } else {
      // Scores, key blocks outside and rows inside, so a block of keys is read once for the tile.
      if (hd < 64 && (hd & 3) == 0) {
        let j = lo;
        for (; j + 8 <= hi + 1; j += 8) {
          const ra = rowAt + (<usize>(j - base) << 2);
          const k0 = kh + load<u32>(ra), k1 = kh + load<u32>(ra, 4), k2 = kh + load<u32>(ra, 8), k3 = kh + load<u32>(ra, 12);
          const k4 = kh + load<u32>(ra, 16), k5 = kh + load<u32>(ra, 20), k6 = kh + load<u32>(ra, 24), k7 = kh + load<u32>(ra, 28);
          for (let g = 0; g < G; g++) {
            const qh = q + load<u32>(qRows + (<usize>g << 2));
            scores8(k0, k1, k2, k3, k4, k5, k6, k7, qh, hd, sv, rows0 + <usize>g * rowStride + (<usize>(j - base) << 2));
          }
        }
        for (; j <= hi; j++) {
          const kp = kh + load<u32>(rowAt + (<usize>(j - base) << 2));
          for (let g = 0; g < G; g++) {
            const qh = q + load<u32>(qRows + (<usize>g << 2));
            store<f32>(rows0 + <usize>g * rowStride + (<usize>(j - base) << 2), vec_dot_f32(kp, qh, hd) * scale);
          }
        }
      } else {
        for (let j = lo; j <= hi; j++) {
          const kp = kh + load<u32>(rowAt + (<usize>(j - base) << 2));
          for (let g = 0; g < G; g++) {
            const qh = q + load<u32>(qRows + (<usize>g << 2));
            store<f32>(rows0 + <usize>g * rowStride + (<usize>(j - base) << 2), vec_dot_f32(kp, qh, hd) * scale);
          }
        }
      }
      // Each row's softmax over the tile's cells: cells it does not see hold -inf, whose exp the vector code
      // takes to 0.
      for (let g = 0; g < G; g++) {
        const P = pos0 + t0 + g / gs;
        const start = tileStart(P, window, first);
        const scores = rows0 + <usize>g * rowStride;
        for (let j = base; j < start; j++) store<f32>(scores + (<usize>(j - base) << 2), -Infinity);
        for (let j = P + 1; j < cells + base; j++) store<f32>(scores + (<usize>(j - base) << 2), -Infinity);
        let mv = f32x4.splat(-Infinity);
        for (let m = 0; m < cells; m += 4) mv = f32x4.max(mv, v128.load(scores + (<usize>m << 2)));
        const mx: f32 = max(max(f32x4.extract_lane(mv, 0), f32x4.extract_lane(mv, 1)), max(f32x4.extract_lane(mv, 2), f32x4.extract_lane(mv, 3)));
        const sum = expChunks(scores, nChunks, f32x4.splat(mx));
        // Probabilities in place of the exponentials.
        const iv = f32x4.splat(<f32>(1.0 / sum));
        for (let m = 0; m < cells; m += 4) {
          const p = scores + (<usize>m << 2);
          v128.store(p, f32x4.mul(v128.load(p), iv));
        }
      }
    }
    // 16 accumulator rows of hd values per query row: row l sums the cells whose position is l mod 16,
    // each a chain of fused multiply-adds in position order, in registers a few dimensions at a time for
    // all the tile's rows together (one load of a value row serves them all).
    for (let l = 0; l < 16; l++) {
      const j0 = lo + ((l - lo) & 15);
      const accL = rows0 + (<usize>cells << 2) + ((<usize>l * hd) << 2);
      if (inLanes) valueChains(vh, rowAt, lanesAt, 4, 4, base, j0, hi, G, hd, accL, rowStride);
      else valueChains(vh, rowAt, rows0, rowStride, 2, base, j0, hi, G, hd, accL, rowStride);
    }
    for (let g = 0; g < G; g++) {
      reduceRows16(rows0 + <usize>g * rowStride + (<usize>cells << 2), hd, o + load<u32>(qRows + (<usize>g << 2)));
    }
  }
}

/**
 * Scores and softmax of up to four query rows of a tile with the rows in vector lanes (heads under 64
 * dimensions): out holds, per cell, four floats, lane g row g's probability (unused lanes repeat row 0).
 * Each lane computes exactly what attention() computes for its row alone: the score as ggml_vec_dot_f32's
 * scalar tail (products added one at a time from +0), times the scale; -inf outside the row's keys; the
 * max; ggml_v_expf of the difference; each 16-cell chunk summed in _mm512_reduce_add_ps's tree and the
 * chunk sums added in f64; the exponentials times the f32 inverse of the sum. out needs 4 * (cells + hd)
 * + 8 floats.
 */
function laneProbabilities(q: usize, qRows: usize, kh: usize, rowAt: usize, out: usize, t0: i32, gs: i32, G: i32, hd: i32, pos0: i32, window: i32, first: i32, lo: i32, hi: i32, base: i32, nChunks: i32, sv: v128): void {
  const cells = nChunks << 4;
  const qt = out + (<usize>cells << 4); // query element e of the four rows at qt + 16 e
  const bounds = qt + (<usize>hd << 4); // four first positions, then four last ones
  for (let g = 0; g < 4; g++) {
    const r = g < G ? g : 0;
    const qh = q + load<u32>(qRows + (<usize>r << 2));
    for (let e = 0; e < hd; e++) store<f32>(qt + (<usize>e << 4) + (<usize>g << 2), load<f32>(qh + (<usize>e << 2)));
    const P = pos0 + t0 + r / gs;
    store<i32>(bounds + (<usize>g << 2), tileStart(P, window, first));
    store<i32>(bounds + 16 + (<usize>g << 2), P);
  }
  const firstV = v128.load(bounds), lastV = v128.load(bounds, 16);
  const ninf = f32x4.splat(-Infinity);
  for (let j = base; j < lo; j++) v128.store(out + (<usize>(j - base) << 4), ninf);
  for (let j = hi + 1; j < base + cells; j++) v128.store(out + (<usize>(j - base) << 4), ninf);
  let j = lo;
  for (; j + 2 <= hi + 1; j += 2) {
    const ka = kh + load<u32>(rowAt + (<usize>(j - base) << 2)), kb = kh + load<u32>(rowAt + (<usize>(j + 1 - base) << 2));
    let a = f32x4.splat(0), b = f32x4.splat(0);
    for (let e = 0; e < hd; e++) {
      const qv = v128.load(qt + (<usize>e << 4));
      a = f32x4.add(a, f32x4.mul(v128.load32_splat(ka + (<usize>e << 2)), qv));
      b = f32x4.add(b, f32x4.mul(v128.load32_splat(kb + (<usize>e << 2)), qv));
    }
    const ja = i32x4.splat(j), jb = i32x4.splat(j + 1);
    v128.store(out + (<usize>(j - base) << 4), v128.bitselect(f32x4.mul(a, sv), ninf, v128.and(i32x4.ge_s(ja, firstV), i32x4.le_s(ja, lastV))));
    v128.store(out + (<usize>(j + 1 - base) << 4), v128.bitselect(f32x4.mul(b, sv), ninf, v128.and(i32x4.ge_s(jb, firstV), i32x4.le_s(jb, lastV))));
  }
  if (j <= hi) {
    const ka = kh + load<u32>(rowAt + (<usize>(j - base) << 2));
    let a = f32x4.splat(0);
    for (let e = 0; e < hd; e++) a = f32x4.add(a, f32x4.mul(v128.load32_splat(ka + (<usize>e << 2)), v128.load(qt + (<usize>e << 4))));
    const ja = i32x4.splat(j);
    v128.store(out + (<usize>(j - base) << 4), v128.bitselect(f32x4.mul(a, sv), ninf, v128.and(i32x4.ge_s(ja, firstV), i32x4.le_s(ja, lastV))));
  }
  let mv = ninf;
  for (let c = 0; c < cells; c++) mv = f32x4.max(mv, v128.load(out + (<usize>c << 4)));
  let sumLo = f64x2.splat(0), sumHi = f64x2.splat(0);
  for (let m = 0; m < nChunks; m++) {
    const cp = out + (<usize>(m << 4) << 4);
    for (let c = 0; c < 16; c++) {
      const p = cp + (<usize>c << 4);
      v128.store(p, v_expf4(f32x4.sub(v128.load(p), mv)));
    }
    // reduce16 per lane: quad e of the chunk's 16 cells meets e + 4, e + 8 and e + 12, then (0+2)+(1+3).
    const t0 = f32x4.add(f32x4.add(v128.load(cp, 192), v128.load(cp, 64)), f32x4.add(v128.load(cp, 128), v128.load(cp)));
    const t1 = f32x4.add(f32x4.add(v128.load(cp, 208), v128.load(cp, 80)), f32x4.add(v128.load(cp, 144), v128.load(cp, 16)));
    const t2 = f32x4.add(f32x4.add(v128.load(cp, 224), v128.load(cp, 96)), f32x4.add(v128.load(cp, 160), v128.load(cp, 32)));
    const t3 = f32x4.add(f32x4.add(v128.load(cp, 240), v128.load(cp, 112)), f32x4.add(v128.load(cp, 176), v128.load(cp, 48)));
    const r = f32x4.add(f32x4.add(t0, t2), f32x4.add(t1, t3));
    sumLo = f64x2.add(sumLo, f64x2.promote_low_f32x4(r));
    sumHi = f64x2.add(sumHi, f64x2.promote_low_f32x4(i32x4.shuffle(r, r, 2, 3, 0, 1)));
  }
  const one = f64x2.splat(1.0);
  const iv = i32x4.shuffle(f32x4.demote_f64x2_zero(f64x2.div(one, sumLo)), f32x4.demote_f64x2_zero(f64x2.div(one, sumHi)), 0, 1, 4, 5);
  for (let c = 0; c < cells; c++) {
    const p = out + (<usize>c << 4);
    v128.store(p, f32x4.mul(v128.load(p), iv));
  }
}

/**
 * ggml_vec_soft_max_f32's exponentials in place over nChunks chunks of 16 scores at p (exp(s - max), four
 * lanes at a time) and their sum: each chunk summed in _mm512_reduce_add_ps's tree, the chunk sums added
 * in f64.
 */
@inline export function expChunks(p: usize, nChunks: i32, mv: v128): f64 {
  let sum: f64 = 0;
  for (let m = 0; m < nChunks; m++) {
    const cp = p + (<usize>(m << 4) << 2);
    for (let l = 0; l < 16; l += 4) {
      const q = cp + (<usize>l << 2);
      v128.store(q, v_expf4(f32x4.sub(v128.load(q), mv)));
    }
    sum += <f64>reduce16(cp);
  }
  return sum;
}

/** The first position a query at P sees. */
@inline function tileStart(P: i32, window: i32, first: i32): i32 {
  return max(window > 0 && P - window + 1 > 0 ? P - window + 1 : 0, first);
}

/** Reads `bytes` bytes from p (in rows of 64 bytes, rows r0..r1) and returns a checksum: a bandwidth probe. */
export function read_sum(p: usize, r0: i32, r1: i32): i32 {
  let a = i32x4.splat(0), b = i32x4.splat(0), c = i32x4.splat(0), d = i32x4.splat(0);
  for (let r = r0; r < r1; r++) {
    const q = p + (<usize>r << 6);
    a = i32x4.add(a, v128.load(q));
    b = i32x4.add(b, v128.load(q, 16));
    c = i32x4.add(c, v128.load(q, 32));
    d = i32x4.add(d, v128.load(q, 48));
  }
  const s = i32x4.add(i32x4.add(a, b), i32x4.add(c, d));
  return i32x4.extract_lane(s, 0) + i32x4.extract_lane(s, 1) + i32x4.extract_lane(s, 2) + i32x4.extract_lane(s, 3);
}

// ---- SwiGLU -----------------------------------------------------------------------------------------

/**
 * y = silu(g) * u for rows x cols values, the first cols - cols % 16 of each row as llama.cpp's 16-wide
 * vector code computes them (the rest, scalar in llama.cpp, are left to the caller). With limit > 0:
 * min(silu(g), limit) * clamp(u, -limit, limit).
 */
export function swiglu(g: usize, u: usize, y: usize, rows: i32, cols: i32, limit: f32): void {
  const vec = cols - (cols & 15);
  const one = f32x4.splat(1.0);
  const lim = f32x4.splat(limit);
  const nlim = f32x4.splat(-limit);
  for (let r = 0; r < rows; r++) {
    const base = (<usize>r * cols) << 2;
    for (let i = 0; i < vec; i += 4) {
      const o = base + (<usize>i << 2);
      const gv = v128.load(g + o);
      let s = f32x4.div(gv, f32x4.add(one, v_expf4(f32x4.neg(gv))));
      let uv = v128.load(u + o);
      if (limit > 0) {
        s = f32x4.min(s, lim);
        uv = f32x4.max(f32x4.min(uv, lim), nlim);
      }
      v128.store(y + o, f32x4.mul(s, uv));
    }
  }
}

/**
 * y[t] = (((w[t,0] * src[idx[t,0]]) + w[t,1] * src[idx[t,1]]) + ...) + extra[t]: each product rounded, the
 * sum taken in order (llama.cpp multiplies expert outputs by their weights, then adds them one by one).
 * idx holds row numbers of src (i32), w the weights (f32), both [nt][k]; extra may be 0.
 */
export function weighted_row_sum(y: usize, src: usize, idx: usize, w: usize, nt: i32, k: i32, dim: i32, extra: usize): void {
  const rowBytes = <usize>dim << 2;
  for (let t = 0; t < nt; t++) {
    const yt = y + <usize>t * rowBytes;
    for (let j = 0; j < k; j++) {
      const s = <usize>(t * k + j) << 2;
      const row = src + <usize>load<i32>(idx + s) * rowBytes;
      const wv = f32x4.splat(load<f32>(w + s));
      for (let i = 0; i < dim; i += 4) {
        const o = <usize>i << 2;
        const p = f32x4.mul(v128.load(row + o), wv);
        v128.store(yt + o, j == 0 ? p : f32x4.add(v128.load(yt + o), p));
      }
    }
    if (extra != 0) {
      const et = extra + <usize>t * rowBytes;
      for (let i = 0; i < dim; i += 4) {
        const o = <usize>i << 2;
        v128.store(yt + o, f32x4.add(v128.load(yt + o), v128.load(et + o)));
      }
    }
  }
}

// ---- Row ranges, for the thread pool (a prompt's norms, SwiGLU and expert sums split over threads) ----

export function rms_norm_rows(x: usize, w: usize, y: usize, dim: i32, eps: f32, r0: i32, r1: i32): void {
  const o = (<usize>r0 * dim) << 2;
  rms_norm(x + o, w, y + o, r1 - r0, dim, eps);
}

export function swiglu_rows(g: usize, u: usize, y: usize, cols: i32, limit: f32, r0: i32, r1: i32): void {
  const o = (<usize>r0 * cols) << 2;
  swiglu(g + o, u + o, y + o, r1 - r0, cols, limit);
}

export function weighted_row_sum_rows(y: usize, src: usize, idx: usize, w: usize, k: i32, dim: i32, extra: usize, t0: i32, t1: i32): void {
  const o = (<usize>t0 * dim) << 2, s = (<usize>t0 * k) << 2;
  weighted_row_sum(y + o, src, idx + s, w + s, t1 - t0, k, dim, extra != 0 ? extra + o : 0);
}
