// A pool worker: instantiates the kernels over each shared memory and runs its share of each job.
import { workerData } from 'node:worker_threads';
import { instantiateKernelModule } from './kernels.js';
import { CTL, claimChunk, runShare } from './pool-protocol.js';

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
    // Spinning keeps back-to-back jobs a microsecond apart; while the main thread is off doing other work
    // (a server answering HTTP between its steps) the spin would only take a core from it and its clients.
    if (++spins > SPIN || ((spins & 255) === 0 && Atomics.load(ctl, CTL.PARK) !== 0)) {
      Atomics.wait(ctl, CTL.SEQ, seen);
      spins = 0;
    }
  }
  seen = s;
  if (Atomics.load(ctl, CTL.QUIT) !== 0) break;
  // Chunks until none is left. A worker that woke late finds the job's chunks taken (the main thread runs
  // whatever no worker has claimed) or the job over, and reports nothing.
  const threads = Atomics.load(ctl, CTL.THREADS);
  const chunks = Atomics.load(ctl, CTL.CHUNKS);
  for (let c = claimChunk(ctl, s, chunks); c >= 0; c = claimChunk(ctl, s, chunks)) {
    try {
      runShare(kernels, job, c, chunks, scratch, threads, tid);
    } catch {
      Atomics.store(ctl, CTL.FAILED, 1);
    }
    Atomics.add(ctl, CTL.DONE, 1);
    Atomics.notify(ctl, CTL.DONE);
  }
}
