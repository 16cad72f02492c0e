// `stepflash serve` as a user starts it: a child process that prints where it listens, answers the real
// SDKs on every API, refuses bad flags with a clear message, and stops cleanly on SIGTERM.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';

const root = new URL('../..', import.meta.url).pathname;
const main = join(root, 'src/cli/main.ts');

async function serve(args: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', main, 'serve', '--port', '0', '--json', '--quiet', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const lines = createInterface({ input: child.stdout });
  const first = await Promise.race([
    once(lines, 'line').then(([l]) => l as string),
    once(child, 'exit').then(([code]) => {
      throw new Error(`serve exited with ${code}: ${err}`);
    }),
  ]);
  return { child, info: JSON.parse(first) as { url: string; model: string; contextSize: number; apiKey: boolean; draft: number }, stderr: () => err };
}

describe('stepflash serve', () => {
  test('serves the default model to the OpenAI and Anthropic SDKs and stops on SIGTERM', { timeout: 120_000 }, async () => {
    const { child, info } = await serve(['--api-key', 'sekret', '--ctx', '2048', '--parallel', '2', '--draft', '3']);
    try {
      assert.match(info.url, /^http:\/\/127\.0\.0\.1:\d+$/, 'binds to loopback by default');
      assert.equal(info.contextSize, 2048);
      assert.equal(info.apiKey, true);
      assert.equal(info.draft, 3);

      const openai = new OpenAI({ baseURL: `${info.url}/v1`, apiKey: 'sekret' });
      const models = await openai.models.list();
      assert.deepEqual(models.data.map((m) => m.id), [info.model]);
      const r = await openai.chat.completions.create({ model: 'anything', messages: [{ role: 'user', content: 'hi' }], max_tokens: 8, seed: 1 });
      assert.equal(r.model, info.model);
      assert.equal(r.usage?.completion_tokens, 8);
      assert.equal(r.choices[0]!.finish_reason, 'length');

      const anthropic = new Anthropic({ baseURL: info.url, apiKey: 'sekret' });
      const m = await anthropic.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] });
      assert.equal(m.stop_reason, 'max_tokens');
      assert.equal(m.usage.output_tokens, 8);

      await assert.rejects(new OpenAI({ baseURL: `${info.url}/v1`, apiKey: 'wrong' }).models.list(), (e: unknown) => e instanceof OpenAI.AuthenticationError);
      // The default (nano) model drafted with its MTP heads while it answered.
      const metrics = await (await fetch(`${info.url}/metrics`, { headers: { authorization: 'Bearer sekret' } })).text();
      assert.match(metrics, /^stepflash_draft_max_tokens 3$/m);
      assert.ok(Number(/^stepflash_draft_tokens_total (\d+)$/m.exec(metrics)?.[1]) > 0, metrics);
      const health = await fetch(`${info.url}/health`);
      assert.equal(health.status, 200, 'health needs no key');
      const page = await fetch(`${info.url}/`);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<html/i);
    } finally {
      child.kill('SIGTERM');
    }
    const [code] = await once(child, 'exit');
    assert.equal(code, 0, 'a clean shutdown exits 0');
  });

  test('bad flags are refused with a message that names the flag', () => {
    for (const [flag, value] of [['--port', '70000'], ['--parallel', '0'], ['--reasoning-format', 'xml'], ['--body-limit', '-1'], ['--draft', '4']] as const) {
      const r = spawnSync(process.execPath, ['--import', 'tsx', main, 'serve', flag, value], { cwd: root, encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, 1, `${flag} ${value}`);
      assert.match(r.stderr, new RegExp(flag.slice(2)), r.stderr);
    }
  });
});
