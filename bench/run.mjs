#!/usr/bin/env node
// The benchmark harness: stepflash against llama.cpp on the same random-weight GGUF files, in one run.
//
//   node bench/run.mjs [--threads 2] [--rounds 3] [--llama-bench PATH] [--dir /tmp/stepflash-bench] [--json]
//
// For each benchmark file it alternates, round after round: `stepflash bench` (a fresh process), then
// node-llama-cpp (a fresh process running this script as --nlc-worker), then llama-bench when given. Each
// engine loads the file, warms up once and measures pp512 (one 512-token batch from an empty context) and
// tg128 (128 single-token evaluations from an empty context). Medians over all rounds and their ratios go
// to bench/RESULTS.md (see bench/README.md for the columns); --json prints the whole result on stdout.
// Progress goes to stderr. Plain JavaScript on purpose: it runs with `node`, without a build step.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'bin', 'stepflash.js');

/**
 * The benchmark files and the issue's targets: stepflash / llama-bench, 2 threads, measured in one run;
 * memory: stepflash's peak resident memory over the file's size, for the Q8_0 and Q4_0 models the
 * weights dominate (llama-15m's 16 MiB file is a third of what Node itself takes, so its ratio is shown
 * but not judged).
 */
const FILES = [
  { preset: 'mini', type: 'q8_0', target: { decode: 1.2, prefill: 0.5, memory: 1.3 } },
  { preset: 'mini', type: 'q4_0', target: { decode: 1.0, prefill: 0.5, memory: 1.3 } },
  { preset: 'mini', type: 'q4_k', target: { decode: 1.0, prefill: 0.4 } },
  { preset: 'llama-15m', type: 'q8_0', target: { decode: 0.8, prefill: 0.5 } },
];

const USAGE = `usage: node bench/run.mjs [options]

  --threads N          threads for every engine (default 2)
  --rounds N           alternating rounds per file (default 3)
  --reps N             measured repetitions inside each engine run (default 1)
  -p, --prompt N       prompt tokens for the prefill test (default 512)
  -n, --gen N          tokens for the decode test (default 128)
  --llama-bench PATH   also run llama.cpp's llama-bench (anchor 2)
  --dir DIR            cache of benchmark files (default /tmp/stepflash-bench)
  --seed N             make-model seed (default 1)
  --files LIST         comma-separated subset, e.g. mini-q8_0,llama-15m-q8_0
  --out FILE           the Markdown report (default bench/RESULTS.md; "none" to skip)
  --uv-threadpool N    UV_THREADPOOL_SIZE for the node-llama-cpp process (default 1; "default" leaves it unset)
  --wait-idle S        before each engine run, wait up to S seconds for the machine to be idle (default 10; 0: don't)
  --max-busy F         a run during which other work took over F of the machine is busy and does not
                       count (default 0.1)...
  --max-peak F         ...nor one with over F in any half second of it (default 0.4)
  --extra-rounds N     at most N more rounds per file to replace busy runs (default: --rounds)
  --time-limit MIN     start no extra round once the whole run has taken MIN minutes (default 14)
  --run-timeout S      kill an engine run after S seconds; with other work on the machine it is a busy run,
                       otherwise the harness stops (default 90)
  --json               print the whole result as one JSON object on stdout
  -h, --help           this text`;

// ---------------------------------------------------------------------------------------------------
// small helpers

function log(msg) {
  process.stderr.write(`[bench] ${msg}\n`);
}

function median(values) {
  const xs = values.filter((x) => typeof x === 'number' && Number.isFinite(x));
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function ratio(a, b) {
  return a != null && b != null && b > 0 ? a / b : null;
}

function positiveInt(name, v) {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${v}`);
  return n;
}

function nonNegativeInt(name, v) {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got ${v}`);
  return n;
}

/** Runs a command; resolves with its stdout, rejects (with the tail of stderr) when it fails. */
function runProcess(cmd, args, { env, timeoutMs = 15 * 60_000, onSpawn } = {}) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, env: env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    onSpawn?.(child);
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolvePromise(out);
      else if (timedOut) reject(Object.assign(new Error(`${cmd} ${args.join(' ')} took over ${timeoutMs / 1000} s`), { timedOut: true }));
      else reject(new Error(`${cmd} ${args.join(' ')} failed (${signal ?? `exit ${code}`}):\n${err.slice(-2000)}`));
    });
  });
}

function lastJsonLine(text) {
  const lines = text.trim().split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const l = lines[i].trim();
    if (l.startsWith('{')) return JSON.parse(l);
  }
  throw new Error(`no JSON object in output:\n${text.slice(-1000)}`);
}

// ---------------------------------------------------------------------------------------------------
// contention: how much of the machine something other than this benchmark used while an engine ran

/** Jiffies from /proc/stat: busy (user, nice, system, irq, softirq), steal (taken by the hypervisor), total. */
function cpuTimes() {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, idle, iowait, irq, softirq, steal = 0] = f;
    const busy = user + nice + system + irq + softirq;
    return { busy, steal, total: busy + idle + iowait + steal };
  } catch {
    return null;
  }
}

/** Jiffies this process and its waited-for children have run (/proc/self/stat utime, stime, cutime, cstime). */
function ownTimes() {
  try {
    const s = readFileSync('/proc/self/stat', 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ').map(Number);
    return f[11] + f[12] + f[13] + f[14];
  } catch {
    return null;
  }
}

function snapshot() {
  return { cpu: cpuTimes(), own: ownTimes() };
}

/**
 * Jiffies a process and its descendants have run: its own threads and waited-for children (utime, stime,
 * cutime, cstime in /proc/PID/stat) plus the same for each live child (node-llama-cpp, for one, starts a
 * short process to test its binary). Null once the process is gone.
 */
function treeTicks(pid, depth = 0) {
  let total;
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ').map(Number);
    total = f[11] + f[12] + f[13] + f[14];
  } catch {
    return null;
  }
  if (depth > 8) return total;
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      let kids = '';
      try {
        kids = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      } catch {
        continue;
      }
      for (const k of kids ? kids.split(/\s+/) : []) total += treeTicks(k, depth + 1) ?? 0;
    }
  } catch {
    // no /proc/PID/task: count the process alone
  }
  return total;
}

/**
 * Watches a running engine process: every half second, the share of the machine's CPU time that went to
 * neither it nor this process (other processes and steal). A short burst of other work can wreck a
 * one-second decode measurement while hardly moving the average over the whole run; `peak` catches it.
 */
function watchContention(pid, intervalMs = 500) {
  const self = () => {
    // This process's own threads only: its waited-for children's time (cutime) changes when an engine exits.
    try {
      const s = readFileSync('/proc/self/stat', 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ').map(Number);
      return f[11] + f[12];
    } catch {
      return null;
    }
  };
  let prev = { cpu: cpuTimes(), child: treeTicks(pid), self: self() };
  let peak = 0;
  const timer = setInterval(() => {
    const cur = { cpu: cpuTimes(), child: treeTicks(pid), self: self() };
    if (prev.cpu && cur.cpu && prev.child != null && cur.child != null && prev.self != null && cur.self != null) {
      const total = cur.cpu.total - prev.cpu.total;
      if (total > 0) {
        const used = cur.cpu.busy + cur.cpu.steal - prev.cpu.busy - prev.cpu.steal;
        const ours = cur.child - prev.child + (cur.self - prev.self);
        peak = Math.max(peak, Math.max(0, used - ours) / total);
      }
    }
    prev = cur;
  }, intervalMs);
  return { stop: () => (clearInterval(timer), peak) };
}

/** Shares of the machine's CPU time between two snapshots: used by other processes, and stolen by the host. */
function contention(a, b) {
  if (!a.cpu || !b.cpu || a.own == null || b.own == null) return null;
  const total = b.cpu.total - a.cpu.total;
  if (total <= 0) return null;
  return {
    others: Math.max(0, b.cpu.busy - a.cpu.busy - (b.own - a.own)) / total,
    steal: (b.cpu.steal - a.cpu.steal) / total,
  };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Waits (at most maxS seconds) until a half-second sample shows under a quarter of the machine busy. */
async function waitIdle(maxS) {
  const t0 = performance.now();
  for (;;) {
    const a = snapshot();
    await sleep(500);
    const c = contention(a, snapshot());
    const waited = (performance.now() - t0) / 1000;
    if (!c || c.others + c.steal < 0.25 || waited >= maxS) return { waited_s: waited, before: c };
  }
}

const fmt = (x, d = 1) => (x == null ? '–' : x.toFixed(d));
const fmtRatio = (x) => (x == null ? '–' : `${x.toFixed(2)}x`);
const pct = (x) => (x == null ? '–' : `${(x * 100).toFixed(0)}%`);
const mib = (b) => (b == null ? '–' : `${(b / 2 ** 20).toFixed(1)} MiB`);

// ---------------------------------------------------------------------------------------------------
// anchor 1: node-llama-cpp, run in its own process (this script with --nlc-worker)

async function nlcWorker(opts) {
  const { model: modelPath, threads, prompt: p, gen: n, reps, vocab } = opts;
  const rss0 = process.memoryUsage().rss;
  const t0 = performance.now();
  const { getLlama } = await import('node-llama-cpp');
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' });
  const model = await llama.loadModel({ modelPath });
  // llama-bench's context for a test holds exactly its tokens; one extra keeps both tests in one context.
  const context = await model.createContext({ contextSize: Math.max(p + n, 1) + 1, batchSize: 512, threads });
  const seq = context.getSequence();
  const loadMs = performance.now() - t0;
  const rssLoaded = process.memoryUsage().rss;

  // The lowest-level evaluation node-llama-cpp exposes that still computes the logits of the last token (as
  // llama-bench's pp and tg do) but does not sample: evaluateWithMetadata with its `_noSampling` option (used
  // by node-llama-cpp's own embedding context; not in its typings). If a later version drops it, fall back
  // to controlledEvaluate asking for one logit, which adds a greedy sampler pass over the vocabulary.
  const proto = Object.getPrototypeOf(seq);
  const noSampling =
    typeof proto.evaluateWithMetadata === 'function' &&
    proto.evaluateWithMetadata.toString().includes('_noSampling') &&
    typeof proto._evaluate === 'function' &&
    proto._evaluate.toString().includes('_noSampling');
  const method = noSampling ? 'evaluateWithMetadata(_noSampling)' : 'controlledEvaluate(logits of last token)';
  const evaluate = async (tokens) => {
    if (noSampling) {
      // eslint-disable-next-line no-unused-vars
      for await (const _ of seq.evaluateWithMetadata(tokens, {}, { _noSampling: true }));
    } else {
      const last = tokens.length - 1;
      await seq.controlledEvaluate(
        tokens.map((t, i) => (i === last ? [t, { generateNext: { logits: { filter: { tokens: [t] } } } }] : t)),
      );
    }
  };
  // The same token pattern stepflash bench uses (ids from 16 up, spread over the vocabulary).
  const tokens = (count, seed) => Array.from({ length: count }, (_, i) => 16 + ((i * 7919 + seed * 104729) % (vocab - 16)));

  const prefillRuns = [];
  const decodeRuns = [];
  for (let r = -1; r < reps; r++) {
    // r = -1 is a warm-up, not counted.
    if (p > 0) {
      await seq.clearHistory();
      const ids = tokens(p, r + 2);
      const t = performance.now();
      await evaluate(ids);
      const ms = performance.now() - t;
      if (r >= 0) prefillRuns.push((p * 1000) / ms);
    }
    if (n > 0) {
      await seq.clearHistory();
      const ids = tokens(n, r + 7);
      const t = performance.now();
      for (const id of ids) await evaluate([id]);
      const ms = performance.now() - t;
      if (r >= 0) decodeRuns.push((n * 1000) / ms);
    }
  }
  const result = {
    engine: 'node-llama-cpp',
    version: JSON.parse(readFileSync(join(ROOT, 'node_modules', 'node-llama-cpp', 'package.json'), 'utf8')).version,
    method,
    threads: context.currentThreads,
    context_size: context.contextSize,
    batch_size: context.batchSize,
    flash_attention: context.flashAttention,
    build_type: llama.buildType,
    system_info: llama.systemInfo,
    llama_cpp_release: llama.llamaCppRelease?.release ?? null,
    uv_threadpool_size: process.env.UV_THREADPOOL_SIZE ?? null,
    load_ms: Math.round(loadMs),
    rss_peak_bytes: process.resourceUsage().maxRSS * 1024,
    rss_model_bytes: rssLoaded - rss0,
    prefill: p > 0 ? { tokens: p, tokens_per_second: median(prefillRuns), runs: prefillRuns } : null,
    decode: n > 0 ? { tokens: n, tokens_per_second: median(decodeRuns), runs: decodeRuns } : null,
  };
  await context.dispose();
  await model.dispose();
  await llama.dispose();
  process.stdout.write(JSON.stringify(result) + '\n');
}

// ---------------------------------------------------------------------------------------------------
// the three engines, one measured run each

async function runStepflash(file, o, onSpawn) {
  const out = await runProcess(process.execPath, [
    CLI, 'bench', '--model', file, '--threads', String(o.threads),
    '-p', String(o.prompt), '-n', String(o.gen), '-r', String(o.reps), '--json',
  ], { onSpawn, timeoutMs: o.runTimeoutS * 1000 });
  return lastJsonLine(out);
}

async function runNlc(file, o, vocab, onSpawn) {
  const env = { ...process.env };
  if (o.uvThreadpool !== 'default') env.UV_THREADPOOL_SIZE = String(o.uvThreadpool);
  const out = await runProcess(
    process.execPath,
    [
      fileURLToPath(import.meta.url), '--nlc-worker', '--model', file, '--threads', String(o.threads),
      '-p', String(o.prompt), '-n', String(o.gen), '--reps', String(o.reps), '--vocab', String(vocab),
    ],
    { env, onSpawn, timeoutMs: o.runTimeoutS * 1000 },
  );
  return lastJsonLine(out);
}

async function runLlamaBench(file, o, onSpawn) {
  const args = ['-m', file, '-t', String(o.threads), '-r', String(o.reps), '-o', 'json'];
  // llama-bench runs every -p and -n value as its own test; 0 skips it.
  args.push('-p', String(o.prompt), '-n', String(o.gen));
  const out = await runProcess(o.llamaBench, args, { onSpawn, timeoutMs: o.runTimeoutS * 1000 });
  const rows = JSON.parse(out.slice(out.indexOf('[')));
  const pp = rows.find((r) => r.n_prompt > 0 && r.n_gen === 0);
  const tg = rows.find((r) => r.n_prompt === 0 && r.n_gen > 0);
  const first = rows[0] ?? {};
  return {
    engine: 'llama-bench',
    build_commit: first.build_commit,
    build_number: first.build_number,
    cpu_info: first.cpu_info,
    model_type: first.model_type,
    threads: first.n_threads,
    n_batch: first.n_batch,
    n_ubatch: first.n_ubatch,
    flash_attn: first.flash_attn,
    prefill: pp ? { tokens: pp.n_prompt, tokens_per_second: median(pp.samples_ts), runs: pp.samples_ts } : null,
    decode: tg ? { tokens: tg.n_gen, tokens_per_second: median(tg.samples_ts), runs: tg.samples_ts } : null,
  };
}

// ---------------------------------------------------------------------------------------------------
// files, machine

async function ensureFile(spec, o) {
  const name = `${spec.preset}-${spec.type}-seed${o.seed}.gguf`;
  const path = join(o.dir, name);
  if (existsSync(path)) {
    log(`reusing ${path}`);
  } else {
    log(`making ${path} (make-model --preset ${spec.preset} --type ${spec.type}; Q4_K takes minutes)`);
    const tmp = `${path}.partial-${process.pid}`;
    const t0 = performance.now();
    try {
      await runProcess(process.execPath, [
        CLI, 'make-model', '--preset', spec.preset, '--type', spec.type, '--seed', String(o.seed), '--out', tmp,
      ]);
      renameSync(tmp, path);
    } finally {
      rmSync(tmp, { force: true });
    }
    log(`  made in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  }
  const info = JSON.parse(await runProcess(process.execPath, [CLI, 'inspect', '--json', path]));
  return {
    id: `${spec.preset}-${spec.type}`,
    preset: spec.preset,
    type: spec.type.toUpperCase(),
    path,
    bytes: statSync(path).size,
    architecture: info.architecture,
    layers: info.layers,
    hidden: info.hidden,
    vocab: info.vocab,
    experts: info.experts ?? null,
    params: info.params?.total ?? null,
    active_params: info.params?.active_per_token ?? null,
    target: spec.target,
  };
}

function machineInfo() {
  const cpuinfo = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
  const field = (k) => cpuinfo.match(new RegExp(`^${k}\\s*:\\s*(.*)$`, 'm'))?.[1]?.trim() ?? null;
  const flags = new Set((field('flags') ?? '').split(/\s+/));
  const simd = ['sse4_2', 'avx', 'avx2', 'fma', 'f16c', 'avx512f', 'avx512bw', 'avx512_vnni', 'avx_vnni', 'avx512_bf16'].filter((f) =>
    flags.has(f),
  );
  const git = (...args) => {
    try {
      return execFileSync('git', ['-C', ROOT, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return null;
    }
  };
  let kernels = null;
  try {
    // Which wasm kernel build stepflash chooses here; replaced below by `stepflash bench --json`'s own
    // `kernels` field (older builds of it lacked the field).
    const url = pathToFileURL(join(ROOT, 'dist', 'backend', 'cpu', 'kernels.js')).href;
    kernels = execFileSync(
      process.execPath,
      ['--input-type=module', '-e', `const m = await import(${JSON.stringify(url)}); console.log(m.kernelBuild());`],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
    ).trim();
  } catch {
    kernels = null;
  }
  const dirty = git('status', '--porcelain', '--', 'src', 'kernels', 'scripts');
  return {
    cpu: field('model name'),
    logical_cpus: os.availableParallelism(),
    simd,
    memory_bytes: os.totalmem(),
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    date: new Date().toISOString(),
    stepflash_commit: git('rev-parse', '--short', 'HEAD'),
    stepflash_uncommitted_changes: dirty === null ? null : dirty.length > 0,
    stepflash_kernels: kernels,
    stepflash_kernels_env: process.env.STEPFLASH_KERNELS ?? null,
  };
}

// ---------------------------------------------------------------------------------------------------
// the run

async function benchFile(file, o) {
  const engines = ['stepflash', 'node-llama-cpp', ...(o.llamaBench ? ['llama-bench'] : [])];
  // A run during which other work took more than --max-busy of the machine (or --max-peak in some half
  // second) is busy and does not count. Rounds (all engines, alternating) go on until every engine has
  // --rounds clean runs, for at most --extra-rounds more rounds and, past --rounds, while the whole run
  // is within --time-limit. An engine left short of clean runs counts its least busy ones to make up.
  const isBusy = (x) => x.timed_out || (x.contention != null && (x.contention.others + x.contention.steal > o.maxBusy || (x.contention.peak ?? 0) > o.maxPeak));
  const busyness = (x) => (x.contention ? x.contention.others + x.contention.steal + (x.contention.peak ?? 0) / 4 : 1);
  const rounds = [];
  const cleanCount = (e) => rounds.filter((rd) => !rd[e].busy).length;
  for (let r = 1; ; r++) {
    if (r > o.rounds && engines.every((e) => cleanCount(e) >= o.rounds)) break;
    if (r > o.rounds + o.extraRounds || (r > o.rounds && (performance.now() - o.startedAt) / 60_000 > o.timeLimitMin)) break;
    const round = { round: r };
    for (const engine of engines) {
      const idle = o.waitIdle > 0 ? await waitIdle(o.waitIdle) : null;
      const s0 = snapshot();
      const t0 = performance.now();
      let watch = null;
      const onSpawn = (child) => (watch = watchContention(child.pid));
      let res;
      let failure = null;
      try {
        res =
          engine === 'stepflash' ? await runStepflash(file.path, o, onSpawn)
          : engine === 'node-llama-cpp' ? await runNlc(file.path, o, file.vocab, onSpawn)
          : await runLlamaBench(file.path, o, onSpawn);
      } catch (e) {
        failure = e;
        res = { engine, timed_out: true, prefill: null, decode: null };
      }
      const peak = watch ? watch.stop() : null;
      res.wall_s = (performance.now() - t0) / 1000;
      res.contention = contention(s0, snapshot());
      if (res.contention) res.contention.peak = peak;
      if (failure) {
        // A run stalled by other work (a spinning thread pool sharing two cores with it can slow down a
        // hundredfold) is just a busy run; any other failure is a real one.
        const busy = res.contention && (res.contention.others + res.contention.steal > o.maxBusy || (peak ?? 0) > o.maxPeak);
        if (!failure.timedOut || !busy) throw failure;
        log(`${file.id} round ${r} ${engine}: killed after ${o.runTimeoutS} s with other work on the machine`);
      }
      res.waited_for_idle_s = idle ? idle.waited_s : 0;
      res.busy = isBusy(res);
      round[engine] = res;
      const c = res.contention;
      log(
        `${file.id} round ${r}${r > o.rounds ? ' (extra)' : `/${o.rounds}`} ${engine.padEnd(14)} pp${o.prompt} ${fmt(res.prefill?.tokens_per_second).padStart(7)} t/s` +
          `  tg${o.gen} ${fmt(res.decode?.tokens_per_second).padStart(7)} t/s  (${res.wall_s.toFixed(1)} s` +
          (c ? `; others ${pct(c.others)}, steal ${pct(c.steal)}, peak ${pct(c.peak)}` : '') +
          (idle && idle.waited_s > 1 ? `; waited ${idle.waited_s.toFixed(0)} s for idle` : '') +
          (res.busy ? '; busy: not counted' : '') +
          ')',
      );
    }
    rounds.push(round);
  }
  const shortOf = {};
  for (const e of engines) {
    const runs = rounds.map((rd) => rd[e]);
    for (const x of runs) x.counted = !x.busy;
    const missing = o.rounds - runs.filter((x) => x.counted).length;
    if (missing > 0) {
      const fill = runs.filter((x) => x.busy && !x.timed_out).sort((a, b) => busyness(a) - busyness(b)).slice(0, missing);
      for (const x of fill) x.counted = true;
      shortOf[e] = fill.length;
      log(`${file.id} ${e}: only ${o.rounds - missing} clean run(s); counting ${fill.length} busy one(s) too`);
    }
  }

  const summary = {};
  for (const engine of engines) {
    const runs = rounds.map((rd) => rd[engine]).filter((x) => x.counted);
    const prefill = runs.flatMap((x) => x.prefill?.runs ?? []);
    const decode = runs.flatMap((x) => x.decode?.runs ?? []);
    summary[engine] = {
      counted_runs: runs.length,
      clean_runs: runs.filter((x) => !x.busy).length,
      prefill: { median: median(prefill), runs: prefill },
      decode: { median: median(decode), runs: decode },
      contention_others: median(runs.map((x) => x.contention?.others)),
      contention_steal: median(runs.map((x) => x.contention?.steal)),
    };
    if (engine !== 'llama-bench') {
      summary[engine].load_ms = median(runs.map((x) => x.load_ms));
      // Peak RSS of the process (stepflash bench reported current RSS as rss_bytes before it had the peak).
      summary[engine].rss_peak_bytes = median(runs.map((x) => x.rss_peak_bytes ?? x.rss_bytes));
      summary[engine].rss_peak_max_bytes = Math.max(...runs.map((x) => x.rss_peak_bytes ?? x.rss_bytes ?? 0));
    }
  }
  const sf = rounds.map((rd) => rd.stepflash);
  const bytesPerToken = sf.find((x) => x.bytes_per_token != null)?.bytes_per_token ?? null;
  const bandwidth = median(sf.filter((x) => x.counted).map((x) => x.bandwidth_bytes_per_second));
  for (const engine of engines) {
    const d = summary[engine].decode.median;
    summary[engine].bandwidth_fraction = d != null && bandwidth && bytesPerToken ? (bytesPerToken * d) / bandwidth : null;
  }

  // Ratios: of the medians, and the median of each round's own ratio over the rounds where both runs count.
  const ratios = {};
  for (const anchor of engines.slice(1)) {
    const both = rounds.filter((rd) => rd.stepflash.counted && rd[anchor].counted);
    const paired = (kind) => median(both.map((rd) => ratio(rd.stepflash[kind]?.tokens_per_second, rd[anchor][kind]?.tokens_per_second)));
    ratios[anchor] = {
      decode: ratio(summary.stepflash.decode.median, summary[anchor].decode.median),
      prefill: ratio(summary.stepflash.prefill.median, summary[anchor].prefill.median),
      decode_paired: paired('decode'),
      prefill_paired: paired('prefill'),
      paired_rounds: both.length,
    };
  }
  // The targets are stated against llama-bench; without it they are judged against node-llama-cpp.
  const against = o.llamaBench ? 'llama-bench' : 'node-llama-cpp';
  // A verdict resting on busy runs (of stepflash or the anchor) is marked unreliable.
  const reliable = !shortOf.stepflash && !shortOf[against];
  const verdict = (kind) => {
    const x = ratios[against][kind];
    return { ratio: x, target: file.target[kind], status: x == null ? 'n/a' : x >= file.target[kind] ? 'PASS' : 'MISS', reliable };
  };
  // The largest peak of any run, not the median: the target is a bound.
  const memRatio = summary.stepflash.rss_peak_max_bytes ? summary.stepflash.rss_peak_max_bytes / file.bytes : null;
  const memory = {
    ratio: memRatio,
    target: file.target.memory ?? null,
    status: file.target.memory == null || memRatio == null ? 'n/a' : memRatio <= file.target.memory ? 'PASS' : 'MISS',
    reliable: true,
  };
  return {
    file,
    bytes_per_token: bytesPerToken,
    bandwidth_bytes_per_second: bandwidth,
    summary,
    ratios,
    targets: { against, decode: verdict('decode'), prefill: verdict('prefill'), memory },
    busy_runs_counted: shortOf,
    rounds,
  };
}

function report(result) {
  const { machine: m, options: o, files } = result;
  const L = [];
  const anchors = ['node-llama-cpp', ...(o.llama_bench ? ['llama-bench'] : [])];
  const nlcInfo = files[0]?.rounds[0]?.['node-llama-cpp'];
  const lbInfo = files[0]?.rounds[0]?.['llama-bench'];
  L.push('# stepflash benchmark results', '');
  L.push(
    `Generated by \`node bench/run.mjs${result.argv.length ? ' ' + result.argv.join(' ') : ''}\` on ${m.date.slice(0, 10)}` +
      ` in ${(result.elapsed_s / 60).toFixed(1)} min. See [README.md](README.md) for what each column means.`,
    '',
  );
  L.push('## Machine', '');
  L.push(`| | |`, `|---|---|`);
  L.push(`| CPU | ${m.cpu} (${m.logical_cpus} logical CPUs; ${m.simd.join(', ')}) |`);
  L.push(`| memory | ${(m.memory_bytes / 2 ** 30).toFixed(1)} GiB |`);
  L.push(`| OS | ${m.os} |`);
  L.push(`| Node | ${m.node} |`);
  L.push(`| date | ${m.date} |`);
  L.push(
    `| stepflash | commit ${m.stepflash_commit ?? '?'}${m.stepflash_uncommitted_changes ? ' with uncommitted changes in src/' : ''}, ` +
      `wasm kernel build \`${m.stepflash_kernels ?? 'unknown'}\`${m.stepflash_kernels_env ? ` (STEPFLASH_KERNELS=${m.stepflash_kernels_env})` : ''} |`,
  );
  if (nlcInfo)
    L.push(
      `| node-llama-cpp | ${nlcInfo.version} (${nlcInfo.build_type} binaries, llama.cpp ${nlcInfo.llama_cpp_release ?? '?'}), ` +
        `${nlcInfo.method}, flash attention ${nlcInfo.flash_attention}, UV_THREADPOOL_SIZE=${nlcInfo.uv_threadpool_size ?? 'default'} |`,
    );
  if (lbInfo) L.push(`| llama-bench | build ${lbInfo.build_commit} (${lbInfo.build_number}), n_batch ${lbInfo.n_batch}, n_ubatch ${lbInfo.n_ubatch}, flash_attn ${lbInfo.flash_attn} |`);
  L.push(`| settings | ${o.threads} threads for every engine, ${o.rounds} alternating rounds × ${o.reps} rep(s), pp${o.prompt}, tg${o.gen}; runs busier than ${pct(o.max_busy)} (peak ${pct(o.max_peak)}) not counted, up to ${o.extra_rounds} extra rounds per file to replace them |`);
  L.push('');

  const status = (v) => `**${v.status}**${v.reliable ? '' : ' (unreliable: busy runs counted)'}`;
  L.push('## Targets', '');
  L.push(`Ratios are stepflash's median over the anchor's median, measured in this run; targets are stated against ${o.llama_bench ? 'llama-bench' : 'llama-bench (not run here: judged against node-llama-cpp instead)'}.`, '');
  L.push('| file | decode ratio | target | | prefill ratio | target | | peak RSS / file | target | |', '|---|---:|---:|---|---:|---:|---|---:|---:|---|');
  for (const f of files) {
    const t = f.targets;
    const m = t.memory;
    const mem = m && m.ratio != null ? `${m.ratio.toFixed(2)}x | ${m.target != null ? `≤ ${m.target.toFixed(1)}x | **${m.status}**` : '(not judged) |'}` : 'n/a | | ';
    L.push(
      `| ${f.file.id} | ${fmtRatio(t.decode.ratio)} | ≥ ${t.decode.target.toFixed(1)}x | ${status(t.decode)} | ${fmtRatio(t.prefill.ratio)} | ≥ ${t.prefill.target.toFixed(1)}x | ${status(t.prefill)} | ${mem} |`,
    );
  }
  L.push('');
  const busy = [];
  for (const f of files) {
    for (const e of ['stepflash', ...anchors]) {
      const x = (f.summary[e].contention_others ?? 0) + (f.summary[e].contention_steal ?? 0);
      if (x >= 0.1) busy.push(`${f.file.id} ${e} ${pct(x)}`);
    }
  }
  const busyRuns = files.reduce((a, f) => a + f.rounds.reduce((b, rd) => b + ['stepflash', ...anchors].filter((e) => rd[e].busy).length, 0), 0);
  const extraRounds = files.reduce((a, f) => a + Math.max(0, f.rounds.length - o.rounds), 0);
  const busyCounted = files.flatMap((f) => Object.entries(f.busy_runs_counted).map(([e, n]) => `${f.file.id} ${e} (${n})`));
  L.push(
    (busyRuns
      ? `${busyRuns} run(s) during which other work took over ${pct(o.max_busy)} of the machine (or ${pct(o.max_peak)} in some half second) were not counted` +
        `${extraRounds ? `, and ${extraRounds} extra round(s) were run to make up for them` : ''} (all listed under each file). `
      : '') +
      (busyCounted.length ? `Too few clean runs came out for ${busyCounted.join(', ')}: the least busy of the others are counted there. ` : '') +
      (busy.length
        ? `The median CPU share other processes and the host took during an engine's counted runs reached 10% for: ${busy.join('; ')}; those medians are less reliable.`
        : 'Other processes and the host took under 10% of the machine during the counted runs (median per engine and file).'),
    '',
  );

  L.push('## Files', '');
  L.push('| file | preset | type | size | parameters | active per token | weight bytes per decoded token | path |', '|---|---|---|---:|---:|---:|---:|---|');
  for (const { file: f, bytes_per_token: bpt } of files) {
    const shape = f.experts?.count ? `${f.layers} layers, ${f.hidden} hidden, ${f.experts.count} experts top-${f.experts.used}` : `${f.layers} layers, ${f.hidden} hidden`;
    L.push(
      `| ${f.id} | ${f.preset} (${f.architecture}: ${shape}) | ${f.type} | ${mib(f.bytes)} | ${(f.params / 1e6).toFixed(1)} M | ${(f.active_params / 1e6).toFixed(1)} M | ${mib(bpt)} | \`${f.path}\` |`,
    );
  }
  L.push('');

  for (const f of files) {
    const s = f.summary;
    L.push(`## ${f.file.id}`, '');
    const head = ['test', 'stepflash'];
    for (const a of anchors) head.push(a, `ratio vs ${a}`);
    head.push('target', '');
    L.push(`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i === 0 || i === head.length - 1 ? '---' : '---:')).join('|')}|`);
    for (const [kind, label] of [['decode', `decode tg${o.gen} (tokens/s)`], ['prefill', `prefill pp${o.prompt} (tokens/s)`]]) {
      const row = [label, fmt(s.stepflash[kind].median)];
      for (const a of anchors) {
        row.push(fmt(s[a][kind].median), `${fmtRatio(f.ratios[a][kind])} (paired ${fmtRatio(f.ratios[a][`${kind}_paired`])})`);
      }
      const t = f.targets[kind];
      row.push(`≥ ${t.target.toFixed(1)}x vs ${f.targets.against}`, status(t));
      L.push(`| ${row.join(' | ')} |`);
    }
    L.push('');
    const bw = f.bandwidth_bytes_per_second;
    L.push(
      `Weights read per decoded token ${mib(f.bytes_per_token)}; read bandwidth measured by stepflash ${bw == null ? "–" : (bw / 1e9).toFixed(1)} GB/s; ` +
        `decode reaches ${[['stepflash', s.stepflash], ...anchors.map((a) => [a, s[a]])].map(([n, x]) => `${x.bandwidth_fraction == null ? '–' : fmt(x.bandwidth_fraction * 100, 0)}% (${n})`).join(', ')} of it.` +
        ` Load: stepflash ${fmt(s.stepflash.load_ms, 0)} ms, peak RSS ${mib(s.stepflash.rss_peak_bytes)}; node-llama-cpp ${fmt(s['node-llama-cpp'].load_ms, 0)} ms, peak RSS ${mib(s['node-llama-cpp'].rss_peak_bytes)}.`,
      '',
    );
    L.push(
      'Every run in the order measured, in tokens/s, with the share of the CPU other processes and the host (steal) took while it ran' +
        ` and in its busiest half second (peak); a run over ${pct(o.max_busy)} (peak ${pct(o.max_peak)}) is busy and not counted:`,
      '',
    );
    L.push('| round | engine | decode | prefill | others | steal | peak | counted |', '|---:|---|---:|---:|---:|---:|---:|---|');
    for (const rd of f.rounds) {
      for (const e of ['stepflash', ...anchors]) {
        const x = rd[e];
        const runs = (k) => (x.timed_out ? `killed after ${x.wall_s.toFixed(0)} s` : (x[k]?.runs ?? []).map((t) => t.toFixed(1)).join(', ') || '–');
        const status = x.counted ? (x.busy ? 'yes (busy; too few clean runs)' : 'yes') : 'no (busy)';
        L.push(`| ${rd.round} | ${e} | ${runs('decode')} | ${runs('prefill')} | ${pct(x.contention?.others)} | ${pct(x.contention?.steal)} | ${pct(x.contention?.peak)} | ${status} |`);
      }
    }
    L.push('');
  }
  L.push('The whole result as JSON: `node bench/run.mjs --json` (same options) prints it on stdout.', '');
  return L.join('\n');
}

async function main() {
  const { values: v } = parseArgs({
    options: {
      threads: { type: 'string', default: '2' },
      rounds: { type: 'string', default: '3' },
      reps: { type: 'string', default: '1' },
      prompt: { type: 'string', short: 'p', default: '512' },
      gen: { type: 'string', short: 'n', default: '128' },
      'llama-bench': { type: 'string' },
      dir: { type: 'string', default: '/tmp/stepflash-bench' },
      seed: { type: 'string', default: '1' },
      files: { type: 'string' },
      out: { type: 'string', default: join(ROOT, 'bench', 'RESULTS.md') },
      'uv-threadpool': { type: 'string', default: '1' },
      'wait-idle': { type: 'string', default: '10' },
      'max-busy': { type: 'string', default: '0.1' },
      'max-peak': { type: 'string', default: '0.4' },
      'extra-rounds': { type: 'string' },
      'time-limit': { type: 'string', default: '14' },
      'run-timeout': { type: 'string', default: '90' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
      // internal: the node-llama-cpp measurement process
      'nlc-worker': { type: 'boolean', default: false },
      model: { type: 'string' },
      vocab: { type: 'string' },
    },
  });
  if (v.help) {
    process.stdout.write(USAGE + '\n');
    return;
  }
  const o = {
    threads: positiveInt('threads', v.threads),
    rounds: positiveInt('rounds', v.rounds),
    reps: positiveInt('reps', v.reps),
    prompt: nonNegativeInt('prompt', v.prompt),
    gen: nonNegativeInt('gen', v.gen),
    llamaBench: v['llama-bench'] ? resolve(v['llama-bench']) : null,
    dir: resolve(v.dir),
    seed: nonNegativeInt('seed', v.seed),
    uvThreadpool: v['uv-threadpool'] === 'default' ? 'default' : positiveInt('uv-threadpool', v['uv-threadpool']),
    waitIdle: nonNegativeInt('wait-idle', v['wait-idle']),
    maxBusy: Number(v['max-busy']),
    maxPeak: Number(v['max-peak']),
    extraRounds: v['extra-rounds'] === undefined ? null : nonNegativeInt('extra-rounds', v['extra-rounds']),
    timeLimitMin: Number(v['time-limit']),
    runTimeoutS: positiveInt('run-timeout', v['run-timeout']),
    startedAt: performance.now(),
  };
  if (o.extraRounds === null) o.extraRounds = o.rounds;
  if (!(o.maxBusy >= 0)) throw new Error(`--max-busy must be a fraction >= 0, got ${v['max-busy']}`);
  if (!(o.maxPeak >= 0)) throw new Error(`--max-peak must be a fraction >= 0, got ${v['max-peak']}`);
  if (!(o.timeLimitMin >= 0)) throw new Error(`--time-limit must be minutes >= 0, got ${v['time-limit']}`);
  if (o.prompt === 0 && o.gen === 0) throw new Error('nothing to measure: --prompt and --gen are both 0');
  if (v['nlc-worker']) {
    await nlcWorker({ ...o, model: v.model, vocab: positiveInt('vocab', v.vocab) });
    return;
  }
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) throw new Error('stepflash is not built: run `npm run build` first');
  if (o.llamaBench && !existsSync(o.llamaBench)) throw new Error(`--llama-bench ${o.llamaBench}: no such file`);
  if (o.dir === ROOT || o.dir.startsWith(ROOT + '/')) log(`warning: --dir ${o.dir} is inside the repository`);
  let specs = FILES;
  if (v.files) {
    const want = v.files.split(',').map((s) => s.trim().toLowerCase());
    specs = FILES.filter((f) => want.includes(`${f.preset}-${f.type}`));
    const unknown = want.filter((w) => !FILES.some((f) => `${f.preset}-${f.type}` === w));
    if (unknown.length) throw new Error(`--files: unknown ${unknown.join(', ')} (known: ${FILES.map((f) => `${f.preset}-${f.type}`).join(', ')})`);
  }

  const t0 = performance.now();
  mkdirSync(o.dir, { recursive: true });
  const machine = machineInfo();
  log(`${machine.cpu}, ${machine.logical_cpus} CPUs, Node ${machine.node}, stepflash kernels ${machine.stepflash_kernels ?? 'unknown'}; ${o.threads} threads, ${o.rounds} rounds`);
  const files = [];
  for (const spec of specs) files.push(await ensureFile(spec, o));
  const results = [];
  for (const f of files) results.push(await benchFile(f, o));
  const reported = results[0]?.rounds[0]?.stepflash?.kernels;
  if (reported) machine.stepflash_kernels = reported;
  const argv = process.argv.slice(2).filter((a) => a !== '--json');
  const result = {
    argv,
    elapsed_s: (performance.now() - t0) / 1000,
    machine,
    options: {
      threads: o.threads, rounds: o.rounds, reps: o.reps, prompt: o.prompt, gen: o.gen,
      llama_bench: o.llamaBench, dir: o.dir, seed: o.seed, uv_threadpool: o.uvThreadpool, wait_idle_s: o.waitIdle,
      max_busy: o.maxBusy, max_peak: o.maxPeak, extra_rounds: o.extraRounds, time_limit_min: o.timeLimitMin,
      run_timeout_s: o.runTimeoutS,
    },
    files: results,
  };
  for (const r of results) {
    const t = r.targets;
    log(
      `${r.file.id}: decode ${fmtRatio(t.decode.ratio)} (≥ ${t.decode.target}x ${t.decode.status}), prefill ${fmtRatio(t.prefill.ratio)} (≥ ${t.prefill.target}x ${t.prefill.status}) vs ${t.against}` +
        (t.memory.ratio != null ? `, peak RSS ${t.memory.ratio.toFixed(2)}x the file${t.memory.target != null ? ` (≤ ${t.memory.target}x ${t.memory.status})` : ''}` : '') +
        (t.decode.reliable ? '' : ' — unreliable: busy runs counted'),
    );
  }
  if (v.out !== 'none') {
    writeFileSync(v.out, report(result));
    log(`wrote ${v.out} (${(result.elapsed_s / 60).toFixed(1)} min)`);
  }
  if (v.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.message : e}\n`);
  process.exit(1);
});
