// Training kernels (src/train/): the products, attention, SwiGLU and softmax cross-entropy of a forward
// and backward pass, in f32 over the shared memory. Unlike the inference kernels these do not follow
// llama.cpp's evaluation order: they only need to be fast and deterministic. Every output element is
// written by one thread in a fixed order, so results do not depend on the thread count. Row ranges
// [r0, r1) let the thread pool split the work.

@inline function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

@inline function hsum(v: v128): f32 {
  const s = f32x4.add(v, i32x4.shuffle(v, v, 2, 3, 0, 1));
  return f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1);
}

/** (Σa, Σb, Σc, Σd) of four vectors, as one vector. */
@inline function hsum4(a: v128, b: v128, c: v128, d: v128): v128 {
  const ab = f32x4.add(i32x4.shuffle(a, b, 0, 4, 1, 5), i32x4.shuffle(a, b, 2, 6, 3, 7));
  const cd = f32x4.add(i32x4.shuffle(c, d, 0, 4, 1, 5), i32x4.shuffle(c, d, 2, 6, 3, 7));
  return f32x4.add(i32x4.shuffle(ab, cd, 0, 1, 4, 5), i32x4.shuffle(ab, cd, 2, 3, 6, 7));
}

/** Dot product of n floats (any n). */
@inline function dot(a: usize, b: usize, n: i32): f32 {
  const nv = n & ~3;
  let acc = f32x4.splat(0);
  for (let p: usize = 0; p < (<usize>nv << 2); p += 16) acc = madd(v128.load(a + p), v128.load(b + p), acc);
  let s = hsum(acc);
  for (let p = nv; p < n; p++) s += load<f32>(a + (<usize>p << 2)) * load<f32>(b + (<usize>p << 2));
  return s;
}

// ---- products ------------------------------------------------------------------------------------

/**
 * C[i][j] (+)= Σ_p A[i][p] · B[j][p] for rows i in [r0, r1) and j in [0, n): both operands are read
 * along their rows (the "NT" form, y = x·Wᵀ with W stored [out][in] as in GGUF). Every product of a
 * training step is put in this form, transposing an operand where needed, because it vectorises along
 * contiguous memory on both sides. Tiles of 4 rows of A by 2 rows of B keep eight accumulators in
 * registers; B is visited in blocks that stay in cache while all of this thread's rows pass over them.
 */
export function tr_matmul_nt(a: usize, b: usize, c: usize, n: i32, k: i32, lda: i32, ldb: i32, ldc: i32, accumulate: i32, r0: i32, r1: i32): void {
  const sa = <usize>lda << 2, sb = <usize>ldb << 2, sc = <usize>ldc << 2;
  const kv = k & ~3;
  const kvb = <usize>kv << 2;
  // About 64 KiB of B per block.
  const jblk = max(2, (16384 / max(k, 1)) & ~1);
  const i4 = r0 + ((r1 - r0) & ~3);
  for (let jb = 0; jb < n; jb += jblk) {
    const je = min(n, jb + jblk);
    const j2 = jb + ((je - jb) & ~1);
    for (let i = r0; i < i4; i += 4) {
      const a0 = a + <usize>i * sa, a1 = a0 + sa, a2 = a1 + sa, a3 = a2 + sa;
      for (let j = jb; j < j2; j += 2) {
        const b0 = b + <usize>j * sb, b1 = b0 + sb;
        let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
        let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
        for (let p: usize = 0; p < kvb; p += 16) {
          const w0 = v128.load(b0 + p), w1 = v128.load(b1 + p);
          const x0 = v128.load(a0 + p);
          c00 = madd(x0, w0, c00); c01 = madd(x0, w1, c01);
          const x1 = v128.load(a1 + p);
          c10 = madd(x1, w0, c10); c11 = madd(x1, w1, c11);
          const x2 = v128.load(a2 + p);
          c20 = madd(x2, w0, c20); c21 = madd(x2, w1, c21);
          const x3 = v128.load(a3 + p);
          c30 = madd(x3, w0, c30); c31 = madd(x3, w1, c31);
        }
        const s0 = hsum4(c00, c01, c10, c11); // C[i][j], C[i][j+1], C[i+1][j], C[i+1][j+1]
        const s1 = hsum4(c20, c21, c30, c31);
        let v00 = f32x4.extract_lane(s0, 0), v01 = f32x4.extract_lane(s0, 1), v10 = f32x4.extract_lane(s0, 2), v11 = f32x4.extract_lane(s0, 3);
        let v20 = f32x4.extract_lane(s1, 0), v21 = f32x4.extract_lane(s1, 1), v30 = f32x4.extract_lane(s1, 2), v31 = f32x4.extract_lane(s1, 3);
        for (let p = kv; p < k; p++) {
          const o = <usize>p << 2;
          const w0 = load<f32>(b0 + o), w1 = load<f32>(b1 + o);
          const x0 = load<f32>(a0 + o), x1 = load<f32>(a1 + o), x2 = load<f32>(a2 + o), x3 = load<f32>(a3 + o);
          v00 += x0 * w0; v01 += x0 * w1; v10 += x1 * w0; v11 += x1 * w1;
          v20 += x2 * w0; v21 += x2 * w1; v30 += x3 * w0; v31 += x3 * w1;
        }
        const cp = c + <usize>i * sc + (<usize>j << 2);
        put(cp, v00, accumulate); put(cp + 4, v01, accumulate);
        put(cp + sc, v10, accumulate); put(cp + sc + 4, v11, accumulate);
        put(cp + 2 * sc, v20, accumulate); put(cp + 2 * sc + 4, v21, accumulate);
        put(cp + 3 * sc, v30, accumulate); put(cp + 3 * sc + 4, v31, accumulate);
      }
      // An odd last column of the block.
      for (let j = j2; j < je; j++) {
        const bj = b + <usize>j * sb;
        const cp = c + <usize>i * sc + (<usize>j << 2);
        put(cp, dot(a0, bj, k), accumulate);
        put(cp + sc, dot(a1, bj, k), accumulate);
        put(cp + 2 * sc, dot(a2, bj, k), accumulate);
        put(cp + 3 * sc, dot(a3, bj, k), accumulate);
      }
    }
    // The last r1 - r0 mod 4 rows.
    for (let i = i4; i < r1; i++) {
      const ai = a + <usize>i * sa;
      for (let j = jb; j < je; j++) put(c + <usize>i * sc + (<usize>j << 2), dot(ai, b + <usize>j * sb, k), accumulate);
    }
  }
}

@inline function put(p: usize, v: f32, accumulate: i32): void {
  store<f32>(p, accumulate != 0 ? load<f32>(p) + v : v);
}

/**
 * dst[j][i] = src[i][j] for source rows i in [r0, r1) and all `cols` columns (src row stride lds, dst row
 * stride ldd), in 4x4 register blocks.
 */
export function tr_transpose(src: usize, dst: usize, cols: i32, lds: i32, ldd: i32, r0: i32, r1: i32): void {
  const ss = <usize>lds << 2, sd = <usize>ldd << 2;
  const i4 = r0 + ((r1 - r0) & ~3);
  const c4 = cols & ~3;
  for (let i = r0; i < i4; i += 4) {
    const s0 = src + <usize>i * ss;
    for (let j = 0; j < c4; j += 4) {
      const o = <usize>j << 2;
      const x0 = v128.load(s0 + o), x1 = v128.load(s0 + ss + o), x2 = v128.load(s0 + 2 * ss + o), x3 = v128.load(s0 + 3 * ss + o);
      const t0 = i32x4.shuffle(x0, x1, 0, 4, 1, 5), t1 = i32x4.shuffle(x0, x1, 2, 6, 3, 7);
      const t2 = i32x4.shuffle(x2, x3, 0, 4, 1, 5), t3 = i32x4.shuffle(x2, x3, 2, 6, 3, 7);
      const d = dst + <usize>j * sd + (<usize>i << 2);
      v128.store(d, i32x4.shuffle(t0, t2, 0, 1, 4, 5));
      v128.store(d + sd, i32x4.shuffle(t0, t2, 2, 3, 6, 7));
      v128.store(d + 2 * sd, i32x4.shuffle(t1, t3, 0, 1, 4, 5));
      v128.store(d + 3 * sd, i32x4.shuffle(t1, t3, 2, 3, 6, 7));
    }
    for (let j = c4; j < cols; j++) {
      for (let r = 0; r < 4; r++) store<f32>(dst + <usize>j * sd + (<usize>(i + r) << 2), load<f32>(s0 + <usize>r * ss + (<usize>j << 2)));
    }
  }
  for (let i = i4; i < r1; i++) {
    for (let j = 0; j < cols; j++) store<f32>(dst + <usize>j * sd + (<usize>i << 2), load<f32>(src + <usize>i * ss + (<usize>j << 2)));
  }
}

// ---- exp -------------------------------------------------------------------------------------------

/**
 * e^x on four lanes: x = n ln2 + r with |r| <= ln2/2, e^r by Cephes' degree-6 polynomial, 2^n through the
 * exponent bits. Inputs are clamped to [-87.3, 88.3], where the result stays a normal f32.
 */
@inline function exp4(x: v128): v128 {
  x = f32x4.max(f32x4.min(x, f32x4.splat(88.3)), f32x4.splat(-87.3));
  const n = f32x4.nearest(f32x4.mul(x, f32x4.splat(1.44269504088896341)));
  let r = f32x4.sub(x, f32x4.mul(n, f32x4.splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(-2.12194440e-4)));
  let p = f32x4.splat(1.9875691500e-4);
  p = madd(p, r, f32x4.splat(1.3981999507e-3));
  p = madd(p, r, f32x4.splat(8.3334519073e-3));
  p = madd(p, r, f32x4.splat(4.1665795894e-2));
  p = madd(p, r, f32x4.splat(1.6666665459e-1));
  p = madd(p, r, f32x4.splat(5.0000001201e-1));
  const e = f32x4.add(madd(p, f32x4.mul(r, r), r), f32x4.splat(1));
  const scale = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), i32x4.splat(127)), 23);
  return f32x4.mul(e, scale);
}

@inline function exp1(x: f32): f32 {
  return f32x4.extract_lane(exp4(f32x4.splat(x)), 0);
}

// ---- attention -------------------------------------------------------------------------------------
//
// Causal attention over nSeq sequences of T tokens each, laid out token-major: q and o are
// [nSeq*T][nHead*hd], k and v [nSeq*T][nKv*hd], lse [nSeq*T][nHead]. Query t of a sequence sees keys j
// with j <= t and, when window > 0, t - j < window (the window includes the query's own token). Query
// head h reads key/value head h / (nHead / nKv). hd must be a multiple of 4. `heads` packs
// nHead << 16 | nKv (a pool task holds at most 18 arguments).

/** Forward, rows = (sequence, head, query) triples: o = softmax(q·kᵀ·scale) v, lse = log Σ exp(scores). */
export function tr_attn_fwd(q: usize, k: usize, v: usize, o: usize, lse: usize, T: i32, heads: i32, hd: i32, window: i32, scale: f32, r0: i32, r1: i32, scratch: usize): void {
  const nHead = heads >> 16, nKv = heads & 0xffff;
  const group = nHead / nKv;
  const qRow = <usize>(nHead * hd) << 2, kRow = <usize>(nKv * hd) << 2;
  const hdb = <usize>hd << 2;
  const scores = scratch;
  for (let row = r0; row < r1; row++) {
    const t = row % T;
    const bh = row / T;
    const h = bh % nHead, b = bh / nHead;
    const kvh = h / group;
    const qt = q + <usize>(b * T + t) * qRow + <usize>h * hdb;
    const kb = k + <usize>(b * T) * kRow + <usize>kvh * hdb;
    const vb = v + <usize>(b * T) * kRow + <usize>kvh * hdb;
    const j0 = window > 0 && t - window + 1 > 0 ? t - window + 1 : 0;
    const n = t - j0 + 1;
    const mx = scoreRow(qt, kb + <usize>j0 * kRow, kRow, n, hd, scale, scores);
    // p = exp(s - max) in place, and its sum.
    const mv = f32x4.splat(mx);
    let sv = f32x4.splat(0);
    const n4 = n & ~3;
    for (let j = 0; j < n4; j += 4) {
      const p = scores + (<usize>j << 2);
      const e = exp4(f32x4.sub(v128.load(p), mv));
      v128.store(p, e);
      sv = f32x4.add(sv, e);
    }
    let sum = hsum(sv);
    for (let j = n4; j < n; j++) {
      const p = scores + (<usize>j << 2);
      const e = exp1(load<f32>(p) - mx);
      store<f32>(p, e);
      sum += e;
    }
    const ot = o + <usize>(b * T + t) * qRow + <usize>h * hdb;
    weightedRows(ot, vb + <usize>j0 * kRow, kRow, scores, n, hd, <f32>1 / sum, false);
    store<f32>(lse + ((<usize>(b * T + t) * nHead + h) << 2), mx + Mathf.log(sum));
  }
}

/** scores[j] = scale · q·k_j for n keys at kp, kp + ks, ...; returns the largest. Four keys at a time. */
@inline function scoreRow(qt: usize, kp: usize, ks: usize, n: i32, hd: i32, scale: f32, scores: usize): f32 {
  const hdb = <usize>hd << 2;
  const sv = f32x4.splat(scale);
  let mv = f32x4.splat(-Infinity);
  const n4 = n & ~3;
  for (let j = 0; j < n4; j += 4) {
    const k0 = kp + <usize>j * ks, k1 = k0 + ks, k2 = k1 + ks, k3 = k2 + ks;
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    for (let d: usize = 0; d < hdb; d += 16) {
      const x = v128.load(qt + d);
      a0 = madd(x, v128.load(k0 + d), a0);
      a1 = madd(x, v128.load(k1 + d), a1);
      a2 = madd(x, v128.load(k2 + d), a2);
      a3 = madd(x, v128.load(k3 + d), a3);
    }
    const s = f32x4.mul(hsum4(a0, a1, a2, a3), sv);
    v128.store(scores + (<usize>j << 2), s);
    mv = f32x4.max(mv, s);
  }
  let mx = max(max(f32x4.extract_lane(mv, 0), f32x4.extract_lane(mv, 1)), max(f32x4.extract_lane(mv, 2), f32x4.extract_lane(mv, 3)));
  for (let j = n4; j < n; j++) {
    const s = dot(qt, kp + <usize>j * ks, hd) * scale;
    store<f32>(scores + (<usize>j << 2), s);
    if (s > mx) mx = s;
  }
  return mx;
}

/** out (+)= mul · Σ_j w[j] · row_j over n rows at rp, rp + rs, ...; four rows per pass over out. */
@inline function weightedRows(out: usize, rp: usize, rs: usize, w: usize, n: i32, hd: i32, mul: f32, accumulate: bool): void {
  const hdb = <usize>hd << 2;
  if (!accumulate) for (let d: usize = 0; d < hdb; d += 16) v128.store(out + d, f32x4.splat(0));
  const n4 = n & ~3;
  for (let j = 0; j < n4; j += 4) {
    const r0 = rp + <usize>j * rs, r1 = r0 + rs, r2 = r1 + rs, r3 = r2 + rs;
    const wv = f32x4.mul(v128.load(w + (<usize>j << 2)), f32x4.splat(mul));
    const w0 = i32x4.shuffle(wv, wv, 0, 0, 0, 0), w1 = i32x4.shuffle(wv, wv, 1, 1, 1, 1);
    const w2 = i32x4.shuffle(wv, wv, 2, 2, 2, 2), w3 = i32x4.shuffle(wv, wv, 3, 3, 3, 3);
    for (let d: usize = 0; d < hdb; d += 16) {
      let acc = madd(w0, v128.load(r0 + d), v128.load(out + d));
      acc = madd(w1, v128.load(r1 + d), acc);
      acc = madd(w2, v128.load(r2 + d), acc);
      v128.store(out + d, madd(w3, v128.load(r3 + d), acc));
    }
  }
  for (let j = n4; j < n; j++) {
    const rj = rp + <usize>j * rs;
    const wj = f32x4.splat(load<f32>(w + (<usize>j << 2)) * mul);
    for (let d: usize = 0; d < hdb; d += 16) v128.store(out + d, madd(wj, v128.load(rj + d), v128.load(out + d)));
  }
}

/** row_j += w[j] · x for n rows at rp, rp + rs, ... */
@inline function addToRows(rp: usize, rs: usize, w: usize, n: i32, x: usize, hd: i32): void {
  const hdb = <usize>hd << 2;
  for (let j = 0; j < n; j++) {
    const rj = rp + <usize>j * rs;
    const wj = f32x4.splat(load<f32>(w + (<usize>j << 2)));
    for (let d: usize = 0; d < hdb; d += 16) v128.store(rj + d, madd(wj, v128.load(x + d), v128.load(rj + d)));
  }
}

/**
 * Backward, rows = (sequence, key/value head) pairs, so that each thread owns the dk and dv rows it adds
 * to. For every query of the group: p = exp(s - lse) recomputed, dp_j = do·v_j, ds_j = p_j (dp_j - do·o),
 * dq += scale Σ ds_j k_j, dk_j += scale ds_j q, dv_j += p_j do. dq, dk and dv are accumulated into.
 * scratch: 2 * (keys per query, rounded up to 4) floats.
 */
export function tr_attn_bwd(q: usize, k: usize, v: usize, o: usize, dO: usize, lse: usize, dq: usize, dk: usize, dv: usize, T: i32, heads: i32, hd: i32, window: i32, scale: f32, r0: i32, r1: i32, scratch: usize): void {
  const nHead = heads >> 16, nKv = heads & 0xffff;
  const group = nHead / nKv;
  const qRow = <usize>(nHead * hd) << 2, kRow = <usize>(nKv * hd) << 2;
  const hdb = <usize>hd << 2;
  const maxKeys = window > 0 && window < T ? window : T;
  const p = scratch;
  const ds = scratch + (<usize>((maxKeys + 3) & ~3) << 2);
  for (let row = r0; row < r1; row++) {
    const kvh = row % nKv, b = row / nKv;
    const kb = k + <usize>(b * T) * kRow + <usize>kvh * hdb;
    const vb = v + <usize>(b * T) * kRow + <usize>kvh * hdb;
    const dkb = dk + <usize>(b * T) * kRow + <usize>kvh * hdb;
    const dvb = dv + <usize>(b * T) * kRow + <usize>kvh * hdb;
    for (let h = kvh * group; h < (kvh + 1) * group; h++) {
      for (let t = 0; t < T; t++) {
        const qo = <usize>(b * T + t) * qRow + <usize>h * hdb;
        const qt = q + qo, ot = o + qo, dot_ = dO + qo, dqt = dq + qo;
        const j0 = window > 0 && t - window + 1 > 0 ? t - window + 1 : 0;
        const n = t - j0 + 1;
        const L = load<f32>(lse + ((<usize>(b * T + t) * nHead + h) << 2));
        const D = dot(dot_, ot, hd);
        scoreRow(qt, kb + <usize>j0 * kRow, kRow, n, hd, scale, p);
        scoreRow(dot_, vb + <usize>j0 * kRow, kRow, n, hd, 1, ds);
        const Lv = f32x4.splat(L), Dv = f32x4.splat(D), sv = f32x4.splat(scale);
        const n4 = (n + 3) & ~3; // the scratch rows are padded to whole vectors
        for (let j = 0; j < n4; j += 4) {
          const o4 = <usize>j << 2;
          const pj = exp4(f32x4.sub(v128.load(p + o4), Lv));
          v128.store(p + o4, pj);
          v128.store(ds + o4, f32x4.mul(f32x4.mul(pj, f32x4.sub(v128.load(ds + o4), Dv)), sv));
        }
        weightedRows(dqt, kb + <usize>j0 * kRow, kRow, ds, n, hd, 1, true);
        addToRows(dkb + <usize>j0 * kRow, kRow, ds, n, qt, hd);
        addToRows(dvb + <usize>j0 * kRow, kRow, p, n, dot_, hd);
      }
    }
  }
}

// ---- SwiGLU ----------------------------------------------------------------------------------------
//
// h = silu(g) · u, or with a clamp L > 0 Step 3.5's min(silu(g), L) · clamp(u, -L, L). Where a clamp
// binds, the gradient through the clamped operand is zero. Rows [r0, r1) of `cols` values; cols % 4 == 0.

export function tr_swiglu_fwd(g: usize, u: usize, h: usize, cols: i32, limit: f32, r0: i32, r1: i32): void {
  const one = f32x4.splat(1), lim = f32x4.splat(limit), nlim = f32x4.splat(-limit);
  const end = <usize>r1 * cols << 2;
  for (let i: usize = <usize>r0 * cols << 2; i < end; i += 16) {
    const gv = v128.load(g + i);
    let s = f32x4.div(gv, f32x4.add(one, exp4(f32x4.neg(gv))));
    let uv = v128.load(u + i);
    if (limit > 0) {
      s = f32x4.min(s, lim);
      uv = f32x4.max(f32x4.min(uv, lim), nlim);
    }
    v128.store(h + i, f32x4.mul(s, uv));
  }
}

/** dg += dh · ∂h/∂g, du += dh · ∂h/∂u. */
export function tr_swiglu_bwd(g: usize, u: usize, dh: usize, dg: usize, du: usize, cols: i32, limit: f32, r0: i32, r1: i32): void {
  const one = f32x4.splat(1), lim = f32x4.splat(limit), nlim = f32x4.splat(-limit);
  const zero = f32x4.splat(0);
  const end = <usize>r1 * cols << 2;
  for (let i: usize = <usize>r0 * cols << 2; i < end; i += 16) {
    const gv = v128.load(g + i);
    const sg = f32x4.div(one, f32x4.add(one, exp4(f32x4.neg(gv))));
    let s = f32x4.mul(gv, sg);
    // silu'(g) = σ(g) (1 + g (1 - σ(g)))
    let ds = f32x4.mul(sg, madd(gv, f32x4.sub(one, sg), one));
    let uv = v128.load(u + i);
    let duMask = v128.not(zero); // all ones: u passes through
    if (limit > 0) {
      ds = v128.bitselect(zero, ds, f32x4.gt(s, lim));
      s = f32x4.min(s, lim);
      duMask = v128.and(f32x4.le(uv, lim), f32x4.ge(uv, nlim));
      uv = f32x4.max(f32x4.min(uv, lim), nlim);
    }
    const d = v128.load(dh + i);
    v128.store(dg + i, madd(f32x4.mul(d, uv), ds, v128.load(dg + i)));
    v128.store(du + i, f32x4.add(v128.load(du + i), v128.and(f32x4.mul(d, s), duMask)));
  }
}

// ---- softmax cross-entropy -------------------------------------------------------------------------

/**
 * Per row of V logits z with target y: e = exp(z - max z) written over z, loss = log Σe + max - z_y,
 * inv = 1/Σe, hit = (argmax z == y). The backward pass turns e into the gradient in place.
 */
export function tr_xent_fwd(z: usize, V: i32, targets: usize, loss: usize, inv: usize, hit: usize, r0: i32, r1: i32): void {
  const V4 = V & ~3;
  for (let r = r0; r < r1; r++) {
    const zr = z + ((<usize>r * V) << 2);
    const y = load<i32>(targets + (<usize>r << 2));
    let mv = f32x4.splat(-Infinity);
    for (let j = 0; j < V4; j += 4) mv = f32x4.max(mv, v128.load(zr + (<usize>j << 2)));
    let mx = max(max(f32x4.extract_lane(mv, 0), f32x4.extract_lane(mv, 1)), max(f32x4.extract_lane(mv, 2), f32x4.extract_lane(mv, 3)));
    for (let j = V4; j < V; j++) mx = max(mx, load<f32>(zr + (<usize>j << 2)));
    // The first index holding the maximum is the prediction.
    let arg = 0;
    while (arg < V - 1 && load<f32>(zr + (<usize>arg << 2)) != mx) arg++;
    const zy = load<f32>(zr + (<usize>y << 2));
    const m4 = f32x4.splat(mx);
    let sv = f32x4.splat(0);
    for (let j = 0; j < V4; j += 4) {
      const p = zr + (<usize>j << 2);
      const e = exp4(f32x4.sub(v128.load(p), m4));
      v128.store(p, e);
      sv = f32x4.add(sv, e);
    }
    let sum = hsum(sv);
    for (let j = V4; j < V; j++) {
      const p = zr + (<usize>j << 2);
      const e = exp1(load<f32>(p) - mx);
      store<f32>(p, e);
      sum += e;
    }
    store<f32>(loss + (<usize>r << 2), Mathf.log(sum) + mx - zy);
    store<f32>(inv + (<usize>r << 2), <f32>1 / sum);
    store<f32>(hit + (<usize>r << 2), arg == y ? 1 : 0);
  }
}

/** z = scale[r] · (e · inv[r] - onehot(y)) in place: the gradient of scale[r] · loss[r] by the logits. */
export function tr_xent_bwd(z: usize, V: i32, targets: usize, inv: usize, scale: usize, r0: i32, r1: i32): void {
  const V4 = V & ~3;
  for (let r = r0; r < r1; r++) {
    const zr = z + ((<usize>r * V) << 2);
    const s = load<f32>(scale + (<usize>r << 2));
    const m = f32x4.splat(load<f32>(inv + (<usize>r << 2)) * s);
    for (let j = 0; j < V4; j += 4) {
      const p = zr + (<usize>j << 2);
      v128.store(p, f32x4.mul(v128.load(p), m));
    }
    const ms = f32x4.extract_lane(m, 0);
    for (let j = V4; j < V; j++) {
      const p = zr + (<usize>j << 2);
      store<f32>(p, load<f32>(p) * ms);
    }
    const y = load<i32>(targets + (<usize>r << 2));
    const py = zr + (<usize>y << 2);
    store<f32>(py, load<f32>(py) - s);
  }
}

// ---- memory ----------------------------------------------------------------------------------------

/** Zeroes `bytes` bytes at p (bulk memory fill: faster than filling a typed array over shared memory). */
export function tr_zero(p: usize, bytes: usize): void {
  memory.fill(p, 0, bytes);
}

// ---- elementwise -----------------------------------------------------------------------------------
//
// Rows [r0, r1) of 16 values (n % 16 == 0; the caller does any tail).

/** y = a + b. */
export function tr_add(a: usize, b: usize, y: usize, r0: i32, r1: i32): void {
  for (let i: usize = <usize>r0 << 6; i < (<usize>r1 << 6); i += 16) v128.store(y + i, f32x4.add(v128.load(a + i), v128.load(b + i)));
}

// ---- RMS norm --------------------------------------------------------------------------------------

/**
 * y = x · inv · (w + offset) per row of dim values, inv = 1/sqrt(mean(x²) + eps) stored per row; w == 0:
 * no gain. dim % 4 == 0.
 */
export function tr_rmsnorm_fwd(x: usize, w: usize, y: usize, inv: usize, dim: i32, eps: f32, offset: f32, r0: i32, r1: i32): void {
  const db = <usize>dim << 2;
  const off = f32x4.splat(offset);
  for (let r = r0; r < r1; r++) {
    const xr = x + <usize>r * db, yr = y + <usize>r * db;
    let ss = f32x4.splat(0);
    for (let i: usize = 0; i < db; i += 16) {
      const v = v128.load(xr + i);
      ss = madd(v, v, ss);
    }
    const s: f32 = <f32>1 / Mathf.sqrt(hsum(ss) / <f32>dim + eps);
    store<f32>(inv + (<usize>r << 2), s);
    const sv = f32x4.splat(s);
    if (w != 0) for (let i: usize = 0; i < db; i += 16) v128.store(yr + i, f32x4.mul(f32x4.mul(v128.load(xr + i), sv), f32x4.add(v128.load(w + i), off)));
    else for (let i: usize = 0; i < db; i += 16) v128.store(yr + i, f32x4.mul(v128.load(xr + i), sv));
  }
}

/** dx += inv · (g - n · mean(g ⊙ n)) with g = dy ⊙ (w + offset), n = x · inv. Rows [r0, r1). */
export function tr_rmsnorm_bwd(x: usize, w: usize, dy: usize, inv: usize, dx: usize, dim: i32, offset: f32, r0: i32, r1: i32): void {
  const db = <usize>dim << 2;
  const off = f32x4.splat(offset);
  const one = f32x4.splat(1);
  for (let r = r0; r < r1; r++) {
    const o = <usize>r * db;
    const s = load<f32>(inv + (<usize>r << 2));
    let acc = f32x4.splat(0);
    for (let i: usize = 0; i < db; i += 16) {
      const gain = w != 0 ? f32x4.add(v128.load(w + i), off) : one;
      acc = madd(f32x4.mul(v128.load(dy + o + i), gain), v128.load(x + o + i), acc);
    }
    const m = f32x4.splat(hsum(acc) * s * s / <f32>dim);
    const sv = f32x4.splat(s);
    for (let i: usize = 0; i < db; i += 16) {
      const gain = w != 0 ? f32x4.add(v128.load(w + i), off) : one;
      const g = f32x4.mul(v128.load(dy + o + i), gain);
      const d = f32x4.mul(sv, f32x4.sub(g, f32x4.mul(v128.load(x + o + i), m)));
      v128.store(dx + o + i, f32x4.add(v128.load(dx + o + i), d));
    }
  }
}

/**
 * dw[c] += Σ_r dy[r][c] · x[r][c] · inv[r] for the columns of groups [g0, g1) of four (threads own columns;
 * a group is always summed the same way, whichever thread takes it).
 */
export function tr_rmsnorm_dw(x: usize, dy: usize, inv: usize, dw: usize, nrows: i32, dim: i32, g0: i32, g1: i32): void {
  const db = <usize>dim << 2;
  for (let gi = g0; gi < g1; gi++) {
    const c0 = gi << 2;
    if (c0 + 4 <= dim) {
      const co = <usize>c0 << 2;
      let acc = f32x4.splat(0);
      for (let r = 0; r < nrows; r++) {
        const o = <usize>r * db + co;
        acc = madd(f32x4.mul(v128.load(dy + o), v128.load(x + o)), f32x4.splat(load<f32>(inv + (<usize>r << 2))), acc);
      }
      v128.store(dw + co, f32x4.add(v128.load(dw + co), acc));
      continue;
    }
    for (let c = c0; c < dim; c++) {
      const co = <usize>c << 2;
      let acc: f32 = 0;
      for (let r = 0; r < nrows; r++) {
        const o = <usize>r * db + co;
        acc += load<f32>(dy + o) * load<f32>(x + o) * load<f32>(inv + (<usize>r << 2));
      }
      store<f32>(dw + co, load<f32>(dw + co) + acc);
    }
  }
}

// ---- RoPE ------------------------------------------------------------------------------------------

/**
 * dst (+)= src rotated by sign · angle, rows [r0, r1) of nHead heads of hd values, the first nRot dims of
 * each head rotated (neox: pairs i, i + nRot/2; else 2i, 2i + 1), the rest copied. Row r is at position
 * r % T; cs holds (cos, sin) per position and pair.
 */
export function tr_rope(src: usize, dst: usize, nHead: i32, hd: i32, nRot: i32, neox: i32, cs: usize, T: i32, sign: f32, accumulate: i32, r0: i32, r1: i32): void {
  const half = nRot >> 1;
  const hdb = <usize>hd << 2;
  for (let r = r0; r < r1; r++) {
    const cst = cs + ((<usize>(r % T) * half) << 3);
    for (let h = 0; h < nHead; h++) {
      const o = <usize>(r * nHead + h) * hdb;
      const sp = src + o, dp = dst + o;
      for (let i = 0; i < half; i++) {
        const c = load<f32>(cst + (<usize>i << 3)), s = sign * load<f32>(cst + (<usize>i << 3) + 4);
        const i0 = <usize>(neox != 0 ? i : i << 1) << 2, i1 = <usize>(neox != 0 ? i + half : (i << 1) + 1) << 2;
        const x0 = load<f32>(sp + i0), x1 = load<f32>(sp + i1);
        const y0 = x0 * c - x1 * s, y1 = x0 * s + x1 * c;
        if (accumulate != 0) {
          store<f32>(dp + i0, load<f32>(dp + i0) + y0);
          store<f32>(dp + i1, load<f32>(dp + i1) + y1);
        } else {
          store<f32>(dp + i0, y0);
          store<f32>(dp + i1, y1);
        }
      }
      for (let i = nRot; i < hd; i++) {
        const io = <usize>i << 2;
        store<f32>(dp + io, accumulate != 0 ? load<f32>(dp + io) + load<f32>(sp + io) : load<f32>(sp + io));
      }
    }
  }
}

// ---- head-wise gate --------------------------------------------------------------------------------

/** y = x · sigmoid(g) per head; sig keeps the sigmoids. Rows [r0, r1) of nHead heads of hd (hd % 4 == 0). */
export function tr_gate_fwd(x: usize, g: usize, y: usize, sig: usize, nHead: i32, hd: i32, r0: i32, r1: i32): void {
  const hdb = <usize>hd << 2;
  for (let hh = r0 * nHead; hh < r1 * nHead; hh++) {
    const s: f32 = <f32>1 / (<f32>1 + exp1(-load<f32>(g + (<usize>hh << 2))));
    store<f32>(sig + (<usize>hh << 2), s);
    const sv = f32x4.splat(s);
    const o = <usize>hh * hdb;
    for (let i: usize = 0; i < hdb; i += 16) v128.store(y + o + i, f32x4.mul(v128.load(x + o + i), sv));
  }
}

/** dx += dy · sig, dg += (dy · x) · sig (1 - sig); dx or dg may be 0 (not wanted). */
export function tr_gate_bwd(x: usize, sig: usize, dy: usize, dx: usize, dg: usize, nHead: i32, hd: i32, r0: i32, r1: i32): void {
  const hdb = <usize>hd << 2;
  for (let hh = r0 * nHead; hh < r1 * nHead; hh++) {
    const s = load<f32>(sig + (<usize>hh << 2));
    const sv = f32x4.splat(s);
    const o = <usize>hh * hdb;
    let acc = f32x4.splat(0);
    for (let i: usize = 0; i < hdb; i += 16) {
      const d = v128.load(dy + o + i);
      acc = madd(d, v128.load(x + o + i), acc);
      if (dx != 0) v128.store(dx + o + i, madd(d, sv, v128.load(dx + o + i)));
    }
    if (dg != 0) {
      const p = dg + (<usize>hh << 2);
      store<f32>(p, load<f32>(p) + hsum(acc) * s * (<f32>1 - s));
    }
  }
}
