// Compiles the AssemblyScript kernels in kernels/ twice: build/kernels/simd.wasm (WebAssembly SIMD) and
// build/kernels/relaxed.wasm (with relaxed SIMD: fused multiply-add and the int8 dot), both over a shared
// imported memory with no runtime: the TypeScript side owns every byte of memory. The loader picks the
// relaxed build where the runtime accepts it and its multiply-add is fused.
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import asc from 'assemblyscript/asc';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
mkdirSync(join(root, 'build/kernels'), { recursive: true });
const common = ['--runtime', 'stub', '--noAssert', '--importMemory', '--sharedMemory', '--initialMemory', '16',
  '--maximumMemory', '65536', '--enable', 'simd', '--enable', 'threads', '-O3', '--noExportMemory'];
for (const [out, extra] of [['simd.wasm', []], ['relaxed.wasm', ['--enable', 'relaxed-simd']]]) {
  const { error, stderr } = await asc.main([join(root, 'kernels/index.ts'), ...common, ...extra, '-o', join(root, 'build/kernels', out)]);
  if (error) {
    console.error(stderr.toString());
    console.error(`kernel build (${out}) failed: ${error.message}`);
    process.exit(1);
  }
}
