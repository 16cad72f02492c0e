// Accelerators of the Step-3 paper's cost model (arXiv 2507.19427, Tables 4 and 5): rental price and peak
// rates. Unit costs assume full utilisation: dollars per FLOP = price / (3600 · peak FLOP/s), dollars per
// byte read = price / (3600 · HBM bandwidth).

export interface Accelerator {
  readonly name: string;
  /** Rental price, $ per hour. */
  readonly pricePerHour: number;
  readonly bf16Flops: number;
  /** FP8 (or INT8 where the card lacks FP8) peak; null when neither is offered at twice BF16. */
  readonly fp8Flops: number | null;
  /** HBM bandwidth, bytes per second. */
  readonly bandwidth: number;
  /** HBM capacity, bytes. */
  readonly memory: number;
}

export const ACCELERATORS: Readonly<Record<string, Accelerator>> = {
  H800: { name: 'H800', pricePerHour: 2.0, bf16Flops: 9.89e14, fp8Flops: 1.98e15, bandwidth: 3.35e12, memory: 80e9 },
  H20: { name: 'H20', pricePerHour: 0.8, bf16Flops: 1.48e14, fp8Flops: 2.96e14, bandwidth: 4.0e12, memory: 96e9 },
  A800: { name: 'A800', pricePerHour: 0.75, bf16Flops: 3.12e14, fp8Flops: null, bandwidth: 2.0e12, memory: 80e9 },
  '910B': { name: 'Ascend 910B', pricePerHour: 0.67, bf16Flops: 2.8e14, fp8Flops: null, bandwidth: 1.6e12, memory: 64e9 },
};

/** $ per FLOP at the card's fastest supported precision (FP8 where it has it), as the paper's Table 5. */
export function dollarsPerFlop(a: Accelerator): number {
  return a.pricePerHour / (3600 * (a.fp8Flops ?? a.bf16Flops));
}

export function dollarsPerByte(a: Accelerator): number {
  return a.pricePerHour / (3600 * a.bandwidth);
}

export function accelerator(name: string): Accelerator {
  const a = ACCELERATORS[name] ?? Object.values(ACCELERATORS).find((x) => x.name.toLowerCase() === name.toLowerCase());
  if (!a) throw new Error(`unknown accelerator "${name}" (known: ${Object.keys(ACCELERATORS).join(', ')})`);
  return a;
}
