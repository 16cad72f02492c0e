// `stepflash train` as a user drives it: --help, clear errors for bad input, and the whole pipeline at
// toy scale (the smoke recipe): stop part-way, resume from the checkpoint, finish, and the GGUF it writes
// loads in stepflash with the trained tokenizer and its three MTP layers; the loss curve is an SVG.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadModel } from '../../src/model/load.js';
import { Tokenizer } from '../../src/tokenizer/index.js';

const root = new URL('../..', import.meta.url).pathname;
let dir: string;

function cli(args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), ...args], { cwd: root, encoding: 'utf8', timeout: 180_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'stepflash-train-cli-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('stepflash train', () => {
  test('--help names the recipes and the flags', () => {
    const r = cli(['train', '--help']);
    assert.equal(r.code, 0, r.err);
    for (const s of ['Usage: stepflash train', '--recipe', '--out', '--threads', '--resume', '--steps', '--json', 'nano', 'smoke']) assert.ok(r.out.includes(s), `help mentions ${s}`);
  });

  test('bad input gets a clear error', () => {
    assert.match(cli(['train', '--recipe', 'huge', '--out', join(dir, 'x.gguf')]).err, /unknown recipe "huge"/);
    assert.match(cli(['train', '--recipe', 'smoke']).err, /--out <file> is required/);
    assert.match(cli(['train', '--recipe', 'smoke', '--out', join(dir, 'x.bin')]).err, /must name a \.gguf file/);
    assert.match(cli(['train', '--recipe', 'smoke', '--out', join(dir, 'x.gguf'), '--steps', '0']).err, /--steps must be a positive integer/);
    assert.match(cli(['train', '--recipe', 'smoke', '--out', join(dir, 'none.gguf'), '--resume']).err, /--resume: no checkpoint/);
  });

  test('the smoke recipe: stop, resume, finish, export', { timeout: 300_000 }, () => {
    const out = join(dir, 'smoke.gguf');
    const a = cli(['train', '--recipe', 'smoke', '--out', out, '--threads', '2', '--stop-after', '2', '--json']);
    assert.equal(a.code, 0, a.err);
    const first = JSON.parse(a.out);
    assert.equal(first.finished, false);
    assert.equal(first.steps, 2);
    assert.ok(existsSync(join(dir, 'smoke.train', 'checkpoint.bin')));
    assert.ok(!existsSync(out));
    const b = cli(['train', '--recipe', 'smoke', '--out', out, '--threads', '2', '--resume', '--json']);
    assert.equal(b.code, 0, b.err);
    assert.match(b.err, /resumed at step 2 of 4/);
    const done = JSON.parse(b.out);
    assert.equal(done.finished, true);
    assert.equal(done.steps, 4);
    assert.equal(done.mtp_loss.length, 3);
    assert.equal(done.expert_load.length, 3);
    assert.ok(done.tokens_per_second > 0);
    const svg = readFileSync(join(dir, 'smoke.loss.svg'), 'utf8');
    assert.match(svg, /^<svg/);
    assert.equal((svg.match(/<polyline/g) ?? []).length, 4); // main head and three MTP heads
    // The step log holds every step once, across the two runs.
    const log = readFileSync(join(dir, 'smoke.train', 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(log.map((l) => l.step), [0, 1, 2, 3]);
    const lm = loadModel(out);
    try {
      assert.equal(lm.model.config.nNextn, 3);
      assert.equal(lm.model.config.layers.filter((l) => l.sliding).length, 6); // 3 of 4 trunk layers + the MTP layers
      const tok = Tokenizer.fromMetadata(lm.file.metadata);
      assert.ok(tok.vocabSize <= 600 && tok.vocabSize === lm.model.config.nVocab);
      assert.deepEqual(tok.encode('<|im_start|>user\n', { parseSpecial: true }).slice(0, 1), [3]);
    } finally {
      lm.close();
    }
  });
});
