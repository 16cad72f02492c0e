// Compiles the AssemblyScript kernels in kernels/ to build/kernels/simd.wasm (WebAssembly SIMD, shared
// imported memory, no runtime: the TypeScript side owns every byte of memory).
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import asc from 'assemblyscript/asc';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
mkdirSync(join(root, 'build/kernels'), { recursive: true });
const common = ['--runtime', 'stub', '--noAssert', '--importMemory', '--sharedMemory', '--initialMemory', '16',
  '--maximumMemory', '65536', '--enable', 'simd', '--enable', 'threads', '-O3', '--noExportMemory'];
const { error, stderr } = await asc.main([join(root, 'kernels/index.ts'), ...common, '-o', join(root, 'build/kernels/simd.wasm')]);
if (error) {
  console.error(stderr.toString());
  console.error(`kernel build failed: ${error.message}`);
  process.exit(1);
}
