// kv-plan: the cache arithmetic against the figures for Step 3.5 Flash (to the byte), against the
// engine's own allocation for a model file, and the command line.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { Backend, Tensor } from '../../src/backend/backend.js';
import { KvCache } from '../../src/engine/kv-cache.js';
import { kvShapeOf, planKv } from '../../src/engine/kv-plan.js';
import { modelPreset } from '../../src/engine/kv-presets.js';
import { kvRowBytes, parseKvCacheType } from '../../src/engine/kv-types.js';
import { GGUFFile } from '../../src/gguf/reader.js';
import { configFromMetadata } from '../../src/model/config.js';
import { tinyRandomModelPath } from '../../src/cli/default-model.js';

const root = new URL('../..', import.meta.url).pathname;
const GiB = 2 ** 30, MiB = 2 ** 20;

function cli(args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('kv-plan', () => {
  const flash = modelPreset('step3.5-flash');

  test('Step 3.5 Flash at 262144 tokens in bf16: 12 full layers take 12 GiB, 33 sliding layers 66 MiB', () => {
    // Derivation: 8 KV heads × (128 + 128) dims × 2 bytes = 4096 B per position per layer.
    const p = planKv(flash.kv, 262144, 'bf16');
    assert.equal(p.full.layers, 12);
    assert.equal(p.sliding.layers, 33);
    assert.equal(p.full.bytes, 12 * GiB);
    assert.equal(p.full.bytes, 12 * 262144 * 8 * 256 * 2);
    assert.equal(p.sliding.positions, 512);
    assert.equal(p.sliding.bytes, 66 * MiB);
    assert.equal(p.bytes, 12 * GiB + 66 * MiB);
    assert.equal(p.mtp.layers, 3);
    assert.equal(p.mtp.bytes, 6 * MiB);
  });

  test('q8_0 halves them plus the block scales: 34 bytes per 32 values', () => {
    const p = planKv(flash.kv, 262144, 'q8_0');
    assert.equal(p.full.bytes, (12 * GiB / 2) * 34 / 32);
    assert.equal(p.full.bytes, 6845104128);
    assert.equal(p.sliding.bytes, (66 * MiB / 2) * 34 / 32);
    const mixed = planKv(flash.kv, 262144, 'q8_0', 'f16');
    assert.equal(mixed.full.bytes, 12 * 262144 * 1024 * (34 / 32 + 2)); // 1024 key values and 1024 values per position
  });

  test('sliding layers never hold more than the context; f32 doubles bf16', () => {
    assert.equal(planKv(flash.kv, 100, 'f32').sliding.positions, 100);
    assert.equal(planKv(flash.kv, 4096, 'f32').bytes, 2 * planKv(flash.kv, 4096, 'bf16').bytes);
  });

  test('the preset has the published parameter count (199.4B with MTP shared heads) and layer layout', () => {
    const total = flash.tensors.reduce((a, t) => a + t.elements, 0);
    assert.ok(Math.abs(total / 1e9 - 199.4) < 0.05, `total ${total}`);
    const full = flash.kv.layers.map((l, i) => (!l.sliding ? i : -1)).filter((i) => i >= 0);
    assert.deepEqual(full, [0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44]);
  });

  test('for a model file the plan equals what the engine allocates', () => {
    const f = GGUFFile.open(tinyRandomModelPath());
    const cfg = configFromMetadata(f.metadata, (n) => f.tensor(n) !== undefined);
    f.close();
    let next = 0;
    const alloc = (size: number): Tensor => ({ ptr: (next += size * 4), size });
    const fake = { alloc, allocCaches: (sizes: number[]) => sizes.map(alloc) } as unknown as Backend;
    for (const [ctx, batch] of [[4096, 256], [50, 8], [1000, 32]] as const) {
      const kv = new KvCache(fake, cfg, ctx, batch);
      const p = planKv(kvShapeOf(cfg), ctx, 'f32', 'f32', batch);
      assert.equal(p.full.bytes, kv.info.fullBytes);
      assert.equal(p.sliding.bytes, kv.info.slidingBytes);
    }
  });

  test('bad input is refused with a clear message', () => {
    assert.throws(() => parseKvCacheType('q4_0'), /not a KV cache type/);
    assert.throws(() => kvRowBytes('q8_0', 48), /whole 32-value blocks/);
    assert.throws(() => planKv(flash.kv, 0, 'f16'), /positive whole number/);
  });

  test('the command prints exact bytes as JSON and refuses bad flags', () => {
    const r = cli(['kv-plan', '--preset', 'step3.5-flash', '--ctx', '262144', '--cache-type', 'bf16', '--json']);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.equal(j.full.bytes, 12 * GiB);
    assert.equal(j.sliding.bytes, 66 * MiB);
    assert.equal(j.weights.total, 2 * flash.tensors.reduce((a, t) => a + (/norm|bias|rope_freqs/.test(t.name) ? 2 * t.elements : t.elements), 0));
    const text = cli(['kv-plan', '--preset', 'step3.5-flash', '--ctx', '262144', '--cache-type', 'q8_0']);
    assert.equal(text.code, 0, text.err);
    assert.match(text.out, /full\s+12 layers .* 6\.38 GiB/);
    assert.match(cli(['kv-plan', '--help']).out, /Usage: stepflash kv-plan/);
    const bad = cli(['kv-plan', '--preset', 'step3.5-flash', '--cache-type', 'q3']);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /not a KV cache type/);
    assert.match(cli(['kv-plan', '--preset', 'nope']).err, /unknown preset/);
    assert.match(cli(['kv-plan', '--preset', 'step3.5-flash', '--ctx', '-5']).err, /positive whole number/);
  });
});
