// Running untrusted commands in a bubblewrap sandbox. What the process gets:
//   - read-only system directories (/usr and its merged-/usr links, a few files of /etc), nothing else of
//     the host: no /home, /root, /tmp, /sys, /var or other users' files;
//   - the workspace, bound read-write at its own path, as the working directory and $HOME;
//   - a fresh /tmp, /proc and /dev; new user, pid, ipc, uts, cgroup and (unless allowed) network
//     namespaces; uid 65534; all capabilities dropped; --new-session (no TIOCSTI into our terminal);
//     --die-with-parent (the sandbox dies with us);
//   - limits: wall time (the whole process group is killed, and the pid namespace with it), CPU time,
//     address space (memory), process count (a pids cgroup when one can be made, else RLIMIT_NPROC,
//     which the kernel does not apply to processes of host root), file size, open files, and output
//     (head and tail kept, the process killed when it prints far beyond the limit);
//   - afterwards, setuid/setgid bits it set in the workspace are cleared (see stripSetid).
// Without bwrap the tools refuse to run rather than run unconfined.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OutputCap } from './output-cap.js';

export interface SandboxLimits {
  /** Wall-clock limit in ms (default 30000). */
  readonly timeMs?: number;
  /** Address-space limit in bytes (default 1 GiB). */
  readonly memoryBytes?: number;
  /** Processes and threads (default 64). */
  readonly maxProcs?: number;
  /** Output kept per stream in bytes (default 16384); the rest is cut with a marker. */
  readonly maxOutputBytes?: number;
  /** Largest file the process may write, in bytes (default 64 MiB). */
  readonly maxFileBytes?: number;
  /** Network access (default false: only a down loopback). */
  readonly network?: boolean;
}

export interface SandboxRun {
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly outputBytes: number;
  readonly truncated: boolean;
  readonly ms: number;
  /** Limits the run hit (time, output, memory, processes, file size) and cancellation. */
  readonly violations: string[];
}

// /usr only: /opt, /srv and the like hold whatever a machine's owner put there, not what programs need.
const SYSTEM_DIRS = ['/usr'];
const ETC_FILES = ['/etc/ld.so.cache', '/etc/ld.so.conf', '/etc/ld.so.conf.d', '/etc/alternatives', '/etc/passwd', '/etc/group', '/etc/nsswitch.conf', '/etc/localtime', '/etc/mime.types', '/etc/python3', '/etc/python3.11', '/etc/bash.bashrc', '/etc/profile'];
const NET_ETC_FILES = ['/etc/resolv.conf', '/etc/hosts', '/etc/host.conf', '/etc/gai.conf', '/etc/ssl', '/etc/ca-certificates'];
const MERGED_USR_LINKS = ['/bin', '/sbin', '/lib', '/lib64', '/lib32', '/libx32'];

let bwrapChecked: string | null | undefined;

/** Path of bwrap when it is installed and can create its namespaces here, else null. */
export function bwrapPath(): string | null {
  if (bwrapChecked !== undefined) return bwrapChecked;
  for (const p of ['/usr/bin/bwrap', '/usr/local/bin/bwrap', '/bin/bwrap']) {
    if (!existsSync(p)) continue;
    const probe = bwrapArgs('/tmp', resolvedLimits({ timeMs: 5000 }), ['/bin/sh', '-c', 'exit 0']);
    const r = spawnSync(p, probe, { timeout: 10_000 });
    bwrapChecked = r.status === 0 ? p : null;
    if (r.status !== 0) bwrapProblem = `bwrap cannot create a sandbox here: ${r.stderr?.toString().trim() || `exit ${r.status}`}`;
    return bwrapChecked;
  }
  bwrapProblem = 'bubblewrap is not installed (apt-get install bubblewrap); the shell and python tools do not run unsandboxed';
  return (bwrapChecked = null);
}
let bwrapProblem = '';
export function sandboxProblem(): string {
  bwrapPath();
  return bwrapProblem;
}

/** The bwrap arguments for a command; exported for tests. */
export function bwrapArgs(workspace: string, limits: Required<SandboxLimits>, argv: readonly string[]): string[] {
  const a: string[] = [];
  for (const d of SYSTEM_DIRS) a.push('--ro-bind-try', d, d);
  // On merged-/usr systems /bin etc. are links into /usr; elsewhere they are real directories.
  for (const l of MERGED_USR_LINKS) {
    if (!existsSync(l)) continue;
    const real = realpathSync(l);
    if (real.startsWith('/usr/')) a.push('--symlink', real.slice(1), l);
    else a.push('--ro-bind', l, l);
  }
  for (const f of limits.network ? [...ETC_FILES, ...NET_ETC_FILES] : ETC_FILES) a.push('--ro-bind-try', f, f);
  a.push('--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp');
  a.push('--bind', workspace, workspace, '--chdir', workspace);
  a.push('--unshare-all');
  if (limits.network) a.push('--share-net');
  a.push('--uid', '65534', '--gid', '65534', '--cap-drop', 'ALL', '--die-with-parent', '--new-session');
  a.push('--clearenv');
  const env: Record<string, string> = { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: workspace, TMPDIR: '/tmp', LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8', PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1', TERM: 'dumb' };
  for (const [k, v] of Object.entries(env)) a.push('--setenv', k, v);
  const cpuSeconds = Math.ceil(limits.timeMs / 1000) + 1;
  a.push(
    '--',
    '/usr/bin/prlimit',
    `--as=${limits.memoryBytes}`,
    `--nproc=${limits.maxProcs}`,
    `--fsize=${limits.maxFileBytes}`,
    `--cpu=${cpuSeconds}`,
    '--nofile=256',
    '--core=0',
    '--',
    ...argv,
  );
  return a;
}

let cgroupSeq = 0;
let staleSwept = false;

/** Removes empty sandbox cgroups left by processes that died without cleaning up. */
function sweepStale(base: string): void {
  staleSwept = true;
  try {
    for (const name of readdirSync(base)) {
      const m = /^stepflash-sandbox-(\d+)-\d+$/.exec(name);
      if (!m || Number(m[1]) === process.pid) continue;
      try {
        process.kill(Number(m[1]), 0);
        continue; // its owner is alive
      } catch {
        // owner gone
      }
      try {
        rmdirSync(join(base, name));
      } catch {
        // still has processes, or not ours to remove
      }
    }
  } catch {
    // unreadable: nothing to sweep
  }
}

/** A fresh pids cgroup capped at max processes, or null when none can be made (not root, no controller). */
function makePidsCgroup(max: number): string | null {
  try {
    let base: string | null = null;
    if (existsSync('/sys/fs/cgroup/pids/cgroup.procs')) {
      const line = readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((l) => /^\d+:pids:/.test(l));
      base = join('/sys/fs/cgroup/pids', line ? line.split(':')[2]! : '/');
    } else if (existsSync('/sys/fs/cgroup/cgroup.controllers')) {
      const line = readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((l) => l.startsWith('0::'));
      base = join('/sys/fs/cgroup', line ? line.slice(3) : '/');
      if (!readFileSync(join(base, 'cgroup.subtree_control'), 'utf8').includes('pids')) return null;
    }
    if (!base) return null;
    if (!staleSwept) sweepStale(base);
    const dir = join(base, `stepflash-sandbox-${process.pid}-${++cgroupSeq}`);
    mkdirSync(dir);
    try {
      writeFileSync(join(dir, 'pids.max'), String(max));
    } catch {
      rmdirSync(dir);
      return null;
    }
    return dir;
  } catch {
    return null;
  }
}

function killCgroup(dir: string): void {
  try {
    for (const pid of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
  } catch {
    // the cgroup is gone already
  }
}

async function removeCgroup(dir: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    killCgroup(dir);
    try {
      rmdirSync(dir);
      return;
    } catch {
      await new Promise((ok) => setTimeout(ok, 20));
    }
  }
}

export function resolvedLimits(l: SandboxLimits = {}): Required<SandboxLimits> {
  return {
    timeMs: l.timeMs ?? 30_000,
    memoryBytes: l.memoryBytes ?? 1024 ** 3,
    maxProcs: l.maxProcs ?? 64,
    maxOutputBytes: l.maxOutputBytes ?? 16_384,
    maxFileBytes: l.maxFileBytes ?? 64 * 1024 ** 2,
    network: l.network ?? false,
  };
}

/** How the process count is capped here: 'cgroup' (reliable), 'rlimit' (non-root users), 'none'. */
export function pidsCapKind(): 'cgroup' | 'rlimit' | 'none' {
  const dir = makePidsCgroup(1);
  if (dir) {
    rmdirSync(dir);
    return 'cgroup';
  }
  return process.getuid?.() === 0 ? 'none' : 'rlimit';
}

/**
 * Clears setuid/setgid bits the sandboxed process set in the workspace. bwrap maps the sandbox user onto
 * the caller, so files it makes belong to the caller on the host; from a root caller a `chmod u+s` would
 * leave a setuid-root program behind. Returns the workspace-relative paths fixed (the walk stops at
 * `limit` entries; symbolic links are not followed).
 */
export function stripSetid(workspace: string, limit = 200_000): string[] {
  const fixed: string[] = [];
  let seen = 0;
  const walk = (dir: string, rel: string) => {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch {
      return;
    }
    for (const name of names) {
      if (++seen > limit) return;
      const p = join(dir, name);
      let st;
      try {
        st = lstatSync(p);
      } catch {
        continue;
      }
      if (st.isSymbolicLink()) continue;
      if (st.mode & 0o6000) {
        try {
          chmodSync(p, st.mode & 0o1777);
          fixed.push(rel ? `${rel}/${name}` : name);
        } catch {
          // gone meanwhile
        }
      }
      if (st.isDirectory()) walk(p, rel ? `${rel}/${name}` : name);
    }
  };
  walk(workspace, '');
  return fixed;
}

/** Runs argv in the sandbox. Never throws for what the process does; throws only if bwrap is missing. */
export async function runSandboxed(argv: readonly string[], opts: { workspace: string; limits?: SandboxLimits; stdin?: string; signal?: AbortSignal }): Promise<SandboxRun> {
  const bwrap = bwrapPath();
  if (!bwrap) throw new Error(sandboxProblem());
  const limits = resolvedLimits(opts.limits);
  const workspace = realpathSync(opts.workspace);
  const args = bwrapArgs(workspace, limits, argv);
  const cg = makePidsCgroup(limits.maxProcs);
  // The shell puts itself in the pids cgroup before exec'ing bwrap, so every sandboxed process is counted.
  const cmd = cg ? ['/bin/sh', '-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', cg, bwrap, ...args] : [bwrap, ...args];
  const t0 = performance.now();
  const child = spawn(cmd[0]!, cmd.slice(1), { detached: true, stdio: ['pipe', 'pipe', 'pipe'], env: {} });
  const out = new OutputCap(limits.maxOutputBytes);
  const err = new OutputCap(limits.maxOutputBytes);
  const violations: string[] = [];
  const hardCap = Math.max(limits.maxOutputBytes * 64, 8 * 1024 * 1024);
  let killed = false;
  const kill = (why: string) => {
    if (!killed) violations.push(why);
    killed = true;
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // the group is gone already
    }
    if (cg) killCgroup(cg);
  };
  const onData = (cap: OutputCap) => (d: Buffer) => {
    cap.push(d);
    if (out.total + err.total > hardCap) kill(`output limit: more than ${hardCap} bytes printed, process killed`);
  };
  child.stdout.on('data', onData(out));
  child.stderr.on('data', onData(err));
  child.stdin.on('error', () => {}); // a process that exits without reading its input
  child.stdin.end(opts.stdin ?? '');
  const timer = setTimeout(() => kill(`time limit: still running after ${limits.timeMs} ms, process group killed`), limits.timeMs);
  const onAbort = () => kill('cancelled');
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  if (opts.signal?.aborted) onAbort();
  const [exitCode, signal] = await new Promise<[number | null, string | null]>((resolve) => {
    child.on('error', (e) => {
      err.push(Buffer.from(`cannot start the sandbox: ${e.message}`));
      resolve([null, null]);
    });
    child.on('close', (code, sig) => resolve([code, sig]));
  });
  clearTimeout(timer);
  opts.signal?.removeEventListener('abort', onAbort);
  if (cg) await removeCgroup(cg);
  const setid = stripSetid(workspace);
  if (setid.length) violations.push(`setuid/setgid bits removed from ${setid.slice(0, 5).join(', ')}${setid.length > 5 ? ` and ${setid.length - 5} more` : ''}`);
  const stderr = err.text();
  if ((out.truncated || err.truncated) && !violations.some((v) => v.startsWith('output limit'))) {
    violations.push(`output limit: ${out.total + err.total} bytes printed, kept the first and last ${limits.maxOutputBytes / 2} bytes of each stream`);
  }
  if (exitCode !== 0) {
    // The kernel's refusals show up as the program's own error messages; name the limit behind them.
    if (/MemoryError|Cannot allocate memory|bad_alloc|out of memory/i.test(stderr)) violations.push(`memory limit: the process ran out of its ${Math.round(limits.memoryBytes / 1024 ** 2)} MiB`);
    if (/Resource temporarily unavailable|fork: retry|[Cc]an(no|')t fork|BlockingIOError/.test(stderr)) violations.push(`process limit: at most ${limits.maxProcs} processes`);
    if (signal === 'SIGXFSZ' || exitCode === 153) violations.push(`file size limit: ${limits.maxFileBytes} bytes`);
    if (!killed && (signal === 'SIGXCPU' || exitCode === 152)) violations.push('CPU time limit');
  }
  return { exitCode, signal, stdout: out.text(), stderr, outputBytes: out.total + err.total, truncated: out.truncated || err.truncated, ms: performance.now() - t0, violations };
}

/** The run as the model reads it. */
export function formatRun(r: SandboxRun): string {
  const parts: string[] = [];
  parts.push(r.exitCode !== null ? `exit code: ${r.exitCode}` : `killed${r.signal ? ` by ${r.signal}` : ''}`);
  for (const v of r.violations) parts.push(`sandbox: ${v}`);
  if (r.stdout) parts.push(`--- stdout ---\n${r.stdout}`);
  if (r.stderr) parts.push(`--- stderr ---\n${r.stderr}`);
  if (!r.stdout && !r.stderr) parts.push('(no output)');
  return parts.join('\n');
}
