// Loads the compiled wasm kernel module (build/kernels/*.wasm, made by `npm run build:kernels`) and
// instantiates it over a given shared memory.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface KernelExports {
  matmul_f32(w: number, x: number, y: number, k: number, rows: number, order: number, r0: number, r1: number, nt: number, ldy: number, lanes: number): void;
  matmul_q8_0(wq: number, wd: number, xq: number, xd: number, y: number, k: number, r0: number, r1: number, nt: number, ldy: number): void;
  matmul_q4_0(wq: number, wd: number, xq: number, xd: number, y: number, k: number, r0: number, r1: number, nt: number, ldy: number): void;
  quantize_q8_0(x: number, n: number, qs: number, d: number): void;
  fake_quant_q8_0(x: number, n: number, tmpq: number, tmpd: number): void;
  fake_quant_q8_K(x: number, n: number): void;
  round_to_f16(x: number, n: number): void;
  round_to_bf16(x: number, n: number): void;
  rms_norm(x: number, w: number, y: number, nrows: number, dim: number, eps: number): void;
  rope(x: number, nt: number, nHeads: number, hd: number, nRot: number, neox: number, cs: number): void;
  attention(q: number, kc: number, vc: number, o: number, nt: number, pos0: number, nHead: number, nKv: number, hd: number, cap: number, window: number, scale: number, scratch: number): void;
  v_expf(x: number): number;
}

let compiled: WebAssembly.Module | undefined;

export function kernelPath(): string {
  return fileURLToPath(new URL('../../../build/kernels/simd.wasm', import.meta.url));
}

export function compileKernels(): WebAssembly.Module {
  if (compiled) return compiled;
  const path = kernelPath();
  if (!existsSync(path)) throw new Error(`wasm kernels not found at ${path}: run \`npm run build\` (or \`npm install\`) first`);
  compiled = new WebAssembly.Module(readFileSync(path));
  return compiled;
}

export function instantiateKernels(memory: WebAssembly.Memory): KernelExports {
  return instantiateKernelModule(compileKernels(), memory);
}

export function instantiateKernelModule(module: WebAssembly.Module, memory: WebAssembly.Memory): KernelExports {
  const instance = new WebAssembly.Instance(module, {
    env: {
      memory,
      abort: () => {
        throw new Error('wasm kernel aborted');
      },
    },
  });
  return instance.exports as unknown as KernelExports;
}
