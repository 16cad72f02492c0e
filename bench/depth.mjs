#!/usr/bin/env node
// Prefill and decode speed with a long context already in the cache: stepflash against llama.cpp's
// llama-bench (its -d option) on the same files, per KV cache type, in alternating rounds. Long contexts
// are what Step 3.5 Flash's sliding layers and INT8 cache are for; bench/run.mjs measures from an empty
// context. Plain JavaScript, run with node after `npm install`; writes bench/DEPTH.md (or --out) and --json.
//
//   node bench/depth.mjs --llama-bench PATH [--dir /tmp/stepflash-bench] [--rounds 3] [--threads 2]
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'bin', 'stepflash.js');

// The files of bench/run.mjs that have a context worth filling; depth is three quarters of it, so that the
// 512-token prompt still fits. q8_0 keys need a head size that is a multiple of 32 (llama-15m's is 48).
const FILES = [
  { preset: 'mini', type: 'q8_0', ctx: 4096, cacheTypes: ['f32', 'f16', 'q8_0'] },
  { preset: 'llama-15m', type: 'q8_0', ctx: 2048, cacheTypes: ['f32', 'f16'] },
];

const USAGE = `usage: node bench/depth.mjs --llama-bench PATH [options]

  --llama-bench PATH   llama.cpp's llama-bench (required; see bench/README.md for building it)
  --dir DIR            where the benchmark files are, made with make-model when missing (default /tmp/stepflash-bench)
  --rounds N           alternating rounds (default 3)
  --threads N          threads for both engines (default 2)
  --seed N             make-model seed (default 1)
  --out FILE|none      report (default bench/DEPTH.md)
  --json               print the results as JSON
  -h, --help           this text`;

function fail(msg) {
  console.error(`depth.mjs: ${msg}\n${USAGE}`);
  process.exit(1);
}

const { values: opt } = parseArgs({
  options: {
    'llama-bench': { type: 'string' }, dir: { type: 'string', default: '/tmp/stepflash-bench' },
    rounds: { type: 'string', default: '3' }, threads: { type: 'string', default: '2' }, seed: { type: 'string', default: '1' },
    out: { type: 'string', default: join(ROOT, 'bench', 'DEPTH.md') }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
  },
});
if (opt.help) {
  console.log(USAGE);
  process.exit(0);
}
if (!opt['llama-bench']) fail('--llama-bench PATH is required: the comparison is against llama.cpp at the same depth');
const LLAMA_BENCH = resolve(opt['llama-bench']);
if (!existsSync(LLAMA_BENCH)) fail(`--llama-bench ${LLAMA_BENCH}: no such file`);
const int = (name) => {
  const v = Number(opt[name]);
  if (!Number.isInteger(v) || v < 1) fail(`--${name} takes a positive integer, got ${opt[name]}`);
  return v;
};
const ROUNDS = int('rounds'), THREADS = int('threads'), SEED = int('seed');
const PROMPT = 512, GEN = 128;
const log = (m) => process.stderr.write(`${m}\n`);

function run(cmd, args) {
  return new Promise((res, rej) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', rej);
    child.on('close', (code) => (code === 0 ? res(out) : rej(new Error(`${cmd} ${args.join(' ')} exited with ${code}: ${err.slice(-400)}`))));
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function stepflash(file, depth, cache) {
  const out = await run(process.execPath, [CLI, 'bench', '-m', file, '-t', String(THREADS), '-p', String(PROMPT), '-n', String(GEN),
    '-d', String(depth), '-r', '1', '--cache-type-k', cache, '--cache-type-v', cache, '--json']);
  const j = JSON.parse(out.trim().split('\n').at(-1));
  return { prefill: j.prefill.tokens_per_second, decode: j.decode.tokens_per_second };
}

async function llamaBench(file, depth, cache) {
  const out = await run(LLAMA_BENCH, ['-m', file, '-t', String(THREADS), '-p', String(PROMPT), '-n', String(GEN), '-d', String(depth),
    '-r', '1', '-ctk', cache, '-ctv', cache, '-o', 'json']);
  const rows = JSON.parse(out.slice(out.indexOf('[')));
  return { prefill: rows.find((r) => r.n_gen === 0).avg_ts, decode: rows.find((r) => r.n_prompt === 0).avg_ts, build: rows[0].build_commit };
}

async function ensureFile(spec) {
  const path = join(opt.dir, `${spec.preset}-${spec.type}-seed${SEED}.gguf`);
  if (existsSync(path)) return path;
  mkdirSync(opt.dir, { recursive: true });
  log(`making ${path}`);
  const tmp = `${path}.tmp`;
  await run(process.execPath, [CLI, 'make-model', '--preset', spec.preset, '--type', spec.type, '--seed', String(SEED), '--out', tmp]);
  renameSync(tmp, path);
  return path;
}

const started = new Date();
const results = [];
let build = '';
for (const spec of FILES) {
  const file = await ensureFile(spec);
  const depth = (spec.ctx * 3) / 4;
  // llama.cpp has no f32 cache option in llama-bench's sense of the default; stepflash's default (f32) is
  // shown beside the like-for-like rows.
  const runs = spec.cacheTypes.map((cache) => ({ cache, sf: [], lb: [] }));
  for (let round = 1; round <= ROUNDS; round++) {
    for (const r of runs) {
      log(`${spec.preset}-${spec.type} @ d${depth}, ${r.cache} cache, round ${round}/${ROUNDS}`);
      r.sf.push(await stepflash(file, depth, r.cache));
      if (r.cache !== 'f32') {
        const lb = await llamaBench(file, depth, r.cache);
        build = lb.build;
        r.lb.push(lb);
      }
    }
  }
  for (const r of runs) {
    const m = (xs, k) => (xs.length ? median(xs.map((x) => x[k])) : null);
    results.push({
      file: `${spec.preset}-${spec.type}`, path: file, depth, cache: r.cache,
      stepflash: { prefill: m(r.sf, 'prefill'), decode: m(r.sf, 'decode'), runs: r.sf },
      llamaBench: r.lb.length ? { prefill: m(r.lb, 'prefill'), decode: m(r.lb, 'decode'), runs: r.lb.map(({ prefill, decode }) => ({ prefill, decode })) } : null,
    });
  }
}

const commit = (() => {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown commit';
  }
})();
const report = { date: started.toISOString(), commit, machine: { cpu: cpus()[0]?.model, cores: cpus().length, memoryGiB: +(totalmem() / 2 ** 30).toFixed(1) },
  threads: THREADS, rounds: ROUNDS, prompt: PROMPT, gen: GEN, llamaBenchBuild: build, results };
if (opt.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);

if (opt.out !== 'none') {
  const f = (x) => (x == null ? '-' : x.toFixed(1));
  const ratio = (a, b) => (a != null && b ? `${(a / b).toFixed(2)}x` : '-');
  const rows = results.map((r) => `| ${r.file} | ${r.depth} | ${r.cache} | ${f(r.stepflash.decode)} | ${f(r.llamaBench?.decode)} | ${ratio(r.stepflash.decode, r.llamaBench?.decode)} | ${f(r.stepflash.prefill)} | ${f(r.llamaBench?.prefill)} | ${ratio(r.stepflash.prefill, r.llamaBench?.prefill)} |`);
  const md = `# Speed with a long context in the cache

Generated by \`node bench/depth.mjs ${process.argv.slice(2).join(' ')}\` on ${started.toISOString().slice(0, 10)} (${commit}), in ${((Date.now() - started) / 60000).toFixed(1)} min.

Machine: ${report.machine.cpu}, ${report.machine.cores} logical CPUs, ${report.machine.memoryGiB} GiB; Node ${process.version}; llama-bench build ${build}. ${THREADS} threads for both engines, ${ROUNDS} alternating rounds, medians.
Each run starts with *depth* tokens already in the cache (stepflash \`bench -d\`, llama-bench \`-d\`), then times a ${PROMPT}-token prompt (pp${PROMPT}) and ${GEN} decoded tokens (tg${GEN}). Same files as \`bench/RESULTS.md\` (random weights, made by \`stepflash make-model\`). Ratios are stepflash over llama-bench with the same cache type; stepflash's default cache is f32 (llama.cpp has none), shown for reference.

| file | depth | K/V cache | stepflash tg${GEN} | llama-bench tg${GEN} | ratio | stepflash pp${PROMPT} | llama-bench pp${PROMPT} | ratio |
|---|---:|---|---:|---:|---:|---:|---:|---:|
${rows.join('\n')}
`;
  // The hand-written reading of the figures, kept across regenerations (check it against the new table).
  const kept = existsSync(opt.out) ? readFileSync(opt.out, 'utf8').split(/^(?=## Reading the results)/m)[1] : undefined;
  writeFileSync(opt.out, kept ? `${md}\n${kept}` : md);
  log(`wrote ${opt.out}`);
}
