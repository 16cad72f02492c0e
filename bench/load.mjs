#!/usr/bin/env node
// Load test of `stepflash serve`: N concurrent streaming clients for S seconds against one model, once per
// --parallel setting (and against llama.cpp's llama-server on the same file when a path is given). Reports
// aggregate completion tokens/s, errors, leaked slots (the server's /metrics after the clients stop) and
// the server's resident memory over the run (flat means no growth between the first and the second half).
// Plain JavaScript, run with node after `npm install`; writes bench/LOAD.md (or --out) and --json.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const { values: opt } = parseArgs({
  options: {
    model: { type: 'string', default: path.join(root, 'models/tiny-random-q8_0.gguf') },
    clients: { type: 'string', default: '32' },
    duration: { type: 'string', default: '60' },
    parallel: { type: 'string', default: '1,8' },
    'max-tokens': { type: 'string', default: '48' },
    threads: { type: 'string', default: String(cpus().length) },
    ctx: { type: 'string', default: '4096' },
    'llama-server': { type: 'string' },
    out: { type: 'string', default: path.join(root, 'bench/LOAD.md') },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (opt.help) {
  console.log(`usage: node bench/load.mjs [--model FILE] [--clients 32] [--duration 60] [--parallel 1,8]
       [--max-tokens 48] [--threads N] [--ctx 4096] [--llama-server PATH] [--out FILE|none] [--json]
Starts stepflash serve once per --parallel value (and llama-server with the same slots when given), runs
the clients for the duration, and reports tokens/s, errors, leaked slots and server memory.`);
  process.exit(0);
}
const CLIENTS = int('clients'), DURATION = int('duration'), MAX_TOKENS = int('max-tokens'), THREADS = int('threads'), CTX = int('ctx');
const PARALLEL = opt.parallel.split(',').map((s) => Number.parseInt(s, 10));
if (!existsSync(opt.model)) fail(`no model file at ${opt.model}`);
if (PARALLEL.some((p) => !(p >= 1))) fail(`--parallel takes positive integers, got ${opt.parallel}`);

function int(name) {
  const v = Number.parseInt(opt[name], 10);
  if (!(v > 0)) fail(`--${name} takes a positive integer, got ${opt[name]}`);
  return v;
}
function fail(msg) {
  console.error(`load: ${msg}`);
  process.exit(2);
}
const log = (msg) => process.stderr.write(`${msg}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- servers ------------------------------------------------------------------------------------------

/** Starts a server process; resolves with its base URL once it answers /health. */
async function startServer(kind, parallel) {
  const port = 18000 + Math.floor(Math.random() * 20000);
  const args =
    kind === 'stepflash'
      ? [path.join(root, 'bin/stepflash.js'), 'serve', '--model', opt.model, '--port', String(port), '--parallel', String(parallel),
          '--threads', String(THREADS), '--ctx', String(CTX), '--queue', String(CLIENTS * 2), '--json', '--no-web']
      : ['-m', opt.model, '--port', String(port), '-np', String(parallel), '-t', String(THREADS), '-c', String(CTX * parallel),
          '--jinja', '-lv', '0'];
  const child = spawn(kind === 'stepflash' ? process.execPath : opt['llama-server'], args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  child.stdout.resume();
  const url = `http://127.0.0.1:${port}`;
  const t0 = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${kind} exited (${child.exitCode}): ${stderr}`);
    try {
      const r = await fetch(`${url}/health`);
      if (r.ok) break;
    } catch {}
    if (Date.now() - t0 > 120_000) throw new Error(`${kind} did not become healthy in 120 s: ${stderr}`);
    await sleep(200);
  }
  return { child, url, kind };
}

async function stopServer(s) {
  s.child.kill('SIGTERM');
  const t0 = Date.now();
  while (s.child.exitCode === null && s.child.signalCode === null && Date.now() - t0 < 10_000) await sleep(100);
  if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
}

function rssMiB(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

// ---- clients ------------------------------------------------------------------------------------------

const PROMPTS = ['Tell me a story about a lighthouse.', 'List some prime numbers.', 'What is the capital of France?', 'Write a haiku about rain.',
  'Explain how a bicycle works.', 'Give me three names for a cat.', 'Count from one to ten.', 'Describe the sea at night.'];

/**
 * One streamed chat completion; returns its completion tokens and how many of its text deltas arrived by
 * `deadline`, or throws with what went wrong.
 */
async function oneRequest(url, i, signal, deadline = Infinity) {
  const body = {
    model: 'default',
    stream: true,
    stream_options: { include_usage: true },
    max_tokens: MAX_TOKENS,
    temperature: 0.8,
    seed: i,
    messages: [{ role: 'user', content: `${PROMPTS[i % PROMPTS.length]} (${i})` }],
  };
  const res = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal });
  if (!res.ok) throw new Error(`HTTP ${res.status}: ${(await res.text()).slice(0, 200)}`);
  const decoder = new TextDecoder();
  let buf = '', done = false, tokens = -1, deltas = 0, deltasByDeadline = 0, firstAt = 0;
  for await (const chunk of res.body) {
    buf += decoder.decode(chunk, { stream: true });
    let nl;
    while ((nl = buf.indexOf('\n\n')) >= 0) {
      const event = buf.slice(0, nl);
      buf = buf.slice(nl + 2);
      for (const line of event.split('\n')) {
        if (!line.startsWith('data:')) continue;
        const data = line.slice(5).trim();
        if (data === '[DONE]') {
          done = true;
          continue;
        }
        const j = JSON.parse(data);
        if (j.error) throw new Error(`stream error: ${JSON.stringify(j.error).slice(0, 200)}`);
        if (j.usage) tokens = j.usage.completion_tokens;
        const d = j.choices?.[0]?.delta;
        if (d && (d.content || d.reasoning_content)) {
          deltas++;
          const now = performance.now();
          if (now <= deadline) deltasByDeadline++;
          if (!firstAt) firstAt = now;
        }
      }
    }
  }
  if (!done) throw new Error('stream ended without [DONE]');
  if (tokens < 0) throw new Error('no usage in the stream');
  return { tokens, deltas, deltasByDeadline, firstAt };
}

async function runClients(url, deadline) {
  const stats = { requests: 0, tokens: 0, errors: 0, errorSamples: [], ttft: [] };
  const controller = new AbortController();
  let counter = 0;
  const client = async () => {
    while (performance.now() < deadline) {
      const i = counter++;
      const t0 = performance.now();
      try {
        const r = await oneRequest(url, i, controller.signal, deadline);
        // Tokens count by when they streamed: a request still running at the deadline adds the share of its
        // tokens that arrived in the window (counting only requests finished in it would drop up to a whole
        // round of --parallel requests at the end, a bias against batching that grows with --max-tokens).
        if (r.deltas > 0) stats.tokens += (r.tokens * r.deltasByDeadline) / r.deltas;
        if (performance.now() <= deadline) {
          stats.requests++;
          if (r.firstAt) stats.ttft.push(r.firstAt - t0);
        }
      } catch (e) {
        if (controller.signal.aborted) return;
        stats.errors++;
        if (stats.errorSamples.length < 5) stats.errorSamples.push(String(e.message ?? e));
        await sleep(100);
      }
    }
  };
  const timer = setTimeout(() => controller.abort(), deadline - performance.now() + 30_000);
  await Promise.all(Array.from({ length: CLIENTS }, client));
  clearTimeout(timer);
  return stats;
}

async function metricsOf(url) {
  try {
    const text = await (await fetch(`${url}/metrics`)).text();
    const pick = (name) => {
      const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
      return m ? Number(m[1]) : undefined;
    };
    return { activeSlots: pick('stepflash_active_slots') ?? pick('llamacpp:requests_processing'), queued: pick('stepflash_queue_depth') ?? pick('llamacpp:requests_deferred') };
  } catch {
    return {};
  }
}

async function measure(kind, parallel) {
  log(`${kind} --parallel ${parallel}: starting`);
  const server = await startServer(kind, parallel);
  try {
    // Warm up (compiles kernels, starts the pool) outside the measured window.
    await oneRequest(server.url, 0).catch(() => {});
    const rssStart = rssMiB(server.child.pid);
    const samples = [];
    const t0 = performance.now();
    const deadline = t0 + DURATION * 1000;
    const sampler = setInterval(() => samples.push({ t: (performance.now() - t0) / 1000, rss: rssMiB(server.child.pid) }), 1000);
    const progress = setInterval(() => log(`  ${((performance.now() - t0) / 1000).toFixed(0)} s / ${DURATION} s`), 15_000);
    const stats = await runClients(server.url, deadline);
    clearInterval(sampler);
    clearInterval(progress);
    const elapsed = (performance.now() - t0) / 1000;
    await sleep(500);
    const after = await metricsOf(server.url);
    // The first quarter is the heap settling to its working size; flat means the second half adds nothing.
    const half = samples.filter((s) => s.t >= DURATION / 4 && s.t <= DURATION / 2).map((s) => s.rss);
    const second = samples.filter((s) => s.t > DURATION / 2).map((s) => s.rss);
    const ttft = stats.ttft.sort((a, b) => a - b);
    const r = {
      kind,
      parallel,
      clients: CLIENTS,
      seconds: Math.min(elapsed, DURATION),
      requests: stats.requests,
      completionTokens: Math.round(stats.tokens),
      tokensPerSecond: stats.tokens / DURATION,
      errors: stats.errors,
      errorSamples: stats.errorSamples,
      ttftMedianMs: ttft.length ? ttft[Math.floor(ttft.length / 2)] : null,
      activeSlotsAfter: after.activeSlots ?? null,
      queuedAfter: after.queued ?? null,
      rssStartMiB: rssStart,
      rssFirstHalfMaxMiB: Math.max(...half),
      rssSecondHalfMaxMiB: Math.max(...second),
      rssEndMiB: samples.at(-1)?.rss ?? NaN,
    };
    log(`  ${r.requests} requests, ${r.completionTokens} tokens, ${r.tokensPerSecond.toFixed(1)} tokens/s, ${r.errors} errors, slots busy after: ${r.activeSlotsAfter}, RSS ${r.rssFirstHalfMaxMiB.toFixed(0)} -> ${r.rssSecondHalfMaxMiB.toFixed(0)} MiB`);
    return r;
  } finally {
    await stopServer(server);
  }
}

// ---- the run --------------------------------------------------------------------------------------------

const started = new Date();
const results = [];
for (const p of PARALLEL) {
  results.push(await measure('stepflash', p));
  if (opt['llama-server']) results.push(await measure('llama-server', p));
}

const sf = (p) => results.find((r) => r.kind === 'stepflash' && r.parallel === p);
const lo = Math.min(...PARALLEL), hi = Math.max(...PARALLEL);
const scaling = sf(hi).tokensPerSecond / sf(lo).tokensPerSecond;
const checks = {
  noErrors: results.filter((r) => r.kind === 'stepflash').every((r) => r.errors === 0),
  noLeakedSlots: results.filter((r) => r.kind === 'stepflash').every((r) => r.activeSlotsAfter === 0 && r.queuedAfter === 0),
  // Flat: the second half's peak within 5% (or 16 MiB) of the peak over the second quarter.
  flatMemory: results.filter((r) => r.kind === 'stepflash').every((r) => r.rssSecondHalfMaxMiB <= Math.max(r.rssFirstHalfMaxMiB * 1.05, r.rssFirstHalfMaxMiB + 16)),
  scaling,
  scalingTarget: 3,
};
const commit = (() => {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown commit';
  }
})();
const report = { date: started.toISOString(), machine: { cpu: cpus()[0]?.model, cores: cpus().length, memoryGiB: +(totalmem() / 2 ** 30).toFixed(1) }, model: opt.model, modelMiB: +(statSync(opt.model).size / 2 ** 20).toFixed(1), clients: CLIENTS, duration: DURATION, maxTokens: MAX_TOKENS, threads: THREADS, results, checks };
if (opt.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);

if (opt.out !== 'none') {
  const row = (r) => `| ${r.kind} | ${r.parallel} | ${r.requests} | ${r.completionTokens} | ${r.tokensPerSecond.toFixed(1)} | ${r.errors} | ${r.ttftMedianMs?.toFixed(0) ?? '-'} | ${r.activeSlotsAfter ?? '-'} / ${r.queuedAfter ?? '-'} | ${r.rssStartMiB.toFixed(0)} / ${r.rssFirstHalfMaxMiB.toFixed(0)} / ${r.rssSecondHalfMaxMiB.toFixed(0)} |`;
  const md = `# Server load test

Generated by \`node bench/load.mjs ${process.argv.slice(2).join(' ')}\` on ${started.toISOString().slice(0, 10)} (${commit}).

Machine: ${report.machine.cpu}, ${report.machine.cores} logical CPUs, ${report.machine.memoryGiB} GiB; Node ${process.version}. The machine is shared: other work may have run during the test.
Model: \`${path.relative(root, opt.model)}\` (${report.modelMiB} MiB). ${CLIENTS} concurrent streaming clients (OpenAI chat completions, SSE, \`max_tokens\` ${MAX_TOKENS}, temperature 0.8), ${DURATION} s per setting, ${THREADS} threads, clients in a separate process from the server.

| server | parallel | requests done | completion tokens | tokens/s | errors | median TTFT ms | busy slots / queued after | RSS MiB start / 2nd-quarter max / 2nd-half max |
|---|---:|---:|---:|---:|---:|---:|---|---|
${results.map(row).join('\n')}

*Requests done* finished within the window; *completion tokens* streamed within it (a request still running at the
end adds the share of its tokens that arrived in time), and tokens/s is that over the ${DURATION} s.

- Aggregate tokens/s with \`--parallel ${hi}\` over \`--parallel ${lo}\`: **${scaling.toFixed(2)}x** (target ≥ 3x: ${scaling >= 3 ? 'PASS' : 'MISS'}).
- Errors: ${checks.noErrors ? 'none' : 'SOME (see JSON)'}. Leaked slots after the run: ${checks.noLeakedSlots ? 'none' : 'SOME'}. Memory flat (2nd-half peak within 5% or 16 MiB of the 2nd quarter's): ${checks.flatMemory ? 'yes' : 'NO'}.
${opt['llama-server'] ? `- llama-server (${opt['llama-server']}) ran with the same slots, threads and clients, one run each.` : '- llama-server: not run (no --llama-server path given).'}
`;
  writeFileSync(opt.out, md);
  log(`wrote ${opt.out}`);
}
process.exit(checks.noErrors && checks.noLeakedSlots ? 0 : 1);
