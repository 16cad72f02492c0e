// The crucial check of the trainable model: written to GGUF with the project's writer and loaded by the
// inference code (src/model, which follows llama.cpp's graph exactly), the same weights give the same
// next-token logits — for a model with every Step 3.5 feature (hybrid attention, partial RoPE with llama3
// factors, gates, q/k norms, leading dense layers, routed MoE with a selection bias and a shared expert,
// binding clamps, an MTP layer) over more tokens than the sliding window. The exported metadata rebuilds
// the training configuration exactly.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { KvCache } from '../../src/engine/kv-cache.js';
import { GGMLType } from '../../src/gguf/ggml-types.js';
import { dequantizeRow, quantizeRow } from '../../src/gguf/quant/index.js';
import { readGGUFHeader } from '../../src/gguf/reader.js';
import type { GGUFEntry } from '../../src/gguf/values.js';
import { configFromMetadata } from '../../src/model/config.js';
import { loadModel } from '../../src/model/load.js';
import { PRESETS, type Preset } from '../../src/model/make/presets.js';
import { makeModel } from '../../src/model/make/random-model.js';
import { WasmEngine } from '../../src/train/autograd/wasm-engine.js';
import { presetConfig } from '../../src/train/model/config.js';
import { exportGguf } from '../../src/train/model/export.js';
import { Step35Trainable } from '../../src/train/model/step35-train.js';
import { Rng } from './helpers.js';

let dir: string;
let tokenizer: [string, GGUFEntry][];
let nVocab: number;
let engine: WasmEngine;
const preset: Preset = { ...PRESETS['step35-test']!, nNextn: 1, vocabSize: 700 };

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'stepflash-train-'));
  // The tokenizer entries of a generated model (a byte-level BPE with the chat markers).
  const donor = join(dir, 'donor.gguf');
  makeModel({ preset, type: GGMLType.F32, seed: 1, out: donor });
  const h = readGGUFHeader(donor);
  tokenizer = [...h.metadata.entries].filter(([k]) => k.startsWith('tokenizer.'));
  nVocab = h.metadata.array('tokenizer.ggml.tokens')!.length;
  engine = new WasmEngine({ threads: 2 });
  await engine.ready();
});
after(async () => {
  await engine.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A trainable model whose weights look trained: norm gains away from one, an active router bias, clamps that bind. */
function trainable(seed: number): Step35Trainable {
  const m = new Step35Trainable(presetConfig(preset, nVocab), engine, { init: { seed, outputStd: 4 / Math.sqrt(preset.nEmbd) } });
  const rng = new Rng(seed + 1);
  const noise = (n: number, std: number) => {
    const a = new Float32Array(n);
    rng.fillNormal(a, std);
    return a;
  };
  for (const p of m.params.all) {
    if (p.kind === 'norm') p.data.set(noise(p.size, 0.2).map((v) => 1 + v));
    if (p.kind === 'bias') p.data.set(noise(p.size, 0.3));
  }
  // The clamped layers' projections scaled up so that min(silu(g), L) and clamp(u, ±L) bind.
  for (const L of m.config.layers) {
    const p = m.params.layers[L.index]!;
    if (L.clampExp > 0) for (const w of [p.moe!.gate, p.moe!.up]) w.data.set(w.data.map((v) => v * 6));
    if (L.clampShexp > 0) for (const w of [p.moe!.shared!.gate, p.moe!.shared!.up]) w.data.set(w.data.map((v) => v * 12));
  }
  return m;
}

describe('trainable model against the inference model', () => {
  test('exported metadata rebuilds the training configuration', () => {
    const m = trainable(3);
    const path = join(dir, 'config.gguf');
    exportGguf(m, tokenizer, path);
    const h = readGGUFHeader(path);
    const names = new Set(h.tensors.map((t) => t.name));
    assert.deepEqual(new Set(m.params.all.map((p) => p.name)), names, 'one tensor per parameter, named as in GGUF');
    const cfg = configFromMetadata(h.metadata, (n) => names.has(n));
    assert.deepEqual({ ...cfg, name: m.config.name }, m.config);
    for (const t of h.tensors) assert.deepEqual(t.dims.map(Number), m.param(t.name).ggmlDims, t.name);
  });

  test('tied output heads are written as copies of the token embedding, and the logits agree', () => {
    const m = new Step35Trainable(presetConfig(preset, nVocab), engine, { init: { seed: 7, embedStd: 4 / Math.sqrt(preset.nEmbd) }, tieEmbeddings: true });
    assert.equal(m.params.output, m.params.tokEmbd, 'the main head is the embedding');
    assert.ok(m.params.all.every((p) => p.name !== 'output.weight' && !p.name.endsWith('.shared_head_head.weight')), 'no head trained on its own');
    const path = join(dir, 'tied.gguf');
    exportGguf(m, tokenizer, path);
    const lm = loadModel(path, { threads: 1 });
    try {
      const h = readGGUFHeader(path);
      const heads = h.tensors.filter((t) => t.name === 'output.weight' || t.name.endsWith('.nextn.shared_head_head.weight')).map((t) => t.name);
      assert.deepEqual(heads.sort(), ['blk.6.nextn.shared_head_head.weight', 'output.weight'], 'the released layout: the heads are tensors of their own');
      const T = 24;
      const tokens = Array.from({ length: T }, (_, i) => 5 + ((i * 37) % (nVocab - 5)));
      const ours = m.logits(tokens, 1, T);
      const ref = lm.model.forward(tokens, new KvCache(lm.model.backend, lm.model.config, T, lm.model.maxBatch), { logits: 'all' });
      let scale = 0, diff = 0;
      for (let i = 0; i < ref.length; i++) {
        scale = Math.max(scale, Math.abs(ref[i]!));
        diff = Math.max(diff, Math.abs(ours[i]! - ref[i]!));
      }
      assert.ok(diff / scale < 1e-4, `max |Δlogit| ${diff.toExponential(2)} against a scale of ${scale.toFixed(2)}`);
    } finally {
      lm.close();
    }
  });

  for (const type of [GGMLType.F32, GGMLType.F16]) {
    test(`logits agree with Step35Model on the exported ${type === GGMLType.F32 ? 'F32' : 'F16'} file`, () => {
      const m = trainable(5);
      const path = join(dir, `model-${type}.gguf`);
      exportGguf(m, tokenizer, path, { type });
      if (type === GGMLType.F16) {
        // Compare like with like: the trainable model takes the F16-rounded matrices too.
        for (const p of m.params.all) if (p.shape.length > 1 && !p.name.endsWith('.ffn_gate_inp.weight') && !p.name.endsWith('.attn_gate.weight')) p.data.set(roundF16(p.data));
      }
      const T = 40; // more than the sliding window of 16
      const rng = new Rng(9);
      const seqs = [0, 1].map(() => Array.from({ length: T }, () => 5 + Math.floor(rng.next() * (nVocab - 5))));
      const ours = m.logits(seqs.flat(), 2, T);
      const lm = loadModel(path, { threads: 1 });
      try {
        const V = lm.model.config.nVocab;
        seqs.forEach((tokens, s) => {
          const kv = new KvCache(lm.model.backend, lm.model.config, T, lm.model.maxBatch);
          const ref = lm.model.forward(tokens, kv, { logits: 'all' });
          let scale = 0, diff = 0, argmaxSame = 0;
          for (let t = 0; t < T; t++) {
            let a = 0, b = 0;
            for (let j = 0; j < V; j++) {
              const x = ours[(s * T + t) * V + j]!, y = ref[t * V + j]!;
              scale = Math.max(scale, Math.abs(y));
              diff = Math.max(diff, Math.abs(x - y));
              if (x > ours[(s * T + t) * V + a]!) a = j;
              if (y > ref[t * V + b]!) b = j;
            }
            if (a === b) argmaxSame++;
          }
          // F32: the same function up to float rounding. F16: llama.cpp (and so the inference path) also
          // rounds each product's activations to f16, which the training path does not.
          const tol = type === GGMLType.F32 ? 1e-4 : 5e-3;
          assert.ok(diff / scale < tol, `sequence ${s}: max |Δlogit| ${diff.toExponential(2)} against a scale of ${scale.toFixed(2)}`);
          if (type === GGMLType.F32) assert.equal(argmaxSame, T);
        });
      } finally {
        lm.close();
      }
    });
  }
});

/** Values rounded to f16 and back, as the GGUF writer stores F16. */
function roundF16(values: ArrayLike<number>): Float32Array {
  const src = Float32Array.from(values);
  const bytes = new Uint8Array(src.length * 2);
  quantizeRow(GGMLType.F16, src, bytes, src.length);
  const out = new Float32Array(src.length);
  dequantizeRow(GGMLType.F16, bytes, out, src.length);
  return out;
}
