// How many bytes a sequence's key/value cache takes, per layer type and in total, before allocating it.
// Full-attention layers store every position of the context; sliding-window layers store only their
// window (plus, in this engine, the slots of one batch: `ringExtra`), so at long contexts the full layers
// are nearly all of it. MTP (nextn) layers are sliding layers with caches of their own, reported apart.
import type { ModelConfig } from '../model/config.js';
import { kvRowBytes, type KvCacheType } from './kv-types.js';

export interface KvLayerShape {
  readonly sliding: boolean;
  readonly nHeadKv: number;
  readonly mtp: boolean;
}

/** What the cache size depends on, from a model file's configuration or a published one. */
export interface KvShape {
  readonly headDimK: number;
  readonly headDimV: number;
  readonly slidingWindow: number;
  readonly layers: readonly KvLayerShape[];
}

export interface KvGroupPlan {
  readonly layers: number;
  /** Positions each layer of the group stores. */
  readonly positions: number;
  readonly bytesPerLayer: number;
  readonly bytes: number;
}

export interface KvPlan {
  readonly ctx: number;
  readonly typeK: KvCacheType;
  readonly typeV: KvCacheType;
  readonly full: KvGroupPlan;
  readonly sliding: KvGroupPlan;
  readonly mtp: KvGroupPlan;
  /** Trunk layers (full + sliding): what a sequence needs without drafting. */
  readonly bytes: number;
  /** With the MTP layers' caches too. */
  readonly bytesWithMtp: number;
}

export function kvShapeOf(cfg: ModelConfig): KvShape {
  return {
    headDimK: cfg.headDimK,
    headDimV: cfg.headDimV,
    slidingWindow: cfg.slidingWindow,
    layers: cfg.layers.map((l) => ({ sliding: l.sliding, nHeadKv: l.nHeadKv, mtp: l.mtp })),
  };
}

/** Positions a layer's cache holds for a context of `ctx` tokens. */
export function kvPositions(shape: KvShape, sliding: boolean, ctx: number, ringExtra = 0): number {
  return sliding ? Math.min(ctx, shape.slidingWindow + ringExtra) : ctx;
}

export function planKv(shape: KvShape, ctx: number, typeK: KvCacheType, typeV: KvCacheType = typeK, ringExtra = 0): KvPlan {
  if (!Number.isSafeInteger(ctx) || ctx <= 0) throw new RangeError(`the context must be a positive whole number of tokens, got ${ctx}`);
  if (!Number.isSafeInteger(ringExtra) || ringExtra < 0) throw new RangeError(`ring extra slots must be a non-negative whole number, got ${ringExtra}`);
  const groups = { full: [] as number[], sliding: [] as number[], mtp: [] as number[] };
  const positions = { full: ctx, sliding: 0, mtp: 0 };
  for (const l of shape.layers) {
    const pos = kvPositions(shape, l.sliding, ctx, ringExtra);
    const perPos = kvRowBytes(typeK, l.nHeadKv * shape.headDimK) + kvRowBytes(typeV, l.nHeadKv * shape.headDimV);
    const g = l.mtp ? 'mtp' : l.sliding ? 'sliding' : 'full';
    groups[g].push(pos * perPos);
    positions[g] = pos;
  }
  const group = (b: number[], pos: number): KvGroupPlan => {
    const bytes = b.reduce((a, x) => a + x, 0);
    return { layers: b.length, positions: b.length ? pos : 0, bytesPerLayer: b.length && b.every((x) => x === b[0]) ? b[0]! : b.length ? bytes / b.length : 0, bytes };
  };
  const full = group(groups.full, positions.full);
  const sliding = group(groups.sliding, positions.sliding);
  const mtp = group(groups.mtp, positions.mtp);
  return { ctx, typeK, typeV, full, sliding, mtp, bytes: full.bytes + sliding.bytes, bytesWithMtp: full.bytes + sliding.bytes + mtp.bytes };
}

/** "12.00 GiB (12884901888 B)"-style figures for people; JSON output keeps exact bytes. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(2)} ${units[u]}`;
}
