// Optimisation: AdamW, the learning-rate schedule and global-norm clipping.
export { AdamW, type AdamWOptions } from './adamw.js';
export { learningRate, type ScheduleOptions } from './schedule.js';
export { gradNorm, clipScale } from './clip.js';
