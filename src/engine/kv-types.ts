// Storage formats of key/value caches. f32 is the exact format; f16 and bf16 halve the bytes; q8_0 is
// llama.cpp's block_q8_0 (an f16 scale then 32 int8 values: 34 bytes per 32 values), the format StepFun
// runs Step 3.5 Flash's 256K context with (`-ctk q8_0 -ctv q8_0`).

import { kvRowBytes } from '../backend/backend.js';
import type { KvCacheType } from '../model/kv.js';

export type { KvCacheType };
export { kvRowBytes };

export const KV_CACHE_TYPES: readonly KvCacheType[] = ['f32', 'f16', 'bf16', 'q8_0'];

/** Values per q8_0 block and bytes per block (f16 scale + 32 quants). */
export const Q8_0_BLOCK = 32;
export const Q8_0_BLOCK_BYTES = 34;

export function parseKvCacheType(name: string, flag = '--cache-type'): KvCacheType {
  const t = name.toLowerCase();
  if ((KV_CACHE_TYPES as readonly string[]).includes(t)) return t as KvCacheType;
  throw new Error(`${flag} "${name}" is not a KV cache type (choose one of ${KV_CACHE_TYPES.join(', ')})`);
}
