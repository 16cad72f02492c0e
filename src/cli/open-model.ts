// Opening a model for a command: resolve the path (or the embedded default), load with a progress bar,
// build its tokenizer, and say plainly when the weights are random.
import type { GGUFFile } from '../gguf/reader.js';
import { loadModel } from '../model/load.js';
import type { Step35Model } from '../model/step35.js';
import { Tokenizer } from '../tokenizer/index.js';
import { defaultModelLabel, resolveModel } from './default-model.js';
import { progressBar } from './progress.js';

export interface OpenModel {
  readonly path: string;
  readonly model: Step35Model;
  readonly tokenizer: Tokenizer;
  readonly file: GGUFFile;
  readonly isDefault: boolean;
  readonly randomWeights: boolean;
  readonly label: string;
  readonly loadMs: number;
  close(): void;
}

export function isRandomWeights(file: GGUFFile): boolean {
  return file.metadata.get('stepflash.random_weights')?.value === true;
}

export function openModel(pathArg: string | undefined, opts: { quiet?: boolean; threads?: number } = {}): OpenModel {
  const { path, isDefault } = resolveModel(pathArg);
  const bar = opts.quiet ? undefined : progressBar('loading');
  const lm = loadModel(path, { threads: opts.threads, onProgress: (d, t) => bar?.update(d, t) });
  bar?.done();
  try {
    const tokenizer = Tokenizer.fromMetadata(lm.file.metadata);
    const randomWeights = isRandomWeights(lm.file);
    const label = isDefault ? defaultModelLabel() : `${lm.model.config.name}${randomWeights ? ' (RANDOM WEIGHTS)' : ''}`;
    return { path, model: lm.model, tokenizer, file: lm.file, isDefault, randomWeights, label, loadMs: lm.loadMs, close: lm.close };
  } catch (e) {
    lm.close();
    throw e;
  }
}
