// The --draft flags through the CLI: run --json carries the draft statistics and the same text as without
// drafting; bench --draft reports both speeds, identical output, acceptance and the pass costs; bad values
// and models without MTP layers get clear errors.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { GGMLType } from '../../src/gguf/ggml-types.js';
import { makeModel } from '../../src/model/make/random-model.js';

const root = new URL('../..', import.meta.url).pathname;
let dir = '';
let model = '';
let llama = '';

function cli(args: string[]): { out: string; err: string; status: number | null } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  return { out: r.stdout, err: r.stderr, status: r.status };
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'stepflash-spec-cli-'));
  model = join(dir, 'mtp3.gguf');
  llama = join(dir, 'llama.gguf');
  await makeModel({ preset: 'step35-test', type: GGMLType.Q8_0, seed: 51, out: model, overrides: { nNextn: 3 } });
  await makeModel({ preset: 'llama-test', type: GGMLType.Q8_0, seed: 52, out: llama });
});
after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('run --draft 3 --json: draft statistics, and the text of run without drafting', () => {
  const base = ['run', '-m', model, '-p', 'drafting through the command line', '-n', '24', '--temp', '0', '-t', '1', '--json'];
  const a = JSON.parse(cli(base).out);
  const b = JSON.parse(cli([...base, '--draft', '3']).out);
  assert.equal(a.draft, undefined);
  assert.equal(b.text, a.text);
  assert.equal(b.completion_tokens, a.completion_tokens);
  assert.equal(b.draft.n, 3);
  assert.equal(b.draft.mode, 'chain');
  assert.equal(b.draft.drafted_by_depth.length, 3);
  for (const k of ['steps', 'drafted', 'accepted', 'acceptance_rate', 'acceptance_by_depth', 'mean_accepted_per_step', 'mean_tokens_per_step']) assert.ok(k in b.draft, k);
  const c = JSON.parse(cli([...base, '--draft', '2', '--draft-mode', 'roundrobin']).out);
  assert.equal(c.text, a.text);
  assert.equal(c.draft.mode, 'roundrobin');
});

test('bench --draft 2 --json: both speeds, identical output, acceptance and pass costs', () => {
  const r = cli(['bench', '-m', model, '-p', '0', '-n', '12', '-r', '1', '--draft', '2', '--draft-prompts', '1', '-t', '1', '--json']);
  assert.equal(r.status, 0, r.err);
  const d = JSON.parse(r.out).draft;
  assert.equal(d.identical_output, true);
  assert.equal(d.n, 2);
  assert.ok(d.baseline_tokens_per_second > 0 && d.draft_tokens_per_second > 0);
  assert.ok(Math.abs(d.speedup - d.draft_tokens_per_second / d.baseline_tokens_per_second) < 1e-9);
  assert.ok(d.mean_tokens_per_step >= 1 && d.mean_tokens_per_step <= 3);
  assert.ok(d.verify_pass_ratio > 0 && d.head_pass_ratio > 0 && d.speedup_ceiling > 0);
});

test('clear errors for bad --draft values and models without MTP layers', () => {
  const run = (extra: string[], m = model) => cli(['run', '-m', m, '-p', 'x', '-n', '2', '-t', '1', ...extra]);
  assert.match(run(['--draft', '4']).err, /--draft must be an integer from 0 to 3/);
  assert.match(run(['--draft', '2', '--draft-mode', 'zigzag']).err, /--draft-mode must be chain or roundrobin/);
  assert.match(run(['--draft', '1', '--draft-p-min', '2']).err, /--draft-p-min must be a number from 0 to 1/);
  assert.match(run(['--draft', '1'], llama).err, /no MTP \(nextn\) layers/);
  assert.match(cli(['run', '--help']).out, /--draft <n>/);
  assert.match(cli(['bench', '--help']).out, /--draft-mode <mode>/);
});
