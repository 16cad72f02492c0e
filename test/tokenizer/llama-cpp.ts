/**
 * The real llama.cpp (through node-llama-cpp's prebuilt CPU binary), loaded vocabulary-only, as the reference
 * for cross-checks; and synthetic vocabulary files that pair a fixture's vocabulary with another pre-tokenizer
 * type, so that pre-tokenizer types without their own fixture (deepseek-v3, ...) are checked too.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GGUFFile, gguf, writeGGUF, type GGUFEntry } from '../../src/gguf/index.js';
import { vocabPath } from './helpers.js';

export interface LlamaVocab {
  tokenize(text: string, special: boolean): number[];
  detokenize(ids: readonly number[], special: boolean): string;
  readonly eot: number | undefined;
  readonly bos: number | undefined;
  readonly eos: number | undefined;
  dispose(): Promise<void>;
}

export interface LlamaCpp {
  load(file: string): Promise<LlamaVocab>;
}

let llamaPromise: Promise<LlamaCpp | string> | undefined;

/** node-llama-cpp with the CPU prebuilt, or the reason it is not available. */
export function llamaCpp(): Promise<LlamaCpp | string> {
  return (llamaPromise ??= (async () => {
    try {
      const mod = await import('node-llama-cpp');
      const llama = await mod.getLlama({ gpu: false, build: 'never', logLevel: mod.LlamaLogLevel.disabled });
      return {
        async load(file: string): Promise<LlamaVocab> {
          const model = await llama.loadModel({ modelPath: file, vocabOnly: true });
          return {
            tokenize: (text, special) => Array.from(model.tokenize(text, special)),
            detokenize: (ids, special) => model.detokenize(ids.map((x) => x as never), special),
            eot: model.tokens.eot ?? undefined,
            bos: model.tokens.bos ?? undefined,
            eos: model.tokens.eos ?? undefined,
            dispose: () => model.dispose(),
          };
        },
      };
    } catch (e) {
      return `node-llama-cpp is not usable here: ${(e as Error).message}`;
    }
  })());
}

/** A temporary directory removed at exit. */
export function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'stepflash-tok-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Write a vocabulary-only GGUF: `base` fixture's metadata with some keys replaced. */
export function writeVariant(dir: string, base: string, name: string, changes: Record<string, GGUFEntry | undefined>): string {
  const f = GGUFFile.open(vocabPath(base));
  const md = new Map(f.metadata.entries);
  f.close();
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined) md.delete(k);
    else md.set(k, v);
  }
  const file = path.join(dir, `${name}.gguf`);
  writeGGUF(file, { metadata: md, tensors: [] });
  return file;
}

export { gguf };
