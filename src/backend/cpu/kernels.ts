// Loads the compiled wasm kernel module (build/kernels/*.wasm, made by `npm run build:kernels`) and
// instantiates it over a given shared memory.
import { existsSync, readFileSync } from 'node:fs';
import v8 from 'node:v8';
import { fileURLToPath } from 'node:url';

export interface KernelExports {
  matmul_f32(w: number, x: number, y: number, k: number, rows: number, order: number, r0: number, r1: number, nt: number, ldy: number, scratch: number): void;
  matmul_q8_0(wq: number, wd: number, xq: number, xd: number, y: number, k: number, r0: number, r1: number, nt: number, ldy: number): void;
  matmul_q8_0x4(wq: number, wd: number, xq: number, xd: number, y: number, k: number, u0: number, u1: number, nt: number, ldy: number): void;
  matmul_q4_0(wq: number, wd: number, xq: number, xd: number, y: number, k: number, r0: number, r1: number, nt: number, ldy: number): void;
  matmul_q4_0x8(w: number, xq: number, xd: number, y: number, k: number, u0: number, u1: number, nt: number, ldy: number, scratch: number): void;
  quantize_q8_0(x: number, n: number, qs: number, d: number): void;
  quantize_q8_0_blocks(x: number, n: number, qs: number, d: number, b0: number, b1: number): void;
  quantize_q8_K(x: number, n: number, qs: number, d: number, sums: number): void;
  matmul_q4_K(w: number, xq: number, xd: number, xs: number, y: number, k: number, r0: number, r1: number, nt: number, ldy: number, order: number, rows: number): void;
  matmul_q5_K(w: number, xq: number, xd: number, xs: number, y: number, k: number, r0: number, r1: number, nt: number, ldy: number): void;
  matmul_q6_K(w: number, xq: number, xd: number, xs: number, y: number, k: number, r0: number, r1: number, nt: number, ldy: number): void;
  fake_quant_q8_0(x: number, n: number, tmpq: number, tmpd: number): void;
  fake_quant_q8_K(x: number, n: number): void;
  round_to_f16(x: number, n: number): void;
  round_to_bf16(x: number, n: number): void;
  rms_norm(x: number, w: number, y: number, nrows: number, dim: number, eps: number): void;
  rope(x: number, nt: number, nHeads: number, hd: number, nRot: number, neox: number, cs: number): void;
  attention(q: number, kc: number, vc: number, o: number, nt: number, pos0: number, nHead: number, nKv: number, hd: number, cap: number, window: number, scale: number, first: number, gs: number, tb: number, r0: number, r1: number, scratch: number): void;
  v_expf(x: number): number;
  read_sum(p: number, r0: number, r1: number): number;
  fma_probe(a: number, b: number, c: number): number;
  swiglu(g: number, u: number, y: number, rows: number, cols: number, limit: number): void;
  rms_norm_rows(x: number, w: number, y: number, dim: number, eps: number, r0: number, r1: number): void;
  swiglu_rows(g: number, u: number, y: number, cols: number, limit: number, r0: number, r1: number): void;
  weighted_row_sum_rows(y: number, src: number, idx: number, w: number, k: number, dim: number, extra: number, t0: number, t1: number): void;
  weighted_row_sum(y: number, src: number, idx: number, w: number, nt: number, k: number, dim: number, extra: number): void;
  // Key/value caches in f16, bf16 and q8_0 (kernels/kv.ts).
  kv_store(src: number, dst: number, nRows: number, n: number, type: number): void;
  kv_widen(src: number, type: number, n: number, cap: number, p0: number, p1: number, dst: number, capDst: number): void;
  attention_kv(q: number, kc: number, vc: number, o: number, nt: number, pos0: number, nHead: number, nKv: number, hd: number, cap: number, window: number, scale: number, first: number, layout: number, r0: number, r1: number, scratch: number): void;
  // Training (kernels/train.ts).
  tr_matmul_nt(a: number, b: number, c: number, n: number, k: number, lda: number, ldb: number, ldc: number, accumulate: number, r0: number, r1: number): void;
  tr_transpose(src: number, dst: number, cols: number, lds: number, ldd: number, r0: number, r1: number): void;
  tr_attn_fwd(q: number, k: number, v: number, o: number, lse: number, T: number, heads: number, hd: number, window: number, scale: number, r0: number, r1: number, scratch: number): void;
  tr_attn_bwd(q: number, k: number, v: number, o: number, dO: number, lse: number, dq: number, dk: number, dv: number, T: number, heads: number, hd: number, window: number, scale: number, r0: number, r1: number, scratch: number): void;
  tr_swiglu_fwd(g: number, u: number, h: number, cols: number, limit: number, r0: number, r1: number): void;
  tr_swiglu_bwd(g: number, u: number, dh: number, dg: number, du: number, cols: number, limit: number, r0: number, r1: number): void;
  tr_xent_fwd(z: number, V: number, targets: number, loss: number, inv: number, hit: number, r0: number, r1: number): void;
  tr_xent_bwd(z: number, V: number, targets: number, inv: number, scale: number, r0: number, r1: number): void;
  tr_zero(p: number, bytes: number): void;
  tr_add(a: number, b: number, y: number, r0: number, r1: number): void;
  tr_rmsnorm_fwd(x: number, w: number, y: number, inv: number, dim: number, eps: number, offset: number, r0: number, r1: number): void;
  tr_rmsnorm_bwd(x: number, w: number, dy: number, inv: number, dx: number, dim: number, offset: number, r0: number, r1: number): void;
  tr_rmsnorm_dw(x: number, dy: number, inv: number, dw: number, nrows: number, dim: number, g0: number, g1: number): void;
  tr_rope(src: number, dst: number, nHead: number, hd: number, nRot: number, neox: number, cs: number, T: number, sign: number, accumulate: number, r0: number, r1: number): void;
  tr_gate_fwd(x: number, g: number, y: number, sig: number, nHead: number, hd: number, r0: number, r1: number): void;
  tr_gate_bwd(x: number, sig: number, dy: number, dx: number, dg: number, nHead: number, hd: number, r0: number, r1: number): void;
}

export type KernelBuild = 'relaxed' | 'simd';

let compiled: { module: WebAssembly.Module; build: KernelBuild } | undefined;

export function kernelPath(build: KernelBuild): string {
  return fileURLToPath(new URL(`../../../build/kernels/${build}.wasm`, import.meta.url));
}

function read(build: KernelBuild): Uint8Array<ArrayBuffer> {
  const path = kernelPath(build);
  if (!existsSync(path)) throw new Error(`wasm kernels not found at ${path}: run \`npm run build\` (or \`npm install\`) first`);
  return new Uint8Array(readFileSync(path));
}

/**
 * The kernel module: the relaxed-SIMD build where this runtime validates it and its multiply-add is fused
 * (as on x86 with FMA: then it gives llama.cpp's exact results, fast); otherwise the plain-SIMD build.
 * STEPFLASH_KERNELS=simd forces the plain build.
 */
export function compileKernels(): WebAssembly.Module {
  return chooseKernels().module;
}

export function kernelBuild(): KernelBuild {
  return chooseKernels().build;
}

function chooseKernels(): { module: WebAssembly.Module; build: KernelBuild } {
  if (compiled) return compiled;
  // The kernels are few and all hot: have V8 optimise them up front rather than after they have run slowly
  // for a while in its baseline compiler (which matters for short runs and for each new worker thread).
  v8.setFlagsFromString('--no-wasm-dynamic-tiering');
  if (process.env.STEPFLASH_KERNELS !== 'simd') {
    try {
      // Node 20 keeps relaxed SIMD behind a flag, which must be set before the module is compiled.
      v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
      const bytes = read('relaxed');
      if (WebAssembly.validate(bytes)) {
        const module = new WebAssembly.Module(bytes);
        if (fusedMultiplyAdd(module)) return (compiled = { module, build: 'relaxed' });
      }
    } catch {
      // fall through to the plain build
    }
  }
  return (compiled = { module: new WebAssembly.Module(read('simd')), build: 'simd' });
}

/** (1 + 2^-12)^2 - 1 is 2^-11 + 2^-24 only when the product is not rounded before the add. */
function fusedMultiplyAdd(module: WebAssembly.Module): boolean {
  const probe = instantiateKernelModule(module, new WebAssembly.Memory({ initial: 16, maximum: 65536, shared: true }));
  const a = 1 + 2 ** -12;
  return probe.fma_probe(a, a, -1) === 2 ** -11 + 2 ** -24;
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
