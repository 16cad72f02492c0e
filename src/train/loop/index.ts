// The training loop and what surrounds it: batches, loss-free balancing, checkpoints, the loss curve.
export { Trainer, type TrainerOptions, type StepLog } from './trainer.js';
export { packRows, batchSchedule, type Example, type PackedRows } from './batches.js';
export { sumLoads, updateRouterBias, type LayerLoad } from './balance.js';
export { saveCheckpoint, loadCheckpoint } from './checkpoint.js';
export { lossSvg, smooth, type Series } from './loss-svg.js';
