// Claude Code (the real CLI from npm) against `stepflash serve`'s routes, inside a network namespace with
// only loopback, so nothing can reach Anthropic: a one-turn request and a turn where the model calls the
// Bash tool, Claude Code runs it, and the model reports the tool's output.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { GREETING, TOOL_MARKER } from './claude-code-runner-constants.js';

const root = new URL('../..', import.meta.url).pathname;

interface Run {
  code: number | null;
  events: Record<string, unknown>[];
  stderr: string;
}

function result(run: Run): Record<string, unknown> {
  const r = run.events.find((e) => e.type === 'result');
  assert.ok(r, `Claude Code printed no result line (exit ${run.code}); stderr: ${run.stderr}; events: ${JSON.stringify(run.events).slice(0, 2000)}`);
  return r;
}

test('Claude Code completes a one-turn request and a tool-use turn against stepflash, offline', { timeout: 400_000 }, () => {
  // unshare --net: a fresh network namespace (needs root or user namespaces; CI runs as root). `ip link set
  // lo up` gives it a working loopback and nothing else.
  const script = `ip link set lo up && exec "${process.execPath}" --import tsx "${join(root, 'test/e2e/claude-code-runner.ts')}"`;
  const r = spawnSync('unshare', ['--net', '--fork', 'sh', '-c', script], { cwd: root, encoding: 'utf8', timeout: 380_000, maxBuffer: 64 * 1024 * 1024 });
  assert.equal(r.error, undefined, `cannot start unshare: ${r.error?.message} (Linux util-linux's unshare is needed, run as root)`);
  assert.equal(r.status, 0, `runner failed: ${r.stderr}`);
  const line = r.stdout.trim().split('\n').pop()!;
  const { oneTurn, toolTurn, requests } = JSON.parse(line) as { oneTurn: Run; toolTurn: Run; requests: string[] };

  const first = result(oneTurn);
  assert.equal(first.subtype, 'success', JSON.stringify(first));
  assert.equal(first.is_error, false);
  assert.match(String(first.result), new RegExp(GREETING.replace('!', '')));
  assert.equal(oneTurn.code, 0);

  const second = result(toolTurn);
  assert.equal(second.subtype, 'success', JSON.stringify(second));
  assert.match(String(second.result), new RegExp(`printed ${TOOL_MARKER}`));
  // The tool really ran: Claude Code sent its output back as a tool_result.
  const toolResults = toolTurn.events
    .filter((e) => e.type === 'user')
    .flatMap((e) => ((e.message as { content?: unknown[] })?.content ?? []) as { type?: string; content?: unknown }[])
    .filter((b) => b.type === 'tool_result');
  assert.ok(toolResults.some((b) => JSON.stringify(b.content).includes(TOOL_MARKER)), `no tool_result with the marker: ${JSON.stringify(toolTurn.events).slice(0, 3000)}`);
  assert.equal(toolTurn.code, 0);

  assert.ok(requests.some((l) => l.startsWith('POST /v1/messages 200')), requests.join('\n'));
  assert.ok(!requests.some((l) => / (4|5)\d\d /.test(l)), `a request failed:\n${requests.join('\n')}`);
});
