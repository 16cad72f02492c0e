// --cache-type-k / --cache-type-v: how the key/value cache stores its rows (f32 default: exact, the format
// the llama.cpp fidelity tests compare; f16/bf16 halve the cache; q8_0 takes 34 bytes per 32 values).
import type { Command } from 'commander';
import type { KvCacheTypes } from '../engine/kv-cache.js';
import { parseKvCacheType } from '../engine/kv-types.js';

export interface CacheTypeFlags {
  cacheTypeK?: string;
  cacheTypeV?: string;
}

export function addCacheTypeFlags(cmd: Command): Command {
  return cmd
    .option('--cache-type-k <type>', 'key cache type: f32 (default), f16, bf16, q8_0')
    .option('--cache-type-v <type>', 'value cache type: f32 (default), f16, bf16, q8_0');
}

export function cacheTypesFrom(f: CacheTypeFlags): KvCacheTypes {
  return {
    k: f.cacheTypeK === undefined ? 'f32' : parseKvCacheType(f.cacheTypeK, '--cache-type-k'),
    v: f.cacheTypeV === undefined ? 'f32' : parseKvCacheType(f.cacheTypeV, '--cache-type-v'),
  };
}
