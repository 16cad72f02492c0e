// What the main thread and the pool's workers share: the control words, the job layout, and the code
// that runs one thread's share of a job (the same function on every thread).
import type { KernelExports } from './kernels.js';

/**
 * Int32 control words. CLAIM + s is share s's claim word for the current job: the job's sequence number
 * while the share is open, its negation once a thread has taken it (the worker it belongs to, or the main
 * thread stealing it from a worker that has not woken up yet).
 */
export const CTL = { SEQ: 0, DONE: 1, THREADS: 2, QUIT: 3, FAILED: 4, READY: 5, CLAIM: 16, SIZE: 16 + 1024 } as const;
export const MAX_THREADS = 1024;

/** Takes share s of job seq for the calling thread; false when another thread has it (or the job moved on). */
export function claimShare(ctl: Int32Array, share: number, seq: number): boolean {
  return Atomics.compareExchange(ctl, CTL.CLAIM + share, seq, -seq) === seq;
}

/** Kernels a job may call, by index. */
export const KERNEL_NAMES = ['matmul_f32', 'matmul_q8_0', 'matmul_q4_0', 'attention', 'read_sum', 'matmul_q4_0x8',
  'matmul_q4_K', 'matmul_q5_K', 'matmul_q6_K',
  // Training kernels (kernels/train.ts).
  'tr_matmul_nt', 'tr_transpose', 'tr_attn_fwd', 'tr_attn_bwd', 'tr_swiglu_fwd', 'tr_swiglu_bwd', 'tr_xent_fwd', 'tr_xent_bwd',
  'tr_add', 'tr_rmsnorm_fwd', 'tr_rmsnorm_bwd', 'tr_rmsnorm_dw', 'tr_rope', 'tr_gate_fwd', 'tr_gate_bwd',
  // Attention over f16/bf16/q8_0 key/value caches (kernels/kv.ts).
  'attention_kv'] as const;
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

/**
 * Runs share `share` of the job: the rows of all tasks laid end to end, cut into `shares` equal contiguous
 * pieces. `kernels` holds one kernel instance per memory (weights of models over 4 GiB are spread over
 * several wasm memories); `tid` is the running thread, whose scratch the kernels get (a thread may run
 * another's share).
 */
export function runShare(kernels: readonly KernelExports[], job: Float64Array, share: number, shares: number, scratch: Float64Array, scratchStride: number, tid = share): void {
  const n = job[0]!;
  let total = 0;
  for (let i = 0; i < n; i++) total += job[1 + i * TASK_WORDS + 1]!;
  const start = Math.floor((total * share) / shares);
  const end = Math.floor((total * (share + 1)) / shares);
  const args: number[] = [];
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
    args.length = argc;
    for (let a = 0; a < argc; a++) args[a] = job[o + ARGS + a]!;
    args[r0Arg] = lo;
    args[r0Arg + 1] = hi;
    // Scratch pointers: one per memory and thread, memory-major.
    if (scratchArg >= 0) args[scratchArg] = scratch[shard * scratchStride + tid]!;
    (kernels[shard]![KERNEL_NAMES[job[o]!]!] as unknown as Fn)(...args);
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
