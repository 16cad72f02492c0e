// Cross-checks against llama.cpp's side of the world:
//  - node-llama-cpp's own GGUF parser (readGgufFileInfo, pure JS) must see the same metadata and tensor
//    infos as we do, in files we wrote and in the real vocabulary GGUFs;
//  - llama.cpp itself (node-llama-cpp's prebuilt CPU binary, vocabulary-only load) must accept files we
//    wrote - both versions, several alignments, tensors of several types - and tokenize with them exactly
//    as with the original vocabulary, and must reject the negative controls.
// Known values of the real vocabulary files are checked too.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync, truncateSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import {
  GGMLType,
  GGUFFile,
  GGUFValueType as VT,
  bytesFor,
  gguf,
  isGGUFArray,
  writeGGUF,
  type GGUFEntry,
  type GGUFValue,
  type TensorToWrite,
} from '../../src/gguf/index.js';

const VOCAB_DIR = fileURLToPath(new URL('../fixtures/llama-vocab/', import.meta.url));
const vocab = (name: string) => join(VOCAB_DIR, `ggml-vocab-${name}.gguf`);
const VOCABS = ['deepseek-coder', 'deepseek-llm', 'gpt-2', 'llama-bpe', 'llama-spm', 'phi-3', 'qwen2'].filter((n) => existsSync(vocab(n)));

const dir = mkdtempSync(join(os.tmpdir(), 'stepflash-gguf-llama-'));
after(() => rmSync(dir, { recursive: true, force: true }));

type NodeLlamaCpp = typeof import('node-llama-cpp');
let mod: NodeLlamaCpp | string;
try {
  mod = await import('node-llama-cpp');
} catch (e) {
  mod = `node-llama-cpp is not usable here: ${(e as Error).message}`;
}
const skip = typeof mod === 'string' ? mod : false;

/** Our value as node-llama-cpp represents it: arrays as plain arrays, everything else as is. */
function plain(v: GGUFValue): unknown {
  return isGGUFArray(v) ? v.items.map(plain) : v;
}

/** node-llama-cpp nests metadata by the dots in the keys; flatten it back to key -> value. */
function flatten(obj: Record<string, unknown>, prefix = '', out = new Map<string, unknown>()): Map<string, unknown> {
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) flatten(v as Record<string, unknown>, key, out);
    else out.set(key, v);
  }
  return out;
}

async function compareWithNodeLlamaCpp(path: string): Promise<void> {
  const m = mod as NodeLlamaCpp;
  const theirs = await m.readGgufFileInfo(path, { logWarnings: false, sourceType: 'filesystem', spliceSplitFiles: false });
  const ours = GGUFFile.open(path);
  try {
    assert.equal(theirs.version, ours.version);
    assert.equal(Number(theirs.tensorCount), ours.tensors.length);
    const flat = flatten(theirs.metadata as unknown as Record<string, unknown>);
    assert.deepEqual([...flat.keys()].sort(), ours.metadata.keys().sort(), 'same keys');
    for (const [k, e] of ours.metadata.entries) assert.deepStrictEqual(flat.get(k), plain(e.value), `metadata "${k}"`);
    assert.equal(theirs.tensorInfo!.length, ours.tensors.length);
    theirs.tensorInfo!.forEach((t, i) => {
      const o = ours.tensors[i]!;
      assert.equal(t.name, o.name);
      assert.deepEqual(t.dimensions.map(Number), o.dims, `${o.name} dims`);
      assert.equal(t.ggmlType, o.type, `${o.name} type`);
      assert.equal(Number(t.offset), o.offset, `${o.name} offset`);
      assert.equal(Number(t.fileOffset), o.fileOffset, `${o.name} file offset`);
    });
    if (ours.tensors.length > 0) assert.equal(theirs.infoEndOffset, ours.dataOffset, 'data section start');
  } finally {
    ours.close();
  }
}

function tensorsOf(seed: number): TensorToWrite[] {
  const specs: [string, number[], GGMLType][] = [
    ['token_embd.weight', [16, 3], GGMLType.F32],
    ['blk.0.attn_q.weight', [64, 2], GGMLType.Q8_0],
    ['blk.0.ffn_down_exps.weight', [256, 1, 2], GGMLType.Q4_K],
    ['blk.0.attn_norm.weight', [5], GGMLType.F16],
    ['blk.0.bf16', [2, 2, 2, 2], GGMLType.BF16],
    ['output_norm.weight', [7], GGMLType.F32],
  ];
  return specs.map(([name, dims, type], i) => {
    const n = bytesFor(type, dims.reduce((a, b) => a * b, 1))!;
    return { name, dims, type, data: Uint8Array.from({ length: n }, (_, k) => (k * 13 + i + seed) & 0xff) };
  });
}

/** Extra metadata of every scalar type and flat arrays of each (llama.cpp has no nested arrays). */
const EXTRA: [string, GGUFEntry][] = [
  ['test.u8', gguf.u8(200)],
  ['test.i8', gguf.i8(-100)],
  ['test.u16', gguf.u16(60000)],
  ['test.i16', gguf.i16(-30000)],
  ['test.u32', gguf.u32(4_000_000_000)],
  ['test.i32', gguf.i32(-2_000_000_000)],
  ['test.f32', gguf.f32(Math.fround(-1.5e-3))],
  ['test.f64', gguf.f64(-Math.PI * 1e200)],
  ['test.bool', gguf.bool(true)],
  ['test.str', gguf.str('ünïcödé ✓ 🦙')],
  ['test.str_bom', gguf.str('\ufeffstarts with a BOM')],
  ['test.str_empty', gguf.str('')],
  ['test.u64', gguf.u64(2n ** 64n - 2n)],
  ['test.i64', gguf.i64(-(2n ** 62n) - 7n)],
  ['test.arr.u8', gguf.arr(VT.UINT8, [1, 2, 255])],
  ['test.arr.i8', gguf.arr(VT.INT8, [-1, 2])],
  ['test.arr.u16', gguf.arr(VT.UINT16, [65535])],
  ['test.arr.i16', gguf.arr(VT.INT16, [-2, 3])],
  ['test.arr.u32', gguf.arr(VT.UINT32, [7, 8, 9])],
  ['test.arr.i32', gguf.arr(VT.INT32, [-7, 8])],
  ['test.arr.f32', gguf.arr(VT.FLOAT32, [0.25, -8])],
  ['test.arr.f64', gguf.arr(VT.FLOAT64, [1e-300])],
  ['test.arr.bool', gguf.arr(VT.BOOL, [false, true])],
  ['test.arr.str', gguf.arr(VT.STRING, ['a', '', '\ufeff', 'é'])],
  ['test.arr.u64', gguf.arr(VT.UINT64, [2n ** 63n])],
  ['test.arr.i64', gguf.arr(VT.INT64, [-1n])],
  ['test.arr.empty', gguf.arr(VT.FLOAT32, [])],
  ['tokenizer.chat_template.tool_use', gguf.str('{{ tools }}')],
];

describe('node-llama-cpp reads our files exactly as we do', { skip }, () => {
  const variants: { name: string; version: 2 | 3; alignment?: number; nested: boolean }[] = [
    { name: 'v3-default-alignment', version: 3, nested: true },
    { name: 'v2-alignment-8', version: 2, alignment: 8, nested: true },
    { name: 'v3-alignment-64', version: 3, alignment: 64, nested: false },
    { name: 'v3-alignment-1', version: 3, alignment: 1, nested: false },
  ];
  for (const v of variants) {
    it(v.name, async () => {
      const md: [string, GGUFEntry][] = [['general.architecture', gguf.str('test')], ...EXTRA];
      if (v.alignment) md.push(['general.alignment', gguf.u32(v.alignment)]);
      if (v.nested)
        md.push(['test.nested', gguf.arr(VT.ARRAY, [{ itemType: VT.ARRAY, items: [{ itemType: VT.UINT8, items: [1] }] }, { itemType: VT.STRING, items: [] }])]);
      const path = join(dir, `${v.name}.gguf`);
      writeGGUF(path, { version: v.version, metadata: md, tensors: tensorsOf(v.version) });
      await compareWithNodeLlamaCpp(path);
    });
  }
});

describe('the real vocabulary GGUFs', () => {
  it('node-llama-cpp sees the same metadata in every one', { skip: skip || (VOCABS.length === 0 && 'no vocabulary fixtures') }, async () => {
    for (const name of VOCABS) await compareWithNodeLlamaCpp(vocab(name));
  });

  it('known values', { skip: VOCABS.length === 0 && 'no vocabulary fixtures' }, () => {
    const open = (name: string) => GGUFFile.open(vocab(name));
    {
      const f = open('gpt-2');
      const m = f.metadata;
      assert.equal(f.version, 3);
      assert.equal(f.tensors.length, 0);
      assert.equal(m.requireString('general.architecture'), 'gpt2');
      assert.equal(m.requireString('tokenizer.ggml.model'), 'gpt2');
      assert.equal(m.requireString('tokenizer.ggml.pre'), 'gpt-2');
      assert.equal(m.requireNumber('gpt2.context_length'), 1024);
      assert.equal(m.requireNumber('gpt2.embedding_length'), 768);
      assert.equal(m.requireNumber('gpt2.block_count'), 12);
      assert.equal(m.get('gpt2.attention.layer_norm_epsilon')!.type, VT.FLOAT32);
      assert.equal(m.requireNumber('gpt2.attention.layer_norm_epsilon'), Math.fround(1e-5));
      const tokens = m.stringArray('tokenizer.ggml.tokens')!;
      assert.equal(tokens.length, 50257);
      assert.deepEqual(tokens.slice(0, 3), ['!', '"', '#']);
      assert.equal(tokens[50256], '<|endoftext|>');
      assert.equal(tokens[15496], 'Hello');
      assert.equal(m.stringArray('tokenizer.ggml.merges')![0], 'Ġ t');
      assert.equal(m.requireNumber('tokenizer.ggml.bos_token_id'), 50256);
      assert.equal(m.requireNumber('tokenizer.ggml.eos_token_id'), 50256);
      f.close();
    }
    {
      const f = open('llama-spm');
      const m = f.metadata;
      assert.equal(m.requireString('tokenizer.ggml.model'), 'llama');
      const tokens = m.stringArray('tokenizer.ggml.tokens')!;
      assert.equal(tokens.length, 32000);
      assert.deepEqual(tokens.slice(0, 3), ['<unk>', '<s>', '</s>']);
      assert.equal(tokens[30143], '\ufeff', 'the BOM token survives');
      assert.equal(m.numberArray('tokenizer.ggml.scores')!.at(-1), -31740);
      assert.deepEqual(m.numberArray('tokenizer.ggml.token_type')!.slice(0, 3), [2, 3, 3]);
      assert.equal(m.bool('tokenizer.ggml.add_bos_token'), true);
      assert.equal(m.bool('tokenizer.ggml.add_eos_token'), false);
      assert.equal(m.requireNumber('tokenizer.ggml.unknown_token_id'), 0);
      f.close();
    }
    {
      const f = open('llama-bpe');
      const m = f.metadata;
      const tokens = m.stringArray('tokenizer.ggml.tokens')!;
      assert.equal(tokens.length, 128256);
      assert.equal(tokens[128000], '<|begin_of_text|>');
      assert.equal(m.stringArray('tokenizer.ggml.merges')!.length, 280147);
      assert.equal(m.requireNumber('llama.rope.freq_base'), 500000);
      assert.equal(m.requireNumber('llama.attention.head_count_kv'), 8);
      assert.equal(m.requireNumber('llama.vocab_size'), 128256);
      f.close();
    }
    {
      const f = open('phi-3');
      assert.match(f.metadata.requireString('tokenizer.chat_template'), /^\{\{ bos_token \}\}\{% for message in messages %\}/);
      assert.equal(f.metadata.requireNumber('general.quantization_version'), 2);
      f.close();
    }
  });
});

describe('llama.cpp (native, vocabulary-only load) accepts what we write', { skip: skip || (!VOCABS.includes('gpt-2') && 'no gpt-2 vocabulary') }, () => {
  const TEXT = 'Hello world, this is a test: ünïcödé 🦙 1234';
  let llama: Awaited<ReturnType<NodeLlamaCpp['getLlama']>>;

  async function tokenize(path: string): Promise<number[] | Error> {
    llama ??= await (mod as NodeLlamaCpp).getLlama({ gpu: false, build: 'never', logLevel: (mod as NodeLlamaCpp).LlamaLogLevel.disabled });
    let model;
    try {
      model = await llama.loadModel({ modelPath: path, vocabOnly: true });
    } catch (e) {
      return e as Error;
    }
    try {
      return Array.from(model.tokenize(TEXT));
    } finally {
      await model.dispose();
    }
  }

  function variant(name: string, version: 2 | 3, extra: [string, GGUFEntry][], tensors: TensorToWrite[]): string {
    const f = GGUFFile.open(vocab('gpt-2'));
    const md = new Map(f.metadata.entries);
    f.close();
    for (const [k, e] of extra) md.set(k, e);
    const path = join(dir, `${name}.gguf`);
    writeGGUF(path, { version, metadata: md, tensors });
    return path;
  }

  it('v2 and v3, alignments 1, 8, 32 and 64, extra metadata of every type, tensors of 5 types', async () => {
    const expected = await tokenize(vocab('gpt-2'));
    assert.ok(Array.isArray(expected), `the original fixture does not load: ${String(expected)}`);
    const cases: [string, 2 | 3, number | undefined][] = [['v3', 3, undefined], ['v2-a1', 2, 1], ['v3-a8', 3, 8], ['v2-a64', 2, 64]];
    for (const [name, version, alignment] of cases) {
      const extra: [string, GGUFEntry][] = [...EXTRA];
      if (alignment) extra.push(['general.alignment', gguf.u32(alignment)]);
      const path = variant(name, version, extra, tensorsOf(alignment ?? 0));
      assert.deepEqual(await tokenize(path), expected, `${name}: llama.cpp rejected or misread it`);
    }
  });

  it('negative controls: llama.cpp rejects a nested array and a file cut short in the tensor data', async () => {
    const nested = variant('nested', 3, [['test.nested', gguf.arr(VT.ARRAY, [])]], []);
    assert.ok(await tokenize(nested) instanceof Error, 'llama.cpp has no arrays of arrays');
    const cut = variant('cut', 3, [], tensorsOf(1));
    const f = GGUFFile.open(cut);
    const last = f.tensors.at(-1)!;
    f.close();
    truncateSync(cut, last.fileOffset + last.nbytes - 1);
    assert.ok(statSync(cut).size > 0);
    assert.ok(await tokenize(cut) instanceof Error, 'llama.cpp checks tensor data bounds');
  });
});
