// The inference MTP heads (src/model/mtp.ts) against the training code's (src/train/model/step35-train.ts),
// two independent implementations of spec §2.5: a trainable model with three chained MTP heads is
// exported to GGUF and loaded for inference; each head's cross-entropy on a sequence longer than the
// sliding window must be the training forward's, position by position summed. This pins the glue the
// drafts depend on: enorm/hnorm, the [embedding | hidden] order into eh_proj, the pre-norm hidden chain,
// the heads' own norm and output, and their own sliding KV caches.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { KvCache } from '../../src/engine/kv-cache.js';
import { GGMLType } from '../../src/gguf/ggml-types.js';
import { readGGUFHeader } from '../../src/gguf/reader.js';
import type { GGUFEntry } from '../../src/gguf/values.js';
import { loadModel } from '../../src/model/load.js';
import { PRESETS, type Preset } from '../../src/model/make/presets.js';
import { makeModel } from '../../src/model/make/random-model.js';
import { MtpHeads } from '../../src/model/mtp.js';
import { Tape } from '../../src/train/autograd/tape.js';
import { WasmEngine } from '../../src/train/autograd/wasm-engine.js';
import { presetConfig } from '../../src/train/model/config.js';
import { exportGguf } from '../../src/train/model/export.js';
import { Step35Trainable } from '../../src/train/model/step35-train.js';
import { Rng } from '../../src/common/rng.js';

let dir: string;
let tokenizer: [string, GGUFEntry][];
let nVocab: number;
let engine: WasmEngine;
const preset: Preset = { ...PRESETS['step35-test']!, nNextn: 3, vocabSize: 700 };

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'stepflash-mtp-'));
  const donor = join(dir, 'donor.gguf');
  await makeModel({ preset, type: GGMLType.F32, seed: 1, out: donor });
  const h = readGGUFHeader(donor);
  tokenizer = [...h.metadata.entries].filter(([k]) => k.startsWith('tokenizer.'));
  nVocab = h.metadata.array('tokenizer.ggml.tokens')!.length;
  engine = new WasmEngine({ threads: 1 });
  await engine.ready();
});
after(async () => {
  await engine.close();
  rmSync(dir, { recursive: true, force: true });
});

const HEADS = {
  own: 'their own norm and output',
  main: 'the main output_norm and output',
  tied: 'their own norm, every output tied to the token embedding',
} as const;
for (const heads of ['own', 'main', 'tied'] as const) {
  test(`MTP heads (${HEADS[heads]}) give the training forward's losses`, () => {
    const tie = heads === 'tied';
    const init = tie ? { seed: 5, embedStd: 4 / Math.sqrt(preset.nEmbd) } : { seed: 5, outputStd: 4 / Math.sqrt(preset.nEmbd) };
    const m = new Step35Trainable(presetConfig(preset, nVocab), engine, { init, mtpHeads: heads === 'main' ? 'main' : 'own', tieEmbeddings: tie });
    // Norm gains away from one, so a swapped or missing norm shows.
    const rng = new Rng(6);
    for (const p of m.params.all) {
      if (p.kind !== 'norm') continue;
      const a = new Float32Array(p.size);
      rng.fillNormal(a, 0.3);
      p.data.set(a.map((v) => 1 + v));
    }
    const path = join(dir, `mtp-${heads}.gguf`);
    exportGguf(m, tokenizer, path);

    const T = 44; // the window is 16
    const tokens = Int32Array.from({ length: T }, (_, i) => 10 + ((i * 131 + 7) % (nVocab - 10)));
    const targets = Int32Array.from({ length: T }, (_, i) => (i + 1 < T ? tokens[i + 1]! : -1));
    const tape = new Tape(engine);
    const want = tape.noGrad(() => m.forward(tape, { tokens, targets, nSeq: 1, T }));

    const lm = loadModel(path, { threads: 1, maxBatch: 64 });
    try {
      const model = lm.model;
      const E = model.config.nEmbd;
      model.forward(Array.from(tokens), new KvCache(model.backend, model.config, T, model.maxBatch), { logits: 'none' });
      let hidden = model.hiddenRows(0, T);
      const mtp = new MtpHeads(model, model.maxBatch);
      for (let k = 1; k <= 3; k++) {
        // Head k at position t reads x_{t+k} and predicts x_{t+k+1}; one position per pass for every logit row.
        const cache = mtp.newCache(k - 1, T);
        const out = new Float32Array(T * E);
        let sum = 0, count = 0;
        for (let t = 0; t + k < T; t++) {
          const r = mtp.run(k - 1, [tokens[t + k]!], hidden.slice(t * E, (t + 1) * E), cache, true);
          out.set(r.hidden, t * E);
          if (t + k + 1 >= T) continue;
          const l = r.logits!;
          let max = -Infinity;
          for (const v of l) max = Math.max(max, v);
          let z = 0;
          for (const v of l) z += Math.exp(v - max);
          sum += max + Math.log(z) - l[tokens[t + k + 1]!]!;
          count++;
        }
        const w = want.mtp[k - 1]!;
        assert.equal(count, w.count, `head ${k}: positions with a target`);
        const loss = sum / count;
        assert.ok(Math.abs(loss - w.loss) < 2e-4 * Math.max(1, w.loss), `head ${k}: inference loss ${loss}, training loss ${w.loss}`);
        hidden = out;
      }
    } finally {
      lm.close();
    }
  });
}
