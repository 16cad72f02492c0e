// What the main thread and the pool's workers share: the control words, the job layout, and the code
// that runs one thread's share of a job (the same function on every thread).
import type { KernelExports } from './kernels.js';

/** Int32 control words. */
export const CTL = { SEQ: 0, DONE: 1, THREADS: 2, QUIT: 3, FAILED: 4, READY: 5, SIZE: 16 } as const;

/** Kernels a job may call, by index. */
export const KERNEL_NAMES = ['matmul_f32', 'matmul_q8_0', 'matmul_q4_0', 'attention', 'read_sum'] as const;
export type KernelName = (typeof KERNEL_NAMES)[number];

/** Per task: kernel id, rows, index of the r0 argument, index of the scratch argument, argument count, arguments. */
export const TASK_WORDS = 20;
export const MAX_TASKS = 256;
export const JOB_SLOTS = 1 + MAX_TASKS * TASK_WORDS;

type Fn = (...a: number[]) => unknown;

/**
 * Runs thread `tid`'s share of the job: the rows of all tasks laid end to end, cut into `threads` equal
 * contiguous pieces.
 */
export function runShare(kernels: KernelExports, job: Float64Array, tid: number, threads: number, scratch: number): void {
  const n = job[0]!;
  let total = 0;
  for (let i = 0; i < n; i++) total += job[1 + i * TASK_WORDS + 1]!;
  const start = Math.floor((total * tid) / threads);
  const end = Math.floor((total * (tid + 1)) / threads);
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
    args.length = argc;
    for (let a = 0; a < argc; a++) args[a] = job[o + 5 + a]!;
    args[r0Arg] = lo;
    args[r0Arg + 1] = hi;
    if (scratchArg >= 0) args[scratchArg] = scratch;
    (kernels[KERNEL_NAMES[job[o]!]!] as unknown as Fn)(...args);
  }
}
