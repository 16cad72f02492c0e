// Bit-exact checks of src/gguf/quant against llama.cpp's own code: gguf-py's (de)quantizers and, for
// what gguf-py lacks (K-quant quantizers, Q8_K), ggml's quantize_row_*_ref / dequantize_row_* from
// libggml-base, as recorded in test/fixtures/quant/goldens.json by scripts/gen-quant-goldens.py.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { typeFromName } from '../../src/gguf/ggml-types.js';
import { dequantizeRow, quantizeRow, rowBytes } from '../../src/gguf/quant/index.js';
import { bytesOf, describeMismatch, f32Of, firstBitMismatch, inputRow, loadGoldens } from './quant-fixtures.js';

const g = loadGoldens();

function hexDiff(a: Uint8Array, b: Uint8Array): string {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== b[i]) return `byte ${i}: got 0x${(a[i] ?? 0).toString(16)}, want 0x${(b[i] ?? 0).toString(16)}`;
  }
  return 'equal';
}

test('golden file covers every type and agrees across oracles except for NaN handling', () => {
  const names = Object.keys(g.types).sort();
  assert.deepEqual(names, ['bf16', 'f16', 'f32', 'q2_K', 'q3_K', 'q4_0', 'q4_1', 'q4_K', 'q5_0', 'q5_1', 'q5_K', 'q6_K', 'q8_0', 'q8_K']);
  for (const d of g.disagreements as { what: string }[]) assert.match(d.what, /NaN/, JSON.stringify(d));
});

for (const [name, tg] of Object.entries(g.types)) {
  const type = typeFromName(name);
  describe(`${name} goldens`, () => {
    test('type id and geometry match ggml-types', () => {
      assert.equal(type, tg.id);
      assert.equal(rowBytes(tg.id, tg.block_size), tg.type_size);
    });

    for (const c of tg.random_blocks) {
      if (!c.dequant) continue;
      test(`dequantize ${c.name} bit-exactly (${c.dequant_oracle})`, () => {
        const src = bytesOf(c.bytes);
        assert.equal(src.length, rowBytes(tg.id, c.n));
        const out = new Float32Array(c.n);
        dequantizeRow(tg.id, src, out, c.n);
        const want = f32Of(c.dequant!);
        const i = firstBitMismatch(out, want);
        assert.equal(i, -1, i >= 0 ? describeMismatch(out, want, i) : '');
      });
    }

    for (const c of tg.quantized) {
      const x = inputRow(g, c.input);
      if (c.bytes) {
        test(`quantize ${c.input} to the same bytes (${c.bytes_oracle})`, () => {
          const want = bytesOf(c.bytes!);
          const got = new Uint8Array(rowBytes(tg.id, x.length));
          quantizeRow(tg.id, x, got, x.length);
          assert.equal(got.length, want.length);
          assert.ok(Buffer.compare(got, want) === 0, hexDiff(got, want));
        });
      }
      if (c.bytes && c.dequant) {
        test(`dequantize quantized ${c.input} bit-exactly (${c.dequant_oracle})`, () => {
          const out = new Float32Array(x.length);
          dequantizeRow(tg.id, bytesOf(c.bytes!), out, x.length);
          const want = f32Of(c.dequant!);
          const i = firstBitMismatch(out, want);
          assert.equal(i, -1, i >= 0 ? describeMismatch(out, want, i) : '');
        });
      }
    }
  });
}
