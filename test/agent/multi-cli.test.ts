// `stepflash research` as a user runs it: a separate process against stepflash's OpenAI API (scripted
// research model) with a local search endpoint and pages; --json for scripts, plain text with a Sources
// list otherwise, progress on stderr, flag errors that say what is wrong.
import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startResearchModel, startWeb, type Web } from './multi-fixtures.js';

const root = new URL('../..', import.meta.url).pathname;
const main = join(root, 'src/cli/main.ts');

/** Runs the CLI asynchronously (the model and page servers live in this process and must keep serving). */
function cli(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', main, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

describe('stepflash research', () => {
  let web: Web;
  let model: Awaited<ReturnType<typeof startResearchModel>>;
  before(async () => {
    web = await startWeb();
    model = await startResearchModel();
  });
  after(async () => {
    await model.server.close();
    await web.close();
  });

  const common = () => ['--base-url', model.baseURL, '--model', 'scripted', '--search-url', `${web.url}/search`, '--web-allow', web.host];

  it('prints a JSON result whose citations name fetched pages', async () => {
    web.log.length = 0;
    const traceDir = mkdtempSync(join(tmpdir(), 'research-trace-'));
    const r = await cli(['research', 'How tall is the Eiffel Tower and when did it open?', ...common(), '--max-agents', '2', '--json', '--trace', join(traceDir, 'run.jsonl')]);
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout) as { stopReason: string; cited: { n: number; url: string }[]; invalidCitations: number[]; reports: { id: string }[]; text: string };
    assert.equal(j.stopReason, 'final');
    assert.deepEqual(j.invalidCitations, []);
    assert.equal(j.cited.length, 2);
    for (const c of j.cited) {
      assert.ok(web.log.includes(new URL(c.url).pathname), `${c.url} was fetched`);
      assert.ok(j.text.includes(`[${c.n}]`));
    }
    assert.deepEqual(j.reports.map((x) => x.id), ['search-1', 'search-2', 'verify-3']);
    assert.match(r.stderr, /master: dispatching 2 sub-agents/);
    assert.match(r.stderr, /\[search-1\] {3}→ fetch_url/);
    // One trace per agent: the Master's, each sub-agent's and each summary's.
    assert.deepEqual(readdirSync(traceDir).sort(), [
      'run.jsonl',
      'run.search-1.jsonl',
      'run.search-1.summary.jsonl',
      'run.search-2.jsonl',
      'run.search-2.summary.jsonl',
      'run.verify-3.jsonl',
      'run.verify-3.summary.jsonl',
    ]);
    const sub = readFileSync(join(traceDir, 'run.search-1.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; name?: string });
    assert.deepEqual(sub.filter((l) => l.type === 'tool_call').map((l) => l.name), ['web_search', 'fetch_url']);
    assert.match(r.stderr, /final: 3 sub-agents, 2 pages fetched, 2 cited; 15 model calls/);
  });

  it('prints the answer and its Sources list as text', async () => {
    const r = await cli(['research', 'How tall is the Eiffel Tower?', ...common(), '--quiet']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.match(r.stdout, /^The Eiffel Tower is 330 metres tall \[\d\].*\n\nSources:\n\[\d\] Eiffel Tower height — http:\/\/127\.0\.0\.1:\d+\/pages\/eiffel-height\n\[\d\] Eiffel Tower history — /s);
  });

  it('has --help and refuses bad flags clearly', () => {
    const help = spawnSync(process.execPath, ['--import', 'tsx', main, 'research', '--help'], { cwd: root, encoding: 'utf8' });
    assert.equal(help.status, 0);
    for (const flag of ['--base-url', '--search-url', '--max-agents', '--json', '--sub-base-url', '--python']) assert.ok(help.stdout.includes(flag), flag);
    const bad = spawnSync(process.execPath, ['--import', 'tsx', main, 'research', 'q', '--base-url', 'http://127.0.0.1:1/v1', '--max-agents', 'zero'], { cwd: root, encoding: 'utf8' });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /max-agents/);
    const badUrl = spawnSync(process.execPath, ['--import', 'tsx', main, 'research', 'q', '--base-url', 'http://127.0.0.1:1/v1', '--search-url', 'not a url'], { cwd: root, encoding: 'utf8' });
    assert.equal(badUrl.status, 1);
    assert.match(badUrl.stderr, /--search-url "not a url" is not a URL/);
  });
});
