// Opening a model file: GGUF header -> configuration -> weights in a backend -> a runnable model.
import type { Backend } from '../backend/backend.js';
import { CpuBackend } from '../backend/cpu/cpu-backend.js';
import { GGUFFile } from '../gguf/reader.js';
import { configFromMetadata } from './config.js';
import { Step35Model } from './step35.js';
import { loadWeights, type LoadProgress } from './weights.js';

export interface LoadOptions {
  readonly backend?: Backend;
  readonly onProgress?: LoadProgress;
  readonly maxBatch?: number;
  /** Tokens per FFN pass of a long prompt (default: sized to the weights, see ffnSlice() in step35.ts). */
  readonly ffnSlice?: number;
  /** Threads for the CPU backend created when no backend is given. */
  readonly threads?: number;
}

export interface LoadedModel {
  readonly model: Step35Model;
  readonly file: GGUFFile;
  readonly loadMs: number;
  close(): void;
}

export function loadModel(path: string, opts: LoadOptions = {}): LoadedModel {
  const t0 = performance.now();
  const file = GGUFFile.open(path);
  let backend: Backend | undefined;
  try {
    const config = configFromMetadata(file.metadata, (n) => file.tensor(n) !== undefined);
    backend = opts.backend ?? new CpuBackend({ threads: opts.threads });
    const weights = loadWeights(file, config, backend, opts.onProgress);
    const model = new Step35Model(config, weights, backend, file, opts.maxBatch, opts.ffnSlice);
    const ownBackend = !opts.backend;
    return {
      model,
      file,
      loadMs: performance.now() - t0,
      close: () => {
        file.close();
        if (ownBackend) void backend!.close();
      },
    };
  } catch (e) {
    file.close();
    if (!opts.backend) void backend?.close();
    throw e;
  }
}
