// Learning-rate schedule: linear warm-up from 0 to the peak over `warmup` steps, then a cosine decay to
// `minRatio` · peak at the last step. Step numbers count from 0.
export interface ScheduleOptions {
  readonly peak: number;
  readonly warmup: number;
  readonly total: number;
  /** Final learning rate as a fraction of the peak (default 0.1). */
  readonly minRatio?: number;
}

export function learningRate(step: number, o: ScheduleOptions): number {
  const min = o.peak * (o.minRatio ?? 0.1);
  if (step < o.warmup) return (o.peak * (step + 1)) / o.warmup;
  const span = Math.max(1, o.total - 1 - o.warmup);
  const x = Math.min(1, (step - o.warmup) / span);
  return min + (o.peak - min) * 0.5 * (1 + Math.cos(Math.PI * x));
}
