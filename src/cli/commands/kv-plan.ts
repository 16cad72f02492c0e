// stepflash kv-plan: the bytes a context of N tokens takes in the key/value cache, per layer type and in
// total, next to the weights' bytes, for a model file or for the published Step 3.5 Flash configuration.
import type { Command } from 'commander';
import { bytesFor, typeFromName, typeName } from '../../gguf/ggml-types.js';
import { GGUFFile } from '../../gguf/reader.js';
import { configFromMetadata } from '../../model/config.js';
import { formatBytes, kvShapeOf, planKv, type KvGroupPlan, type KvPlan, type KvShape } from '../../engine/kv-plan.js';
import { MODEL_PRESETS, modelPreset } from '../../engine/kv-presets.js';
import { parseKvCacheType } from '../../engine/kv-types.js';
import { resolveModel } from '../default-model.js';

/**
 * The largest cache one layer may have here: a layer's keys and values share one wasm32 memory (the
 * backend opens memories of 3 GiB for caches as a context grows), so one layer must fit in one.
 */
const ENGINE_LAYER_LIMIT = 3 * 2 ** 30;

interface WeightBytes {
  readonly type: string;
  readonly trunk: number;
  readonly mtp: number;
  readonly total: number;
}

interface Opts {
  model?: string;
  preset?: string;
  ctx: string;
  cacheType?: string;
  cacheTypeK?: string;
  cacheTypeV?: string;
  weightType: string;
  ringExtra: string;
  json?: boolean;
}

function positiveInt(v: string, flag: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`${flag} must be a positive whole number, got "${v}"`);
  return n;
}

/** Weights of a preset stored as `type` (matrices; 1-D norms and biases stay f32, as GGUF writers keep them). */
function presetWeights(tensors: ReturnType<typeof modelPreset>['tensors'], typeArg: string): WeightBytes {
  const type = typeFromName(typeArg);
  if (type === undefined) throw new Error(`--weight-type "${typeArg}" is not a GGML type (e.g. bf16, q8_0, q4_0, q4_K)`);
  let trunk = 0, mtp = 0;
  for (const t of tensors) {
    const vector = /norm|bias|rope_freqs/.test(t.name);
    const b = vector ? t.elements * 4 : bytesFor(type, t.elements);
    if (b === undefined) throw new Error(`${t.name} (${t.elements} values) is not a whole number of ${typeArg} blocks`);
    if (t.mtp) mtp += b;
    else trunk += b;
  }
  return { type: typeName(type), trunk, mtp, total: trunk + mtp };
}

export function registerKvPlan(program: Command): void {
  program
    .command('kv-plan')
    .description('KV-cache bytes per layer type and in total, and the weights\' bytes, for a context length')
    .option('-m, --model <file>', 'a GGUF model file (default: the embedded default model unless --preset)')
    .option('--preset <name>', `a published configuration instead of a file: ${Object.keys(MODEL_PRESETS).join(', ')}`)
    .option('-c, --ctx <n>', 'context length in tokens (default: the model\'s trained context)')
    .option('--cache-type <t>', 'K and V cache type: f32, f16, bf16, q8_0', 'f32')
    .option('--cache-type-k <t>', 'key cache type (overrides --cache-type)')
    .option('--cache-type-v <t>', 'value cache type (overrides --cache-type)')
    .option('--weight-type <t>', 'with --preset: the type the weight matrices are stored in', 'bf16')
    .option('--ring-extra <n>', 'extra slots per sliding-window ring (this engine keeps one batch beyond the window)', '0')
    .option('--json', 'print one JSON object with exact byte counts')
    .action((opts: Opts) => {
      const typeK = parseKvCacheType(opts.cacheTypeK ?? opts.cacheType ?? 'f32', '--cache-type-k');
      const typeV = parseKvCacheType(opts.cacheTypeV ?? opts.cacheType ?? 'f32', '--cache-type-v');
      const ringExtra = Number(opts.ringExtra);
      if (!Number.isSafeInteger(ringExtra) || ringExtra < 0) throw new Error(`--ring-extra must be a non-negative whole number, got "${opts.ringExtra}"`);
      if (opts.model && opts.preset) throw new Error('give either --model or --preset, not both');
      let source: string;
      let shape: KvShape;
      let trainedCtx: number;
      let weights: WeightBytes;
      if (opts.preset) {
        const p = modelPreset(opts.preset);
        source = `preset ${p.name}: ${p.description}`;
        shape = p.kv;
        trainedCtx = p.contextLength;
        weights = presetWeights(p.tensors, opts.weightType);
      } else {
        const { path } = resolveModel(opts.model);
        const f = GGUFFile.open(path);
        try {
          const cfg = configFromMetadata(f.metadata, (n) => f.tensor(n) !== undefined);
          source = `${path}: ${cfg.arch} "${cfg.name}"`;
          shape = kvShapeOf(cfg);
          trainedCtx = cfg.nCtxTrain;
          let trunk = 0, mtp = 0;
          const types = new Set<string>();
          for (const t of f.tensors) {
            const m = /^blk\.(\d+)\./.exec(t.name);
            if (m && Number(m[1]) >= cfg.nLayer) mtp += t.nbytes;
            else trunk += t.nbytes;
            types.add(typeName(t.type));
          }
          weights = { type: [...types].sort().join('+'), trunk, mtp, total: trunk + mtp };
        } finally {
          f.close();
        }
      }
      const ctx = opts.ctx === undefined ? trainedCtx : positiveInt(opts.ctx, '--ctx');
      const plan = planKv(shape, ctx, typeK, typeV, ringExtra);
      if (opts.json) {
        process.stdout.write(JSON.stringify({ source, trained_context: trainedCtx, ...planJson(plan), weights, total_with_weights: plan.bytes + weights.trunk, fits_engine: plan.full.bytesPerLayer <= ENGINE_LAYER_LIMIT }) + '\n');
        return;
      }
      const row = (label: string, g: KvGroupPlan) =>
        `  ${label.padEnd(9)} ${String(g.layers).padStart(3)} layers × ${String(g.positions).padStart(7)} positions × ${formatBytes(g.bytesPerLayer / Math.max(1, g.positions)).padStart(10)}/pos = ${formatBytes(g.bytes).padStart(11)}  (${g.bytes} B)`;
      const lines = [
        source,
        `context ${ctx} tokens${ctx > trainedCtx ? ` (beyond the trained ${trainedCtx})` : ''}, K cache ${typeK}, V cache ${typeV}`,
        'KV cache per sequence:',
        row('full', plan.full),
        row('sliding', plan.sliding),
        `  ${'total'.padEnd(9)} ${formatBytes(plan.bytes)} (${plan.bytes} B)`,
      ];
      if (plan.mtp.layers) lines.push(row('MTP', plan.mtp), `  ${'with MTP'.padEnd(9)} ${formatBytes(plan.bytesWithMtp)} (${plan.bytesWithMtp} B)`);
      lines.push(`prefix-reuse checkpoint (a copy of the sliding rings; the server keeps up to 4 per sequence): ${formatBytes(plan.sliding.bytes)} each`);
      lines.push(
        `weights (${weights.type}): ${formatBytes(weights.trunk)} trunk${weights.mtp ? ` + ${formatBytes(weights.mtp)} MTP` : ''} (${weights.total} B)`,
        `weights + KV of one sequence: ${formatBytes(weights.trunk + plan.bytes)}`,
      );
      if (plan.full.bytesPerLayer > ENGINE_LAYER_LIMIT)
        lines.push(`note: one full layer's cache (${formatBytes(plan.full.bytesPerLayer)}) exceeds the 3 GiB a wasm memory gives one layer's keys and values here; use a smaller context or cache type`);
      process.stdout.write(lines.join('\n') + '\n');
    });
}

function planJson(p: KvPlan) {
  const g = (x: KvGroupPlan) => ({ layers: x.layers, positions: x.positions, bytes_per_layer: x.bytesPerLayer, bytes: x.bytes });
  return { ctx: p.ctx, cache_type_k: p.typeK, cache_type_v: p.typeV, full: g(p.full), sliding: g(p.sliding), mtp: g(p.mtp), kv_bytes: p.bytes, kv_bytes_with_mtp: p.bytesWithMtp, checkpoint_bytes: p.sliding.bytes };
}
