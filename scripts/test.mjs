// Runs every test/**/*.test.ts with node:test through tsx. Builds the wasm kernels first if they are missing,
// so `npm test` works straight after a clone that skipped `npm install`'s prepare step.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
if (!existsSync(join(root, 'build/kernels/relaxed.wasm'))) {
  const r = spawnSync(process.execPath, [join(root, 'scripts/build-kernels.mjs')], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
const filter = process.argv.slice(2);
const files = [];
(function walk(dir) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.test.ts') && (filter.length === 0 || filter.some((f) => p.includes(f)))) files.push(p);
  }
})(join(root, 'test'));
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...files], { stdio: 'inherit', cwd: root });
process.exit(r.status ?? 1);
