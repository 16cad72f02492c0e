// The command line as users and scripts drive it: a child process per command, from the TypeScript source.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { KvCache } from '../../src/engine/kv-cache.js';
import { loadModel } from '../../src/model/load.js';

const root = new URL('../..', import.meta.url).pathname;
let dir: string;
let model: string;

function cli(args: string[], input?: string) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), ...args], { cwd: root, encoding: 'utf8', input, timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'stepflash-cli-'));
  model = join(dir, 'm.gguf');
  const r = cli(['make-model', '--preset', 'step35-test', '--type', 'q8_0', '--seed', '3', '--out', model, '--json']);
  assert.equal(r.code, 0, r.err);
  const info = JSON.parse(r.out);
  assert.equal(info.random_weights, true);
  assert.equal(info.type, 'q8_0');
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('stepflash CLI', () => {
  test('every command has --help', () => {
    for (const c of ['serve', 'run', 'chat', 'inspect', 'tokenize', 'logits', 'make-model', 'bench']) {
      const r = cli([c, '--help']);
      assert.equal(r.code, 0, `${c}: ${r.err}`);
      assert.match(r.out, new RegExp(`Usage: stepflash ${c}`));
    }
    assert.match(cli(['--help']).out, /Commands:/);
  });

  test('inspect --json reports the architecture and parameter counts', () => {
    const r = cli(['inspect', model, '--json']);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.equal(j.architecture, 'step35');
    assert.equal(j.random_weights, true);
    assert.equal(j.layers, 6);
    assert.equal(j.mtp_layers, 1);
    assert.ok(j.params.active_per_token < j.params.trunk && j.params.trunk < j.params.total);
    assert.ok(j.tensors.some((t: { name: string }) => t.name === 'blk.1.ffn_gate_exps.weight'));
  });

  test('tokenize --json, with and without special-token parsing', () => {
    const plain = JSON.parse(cli(['tokenize', '-m', model, '--text', '<|im_start|>hi', '--json']).out);
    const special = JSON.parse(cli(['tokenize', '-m', model, '--text', '<|im_start|>hi', '--special', '--json']).out);
    assert.equal(special.ids[0], 3);
    assert.ok(plain.ids.length > special.ids.length);
  });

  test('logits prints one JSON line per position, best first, equal to the library', () => {
    const r = cli(['logits', '-m', model, '--tokens', '20,300,4000,17', '--top', '5']);
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.length, 4);
    const lm = loadModel(model);
    const V = lm.model.config.nVocab;
    const logits = lm.model.forward([20, 300, 4000, 17], new KvCache(lm.model.backend, lm.model.config, 8, 64), { logits: 'all' });
    lm.close();
    lines.forEach((l, pos) => {
      assert.equal(l.pos, pos);
      assert.equal(l.top.length, 5);
      const row = logits.subarray(pos * V, (pos + 1) * V);
      const best = row.indexOf(Math.max(...row));
      assert.equal(l.top[0][0], best);
      for (let i = 1; i < 5; i++) assert.ok(l.top[i][1] <= l.top[i - 1][1]);
      assert.ok(l.top[0][1] <= 0);
    });
  });

  test('run --json is deterministic for a seed and greedy at --temp 0', () => {
    const a = JSON.parse(cli(['run', '-m', model, '-p', 'Hello', '-n', '8', '--seed', '5', '--json']).out);
    const b = JSON.parse(cli(['run', '-m', model, '-p', 'Hello', '-n', '8', '--seed', '5', '--json']).out);
    assert.equal(a.text, b.text);
    assert.equal(a.finish_reason, 'length');
    assert.equal(a.completion_tokens, 8);
    assert.equal(a.random_weights, true);
    const g1 = JSON.parse(cli(['run', '-m', model, '-p', 'Hello', '-n', '6', '--temp', '0', '--json']).out);
    const g2 = JSON.parse(cli(['run', '-m', model, '-p', 'Hello', '-n', '6', '--temp', '0', '--seed', '9', '--json']).out);
    assert.equal(g1.text, g2.text);
    const chat = JSON.parse(cli(['run', '-m', model, '-p', 'Hi', '--chat', '-n', '4', '--json']).out);
    assert.equal(typeof chat.reasoning, 'string');
    assert.ok(Array.isArray(chat.tool_calls));
  });

  test('bench --json reports speeds, bytes per token and bandwidth', () => {
    const r = cli(['bench', '-m', model, '-p', '16', '-n', '4', '-r', '1', '--threads', '2', '--json']);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.equal(j.threads, 2);
    assert.ok(j.prefill.tokens_per_second > 0 && j.decode.tokens_per_second > 0);
    // the untimed warm-up decodes whole runs of -n tokens until 512 tokens or 3 s
    assert.ok(j.decode.warmup_tokens >= 4 && j.decode.warmup_tokens % 4 === 0 && j.decode.warmup_tokens <= 512, String(j.decode.warmup_tokens));
    assert.ok(j.decode.warmup_tokens_per_second > 0);
    assert.ok(j.bytes_per_token > 0 && j.bytes_per_token < j.file_bytes);
    assert.ok(j.bandwidth_bytes_per_second > 1e9);
    assert.ok(j.bandwidth_fraction > 0 && j.bandwidth_fraction < 1.5);
    assert.match(cli(['bench', '-m', model, '-p', '-3']).err, /--prompt must be/);
  });

  test('bench --depth starts every run from a filled cache (sliding windows restored from a checkpoint)', () => {
    const r = cli(['bench', '-m', model, '-p', '8', '-n', '4', '-d', '600', '-r', '2', '--threads', '2', '--json']);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.equal(j.depth, 600);
    assert.ok(j.prefill.runs.length === 2 && j.decode.runs.length === 2);
    assert.ok(j.prefill.tokens_per_second > 0 && j.decode.tokens_per_second > 0);
    assert.match(cli(['bench', '-m', model, '-d', '9999999']).err, /--depth 9999999 with these tests needs 10000511 positions; the model's context is \d+/);
    assert.match(cli(['bench', '-m', model, '-d', 'x']).err, /--depth must be/);
  });

  test('chat reads turns from standard input', () => {
    const r = cli(['chat', '-m', model, '-n', '4', '--seed', '1'], 'first question\nsecond question\n');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /you: first question/);
    assert.match(r.out, /you: second question/);
    assert.match(r.out, /RANDOM WEIGHTS/);
  });

  test('bad input gets a one-line error and exit code 1', () => {
    const missing = cli(['inspect', join(dir, 'nope.gguf')]);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /not found/);
    const junk = join(dir, 'junk.gguf');
    writeFileSync(junk, 'this is not a model');
    const bad = cli(['inspect', junk]);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /junk\.gguf: at byte 0: not a GGUF file/);
    assert.match(cli(['logits', '-m', model, '--tokens', '1,x']).err, /not a token id/);
    assert.match(cli(['logits', '-m', model, '--tokens', '99999999']).err, /outside the vocabulary/);
    assert.match(cli(['run', '-m', model, '-p', 'x', '--temp', '-1']).err, /--temp must be/);
    assert.match(cli(['make-model', '--preset', 'nope', '--out', join(dir, 'x.gguf')]).err, /unknown preset/);
    assert.notEqual(cli(['run', '--bogus']).code, 0);
  });
});
