// Export of a trained model to GGUF (architecture step35), loadable by stepflash and llama.cpp: the
// parameters under their own (GGUF) names, matrices in F32 or F16, norms, biases and the router in F32
// (as src/model/make/random-model.ts writes them), metadata from the configuration plus the tokenizer's.
import { GGMLType, typeTraits } from '../../gguf/ggml-types.js';
import { quantizeRow } from '../../gguf/quant/index.js';
import { gguf, GGUFValueType, type GGUFEntry } from '../../gguf/values.js';
import { writeGGUF, type TensorToWrite } from '../../gguf/writer.js';
import type { ModelConfig } from '../../model/config.js';
import type { Param } from '../autograd/tensor.js';
import { step35Metadata } from './config.js';

export interface ExportOptions {
  /** Type of the weight matrices (F32 default, or F16). */
  readonly type?: GGMLType.F32 | GGMLType.F16;
  readonly name?: string;
  readonly description?: string;
  /** Extra metadata (e.g. training facts under a stepflash.* prefix). */
  readonly extra?: readonly (readonly [string, GGUFEntry])[];
}

export interface ExportableModel {
  readonly config: ModelConfig;
  readonly params: { readonly all: readonly Param[]; readonly copies?: readonly { readonly name: string; readonly of: Param }[] };
}

/** llama.cpp's general.file_type of an all-F32 / mostly-F16 file. */
const FILE_TYPE = { [GGMLType.F32]: 0, [GGMLType.F16]: 1 } as const;

/**
 * Writes the model to `path`. `tokenizer` holds the tokenizer.ggml.* entries (tokens, types, merges,
 * special ids, pre-tokenizer, chat template); its token count must be the model's vocabulary size.
 */
export function exportGguf(model: ExportableModel, tokenizer: Iterable<readonly [string, GGUFEntry]>, path: string, opts: ExportOptions = {}): { bytes: number; tensors: number } {
  const cfg = model.config;
  const type = opts.type ?? GGMLType.F32;
  const tok = [...tokenizer];
  const tokens = tok.find(([k]) => k === 'tokenizer.ggml.tokens')?.[1];
  const nTokens = tokens && tokens.type === GGUFValueType.ARRAY ? (tokens.value as { items: readonly unknown[] }).items.length : -1;
  if (nTokens !== cfg.nVocab) throw new Error(`the tokenizer has ${nTokens < 0 ? 'no tokenizer.ggml.tokens' : `${nTokens} tokens`}, the model a vocabulary of ${cfg.nVocab}`);
  const metadata: [string, GGUFEntry][] = [
    ['general.architecture', gguf.str('step35')],
    ['general.name', gguf.str(opts.name ?? cfg.name)],
    ...(opts.description ? [['general.description', gguf.str(opts.description)] as [string, GGUFEntry]] : []),
    ['general.file_type', gguf.u32(FILE_TYPE[type])],
    ...step35Metadata(cfg),
    ...tok.map(([k, v]) => [k, v] as [string, GGUFEntry]),
    ...(opts.extra ?? []).map(([k, v]) => [k, v] as [string, GGUFEntry]),
  ];
  let bytes = 0;
  // Tied heads are written as tensors of their own under their usual names (the released layout).
  const written = [...model.params.all.map((p) => ({ name: p.name, p })), ...(model.params.copies ?? []).map((c) => ({ name: c.name, p: c.of }))];
  const tensors: TensorToWrite[] = written.map(({ name, p }) => {
    // Vectors, the router and the head-wise gate stay f32 (small, and sensitive), like random-model.ts.
    const small = p.shape.length === 1 || name.endsWith('.ffn_gate_inp.weight') || name.endsWith('.attn_gate.weight');
    const t = small ? GGMLType.F32 : type;
    const cols = p.shape[p.shape.length - 1]!;
    const rows = p.size / cols;
    const traits = typeTraits(t)!;
    const rowBytes = (cols / traits.blockSize) * traits.typeSize;
    bytes += rows * rowBytes;
    return {
      name,
      dims: p.ggmlDims,
      type: t,
      data: (emit) => {
        const chunkRows = Math.max(1, Math.floor((1 << 20) / cols));
        const row = new Float32Array(cols);
        const buf = new Uint8Array(chunkRows * rowBytes);
        for (let r0 = 0; r0 < rows; r0 += chunkRows) {
          const n = Math.min(chunkRows, rows - r0);
          for (let r = 0; r < n; r++) {
            row.set(p.data.subarray((r0 + r) * cols, (r0 + r + 1) * cols));
            quantizeRow(t, row, buf.subarray(r * rowBytes, (r + 1) * rowBytes), cols);
          }
          emit(buf.subarray(0, n * rowBytes));
        }
      },
    };
  });
  writeGGUF(path, { metadata, tensors });
  return { bytes, tensors: tensors.length };
}
