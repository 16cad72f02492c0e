// The CPU backend: wasm SIMD kernels over one shared WebAssembly.Memory, run by a thread pool.
//
// Weights are repacked at load by their format (formats/): Q8_0 and Q4_0 keep their integer quants and are
// multiplied with activations quantized to Q8_0 exactly as llama.cpp's CPU backend quantizes them; other
// types are dequantized to f32 and their activations rounded the way llama.cpp rounds them for that type.
import { bytesFor, typeName } from '../../gguf/ggml-types.js';
import { kvRowBytes as kvRowBytesOf, type AttentionJob, type Backend, type KvCacheType, type MatmulOp, type Matrix, type MatrixSource, type Tensor, type TempMark } from '../backend.js';
import { scalarSilu, sigmoid } from '../ggml-math.js';
import { availableParallelism } from 'node:os';
import { formatFor, type ActivationKind, type CpuMatrix, type PreparedActivation } from './formats/index.js';
import { compileKernels, instantiateKernels, type KernelExports } from './kernels.js';
import { ThreadPool, type KernelCall } from './thread-pool.js';
import { WasmMemory } from './wasm-memory.js';

const SCRATCH_MIN = 64 << 10;
/** Inputs of at least this many values are quantized by all threads (a prompt chunk's, not a token's). */
const PARALLEL_QUANTIZE = 1 << 16;
/** Additions, norms and other elementwise work over at least this many values are split over the threads. */
const PARALLEL_ADD = 1 << 18;
/**
 * How the f32 attention kernel tiles query rows (kernels/ops.ts attention): gs query heads of one KV group
 * by tb consecutive tokens, at most four rows, so a key or value row read once serves them all. gs is the
 * largest divisor of the group size up to four; tokens fill the rest of the tile.
 */
export function attentionTiles(nHead: number, nKv: number, nt: number): { gs: number; tb: number; rows: number } {
  const group = nHead / nKv;
  let gs = Math.min(4, group);
  while (group % gs !== 0) gs--;
  const tb = Math.max(1, Math.min(nt, Math.floor(4 / gs)));
  return { gs, tb, rows: gs * tb };
}
/** Cache type codes of kernels/kv.ts. */
const KV_TYPE_CODE: Record<KvCacheType, number> = { f32: 0, f16: 1, bf16: 2, q8_0: 3 };
/** Query tokens of a sequence from which attention widens its f16/bf16 caches to f32 first, and the most one call widens. */
const WIDEN_MIN_TOKENS = 2;
const WIDEN_MAX_BYTES = 32 << 20;

export interface CpuBackendOptions {
  /** Threads computing kernels, this one included. Default: the machine's cores. */
  readonly threads?: number;
  /**
   * Most bytes of weights one wasm memory takes before the next matrix goes to another memory (a wasm32
   * memory holds at most 4 GiB). The main memory, which also holds activations and caches, takes weights
   * up to this much too. Lowered in tests to exercise sharding on small models.
   */
  readonly shardBytes?: number;
  /**
   * Key/value caches go into the main memory while it holds at most this many bytes, then into memories
   * of their own, up to cacheShardBytes each (default 2 GiB and 3 GiB; lowered in tests).
   */
  readonly mainCacheBytes?: number;
  readonly cacheShardBytes?: number;
  /**
   * Jobs estimated below this many multiply-adds run on the calling thread (see ThreadPool.minParallelWork;
   * default 64 Ki while the machine is idle, 1 Mi while it looks busy; one token's jobs as well as several
   * tokens'). Tests of the splitting itself set 0, which also turns off the busy watch.
   */
  readonly minParallelWork?: number;
}

export function defaultThreads(): number {
  const env = Number(process.env.STEPFLASH_THREADS);
  return Number.isInteger(env) && env > 0 ? env : availableParallelism();
}

const DEFAULT_SHARD_BYTES = 3 * 2 ** 30;

/** One wasm memory with this thread's kernel instance over it. Shard 0 is the main memory. */
interface Shard {
  /** A memory opened for key/value caches (weights never go there). */
  cache?: boolean;
  readonly mem: WasmMemory;
  readonly k: KernelExports;
  weightBytes: number;
}

export class CpuBackend implements Backend {
  readonly name = 'cpu-wasm-simd';
  /** The main memory: activations, caches, and weights up to shardBytes. */
  readonly mem: WasmMemory;
  readonly k: KernelExports;
  readonly threads: number;
  private readonly shards: Shard[];
  private readonly shardBytes: number;
  private readonly mainCacheBytes: number;
  private readonly cacheShardBytes: number;
  private readonly minParallelWork: number | undefined;
  private pool: ThreadPool | null = null;
  private scratchBytes = SCRATCH_MIN;
  private scratch: number[] = [];
  private probe: { ptr: number; bytes: number } | null = null;

  constructor(opts: CpuBackendOptions = {}) {
    this.threads = opts.threads ?? defaultThreads();
    this.shardBytes = opts.shardBytes ?? DEFAULT_SHARD_BYTES;
    this.mainCacheBytes = opts.mainCacheBytes ?? 2 * 2 ** 30;
    this.cacheShardBytes = opts.cacheShardBytes ?? DEFAULT_SHARD_BYTES;
    this.minParallelWork = opts.minParallelWork;
    this.mem = new WasmMemory();
    this.k = instantiateKernels(this.mem.memory);
    this.shards = [{ mem: this.mem, k: this.k, weightBytes: 0 }];
    this.getPool();
  }

  /** Number of wasm memories in use (more than one for models whose weights exceed shardBytes). */
  get memoryCount(): number {
    return this.shards.length;
  }

  /**
   * The pool, (re)started when memories were added since it was made: workers instantiate the kernels over
   * every memory when they start.
   */
  private getPool(): ThreadPool {
    if (this.pool && this.pool.memories === this.shards.length) return this.pool;
    if (this.pool) void this.pool.close();
    this.scratch = this.shards.flatMap((sh) => Array.from({ length: this.threads }, () => sh.mem.allocBytes(this.scratchBytes)));
    this.pool = new ThreadPool(this.shards.map((sh) => sh.mem.memory), compileKernels(), this.shards.map((sh) => sh.k), this.threads, this.scratch);
    // an explicit threshold (tests forcing every job onto the pool) holds whether or not the machine looks busy
    if (this.minParallelWork !== undefined) this.pool.minParallelWork = this.pool.busyMinParallelWork = this.minParallelWork;
    return this.pool;
  }

  /** Per-thread scratch of at least `bytes` in every memory; regions only grow (old ones are left behind). */
  private ensureScratch(bytes: number): void {
    if (bytes <= this.scratchBytes) return;
    this.scratchBytes = Math.max(bytes, this.scratchBytes * 2);
    const pool = this.getPool();
    this.shards.forEach((sh, m) => {
      for (let t = 0; t < this.threads; t++) pool.setScratch(m, t, sh.mem.allocBytes(this.scratchBytes));
    });
  }

  idle(): void {
    this.pool?.idle();
  }

  async close(): Promise<void> {
    await this.pool?.close();
  }

  /**
   * Memory read bandwidth in bytes per second, measured with this backend's threads over a buffer far
   * larger than the caches (the best of a few passes; the buffer is allocated once and kept).
   */
  measureReadBandwidth(bytes = 256 << 20, passes = 5): number {
    if (!this.probe || this.probe.bytes < bytes) {
      // Fresh pages all map to one zero page; write them so the reads below come from DRAM.
      this.probe = { ptr: this.mem.allocBytes(bytes), bytes };
      this.mem.u8(this.probe.ptr, bytes).fill(0x5a);
    }
    const rows = Math.floor(bytes / 64);
    let best = 0;
    for (let i = 0; i < passes; i++) {
      const t0 = performance.now();
      this.getPool().run([{ kernel: 'read_sum', args: [this.probe.ptr, 0, 0], rows, r0Arg: 1 }]);
      const s = (performance.now() - t0) / 1000;
      best = Math.max(best, bytes / s);
    }
    return best;
  }

  // ---- memory -------------------------------------------------------------------------------

  alloc(size: number): Tensor {
    return this.mem.alloc(size);
  }
  allocCaches(sizes: readonly number[]): Tensor[] {
    const bytes = sizes.reduce((a, n) => a + Math.ceil((n * 4) / 64) * 64, 0);
    let m = 0;
    if (this.mem.used + bytes > this.mainCacheBytes) {
      m = this.shards.length - 1;
      const last = this.shards[m]!;
      if (!last.cache || last.mem.used + bytes > this.cacheShardBytes) {
        // A memory of its own; the pool restarts with it on its next job, as when weights add one.
        const mem = new WasmMemory();
        this.shards.push({ mem, k: instantiateKernels(mem.memory), weightBytes: this.shardBytes, cache: true });
        m = this.shards.length - 1;
      }
    }
    const mem = this.shards[m]!.mem;
    return sizes.map((n) => (m === 0 ? mem.alloc(n) : { ...mem.alloc(n), mem: m }));
  }
  temp(size: number): Tensor {
    return { ptr: this.mem.tempBytes(size * 4), size };
  }
  resetTemp(): void {
    for (const sh of this.shards) sh.mem.resetTemp();
  }
  tempMark(): TempMark {
    return this.shards.flatMap((sh) => sh.mem.tempMark());
  }
  tempRelease(mark: TempMark): void {
    // A shard added since the mark has no entry: its scratch is all newer than the mark.
    this.shards.forEach((sh, i) => (2 * i < mark.length ? sh.mem.tempRelease(mark.slice(2 * i, 2 * i + 2)) : sh.mem.resetTemp()));
  }
  view(t: Tensor): Float32Array {
    return this.shards[t.mem ?? 0]!.mem.f32(t.ptr, t.size);
  }
  memoryBytes(): number {
    return this.shards.reduce((a, sh) => a + sh.mem.used, 0);
  }
  uploadVector(data: Float32Array): Tensor {
    const t = this.mem.alloc(data.length);
    this.view(t).set(data);
    return t;
  }

  uploadMatrix(src: MatrixSource): Matrix {
    const { rows, cols, type } = src;
    if (bytesFor(type, cols) === undefined) throw new Error(`${src.name}: ${cols} columns do not fit type ${typeName(type)}`);
    const format = formatFor(type);
    const size = (bytesFor(type, cols)! * rows * 1.2) | 0;
    const shard = this.shardFor(size);
    const { ptrs, bytes } = format.upload(this.shards[shard]!.mem, src);
    this.shards[shard]!.weightBytes += bytes;
    const m: CpuMatrix = { rows, cols, type, bytes, format, ptrs, expert: src.expert === true, shard };
    return m;
  }

  /** The memory the next matrix of about `bytes` goes to: the last one while it has room, else a new one. */
  private shardFor(bytes: number): number {
    const last = this.shards.length - 1;
    if (this.shards[last]!.weightBytes + bytes <= this.shardBytes || this.shards[last]!.weightBytes === 0) return last;
    const mem = new WasmMemory();
    this.shards.push({ mem, k: instantiateKernels(mem.memory), weightBytes: 0 });
    return this.shards.length - 1;
  }

  // ---- compute ------------------------------------------------------------------------------

  matmul(y: Tensor, w: Matrix, x: Tensor, nt: number): void {
    this.matmuls([{ y, w, x, nt }]);
  }

  matmuls(ops: readonly MatmulOp[]): void {
    // An input shared by several products (q, k, v and the gate read the same normed activations) is
    // prepared once per encoding, and copied once into each other memory that holds one of the weights.
    // A product over chosen rows of an input takes its rows from the input's one encoding.
    // Looked up by linear search: a call has a handful of inputs, and a string key per product cost a
    // small model's decoding step more than the search.
    const prepared: { ptr: number; n: number; kind: ActivationKind; act: PreparedActivation; gathered: Map<readonly number[], PreparedActivation> | null }[] = [];
    let remotes: Map<PreparedActivation, Map<number, PreparedActivation>> | null = null;
    const calls: KernelCall[] = [];
    const copyBack: { from: number; shard: number; to: number; bytes: number }[] = [];
    let work = 0;
    for (const { y, w, x, nt, rows } of ops) {
      const m = w as CpuMatrix;
      const k = m.cols;
      work += m.rows * k * nt;
      if (rows && rows.length !== nt) throw new RangeError(`matmul: ${rows.length} rows given for ${nt} tokens`);
      const srcRows = rows ? Math.floor(x.size / k) : nt;
      if (x.size < srcRows * k || y.size < nt * m.rows || (rows && rows.some((r) => !(r >= 0 && r < srcRows))))
        throw new RangeError(`matmul: ${nt} tokens do not fit x (${x.size}) or y (${y.size}) for a ${m.rows}x${k} matrix`);
      const kind = m.format.activation(m.type);
      const n = srcRows * k;
      let entry = prepared.find((p) => p.ptr === x.ptr && p.n === n && p.kind === kind);
      if (!entry) prepared.push((entry = { ptr: x.ptr, n, kind, act: this.prepareActivation(kind, x.ptr, n), gathered: null }));
      let act = entry.act;
      // All rows in order need no gathering (a decoding step's experts); one gathering serves every
      // product given the same rows array (an expert's gate and up).
      if (rows && !(rows.length === srcRows && rows.every((r, i) => r === i))) {
        const byRows = (entry.gathered ??= new Map());
        let g = byRows.get(rows);
        if (!g) byRows.set(rows, (g = this.gatherActivation(kind, act, srcRows, k, rows)));
        act = g;
      }
      if (m.shard === 0) {
        calls.push(m.format.call(m, act, y.ptr, nt));
        continue;
      }
      // One copy per encoding (whole or gathered) and memory.
      remotes ??= new Map();
      let copies = remotes.get(act);
      if (!copies) remotes.set(act, (copies = new Map()));
      let remote = copies.get(m.shard);
      if (!remote) copies.set(m.shard, (remote = this.copyActivation(act, m.shard)));
      const sh = this.shards[m.shard]!;
      const yBytes = nt * m.rows * 4;
      const yRemote = sh.mem.tempBytes(yBytes);
      calls.push({ ...m.format.call(m, remote, yRemote, nt), shard: m.shard });
      copyBack.push({ from: yRemote, shard: m.shard, to: y.ptr, bytes: yBytes });
    }
    this.getPool().run(calls, work);
    for (const c of copyBack) this.mem.u8(c.to, c.bytes).set(this.shards[c.shard]!.mem.u8(c.from, c.bytes));
  }

  /**
   * The encoding of rows `rows` of an encoded input of srcRows rows of k values, in the layout
   * prepareActivation gives nt = rows.length rows: each region of the encoding (quants, their 7-bit
   * halves or permuted copy, scales, sums) holds its rows back to back, so each is gathered row by row.
   */
  private gatherActivation(kind: ActivationKind, act: PreparedActivation, srcRows: number, k: number, rows: readonly number[]): PreparedActivation {
    const nt = rows.length;
    const gather = (src: number, srcBytes: number, parts: number): number => {
      // `parts` equal regions of srcRows rows each, row r of region j at src + j * srcBytes / parts + r * rowBytes.
      if (srcBytes === 0) return 0;
      const part = srcBytes / parts, rowBytes = part / srcRows, dstPart = rowBytes * nt;
      const dst = this.mem.tempBytes(dstPart * parts);
      // (A view taken after the allocation, which may have grown the memory.)
      const u8 = this.mem.u8(0, this.mem.memory.buffer.byteLength);
      for (let j = 0; j < parts; j++)
        for (let i = 0; i < nt; i++) {
          const from = src + j * part + rows[i]! * rowBytes;
          u8.copyWithin(dst + j * dstPart + i * rowBytes, from, from + rowBytes);
        }
      return dst;
    };
    // q8_0: quants, then (relaxed build) their positive and negative 7-bit halves; q8_K: quants and a
    // permuted copy; f32 kinds: one region.
    const quantParts = kind === 'q8_0' ? act.bytes / (srcRows * k) : kind === 'q8_K' ? 2 : 1;
    const ptr = gather(act.ptr, act.bytes, quantParts);
    const scales = gather(act.scales, act.scaleBytes, 1);
    const sums = gather(act.sums, act.sumBytes, 1);
    // Whole bytes per row times rows (a fraction nt / srcRows could round a size down by a byte).
    const of = (bytes: number) => (bytes / srcRows) * nt;
    return { ptr, scales, sums, bytes: of(act.bytes), scaleBytes: of(act.scaleBytes), sumBytes: of(act.sumBytes) };
  }

  /** A copy of a prepared activation in another memory. */
  private copyActivation(act: PreparedActivation, shard: number): PreparedActivation {
    const dst = this.shards[shard]!.mem;
    const copy = (ptr: number, bytes: number) => {
      if (bytes === 0) return 0;
      const p = dst.tempBytes(bytes);
      dst.u8(p, bytes).set(this.mem.u8(ptr, bytes));
      return p;
    };
    return { ptr: copy(act.ptr, act.bytes), scales: copy(act.scales, act.scaleBytes), sums: copy(act.sums, act.sumBytes), bytes: act.bytes, scaleBytes: act.scaleBytes, sumBytes: act.sumBytes };
  }

  /** Encodes n activations at x the way a kernel of this kind reads them (in scratch memory). */
  private prepareActivation(kind: ActivationKind, x: number, n: number): PreparedActivation {
    switch (kind) {
      case 'f32':
        return { ptr: x, scales: 0, sums: 0, bytes: n * 4, scaleBytes: 0, sumBytes: 0 };
      case 'q8_0': {
        const q = this.mem.tempBytes(3 * n), d = this.mem.tempBytes(n / 8);
        // A prompt's activations are split over the threads; a token's are quantized here.
        if (n >= PARALLEL_QUANTIZE) this.getPool().run([{ kernel: 'quantize_q8_0_blocks', args: [x, n, q, d, 0, 0], rows: n / 32, r0Arg: 4 }], n * 8);
        else this.k.quantize_q8_0(x, n, q, d);
        return { ptr: q, scales: d, sums: 0, bytes: 3 * n, scaleBytes: n / 8, sumBytes: 0 };
      }
      case 'q8_K': {
        // Per 256 values: 256 int8 quants (and a permuted copy), an f32 scale, and 48 bytes of i16 sums
        // (kernels/quantize.ts).
        const nb = n / 256;
        const q = this.mem.tempBytes(2 * n), d = this.mem.tempBytes(nb * 4), s = this.mem.tempBytes(nb * 48);
        this.k.quantize_q8_K(x, n, q, d, s);
        return { ptr: q, scales: d, sums: s, bytes: 2 * n, scaleBytes: nb * 4, sumBytes: nb * 48 };
      }
      default: {
        const p = this.mem.tempBytes(n * 4);
        this.mem.f32(p, n).set(this.mem.f32(x, n));
        if (kind === 'f16') this.k.round_to_f16(p, n);
        else if (kind === 'bf16') this.k.round_to_bf16(p, n);
        else if (kind === 'q8_0-fake') this.k.fake_quant_q8_0(p, n, this.mem.tempBytes(3 * n), this.mem.tempBytes(n / 8));
        else if (kind === 'q8_K-fake') this.k.fake_quant_q8_K(p, n);
        else throw new Error(`activation encoding ${kind} is not implemented`);
        return { ptr: p, scales: 0, sums: 0, bytes: n * 4, scaleBytes: 0, sumBytes: 0 };
      }
    }
  }

  rmsNorm(y: Tensor, x: Tensor, w: Tensor | null, nrows: number, dim: number, eps: number): void {
    if (nrows * dim >= PARALLEL_ADD) {
      this.getPool().run([{ kernel: 'rms_norm_rows', args: [x.ptr, w ? w.ptr : 0, y.ptr, dim, Math.fround(eps), 0, 0], rows: nrows, r0Arg: 5 }]);
      return;
    }
    this.k.rms_norm(x.ptr, w ? w.ptr : 0, y.ptr, nrows, dim, eps);
  }

  rope(x: Tensor, nt: number, nHeads: number, headDim: number, nRot: number, neox: boolean, cs: Float32Array): void {
    const p = this.mem.tempBytes(cs.length * 4);
    this.mem.f32(p, cs.length).set(cs);
    this.k.rope(x.ptr, nt, nHeads, headDim, nRot, neox ? 1 : 0, p);
  }

  attention(o: Tensor, q: Tensor, kCache: Tensor, vCache: Tensor, nt: number, pos0: number, nHead: number, nKv: number, headDim: number, cap: number, window: number, scale: number): void {
    this.attentions([{ o, q, kCache, vCache, nt, pos0, cap }], nHead, nKv, headDim, window, scale);
  }

  attentions(jobsIn: readonly AttentionJob[], nHead: number, nKv: number, headDim: number, window: number, scale: number): void {
    // Widened copies share one budget per call (a batch of sequences verifying drafts would each take one).
    const budget = { bytes: WIDEN_MAX_BYTES };
    const jobs = jobsIn.map((j) => this.widenedForAttention(j, nKv * headDim, window, budget));
    let maxKeys = 0, work = 0;
    const tokens = jobs.reduce((a, j) => a + j.nt, 0);
    for (const j of jobs) {
      const keys = window > 0 ? Math.min(window, j.pos0 + j.nt) : j.pos0 + j.nt;
      maxKeys = Math.max(maxKeys, keys);
      // Scores and the weighted sum of values: two multiply-adds per key and dimension, per query head.
      work += j.nt * nHead * keys * headDim * 2;
    }
    this.ensureScratch((2 * (maxKeys + 32) + 64 + 18 * headDim) * 4);
    // A job whose caches live in another memory runs there: its queries are copied in, its output back.
    const copyBack: { from: number; shard: number; to: number; bytes: number }[] = [];
    const place = (j: AttentionJob): { q: number; o: number; shard: number } => {
      const m = j.kCache.mem ?? 0;
      if ((j.vCache.mem ?? 0) !== m) throw new Error('attention: the key and value caches of a layer must share a memory');
      if (m === 0) return { q: j.q.ptr, o: j.o.ptr, shard: 0 };
      const mem = this.shards[m]!.mem;
      const qBytes = j.nt * nHead * headDim * 4;
      const q = mem.tempBytes(qBytes);
      mem.u8(q, qBytes).set(this.mem.u8(j.q.ptr, qBytes));
      const o = mem.tempBytes(qBytes);
      copyBack.push({ from: o, shard: m, to: j.o.ptr, bytes: qBytes });
      return { q, o, shard: m };
    };
    // Quantized or half-precision caches go through attention_kv; f32 caches keep the llama.cpp-ordered kernel.
    if (jobs.some((j) => (j.typeK ?? 'f32') !== 'f32' || (j.typeV ?? 'f32') !== 'f32')) {
      if ((jobs.some((j) => j.typeK === 'q8_0' || j.typeV === 'q8_0')) && headDim % 32 !== 0)
        throw new RangeError(`q8_0 caches need a head dimension that is a multiple of 32, not ${headDim}`);
      // Query heads sharing a KV head go together so each cache row is converted once for all of them, in
      // subgroups small enough that every thread still gets rows.
      const group = nHead / nKv;
      let gs = group;
      while (gs > 1 && tokens * nKv * (group / gs) < this.threads) {
        do gs--;
        while (group % gs !== 0);
      }
      // Consecutive tokens join a tile up to four rows, so a prompt converts each cache row once per tile
      // rather than once per token; one token per tile where tiles would otherwise be too few to split.
      let tb = Math.max(1, Math.floor(4 / gs));
      const tiles = (n: number) => jobs.reduce((a, j) => a + Math.ceil(j.nt / n), 0) * nKv * (group / gs);
      while (tb > 1 && tiles(tb) < this.threads) tb--;
      this.ensureScratch((64 + 2 * headDim + tb * gs * (maxKeys + tb + 32 + 18 * headDim + 5)) * 4);
      this.getPool().run(jobs.map((j) => {
        const at = place(j);
        return {
          kernel: 'attention_kv' as const,
          args: [at.q, j.kCache.ptr, j.vCache.ptr, at.o, j.nt, j.pos0, nHead, nKv, headDim, j.cap, window, Math.fround(scale), j.first ?? 0,
            KV_TYPE_CODE[j.typeK ?? 'f32'] | (KV_TYPE_CODE[j.typeV ?? 'f32'] << 4) | (gs << 8) | (tb << 16), 0, 0, 0],
          rows: Math.ceil(j.nt / tb) * nKv * (group / gs),
          r0Arg: 14,
          scratchArg: 16,
          shard: at.shard,
        };
      }), work);
    } else {
      const { gs, tb, rows } = attentionTiles(nHead, nKv, Math.max(...jobs.map((j) => j.nt)));
      this.ensureScratch((maxKeys + tb + 96 + rows * (maxKeys + tb + 32 + 16 * headDim) + 4 * (maxKeys + tb + 32 + headDim) + 8) * 4);
      this.getPool().run(jobs.map((j) => {
        const at = place(j);
        return {
          kernel: 'attention' as const,
          args: [at.q, j.kCache.ptr, j.vCache.ptr, at.o, j.nt, j.pos0, nHead, nKv, headDim, j.cap, window, Math.fround(scale), j.first ?? 0, gs, tb, 0, 0, 0],
          rows: Math.ceil(j.nt / tb) * nKv * (nHead / nKv / gs),
          r0Arg: 15,
          scratchArg: 17,
          shard: at.shard,
        };
      }), work);
    }
    for (const c of copyBack) this.mem.u8(c.to, c.bytes).set(this.shards[c.shard]!.mem.u8(c.from, c.bytes));
  }

  /**
   * A job over an f16 or bf16 cache (a q8_0 value cache too) with a prompt's worth of query rows, as a job
   * over f32 copies of the positions it sees: each row is widened once for the call, and the f32 kernel
   * (lanes for heads under 64, tiles of query rows) computes what attention_kv would on the same values,
   * bit for bit. attention_kv widens a row once per tile of at most four query rows and computes each score
   * as a dot of its own: a 512-token prompt over 1,536 positions of an f16 cache ran at a third of the f32
   * cache's speed. A q8_0 key cache stays: its scores are integer block dots, as in llama.cpp.
   */
  private widenedForAttention(j: AttentionJob, rowLen: number, window: number, budget: { bytes: number }): AttentionJob {
    const typeK = j.typeK ?? 'f32', typeV = j.typeV ?? 'f32';
    if (typeK === 'q8_0' || (typeK === 'f32' && typeV === 'f32') || j.nt < WIDEN_MIN_TOKENS) return j;
    const lo = Math.max(window > 0 ? j.pos0 - window + 1 : 0, 0, j.first ?? 0);
    const hi = j.pos0 + j.nt - 1;
    const n = hi - lo + 1;
    if (n * rowLen * 8 > budget.bytes) return j;
    budget.bytes -= n * rowLen * 8;
    const sh = this.shards[j.kCache.mem ?? 0]!;
    const wide = (c: Tensor, type: KvCacheType): Tensor => {
      const ptr = sh.mem.tempBytes(n * rowLen * 4);
      sh.k.kv_widen(c.ptr, KV_TYPE_CODE[type], rowLen, j.cap, lo, hi, ptr, n);
      return { ...c, ptr, size: n * rowLen };
    };
    return { ...j, kCache: wide(j.kCache, typeK), vCache: wide(j.vCache, typeV), cap: n, typeK: 'f32', typeV: 'f32' };
  }

  kvWrite(cache: Tensor, type: KvCacheType, slot: number, rowLen: number, src: Tensor, nRows: number): void {
    const rowBytes = kvRowBytesOf(type, rowLen);
    if ((slot + nRows) * rowBytes > cache.size * 4 || nRows * rowLen > src.size)
      throw new RangeError(`cache write of ${nRows} rows at slot ${slot} does not fit the cache or the source`);
    const sh = this.shards[cache.mem ?? 0]!;
    let from = src.ptr;
    if (cache.mem) {
      // The rows go to the cache's memory first; the conversion runs there.
      from = sh.mem.tempBytes(nRows * rowLen * 4);
      sh.mem.u8(from, nRows * rowLen * 4).set(this.mem.u8(src.ptr, nRows * rowLen * 4));
    }
    sh.k.kv_store(from, cache.ptr + slot * rowBytes, nRows, rowLen, KV_TYPE_CODE[type]);
  }

  copy(dst: Tensor, src: Tensor, n: number): void {
    this.shards[dst.mem ?? 0]!.mem.f32(dst.ptr, n).set(this.shards[src.mem ?? 0]!.mem.f32(src.ptr, n));
  }
  add(y: Tensor, a: Tensor, b: Tensor, n: number): void {
    // Sixteen values at a time in wasm (a prompt's residual adds are megabytes), the rest here.
    const n16 = n >> 4;
    if (n16 > 0) {
      const call = { kernel: 'tr_add' as const, args: [a.ptr, b.ptr, y.ptr, 0, 0], rows: n16, r0Arg: 3 };
      this.getPool().run([call], n >= PARALLEL_ADD ? Infinity : 0);
    }
    const Y = this.mem.f32(y.ptr, n), A = this.mem.f32(a.ptr, n), B = this.mem.f32(b.ptr, n);
    for (let i = n16 * 16; i < n; i++) Y[i] = A[i]! + B[i]!;
  }

  scale(y: Tensor, x: Tensor, s: number, n: number): void {
    const Y = this.mem.f32(y.ptr, n), X = this.mem.f32(x.ptr, n);
    const sf = Math.fround(s);
    for (let i = 0; i < n; i++) Y[i] = X[i]! * sf;
  }

  swiglu(y: Tensor, g: Tensor, u: Tensor, rows: number, cols: number, limit = 0): void {
    const L = limit > 0 ? limit : 0;
    if (rows * cols >= PARALLEL_ADD) this.getPool().run([{ kernel: 'swiglu_rows', args: [g.ptr, u.ptr, y.ptr, cols, Math.fround(L), 0, 0], rows, r0Arg: 5 }]);
    else this.k.swiglu(g.ptr, u.ptr, y.ptr, rows, cols, L);
    const tail = cols % 16;
    if (tail === 0) return;
    // llama.cpp computes the last cols % 16 values of each row with the scalar silu (glibc expf).
    const n = rows * cols;
    const Y = this.mem.f32(y.ptr, n), G = this.mem.f32(g.ptr, n), U = this.mem.f32(u.ptr, n);
    for (let r = 0; r < rows; r++) {
      for (let i = r * cols + cols - tail; i < (r + 1) * cols; i++) {
        const s = scalarSilu(G[i]!);
        Y[i] = L > 0 ? Math.min(s, L) * Math.min(Math.max(U[i]!, -L), L) : s * U[i]!;
      }
    }
  }

  weightedRowSum(y: Tensor, src: Tensor, rowIndex: Int32Array, weights: Float32Array, nt: number, k: number, dim: number, extra: Tensor | null): void {
    const idx = this.mem.tempBytes(rowIndex.length * 4);
    const w = this.mem.tempBytes(weights.length * 4);
    new Int32Array(this.mem.memory.buffer, idx, rowIndex.length).set(rowIndex);
    this.mem.f32(w, weights.length).set(weights);
    if (nt * k * dim >= PARALLEL_ADD) {
      this.getPool().run([{ kernel: 'weighted_row_sum_rows', args: [y.ptr, src.ptr, idx, w, k, dim, extra ? extra.ptr : 0, 0, 0], rows: nt, r0Arg: 7 }]);
      return;
    }
    this.k.weighted_row_sum(y.ptr, src.ptr, idx, w, nt, k, dim, extra ? extra.ptr : 0);
  }

  headGate(x: Tensor, gate: Tensor, nt: number, nHead: number, headDim: number): void {
    const X = this.mem.f32(x.ptr, nt * nHead * headDim), G = this.mem.f32(gate.ptr, nt * nHead);
    for (let h = 0; h < nt * nHead; h++) {
      const s = sigmoid(G[h]!);
      const base = h * headDim;
      for (let i = 0; i < headDim; i++) X[base + i] = X[base + i]! * s;
    }
  }
}
