// The reference engine: every primitive in plain JS, straight from its definition, on f64 (or f32) arrays
// in the JS heap. It is the oracle for the wasm kernels and the engine the finite-difference gradient
// checks run on; it is not meant to be fast.
import type { AttentionShape, Engine, MatmulNT, RopeShape, Transpose } from './engine.js';
import type { DType, FloatArray } from './tensor.js';

export class RefEngine implements Engine {
  readonly threads = 1;
  constructor(readonly dtype: DType = 'f64') {}

  private make(n: number): FloatArray {
    return this.dtype === 'f64' ? new Float64Array(n) : new Float32Array(n);
  }
  zeros(n: number): FloatArray {
    return this.make(n);
  }
  scratch(n: number): FloatArray {
    return this.make(n);
  }
  ints(n: number): Int32Array {
    return new Int32Array(n);
  }
  persistent(n: number): FloatArray {
    return this.make(n);
  }
  reset(): void {}
  async close(): Promise<void> {}

  add(a: FloatArray, b: FloatArray, y: FloatArray, n: number): void {
    for (let i = 0; i < n; i++) y[i] = a[i]! + b[i]!;
  }

  accumulate(d: FloatArray, g: FloatArray, n: number): void {
    for (let i = 0; i < n; i++) d[i] = d[i]! + g[i]!;
  }

  rmsNormForward(x: FloatArray, w: FloatArray | null, y: FloatArray, inv: FloatArray, rows: number, dim: number, eps: number, offset: number): void {
    for (let r = 0; r < rows; r++) {
      const o = r * dim;
      let ss = 0;
      for (let i = 0; i < dim; i++) ss += x[o + i]! * x[o + i]!;
      const s = 1 / Math.sqrt(ss / dim + eps);
      inv[r] = s;
      for (let i = 0; i < dim; i++) y[o + i] = x[o + i]! * s * (w ? w[i]! + offset : 1);
    }
  }

  rmsNormBackward(x: FloatArray, w: FloatArray | null, dy: FloatArray, inv: FloatArray, dx: FloatArray | null, dw: FloatArray | null, rows: number, dim: number, offset: number): void {
    for (let r = 0; r < rows; r++) {
      const o = r * dim;
      const s = inv[r]!;
      // With n = x·s and g = dy ⊙ gain: dx = s · (g - n · mean(g ⊙ n)), dw = Σ_rows dy ⊙ n.
      let dot = 0;
      for (let i = 0; i < dim; i++) {
        dot += dy[o + i]! * (w ? w[i]! + offset : 1) * x[o + i]! * s;
        if (dw) dw[i] = dw[i]! + dy[o + i]! * x[o + i]! * s;
      }
      if (!dx) continue;
      const m = dot / dim;
      for (let i = 0; i < dim; i++) dx[o + i] = dx[o + i]! + s * (dy[o + i]! * (w ? w[i]! + offset : 1) - x[o + i]! * s * m);
    }
  }

  rope(src: FloatArray, dst: FloatArray, rows: number, r: RopeShape, sign: 1 | -1, accumulate: boolean): void {
    const { nHead, hd, nRot, neox, cs, T } = r;
    const half = nRot / 2;
    for (let t = 0; t < rows; t++) {
      const p = t % T;
      for (let h = 0; h < nHead; h++) {
        const base = (t * nHead + h) * hd;
        const out = new Float64Array(hd);
        for (let i = 0; i < hd; i++) out[i] = src[base + i]!;
        for (let i = 0; i < half; i++) {
          const c = cs[(p * half + i) * 2]!, s = sign * cs[(p * half + i) * 2 + 1]!;
          const i0 = neox ? i : 2 * i, i1 = neox ? i + half : 2 * i + 1;
          const x0 = src[base + i0]!, x1 = src[base + i1]!;
          out[i0] = x0 * c - x1 * s;
          out[i1] = x0 * s + x1 * c;
        }
        for (let i = 0; i < hd; i++) dst[base + i] = accumulate ? dst[base + i]! + out[i]! : out[i]!;
      }
    }
  }

  headGateForward(x: FloatArray, g: FloatArray, y: FloatArray, sig: FloatArray, rows: number, nHead: number, hd: number): void {
    for (let h = 0; h < rows * nHead; h++) {
      const s = 1 / (1 + Math.exp(-g[h]!));
      sig[h] = s;
      for (let i = h * hd; i < (h + 1) * hd; i++) y[i] = x[i]! * s;
    }
  }

  headGateBackward(x: FloatArray, sig: FloatArray, dy: FloatArray, dx: FloatArray | null, dg: FloatArray | null, rows: number, nHead: number, hd: number): void {
    for (let h = 0; h < rows * nHead; h++) {
      const s = sig[h]!;
      let dot = 0;
      for (let i = h * hd; i < (h + 1) * hd; i++) {
        dot += dy[i]! * x[i]!;
        if (dx) dx[i] = dx[i]! + dy[i]! * s;
      }
      if (dg) dg[h] = dg[h]! + dot * s * (1 - s);
    }
  }

  matmulNT(calls: readonly MatmulNT[]): void {
    for (const { a, b, c, m, n, k, accumulate } of calls) {
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let p = 0; p < k; p++) s += a[i * k + p]! * b[j * k + p]!;
          c[i * n + j] = accumulate ? c[i * n + j]! + s : s;
        }
      }
    }
  }

  transpose(calls: readonly Transpose[]): void {
    for (const { src, dst, rows, cols } of calls) for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) dst[j * rows + i] = src[i * cols + j]!;
  }

  attentionForward(s: AttentionShape, q: FloatArray, k: FloatArray, v: FloatArray, o: FloatArray, lse: FloatArray): void {
    const { nSeq, T, nHead, nKv, hd, window, scale } = s;
    const group = nHead / nKv;
    const p = new Float64Array(T);
    for (let b = 0; b < nSeq; b++) {
      for (let h = 0; h < nHead; h++) {
        const kvh = Math.floor(h / group);
        for (let t = 0; t < T; t++) {
          const qo = ((b * T + t) * nHead + h) * hd;
          const j0 = window > 0 ? Math.max(0, t - window + 1) : 0;
          let mx = -Infinity;
          for (let j = j0; j <= t; j++) {
            const ko = ((b * T + j) * nKv + kvh) * hd;
            let sc = 0;
            for (let d = 0; d < hd; d++) sc += q[qo + d]! * k[ko + d]!;
            p[j] = sc * scale;
            mx = Math.max(mx, p[j]!);
          }
          let sum = 0;
          for (let j = j0; j <= t; j++) sum += p[j] = Math.exp(p[j]! - mx);
          for (let d = 0; d < hd; d++) {
            let acc = 0;
            for (let j = j0; j <= t; j++) acc += p[j]! * v[((b * T + j) * nKv + kvh) * hd + d]!;
            o[qo + d] = acc / sum;
          }
          lse[(b * T + t) * nHead + h] = mx + Math.log(sum);
        }
      }
    }
  }

  attentionBackward(s: AttentionShape, q: FloatArray, k: FloatArray, v: FloatArray, o: FloatArray, dO: FloatArray, lse: FloatArray, dq: FloatArray, dk: FloatArray, dv: FloatArray): void {
    const { nSeq, T, nHead, nKv, hd, window, scale } = s;
    const group = nHead / nKv;
    for (let b = 0; b < nSeq; b++) {
      for (let h = 0; h < nHead; h++) {
        const kvh = Math.floor(h / group);
        for (let t = 0; t < T; t++) {
          const qo = ((b * T + t) * nHead + h) * hd;
          const L = lse[(b * T + t) * nHead + h]!;
          let D = 0;
          for (let d = 0; d < hd; d++) D += dO[qo + d]! * o[qo + d]!;
          const j0 = window > 0 ? Math.max(0, t - window + 1) : 0;
          for (let j = j0; j <= t; j++) {
            const ko = ((b * T + j) * nKv + kvh) * hd;
            let sc = 0, dp = 0;
            for (let d = 0; d < hd; d++) {
              sc += q[qo + d]! * k[ko + d]!;
              dp += dO[qo + d]! * v[ko + d]!;
            }
            const p = Math.exp(sc * scale - L);
            const ds = p * (dp - D) * scale;
            for (let d = 0; d < hd; d++) {
              dq[qo + d] = dq[qo + d]! + ds * k[ko + d]!;
              dk[ko + d] = dk[ko + d]! + ds * q[qo + d]!;
              dv[ko + d] = dv[ko + d]! + p * dO[qo + d]!;
            }
          }
        }
      }
    }
  }

  swigluForward(g: FloatArray, u: FloatArray, h: FloatArray, rows: number, cols: number, limit: number): void {
    for (let i = 0; i < rows * cols; i++) {
      let s = silu(g[i]!);
      let uu = u[i]!;
      if (limit > 0) {
        s = Math.min(s, limit);
        uu = Math.min(Math.max(uu, -limit), limit);
      }
      h[i] = s * uu;
    }
  }

  swigluBackward(g: FloatArray, u: FloatArray, dh: FloatArray, dg: FloatArray, du: FloatArray, rows: number, cols: number, limit: number): void {
    for (let i = 0; i < rows * cols; i++) {
      const x = g[i]!;
      const sg = 1 / (1 + Math.exp(-x));
      let s = x * sg;
      let ds = sg * (1 + x * (1 - sg));
      let uu = u[i]!;
      let duOk = 1;
      if (limit > 0) {
        if (s > limit) ds = 0;
        s = Math.min(s, limit);
        if (uu > limit || uu < -limit) duOk = 0;
        uu = Math.min(Math.max(uu, -limit), limit);
      }
      dg[i] = dg[i]! + dh[i]! * uu * ds;
      du[i] = du[i]! + dh[i]! * s * duOk;
    }
  }

  crossEntropyForward(z: FloatArray, rows: number, V: number, targets: Int32Array, loss: FloatArray, inv: FloatArray, hit: FloatArray): void {
    for (let r = 0; r < rows; r++) {
      const o = r * V;
      const y = targets[r]!;
      let mx = -Infinity, arg = 0;
      for (let j = 0; j < V; j++) if (z[o + j]! > mx) [mx, arg] = [z[o + j]!, j];
      const zy = z[o + y]!;
      let sum = 0;
      for (let j = 0; j < V; j++) sum += z[o + j] = Math.exp(z[o + j]! - mx);
      loss[r] = Math.log(sum) + mx - zy;
      inv[r] = 1 / sum;
      hit[r] = arg === y ? 1 : 0;
    }
  }

  crossEntropyBackward(z: FloatArray, rows: number, V: number, targets: Int32Array, inv: FloatArray, scale: FloatArray): void {
    for (let r = 0; r < rows; r++) {
      const o = r * V;
      const m = inv[r]! * scale[r]!;
      for (let j = 0; j < V; j++) z[o + j] = z[o + j]! * m;
      z[o + targets[r]!] = z[o + targets[r]!]! - scale[r]!;
    }
  }
}

function silu(x: number): number {
  return x / (1 + Math.exp(-x));
}
