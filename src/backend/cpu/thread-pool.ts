// A persistent pool of worker threads that run wasm kernels over the backend's shared memory.
//
// A job is a list of kernel calls, each over a range of rows; the rows of all calls are laid end to end
// and cut into contiguous chunks, so many small calls (a token's eight experts) balance as well as one big
// one. There are a few chunks per thread, shrinking towards the end of the job, that every thread, the main
// one included, claims in turn, so a worker the OS has descheduled delays little. Workers spin briefly on
// the job counter before sleeping in Atomics.wait, so back-to-back dispatches cost about a microsecond, and
// an idle pool costs nothing. Jobs travel through a SharedArrayBuffer, never postMessage.
import { Worker } from 'node:worker_threads';
import { JOB_SLOTS, MAX_TASKS, MAX_THREADS, CTL, CHUNKS_PER_THREAD, MAX_CHUNKS, type KernelName, KERNEL_NAMES, callKernel, claimChunk, encodeTask, openChunks, runShare } from './pool-protocol.js';
import type { KernelExports } from './kernels.js';

/** Kernel ids by name (a job names its kernels by index into KERNEL_NAMES). */
const KERNEL_IDS = new Map<string, number>();
KERNEL_NAMES.forEach((name, i) => KERNEL_IDS.has(name) || KERNEL_IDS.set(name, i));

export interface KernelCall {
  readonly kernel: KernelName;
  /** Arguments; the entries at r0Arg and r0Arg+1 are replaced by each thread's row range. */
  readonly args: readonly number[];
  readonly rows: number;
  readonly r0Arg: number;
  /** Index of an argument to replace with the running thread's scratch pointer, or -1. */
  readonly scratchArg?: number;
  /** The memory (shard) the call's pointers refer to; 0 is the backend's main memory. */
  readonly shard?: number;
}

/** A job below busyMinParallelWork takes well under this on an idle machine; waiting longer means a descheduled worker. */
const BUSY_WAIT_MS = 0.5;
/** How long small jobs stay on the calling thread after such a wait. */
const BUSY_HOLD_MS = 50;

export class ThreadPool {
  readonly threads: number;
  /** How many memories the workers have kernel instances for. */
  readonly memories: number;
  private readonly workers: Worker[] = [];
  private readonly ctl: Int32Array;
  private readonly job: Float64Array;
  private readonly scratch: Float64Array;
  private closed = false;
  private broken: string | null = null;

  constructor(
    memories: readonly WebAssembly.Memory[],
    module: WebAssembly.Module,
    /** This thread's kernel instance for each memory. */
    private readonly kernels: readonly KernelExports[],
    threads: number,
    /** Scratch pointers per memory and thread, memory-major (memory m, thread t at m * threads + t). */
    scratchPtrs: readonly number[],
  ) {
    if (!(threads >= 1 && Number.isInteger(threads) && threads <= MAX_THREADS)) throw new RangeError(`threads must be a positive integer up to ${MAX_THREADS}, got ${threads}`);
    this.threads = threads;
    this.memories = memories.length;
    this.ctl = new Int32Array(new SharedArrayBuffer(CTL.SIZE * 4));
    this.job = new Float64Array(new SharedArrayBuffer(JOB_SLOTS * 8));
    this.scratch = new Float64Array(new SharedArrayBuffer(memories.length * threads * 8));
    scratchPtrs.forEach((p, i) => (this.scratch[i] = p));
    Atomics.store(this.ctl, CTL.THREADS, threads);
    // From TypeScript sources (tests, development) the worker must register the tsx loader itself before
    // importing its module: Node 20 does not pass loader hooks on to worker threads.
    const fromSource = import.meta.url.endsWith('.ts');
    const entry = new URL(fromSource ? './pool-worker.ts' : './pool-worker.js', import.meta.url).href;
    const boot = fromSource
      ? `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); })`
      : `import(${JSON.stringify(entry)})`;
    for (let t = 1; t < threads; t++) {
      const w = new Worker(boot, { eval: true, workerData: { memories, module, ctl: this.ctl, job: this.job, scratch: this.scratch, tid: t } });
      w.unref();
      // A worker that dies would leave run() waiting forever: mark the pool broken and wake it.
      const fail = (why: string) => {
        if (this.closed || this.broken) return;
        this.broken = `worker thread ${t} ${why}`;
        Atomics.store(this.ctl, CTL.FAILED, 1);
        Atomics.notify(this.ctl, CTL.DONE);
      };
      w.on('error', (e) => fail(`failed: ${e.message}`));
      w.on('exit', (code) => fail(`exited with code ${code}`));
      this.workers.push(w);
    }
  }

  /** Whether every worker has started; until then run() computes each job on the calling thread alone. */
  get started(): boolean {
    return this.threads === 1 || Atomics.load(this.ctl, CTL.READY) >= this.threads - 1;
  }

  setScratch(shard: number, tid: number, ptr: number): void {
    this.scratch[shard * this.threads + tid] = ptr;
  }

  /**
   * Jobs estimated below this much work (multiply-adds, summed over tokens) run on the calling thread, and
   * below busyMinParallelWork while the machine looks busy. Splitting a small job saves microseconds on an
   * idle machine (the trained nano model's batched steps: 1.45x the tokens/s of eight sequences with 64 Ki
   * instead of 1 Mi here), but waiting for a worker the OS has descheduled costs milliseconds on a busy
   * one (measured: a nano-sized decode step ran 30x slower on two threads than on one while other processes
   * kept the cores busy). So the pool watches its waits: a job below busyMinParallelWork that waited more
   * than BUSY_WAIT_MS for the workers marks the machine busy for BUSY_HOLD_MS. Counted in multiply-adds
   * rather than weight bytes so that a 4-bit matrix is not run alone just because it is small in bytes.
   */
  minParallelWork = 64 * 1024;
  busyMinParallelWork = 1024 * 1024;
  /** Until when (performance.now()) the machine counts as busy. */
  private busyUntil = 0;

  /**
   * Runs the calls split across all threads and returns when every thread has finished its share. `work`:
   * an estimate of the job's size in multiply-adds (see minParallelWork); unknown means large.
   */
  run(calls: readonly KernelCall[], work = Infinity): void {
    if (this.closed) throw new Error('thread pool is closed');
    if (this.broken) throw new Error(`the thread pool failed: ${this.broken}`);
    if (calls.length === 0) return;
    if (calls.length > MAX_TASKS) {
      for (let i = 0; i < calls.length; i += MAX_TASKS) this.run(calls.slice(i, i + MAX_TASKS), work);
      return;
    }
    // Until every worker has started (they load asynchronously, and under a module loader such as tsx
    // they cannot finish while this thread blocks), the caller runs the whole job itself, calling the
    // kernels directly: a small model's decode step is dozens of jobs of a few microseconds each.
    const medium = work < this.busyMinParallelWork;
    if (work < this.minParallelWork || (medium && this.busy()) || this.threads === 1 || Atomics.load(this.ctl, CTL.READY) < this.threads - 1) {
      for (const c of calls) this.runHere(c);
      return;
    }
    const job = this.job;
    job[0] = calls.length;
    calls.forEach((c, i) => {
      const id = KERNEL_IDS.get(c.kernel);
      if (id === undefined) throw new Error(`unknown kernel ${c.kernel}`);
      encodeTask(job, i, id, c.rows, c.r0Arg, c.scratchArg ?? -1, c.shard ?? 0, c.args);
    });
    let rows = 0;
    for (const c of calls) rows += c.rows;
    const chunks = Math.max(1, Math.min(this.threads * CHUNKS_PER_THREAD, rows, MAX_CHUNKS));
    if (this.parked) {
      this.parked = false;
      Atomics.store(this.ctl, CTL.PARK, 0);
    }
    Atomics.store(this.ctl, CTL.DONE, 0);
    Atomics.store(this.ctl, CTL.CHUNKS, chunks);
    const seq = Atomics.load(this.ctl, CTL.SEQ) + 1;
    Atomics.store(this.ctl, CTL.NEXT, openChunks(seq));
    Atomics.store(this.ctl, CTL.SEQ, seq);
    Atomics.notify(this.ctl, CTL.SEQ);
    // This thread takes chunks like the workers do, so whatever a descheduled worker would have done gets
    // done here instead of waiting for the OS to run it.
    let mine = 0;
    for (let c = claimChunk(this.ctl, seq, chunks); c >= 0; c = claimChunk(this.ctl, seq, chunks)) {
      runShare(this.kernels, job, c, chunks, this.scratch, this.threads, 0);
      mine++;
    }
    const want = chunks - mine;
    let waitedFrom = 0;
    for (let spin = 0; Atomics.load(this.ctl, CTL.DONE) < want; spin++) {
      if (Atomics.load(this.ctl, CTL.FAILED) !== 0) break;
      if (spin === 2000 && medium) waitedFrom = performance.now();
      if (spin > 20000) Atomics.wait(this.ctl, CTL.DONE, Atomics.load(this.ctl, CTL.DONE), 5);
    }
    if (waitedFrom > 0) {
      const now = performance.now();
      if (now - waitedFrom > BUSY_WAIT_MS) this.busyUntil = now + BUSY_HOLD_MS;
    }
    if (Atomics.load(this.ctl, CTL.FAILED) !== 0) throw new Error(`the thread pool failed: ${this.broken ?? 'a worker thread failed while running a kernel'}`);
  }

  private readonly hereArgs: number[] = [];
  private parked = false;

  /**
   * The caller will not run jobs for a while (it is about to yield to I/O): workers go to sleep now instead
   * of spinning out their wait, and the next run() wakes them. Costs that run() one wake-up (tens of
   * microseconds, while this thread already takes chunks); saves a core's worth of spinning in between.
   */
  idle(): void {
    if (this.parked || this.closed || this.threads === 1) return;
    this.parked = true;
    Atomics.store(this.ctl, CTL.PARK, 1);
  }

  /** Whether the machine counts as busy (see minParallelWork); reads the clock only while it does. */
  private busy(): boolean {
    if (this.busyUntil === 0) return false;
    if (performance.now() < this.busyUntil) return true;
    this.busyUntil = 0;
    return false;
  }

  /** One call over all its rows on this thread. */
  private runHere(c: KernelCall): void {
    const shard = c.shard ?? 0;
    const fn = this.kernels[shard]![c.kernel] as unknown as ((...a: number[]) => unknown) | undefined;
    if (typeof fn !== 'function') throw new Error(`unknown kernel ${c.kernel}`);
    const args = this.hereArgs;
    const argc = c.args.length;
    for (let a = 0; a < argc; a++) args[a] = c.args[a]!;
    args[c.r0Arg] = 0;
    args[c.r0Arg + 1] = c.rows;
    if (c.scratchArg !== undefined && c.scratchArg >= 0) args[c.scratchArg] = this.scratch[shard * this.threads]!;
    callKernel(fn, args, argc);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    Atomics.store(this.ctl, CTL.QUIT, 1);
    Atomics.add(this.ctl, CTL.SEQ, 1);
    Atomics.notify(this.ctl, CTL.SEQ);
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
