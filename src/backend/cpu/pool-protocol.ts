// What the main thread and the pool's workers share: the control words, the job layout, and the code
// that runs one thread's share of a job (the same function on every thread).
import type { KernelExports } from './kernels.js';

/**
 * Int32 control words. NEXT hands out the current job's chunks: the job's tag (its sequence number modulo
 * 2^19) in the high bits and the next chunk's index in the low 12, so a worker that wakes after its job has
 * ended can tell and takes nothing from the next one. DONE counts finished chunks. PARK, set between jobs
 * by ThreadPool.idle(), sends spinning workers to sleep at once; the next job clears it.
 */
export const CTL = { SEQ: 0, DONE: 1, THREADS: 2, QUIT: 3, FAILED: 4, READY: 5, NEXT: 6, CHUNKS: 7, PARK: 8, SIZE: 16 } as const;
export const MAX_THREADS = 1024;
/** A job is cut into about this many chunks per thread, so a thread preempted mid-job delays little. */
export const CHUNKS_PER_THREAD = 4;
const INDEX_BITS = 12;
export const MAX_CHUNKS = 1 << INDEX_BITS;

/** The NEXT word that opens job `seq` (chunk 0 next). */
export function openChunks(seq: number): number {
  return (seq & 0x7ffff) << INDEX_BITS;
}

/** Takes the next chunk of job `seq`: its index, or -1 when none is left (or the job is over). */
export function claimChunk(ctl: Int32Array, seq: number, chunks: number): number {
  const tag = openChunks(seq);
  for (;;) {
    const v = Atomics.load(ctl, CTL.NEXT);
    if ((v & ~(MAX_CHUNKS - 1)) !== tag) return -1;
    const i = v & (MAX_CHUNKS - 1);
    if (i >= chunks) return -1;
    if (Atomics.compareExchange(ctl, CTL.NEXT, v, v + 1) === v) return i;
  }
}

/** Kernels a job may call, by index. */
export const KERNEL_NAMES = ['matmul_f32', 'matmul_q8_0', 'matmul_q4_0', 'attention', 'read_sum', 'matmul_q4_0x8',
  'matmul_q4_K', 'matmul_q5_K', 'matmul_q6_K',
  // Training kernels (kernels/train.ts).
  'tr_matmul_nt', 'tr_transpose', 'tr_attn_fwd', 'tr_attn_bwd', 'tr_swiglu_fwd', 'tr_swiglu_bwd', 'tr_xent_fwd', 'tr_xent_bwd',
  'tr_add', 'tr_rmsnorm_fwd', 'tr_rmsnorm_bwd', 'tr_rmsnorm_dw', 'tr_rope', 'tr_gate_fwd', 'tr_gate_bwd',
  // Attention over f16/bf16/q8_0 key/value caches (kernels/kv.ts).
  'attention_kv',
  'matmul_q8_0x4', 'quantize_q8_0_blocks', 'tr_add', 'rms_norm_rows', 'swiglu_rows', 'weighted_row_sum_rows'] as const;
export type KernelName = (typeof KERNEL_NAMES)[number];

/**
 * Per task: kernel id, rows, index of the r0 argument, index of the scratch argument, argument count, the
 * memory (shard) it runs in, then the arguments.
 */
export const TASK_WORDS = 24;
const ARGS = 6;
export const MAX_TASKS = 256;
export const JOB_SLOTS = 1 + MAX_TASKS * TASK_WORDS;

type Fn = (...a: number[]) => unknown;

/** Arguments of the kernel call being made (runShare runs one call at a time on its thread). */
const ARG_BUFFER: number[] = new Array<number>(TASK_WORDS - ARGS).fill(0);

/**
 * fn(args[0], ..., args[argc - 1]). A call with its arguments written out, rather than spread from an
 * array, lets V8's optimized code call the kernel through the wasm export's own signature-specific entry
 * (a spread call goes through the generic one): a small model's decode makes ~50 such calls a token on
 * each thread.
 */
export function callKernel(fn: Fn, a: readonly number[], argc: number): unknown {
  switch (argc) {
    case 0: return fn();
    case 1: return fn(a[0]);
    case 2: return fn(a[0], a[1]);
    case 3: return fn(a[0], a[1], a[2]);
    case 4: return fn(a[0], a[1], a[2], a[3]);
    case 5: return fn(a[0], a[1], a[2], a[3], a[4]);
    case 6: return fn(a[0], a[1], a[2], a[3], a[4], a[5]);
    case 7: return fn(a[0], a[1], a[2], a[3], a[4], a[5], a[6]);
    case 8: return fn(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]);
    case 9: return fn(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8]);
    case 10: return fn(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9]);
    case 11: return fn(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10]);
    case 12: return fn(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11]);
    case 13: return fn(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12]);
    case 14: return fn(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13]);
    case 15: return fn(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13], a[14]);
    case 16: return fn(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13], a[14], a[15]);
    case 17: return fn(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13], a[14], a[15], a[16]);
    case 18: return fn(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13], a[14], a[15], a[16], a[17]);
    default: return fn(...a.slice(0, argc));
  }
}

/**
 * Where piece i of `shares` starts. Pieces shrink linearly from about 2/shares of the rows to 1/shares^2:
 * threads claim pieces in order, so the last ones, which a thread may finish alone while the others wait,
 * are the smallest (mini Q8_0 decode: the main thread's wait at the end of jobs ~25% shorter than with
 * equal pieces, decode ~3% faster).
 */
export function shareBoundary(total: number, i: number, shares: number): number {
  const r = (shares - i) / shares;
  return Math.floor(total * (1 - r * r));
}

/**
 * Runs share `share` of the job: the rows of all tasks laid end to end, cut into `shares` contiguous
 * pieces (shareBoundary). `kernels` holds one kernel instance per memory (weights of models over 4 GiB
 * are spread over several wasm memories); `tid` is the running thread, whose scratch the kernels get (a
 * thread may run another's share).
 */
export function runShare(kernels: readonly KernelExports[], job: Float64Array, share: number, shares: number, scratch: Float64Array, scratchStride: number, tid = share): void {
  const n = job[0]!;
  let total = 0;
  for (let i = 0; i < n; i++) total += job[1 + i * TASK_WORDS + 1]!;
  const start = shareBoundary(total, share, shares);
  const end = shareBoundary(total, share + 1, shares);
  const args = ARG_BUFFER;
  let offset = 0;
  for (let i = 0; i < n && offset < end; i++) {
    const o = 1 + i * TASK_WORDS;
    const rows = job[o + 1]!;
    const lo = Math.max(start, offset) - offset;
    const hi = Math.min(end, offset + rows) - offset;
    offset += rows;
    if (lo >= hi) continue;
    const r0Arg = job[o + 2]!;
    const scratchArg = job[o + 3]!;
    const argc = job[o + 4]!;
    const shard = job[o + 5]!;
    for (let a = 0; a < argc; a++) args[a] = job[o + ARGS + a]!;
    args[r0Arg] = lo;
    args[r0Arg + 1] = hi;
    // Scratch pointers: one per memory and thread, memory-major.
    if (scratchArg >= 0) args[scratchArg] = scratch[shard * scratchStride + tid]!;
    callKernel(kernels[shard]![KERNEL_NAMES[job[o]!]!] as unknown as Fn, args, argc);
  }
}

/** Writes task i of a job. */
export function encodeTask(job: Float64Array, i: number, kernel: number, rows: number, r0Arg: number, scratchArg: number, shard: number, args: readonly number[]): void {
  if (args.length > TASK_WORDS - ARGS) throw new Error(`kernel call with ${args.length} arguments: at most ${TASK_WORDS - ARGS}`);
  const o = 1 + i * TASK_WORDS;
  job[o] = kernel;
  job[o + 1] = rows;
  job[o + 2] = r0Arg;
  job[o + 3] = scratchArg;
  job[o + 4] = args.length;
  job[o + 5] = shard;
  for (let a = 0; a < args.length; a++) job[o + ARGS + a] = args[a]!;
}
