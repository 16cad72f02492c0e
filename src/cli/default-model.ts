// The embedded default model: until a trained model ships, a deterministic random-weight 'tiny' step35
// model generated on first use. Everything that shows it says it has random weights.
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GGMLType } from '../gguf/ggml-types.js';
import { makeModel } from '../model/make/random-model.js';

export const DEFAULT_MODEL_LABEL = 'tiny step35 (RANDOM WEIGHTS: its text is meaningless until a trained model ships)';

function candidates(): string[] {
  const repoModels = fileURLToPath(new URL('../../models', import.meta.url));
  return [repoModels, join(tmpdir(), 'stepflash-models')];
}

/** Path of the default model. */
export function defaultModelPath(): string {
  return tinyRandomModelPath();
}

/**
 * Path of the deterministic random-weight 'tiny' step35 model (8 layers, 16 experts, an MTP layer),
 * generating it (about a quarter of a second) when missing. Tests that need a model whose shape, not its
 * skill, matters use this one.
 */
export function tinyRandomModelPath(): string {
  for (const dir of candidates()) {
    const path = join(dir, 'tiny-random-q8_0.gguf');
    if (existsSync(path)) return path;
  }
  for (const dir of candidates()) {
    try {
      mkdirSync(dir, { recursive: true });
      const path = join(dir, 'tiny-random-q8_0.gguf');
      makeModel({ preset: 'tiny', type: GGMLType.Q8_0, seed: 0, out: path });
      return path;
    } catch {
      // not writable: try the next place
    }
  }
  throw new Error('cannot write the random tiny model anywhere (tried the repository models/ folder and the temp dir)');
}

export function resolveModel(path: string | undefined): { path: string; isDefault: boolean } {
  if (path) {
    if (!existsSync(path)) throw new Error(`model file not found: ${path}`);
    return { path, isDefault: false };
  }
  return { path: defaultModelPath(), isDefault: true };
}
