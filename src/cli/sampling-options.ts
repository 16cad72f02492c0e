// Sampling flags shared by `run` and `chat`, parsed and checked in one place.
import type { Command } from 'commander';
import type { SamplerOptions } from '../engine/sampler.js';

export interface SamplingFlags {
  temp: string;
  topK: string;
  topP: string;
  minP: string;
  repeatPenalty: string;
  presencePenalty: string;
  frequencyPenalty: string;
  seed?: string;
}

export function addSamplingFlags(cmd: Command): Command {
  return cmd
    .option('--temp <t>', 'temperature; 0 = greedy', '0.8')
    .option('--top-k <k>', 'keep the k most likely tokens (0 = off)', '40')
    .option('--top-p <p>', 'keep the smallest set with this much probability (1 = off)', '0.95')
    .option('--min-p <p>', 'drop tokens below this fraction of the top probability (0 = off)', '0.05')
    .option('--repeat-penalty <r>', 'llama.cpp repetition penalty over the last 64 tokens (1 = off)', '1')
    .option('--presence-penalty <x>', 'OpenAI presence penalty', '0')
    .option('--frequency-penalty <x>', 'OpenAI frequency penalty', '0')
    .option('--seed <n>', 'random seed (default: random, reported in --json)');
}

function num(name: string, v: string, check: (x: number) => boolean, what: string): number {
  const x = Number(v);
  if (!Number.isFinite(x) || !check(x)) throw new Error(`--${name} must be ${what}, got "${v}"`);
  return x;
}

export function samplingFrom(f: SamplingFlags): SamplerOptions {
  return {
    temperature: num('temp', f.temp, (x) => x >= 0, 'a number >= 0'),
    topK: num('top-k', f.topK, (x) => Number.isInteger(x) && x >= 0, 'an integer >= 0'),
    topP: num('top-p', f.topP, (x) => x > 0 && x <= 1, 'in (0, 1]'),
    minP: num('min-p', f.minP, (x) => x >= 0 && x < 1, 'in [0, 1)'),
    repeatPenalty: num('repeat-penalty', f.repeatPenalty, (x) => x > 0, 'a number > 0'),
    presencePenalty: num('presence-penalty', f.presencePenalty, (x) => x >= -2 && x <= 2, 'in [-2, 2]'),
    frequencyPenalty: num('frequency-penalty', f.frequencyPenalty, (x) => x >= -2 && x <= 2, 'in [-2, 2]'),
    ...(f.seed !== undefined ? { seed: num('seed', f.seed, (x) => Number.isInteger(x) && x >= 0, 'a non-negative integer') } : {}),
  };
}

export function positiveInt(name: string, v: string): number {
  return num(name, v, (x) => Number.isInteger(x) && x > 0, 'a positive integer');
}

/** --threads, shared by every command that runs a model. */
export function addThreadsFlag(cmd: Command): Command {
  return cmd.option('-t, --threads <n>', 'threads computing kernels (default: the machine\'s cores)');
}

export function threadsFrom(v: string | undefined): number | undefined {
  return v === undefined ? undefined : positiveInt('threads', v);
}
