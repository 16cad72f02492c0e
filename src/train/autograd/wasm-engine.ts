// The fast engine: f32 tensors in one shared WebAssembly.Memory, the products, attention, SwiGLU and
// cross-entropy in the SIMD kernels of kernels/train.ts, split across the CPU backend's persistent
// thread pool. Scratch comes from reusable chunks that reset() rewinds, so a training step allocates
// nothing once the first step has sized them.
import { defaultThreads } from '../../backend/cpu/cpu-backend.js';
import { compileKernels, instantiateKernelModule, type KernelExports } from '../../backend/cpu/kernels.js';
import { ThreadPool, type KernelCall } from '../../backend/cpu/thread-pool.js';
import { WasmMemory } from '../../backend/cpu/wasm-memory.js';
import type { AttentionShape, Engine, MatmulNT, RopeShape, Transpose } from './engine.js';
import { RefEngine } from './ref-engine.js';
import type { FloatArray } from './tensor.js';

export interface WasmEngineOptions {
  /** Threads computing kernels, this one included. Default: STEPFLASH_THREADS or the machine's cores. */
  readonly threads?: number;
}

export class WasmEngine implements Engine {
  readonly dtype = 'f32' as const;
  readonly threads: number;
  readonly mem: WasmMemory;
  private readonly pool: ThreadPool;
  /** This thread's kernel instance, for calls too small to share out. */
  private readonly k: KernelExports;
  private scratchBytes = 64 << 10;
  private arenaPtr = 0;
  private arenaBytes = 0;
  private arenaUsed = 0;
  /** Shapes the kernels do not take (a SwiGLU row or head not a multiple of 4) go to plain JS. */
  private readonly fallback = new RefEngine('f32');

  constructor(opts: WasmEngineOptions = {}) {
    this.threads = opts.threads ?? defaultThreads();
    this.mem = new WasmMemory();
    const module = compileKernels();
    const kernels = instantiateKernelModule(module, this.mem.memory);
    this.k = kernels;
    const scratch = Array.from({ length: this.threads }, () => this.mem.allocBytes(this.scratchBytes));
    this.pool = new ThreadPool([this.mem.memory], module, [kernels], this.threads, scratch);
  }

  /** Resolves once every worker thread runs (before that, jobs run on the calling thread alone). */
  async ready(timeoutMs = 30_000): Promise<void> {
    const t0 = Date.now();
    while (!this.pool.started) {
      if (Date.now() - t0 > timeoutMs) throw new Error(`the training thread pool did not start within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  zeros(n: number): Float32Array {
    const a = this.scratch(n);
    this.k.tr_zero(a.byteOffset, n * 4);
    return a;
  }
  scratch(n: number): Float32Array {
    return this.mem.f32(this.temp(Math.max(1, n) * 4), n);
  }
  ints(n: number): Int32Array {
    const a = new Int32Array(this.mem.memory.buffer, this.temp(Math.max(1, n) * 4), n);
    a.fill(0);
    return a;
  }

  /**
   * Scratch comes from one arena that reset() rewinds. It sits at the top of the wasm heap, so when a
   * step needs more it grows in place: wasm memory cannot be freed, and a chunked allocator fed
   * size-varying requests (expert groups, counted targets) keeps adding chunks step after step. Only if
   * something was allocated above it (parameters created mid-training) does a new arena start.
   */
  private temp(bytes: number): number {
    const need = Math.ceil(bytes / 64) * 64;
    if (this.arenaUsed + need > this.arenaBytes) {
      const want = Math.ceil(Math.max(this.arenaUsed + need, this.arenaBytes * 1.5, 16 << 20) / 64) * 64;
      if (this.arenaBytes > 0 && this.arenaPtr + this.arenaBytes === this.mem.used) {
        this.mem.allocBytes(want - this.arenaBytes, 64);
      } else {
        this.arenaPtr = this.mem.allocBytes(want, 64);
        this.arenaUsed = 0;
      }
      this.arenaBytes = want;
    }
    const p = this.arenaPtr + this.arenaUsed;
    this.arenaUsed += need;
    return p;
  }

  /** Bytes of wasm memory in use (parameters, optimizer-free: the moments live in JS, scratch arena). */
  get memoryBytes(): number {
    return this.mem.used;
  }
  persistent(n: number): Float32Array {
    return this.mem.f32(this.mem.allocBytes(Math.max(1, n) * 4), n);
  }
  reset(): void {
    this.arenaUsed = 0;
  }
  async close(): Promise<void> {
    await this.pool.close();
  }

  /** Per-thread scratch of at least `bytes`; regions only grow. */
  private ensureScratch(bytes: number): void {
    if (bytes <= this.scratchBytes) return;
    this.scratchBytes = Math.max(bytes, this.scratchBytes * 2);
    for (let t = 0; t < this.threads; t++) this.pool.setScratch(0, t, this.mem.allocBytes(this.scratchBytes));
  }

  add(a: FloatArray, b: FloatArray, y: FloatArray, n: number): void {
    const v = n - (n % 16);
    if (v > 0) this.pool.run([{ kernel: 'tr_add', args: [ptr(a), ptr(b), ptr(y), 0, 0], rows: v / 16, r0Arg: 3 }]);
    for (let i = v; i < n; i++) y[i] = a[i]! + b[i]!;
  }

  accumulate(d: FloatArray, g: FloatArray, n: number): void {
    this.add(d, g, d, n);
  }

  rmsNormForward(x: FloatArray, w: FloatArray | null, y: FloatArray, inv: FloatArray, rows: number, dim: number, eps: number, offset: number): void {
    if (dim % 4 !== 0) return this.fallback.rmsNormForward(x, w, y, inv, rows, dim, eps, offset);
    this.pool.run([{ kernel: 'tr_rmsnorm_fwd', args: [ptr(x), w ? ptr(w) : 0, ptr(y), ptr(inv), dim, Math.fround(eps), offset, 0, 0], rows, r0Arg: 7 }]);
  }

  rmsNormBackward(x: FloatArray, w: FloatArray | null, dy: FloatArray, inv: FloatArray, dx: FloatArray | null, dw: FloatArray | null, rows: number, dim: number, offset: number): void {
    if (dim % 4 !== 0) return this.fallback.rmsNormBackward(x, w, dy, inv, dx, dw, rows, dim, offset);
    const calls: KernelCall[] = [];
    if (dx) calls.push({ kernel: 'tr_rmsnorm_bwd', args: [ptr(x), w ? ptr(w) : 0, ptr(dy), ptr(inv), ptr(dx), dim, offset, 0, 0], rows, r0Arg: 7 });
    // The weight's gradient sums over rows: threads own columns instead.
    if (dw) calls.push({ kernel: 'tr_rmsnorm_dw', args: [ptr(x), ptr(dy), ptr(inv), ptr(dw), rows, dim, 0, 0], rows: Math.ceil(dim / 4), r0Arg: 6 });
    this.pool.run(calls);
  }

  rope(src: FloatArray, dst: FloatArray, rows: number, r: RopeShape, sign: 1 | -1, accumulate: boolean): void {
    const cs = this.scratch(r.cs.length);
    cs.set(r.cs);
    this.pool.run([{
      kernel: 'tr_rope',
      args: [ptr(src), ptr(dst), r.nHead, r.hd, r.nRot, r.neox ? 1 : 0, ptr(cs), r.T, sign, accumulate ? 1 : 0, 0, 0],
      rows,
      r0Arg: 10,
    }]);
  }

  headGateForward(x: FloatArray, g: FloatArray, y: FloatArray, sig: FloatArray, rows: number, nHead: number, hd: number): void {
    if (hd % 4 !== 0) return this.fallback.headGateForward(x, g, y, sig, rows, nHead, hd);
    this.pool.run([{ kernel: 'tr_gate_fwd', args: [ptr(x), ptr(g), ptr(y), ptr(sig), nHead, hd, 0, 0], rows, r0Arg: 6 }]);
  }

  headGateBackward(x: FloatArray, sig: FloatArray, dy: FloatArray, dx: FloatArray | null, dg: FloatArray | null, rows: number, nHead: number, hd: number): void {
    if (hd % 4 !== 0) return this.fallback.headGateBackward(x, sig, dy, dx, dg, rows, nHead, hd);
    this.pool.run([{ kernel: 'tr_gate_bwd', args: [ptr(x), ptr(sig), ptr(dy), dx ? ptr(dx) : 0, dg ? ptr(dg) : 0, nHead, hd, 0, 0], rows, r0Arg: 7 }]);
  }

  matmulNT(calls: readonly MatmulNT[]): void {
    const jobs: KernelCall[] = [];
    for (const { a, b, c, m, n, k, accumulate } of calls) {
      if (m === 0 || n === 0) continue;
      if (a.length < m * k || b.length < n * k || c.length < m * n) throw new RangeError(`matmul ${m}x${k} · (${n}x${k})ᵀ does not fit its arrays`);
      jobs.push({ kernel: 'tr_matmul_nt', args: [ptr(a), ptr(b), ptr(c), n, k, k, k, n, accumulate ? 1 : 0, 0, 0], rows: m, r0Arg: 9 });
    }
    this.pool.run(jobs);
  }

  transpose(calls: readonly Transpose[]): void {
    this.pool.run(calls.filter((t) => t.rows > 0 && t.cols > 0).map(({ src, dst, rows, cols }) => ({
      kernel: 'tr_transpose' as const,
      args: [ptr(src), ptr(dst), cols, cols, rows, 0, 0],
      rows,
      r0Arg: 5,
    })));
  }

  attentionForward(s: AttentionShape, q: FloatArray, k: FloatArray, v: FloatArray, o: FloatArray, lse: FloatArray): void {
    if (s.hd % 4 !== 0) return this.fallback.attentionForward(s, q, k, v, o, lse);
    this.ensureScratch((s.T + 8) * 4);
    const heads = s.nHead * 65536 + s.nKv;
    this.pool.run([{
      kernel: 'tr_attn_fwd',
      args: [ptr(q), ptr(k), ptr(v), ptr(o), ptr(lse), s.T, heads, s.hd, s.window, Math.fround(s.scale), 0, 0, 0],
      rows: s.nSeq * s.nHead * s.T,
      r0Arg: 10,
      scratchArg: 12,
    }]);
  }

  attentionBackward(s: AttentionShape, q: FloatArray, k: FloatArray, v: FloatArray, o: FloatArray, dO: FloatArray, lse: FloatArray, dq: FloatArray, dk: FloatArray, dv: FloatArray): void {
    if (s.hd % 4 !== 0) return this.fallback.attentionBackward(s, q, k, v, o, dO, lse, dq, dk, dv);
    this.ensureScratch(2 * (s.T + 8) * 4);
    const heads = s.nHead * 65536 + s.nKv;
    this.pool.run([{
      kernel: 'tr_attn_bwd',
      args: [ptr(q), ptr(k), ptr(v), ptr(o), ptr(dO), ptr(lse), ptr(dq), ptr(dk), ptr(dv), s.T, heads, s.hd, s.window, Math.fround(s.scale), 0, 0, 0],
      rows: s.nSeq * s.nKv,
      r0Arg: 14,
      scratchArg: 16,
    }]);
  }

  swigluForward(g: FloatArray, u: FloatArray, h: FloatArray, rows: number, cols: number, limit: number): void {
    if (cols % 4 !== 0) return this.fallback.swigluForward(g, u, h, rows, cols, limit);
    this.pool.run([{ kernel: 'tr_swiglu_fwd', args: [ptr(g), ptr(u), ptr(h), cols, Math.fround(limit), 0, 0], rows, r0Arg: 5 }]);
  }

  swigluBackward(g: FloatArray, u: FloatArray, dh: FloatArray, dg: FloatArray, du: FloatArray, rows: number, cols: number, limit: number): void {
    if (cols % 4 !== 0) return this.fallback.swigluBackward(g, u, dh, dg, du, rows, cols, limit);
    this.pool.run([{ kernel: 'tr_swiglu_bwd', args: [ptr(g), ptr(u), ptr(dh), ptr(dg), ptr(du), cols, Math.fround(limit), 0, 0], rows, r0Arg: 7 }]);
  }

  crossEntropyForward(z: FloatArray, rows: number, V: number, targets: Int32Array, loss: FloatArray, inv: FloatArray, hit: FloatArray): void {
    this.pool.run([{ kernel: 'tr_xent_fwd', args: [ptr(z), V, targets.byteOffset, ptr(loss), ptr(inv), ptr(hit), 0, 0], rows, r0Arg: 6 }]);
  }

  crossEntropyBackward(z: FloatArray, rows: number, V: number, targets: Int32Array, inv: FloatArray, scale: FloatArray): void {
    this.pool.run([{ kernel: 'tr_xent_bwd', args: [ptr(z), V, targets.byteOffset, ptr(inv), ptr(scale), 0, 0], rows, r0Arg: 5 }]);
  }
}

/** The wasm address of an array in the engine's memory. */
function ptr(a: FloatArray): number {
  if (!(a instanceof Float32Array)) throw new TypeError('the wasm engine computes on f32 arrays in its own memory');
  return a.byteOffset;
}
