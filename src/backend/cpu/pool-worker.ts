// A pool worker: instantiates the kernels over each shared memory and runs its share of each job.
import { workerData } from 'node:worker_threads';
import { instantiateKernelModule } from './kernels.js';
import { CTL, claimShare, runShare } from './pool-protocol.js';

interface PoolWorkerData {
  memories: WebAssembly.Memory[];
  module: WebAssembly.Module;
  ctl: Int32Array;
  job: Float64Array;
  scratch: Float64Array;
  tid: number;
}

const SPIN = 200_000;
const { memories, module, ctl, job, scratch, tid } = workerData as PoolWorkerData;
const kernels = memories.map((m) => instantiateKernelModule(module, m));
Atomics.add(ctl, CTL.READY, 1);

// Jobs are numbered from 1; starting from 0 means a job posted while this worker was still starting up is
// not missed.
let seen = 0;
for (;;) {
  let s = Atomics.load(ctl, CTL.SEQ);
  for (let spins = 0; s === seen; s = Atomics.load(ctl, CTL.SEQ)) {
    if (++spins > SPIN) {
      Atomics.wait(ctl, CTL.SEQ, seen);
      spins = 0;
    }
  }
  seen = s;
  if (Atomics.load(ctl, CTL.QUIT) !== 0) break;
  // The main thread may have run this share itself already (this worker woke late), or moved on to a
  // later job: then there is nothing to do and nothing to report.
  if (!claimShare(ctl, tid, s)) continue;
  const threads = Atomics.load(ctl, CTL.THREADS);
  try {
    runShare(kernels, job, tid, threads, scratch, threads);
  } catch {
    Atomics.store(ctl, CTL.FAILED, 1);
  }
  Atomics.add(ctl, CTL.DONE, 1);
  Atomics.notify(ctl, CTL.DONE);
}
