// The embedded default model: the project's trained nano model (models/nano.gguf, docs/nano.md), a small
// step35 with every architectural feature, trained on the agentic task corpus. Where it is missing (a
// checkout without it), a deterministic random-weight 'tiny' step35 model generated on first use, and
// everything that shows it says it has random weights.
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GGMLType } from '../gguf/ggml-types.js';
import { makeModel } from '../model/make/random-model.js';

const NANO_LABEL = 'stepflash-nano (the project\'s trained 6.4M-parameter step35; see docs/nano.md for what it can do)';
const RANDOM_LABEL = 'tiny step35 (RANDOM WEIGHTS: its text is meaningless; models/nano.gguf is missing)';

/** How the default model is described wherever it is shown. */
export function defaultModelLabel(): string {
  return nanoModelPath() !== null ? NANO_LABEL : RANDOM_LABEL;
}

/** The trained nano model in the repository, or null. */
export function nanoModelPath(): string | null {
  const path = fileURLToPath(new URL('../../models/nano.gguf', import.meta.url));
  return existsSync(path) ? path : null;
}

function candidates(): string[] {
  const repoModels = fileURLToPath(new URL('../../models', import.meta.url));
  return [repoModels, join(tmpdir(), 'stepflash-models')];
}

/** Path of the default model: the trained nano model, else the random tiny one. */
export function defaultModelPath(): string {
  return nanoModelPath() ?? tinyRandomModelPath();
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
