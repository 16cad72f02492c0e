// stepflash inspect M: what is in a model file.
import type { Command } from 'commander';
import { typeName } from '../../gguf/ggml-types.js';
import { GGUFFile } from '../../gguf/reader.js';
import { configFromMetadata } from '../../model/config.js';
import { isRandomWeights } from '../open-model.js';
import { resolveModel } from '../default-model.js';
import { countParams, formatCount } from '../params.js';

export function registerInspect(program: Command): void {
  program
    .command('inspect')
    .description('print a model file\'s metadata, tensors and parameter counts')
    .argument('[model]', 'GGUF file (default: the embedded default model)')
    .option('--json', 'print one JSON object')
    .option('--all-metadata', 'print long arrays (token lists, merges) in full')
    .action((modelArg: string | undefined, opts: { json?: boolean; allMetadata?: boolean }) => {
      const { path } = resolveModel(modelArg);
      const f = GGUFFile.open(path);
      try {
        const cfg = configFromMetadata(f.metadata, (n) => f.tensor(n) !== undefined);
        const params = countParams(f, cfg);
        const byType = new Map<string, number>();
        for (const t of f.tensors) byType.set(typeName(t.type), (byType.get(typeName(t.type)) ?? 0) + t.nbytes);
        const summary = {
          file: path,
          bytes: f.fileSize,
          gguf_version: f.version,
          architecture: cfg.arch,
          name: cfg.name,
          random_weights: isRandomWeights(f),
          layers: cfg.nLayer,
          mtp_layers: cfg.nNextn,
          hidden: cfg.nEmbd,
          vocab: cfg.nVocab,
          context: cfg.nCtxTrain,
          sliding_window: cfg.slidingWindow,
          experts: cfg.nExpert ? { count: cfg.nExpert, used: cfg.nExpertUsed, ffn: cfg.nFfExp, shared_ffn: cfg.nFfShexp } : null,
          params: { total: params.total, trunk: params.trunk, mtp: params.mtp, active_per_token: params.active },
          bytes_by_type: Object.fromEntries(byType),
          metadata: f.metadata.toJSON(opts.allMetadata ? Number.MAX_SAFE_INTEGER : 8),
          tensors: f.tensors.map((t) => ({ name: t.name, type: typeName(t.type), dims: t.dims, bytes: t.nbytes, offset: t.fileOffset })),
        };
        if (opts.json) {
          process.stdout.write(JSON.stringify(summary) + '\n');
          return;
        }
        const out: string[] = [];
        out.push(`${path}: GGUF v${f.version}, ${(f.fileSize / 2 ** 20).toFixed(1)} MiB, ${f.tensors.length} tensors`);
        out.push(`architecture ${cfg.arch} "${cfg.name}"${summary.random_weights ? '  (RANDOM WEIGHTS)' : ''}`);
        out.push(`layers ${cfg.nLayer}${cfg.nNextn ? ` + ${cfg.nNextn} MTP` : ''}, hidden ${cfg.nEmbd}, vocab ${cfg.nVocab}, context ${cfg.nCtxTrain}` +
          (cfg.slidingWindow ? `, sliding window ${cfg.slidingWindow}` : ''));
        if (cfg.nExpert) out.push(`MoE: ${cfg.nExpert} experts, top-${cfg.nExpertUsed}, expert FFN ${cfg.nFfExp}, shared FFN ${cfg.nFfShexp}`);
        out.push(`parameters: ${formatCount(params.total)} total (${formatCount(params.trunk)} trunk, ${formatCount(params.mtp)} MTP), ${formatCount(params.active)} active per token`);
        out.push(`bytes by type: ${[...byType].map(([k, v]) => `${k} ${(v / 2 ** 20).toFixed(1)} MiB`).join(', ')}`);
        out.push('', 'metadata:');
        for (const [k, v] of Object.entries(summary.metadata)) out.push(`  ${k} = ${JSON.stringify(v).slice(0, 160)}`);
        out.push('', 'tensors:');
        for (const t of f.tensors) out.push(`  ${t.name.padEnd(40)} ${typeName(t.type).padEnd(5)} [${t.dims.join(', ')}]`);
        process.stdout.write(out.join('\n') + '\n');
      } finally {
        f.close();
      }
    });
}
