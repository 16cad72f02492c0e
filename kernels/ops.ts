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
        store<f32>(p0, x0 * c - x1 * s);
        store<f32>(p1, x0 * s + x1 * c);
      }
    }
  }
}

@inline function dot_f32(a: usize, b: usize, n: i32): f32 {
  let acc = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) acc = f32x4.add(acc, f32x4.mul(v128.load(a + (<usize>i << 2)), v128.load(b + (<usize>i << 2))));
  let s = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
  for (; i < n; i++) s += load<f32>(a + (<usize>i << 2)) * load<f32>(b + (<usize>i << 2));
  return s;
}

/**
 * Causal (optionally sliding-window) attention of nt query tokens at positions pos0..pos0+nt-1 over a
 * single sequence's cache. The cache holds position p at slot p % cap, one row of nKv*hd floats per
 * position, and must already contain the keys and values of the query tokens themselves. A key at
 * position j is visible to a query at P when j <= P and, with window > 0, P - j < window.
 * scores is scratch space for one row of attention weights.
 */
export function attention(q: usize, kc: usize, vc: usize, o: usize, nt: i32, pos0: i32, nHead: i32, nKv: i32, hd: i32, cap: i32, window: i32, scale: f32, scores: usize): void {
  const group = nHead / nKv;
  const kvRow = nKv * hd;
  for (let t = 0; t < nt; t++) {
    const P = pos0 + t;
    const start = window > 0 && P - window + 1 > 0 ? P - window + 1 : 0;
    const n = P - start + 1;
    for (let h = 0; h < nHead; h++) {
      const kvh = h / group;
      const qh = q + ((<usize>(t * nHead + h) * hd) << 2);
      let mx: f32 = -Infinity;
      for (let j = 0; j < n; j++) {
        const slot = (start + j) % cap;
        const kp = kc + ((<usize>slot * kvRow + <usize>kvh * hd) << 2);
        const s = dot_f32(qh, kp, hd) * scale;
        store<f32>(scores + (<usize>j << 2), s);
        if (s > mx) mx = s;
      }
      let sum: f64 = 0;
      for (let j = 0; j < n; j++) {
        const p = scores + (<usize>j << 2);
        const e = Mathf.exp(load<f32>(p) - mx);
        store<f32>(p, e);
        sum += <f64>e;
      }
      const inv = <f32>(1.0 / sum);
      const oh = o + ((<usize>(t * nHead + h) * hd) << 2);
      for (let i = 0; i < hd; i += 4) v128.store(oh + (<usize>i << 2), f32x4.splat(0));
      for (let j = 0; j < n; j++) {
        const slot = (start + j) % cap;
        const vp = vc + ((<usize>slot * kvRow + <usize>kvh * hd) << 2);
        const wv = f32x4.splat(load<f32>(scores + (<usize>j << 2)) * inv);
        for (let i = 0; i < hd; i += 4) {
          const op = oh + (<usize>i << 2);
          v128.store(op, f32x4.add(v128.load(op), f32x4.mul(wv, v128.load(vp + (<usize>i << 2)))));
        }
      }
    }
  }
}
