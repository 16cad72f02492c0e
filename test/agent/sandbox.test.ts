// The shell and python tools' bubblewrap sandbox, attacked the way a misbehaving model would: network
// access, writes and reads outside the workspace, a fork bomb, a memory hog, an endless loop, a huge
// output, and a cancelled run. Each is contained and reported as a tool error, and the host is unchanged.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { bwrapPath, pidsCapKind, pythonTool, sandboxProblem, shellTool, type SandboxLimits } from '../../src/agent/tools/index.js';

const root = mkdtempSync(join(tmpdir(), 'agent-sbx-'));
const ws = join(root, 'ws');
mkdirSync(ws);
const secret = join(root, 'secret.txt');
writeFileSync(secret, 'TOP-SECRET-7f3a');
after(() => rmSync(root, { recursive: true, force: true }));

function ctx(signal = new AbortController().signal) {
  return { signal, workspace: ws, callId: 't' };
}
const sh = (command: string, limits: SandboxLimits = {}, signal?: AbortSignal) => shellTool({ timeMs: 5000, ...limits }).run({ command }, ctx(signal));
const py = (code: string, limits: SandboxLimits = {}) => pythonTool({ timeMs: 5000, ...limits }).run({ code }, ctx());

describe('sandbox', () => {
  before(() => {
    assert.ok(bwrapPath(), `the sandbox tests need bubblewrap: ${sandboxProblem()}`);
  });

  test('runs commands in the workspace as an unprivileged user, files persist, python works', async () => {
    const r = await sh('id -u; pwd; echo hello > note.txt; cat note.txt');
    assert.equal(r.isError, false);
    assert.match(r.content, /^exit code: 0\n--- stdout ---\n65534\n/);
    assert.ok(r.content.includes(`${ws}\nhello`));
    assert.equal(readFileSync(join(ws, 'note.txt'), 'utf8'), 'hello\n');
    const p = await py('import sys\nprint(sum(range(101)), sys.flags.isolated)\nopen("py.txt","w").write("from python")');
    assert.match(p.content, /5050 1/);
    assert.equal(readFileSync(join(ws, 'py.txt'), 'utf8'), 'from python');
    const fail = await sh('echo oops >&2; exit 3');
    assert.equal(fail.isError, true);
    assert.match(fail.content, /exit code: 3[\s\S]*--- stderr ---\noops/);
  });

  test('no network unless allowed: a server on the host loopback is unreachable', async () => {
    const server = createServer((_q, s) => s.end('reached')).listen(0, '127.0.0.1');
    await new Promise((ok) => server.once('listening', ok));
    const port = (server.address() as AddressInfo).port;
    try {
      const code = `import urllib.request\nprint(urllib.request.urlopen("http://127.0.0.1:${port}/", timeout=3).read().decode())`;
      const blocked = await py(code);
      assert.equal(blocked.isError, true);
      assert.match(blocked.content, /Connection refused|Network is unreachable|Errno/);
      assert.doesNotMatch(blocked.content, /reached/);
      const allowed = await py(code, { network: true });
      assert.match(allowed.content, /--- stdout ---\nreached/, 'the same code reaches the host when network is allowed');
    } finally {
      server.close();
    }
  });

  test('writes outside the workspace do not reach the host; system directories are read-only', async () => {
    const passwd = createHash('sha256').update(readFileSync('/etc/passwd')).digest('hex');
    const r = await sh(`echo pwned > ${root}/outside.txt; echo pwned > /usr/pwned; echo pwned >> /etc/passwd; echo pwned > /tmp/pwned; ls /tmp`);
    assert.equal(existsSync(join(root, 'outside.txt')), false, 'the parent of the workspace is untouched');
    assert.equal(existsSync('/usr/pwned'), false);
    assert.equal(existsSync('/tmp/pwned'), false, "the sandbox's /tmp is its own");
    assert.equal(createHash('sha256').update(readFileSync('/etc/passwd')).digest('hex'), passwd);
    assert.match(r.content, /Read-only file system/);
  });

  test('a setuid program made in the workspace loses its setuid bit', async () => {
    const r = await sh('cp /usr/bin/id myid && chmod 4755 myid && mkdir -p sg && chmod 2775 sg && ls -l myid');
    assert.match(r.content, /-rwsr-xr-x/, 'inside, the chmod worked');
    assert.match(r.content, /sandbox: setuid\/setgid bits removed from myid, sg/);
    assert.equal(statSync(join(ws, 'myid')).mode & 0o7777, 0o755);
    assert.equal(statSync(join(ws, 'sg')).mode & 0o7777, 0o775);
  });

  test('secrets outside the workspace cannot be read', async () => {
    const r = await sh(`cat /proc/1/environ; cat /root/.bashrc; ls /home; cat /etc/shadow; cat ${secret}`);
    assert.equal(r.isError, true);
    assert.doesNotMatch(r.content, /TOP-SECRET-7f3a/);
    assert.match(r.content, /secret\.txt: No such file or directory/);
    const p = await py(`print(open(${JSON.stringify(secret)}).read())`);
    assert.doesNotMatch(p.content, /TOP-SECRET-7f3a/);
    assert.match(p.content, /FileNotFoundError/);
  });

  test('a fork bomb is capped and killed; no process of it survives', async (t) => {
    if (pidsCapKind() === 'none') {
      // Root without a pids cgroup: nothing caps the count (RLIMIT_NPROC exempts host root), and the bomb
      // would exhaust the host's pids for the seconds until the time limit. docs/agent.md says so.
      t.skip('no process cap here (root without a writable pids cgroup)');
      return;
    }
    const marker = `bomb${process.pid}`;
    writeFileSync(join(ws, `${marker}.sh`), 'b(){ b | b & }; b; sleep 30\n');
    const t0 = performance.now();
    const r = await sh(`bash ${marker}.sh`, { timeMs: 2500, maxProcs: 32 });
    const ms = performance.now() - t0;
    assert.equal(r.isError, true);
    assert.match(r.content, /sandbox: time limit: still running after 2500 ms/);
    assert.match(r.content, /process limit: at most 32 processes|Resource temporarily unavailable/);
    assert.ok(ms < 6000, `stopped in ${ms.toFixed(0)} ms`);
    await new Promise((ok) => setTimeout(ok, 200));
    const left = spawnSync('pgrep', ['-f', marker]).stdout.toString().trim();
    assert.equal(left, '', 'no process of the bomb is left on the host');
  });

  test('a memory hog hits the memory limit', async () => {
    const r = await py('x = bytearray(1024 * 1024 * 1024)\nprint("allocated")', { memoryBytes: 256 * 1024 * 1024 });
    assert.equal(r.isError, true);
    assert.match(r.content, /sandbox: memory limit: the process ran out of its 256 MiB/);
    assert.doesNotMatch(r.content, /allocated/);
  });

  test('an endless loop is killed at the time limit, and the model may ask for less time', async () => {
    const t0 = performance.now();
    const r = await sh('while :; do :; done', { timeMs: 1500 });
    assert.ok(performance.now() - t0 < 4000);
    assert.match(r.content, /killed by SIGKILL\nsandbox: time limit: still running after 1500 ms/);
    const short = await shellTool({ timeMs: 5000 }).run({ command: 'sleep 10', timeout: 0.5 }, ctx());
    assert.match(short.content, /time limit: still running after 500 ms/);
  });

  test('a huge output is cut with a marker, and a flood is killed', async () => {
    const r = await sh('seq 1 200000', { maxOutputBytes: 4096 });
    assert.equal(r.isError, true);
    assert.ok(r.content.length < 6000, `kept ${r.content.length} characters`);
    assert.match(r.content, /^exit code: 0\nsandbox: output limit: 1288895 bytes printed/);
    assert.match(r.content, /--- stdout ---\n1\n2\n3\n/);
    assert.match(r.content, /\[\.\.\. \d+ bytes cut: output is limited to 4096 bytes, first and last halves kept \.\.\.\]/);
    assert.match(r.content, /199999\n200000\n$/);
    const flood = await sh('yes', { maxOutputBytes: 4096, timeMs: 20_000 });
    assert.match(flood.content, /sandbox: output limit: more than \d+ bytes printed, process killed/);
  });

  test('cancellation kills the sandboxed process at once', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 200);
    const t0 = performance.now();
    const r = await sh('sleep 30', {}, ac.signal);
    assert.ok(performance.now() - t0 < 2000);
    assert.match(r.content, /sandbox: cancelled/);
  });
});
