// The training loop: for each optimizer step, forward and backward passes over `accum` micro-batches
// (gradients add up in the parameters' buffers, each micro-batch's loss divided by the step's total
// target count so the sum is the step's mean), global-norm clipping, one AdamW update at the scheduled
// learning rate, then the loss-free router-bias update from the step's expert loads. Everything that
// decides the next step (parameters, moments, step number) is in the checkpoint, and batches are a
// function of the step number, so a resumed run continues exactly as an uninterrupted one.
import { Tape } from '../autograd/tape.js';
import { IGNORE } from '../autograd/ops/loss.js';
import type { MoeLayerStats } from '../model/block.js';
import type { Step35Trainable, TrainBatch } from '../model/step35-train.js';
import { AdamW, type AdamWOptions } from '../optim/adamw.js';
import { clipScale, gradNorm } from '../optim/clip.js';
import { learningRate, type ScheduleOptions } from '../optim/schedule.js';
import { sumLoads, updateRouterBias, type LayerLoad } from './balance.js';

export interface TrainerOptions {
  readonly schedule: ScheduleOptions;
  readonly adamw?: AdamWOptions;
  /** Global gradient-norm limit (0: none). Default 1. */
  readonly clip?: number;
  /** Router-bias step u of the loss-free balancing (0: off). Default 1e-3. */
  readonly biasUpdate?: number;
  /** Weight of each MTP head's loss. Default 0.3. */
  readonly mtpWeight?: number;
  /** The micro-batches of optimizer step `step` (all of them: gradient accumulation over the list). */
  readonly batches: (step: number) => readonly TrainBatch[];
}

export interface StepLog {
  readonly step: number;
  readonly lr: number;
  /** Weighted total loss (main + Σ w·MTP), mean over the step's targets. */
  readonly loss: number;
  readonly mainLoss: number;
  readonly mainAcc: number;
  /** Per MTP head: mean loss and top-1 accuracy. */
  readonly mtpLoss: readonly number[];
  readonly mtpAcc: readonly number[];
  /** Before clipping. */
  readonly gradNorm: number;
  /** Tokens through the model (targets or not) and tokens with a main-head target. */
  readonly tokens: number;
  readonly targets: number;
  readonly ms: number;
  readonly moe: readonly LayerLoad[];
}

export class Trainer {
  readonly optimizer: AdamW;
  /** The next step to run (= steps done). */
  step = 0;

  constructor(
    readonly model: Step35Trainable,
    readonly opts: TrainerOptions,
  ) {
    this.optimizer = new AdamW(model.params.all.filter((p) => p.trainable), opts.adamw);
  }

  get done(): boolean {
    return this.step >= this.opts.schedule.total;
  }

  trainStep(): StepLog {
    const t0 = performance.now();
    const m = this.model;
    const batches = this.opts.batches(this.step);
    if (batches.length === 0) throw new Error(`no batches for step ${this.step}`);
    const nHeads = m.config.nNextn;
    // The step's target count per head, so that each micro-batch's summed loss is divided by the whole.
    let targets = 0, tokens = 0;
    for (const b of batches) {
      tokens += b.tokens.length;
      for (let i = 0; i < b.targets.length; i++) if (b.targets[i]! !== IGNORE && b.targets[i]! >= 0) targets++;
    }
    if (targets === 0) throw new Error(`step ${this.step}: the batches hold no targets`);
    m.zeroGrad();
    let loss = 0, mainSum = 0, mainCount = 0, mainHit = 0;
    const mtpSum = new Array<number>(nHeads).fill(0), mtpCount = new Array<number>(nHeads).fill(0), mtpHit = new Array<number>(nHeads).fill(0);
    const passes: MoeLayerStats[][] = [];
    for (const b of batches) {
      const tape = new Tape(m.engine);
      const r = m.forward(tape, b, { mtpWeight: this.opts.mtpWeight ?? 0.3, divisor: targets });
      loss += r.loss.data[0]!;
      tape.backward(r.loss);
      mainSum += r.main.loss * r.main.count;
      mainCount += r.main.count;
      mainHit += r.main.correct;
      r.mtp.forEach((h, k) => {
        mtpSum[k]! += h.loss * h.count;
        mtpCount[k]! += h.count;
        mtpHit[k]! += h.correct;
      });
      passes.push([...r.moe]);
    }
    const norm = gradNorm(this.optimizer.params);
    if (!Number.isFinite(norm)) throw new Error(`step ${this.step}: the gradient norm is ${norm} (the learning rate is probably too high)`);
    const lr = learningRate(this.step, this.opts.schedule);
    this.optimizer.step(lr, clipScale(norm, this.opts.clip ?? 1));
    const moe = sumLoads(passes);
    const u = this.opts.biasUpdate ?? 1e-3;
    if (u > 0) updateRouterBias(m.params, moe, u);
    const log: StepLog = {
      step: this.step,
      lr,
      loss,
      mainLoss: mainCount ? mainSum / mainCount : 0,
      mainAcc: mainCount ? mainHit / mainCount : 0,
      mtpLoss: mtpSum.map((s, k) => (mtpCount[k] ? s / mtpCount[k]! : 0)),
      mtpAcc: mtpHit.map((h, k) => (mtpCount[k] ? h / mtpCount[k]! : 0)),
      gradNorm: norm,
      tokens,
      targets,
      ms: performance.now() - t0,
      moe,
    };
    this.step++;
    return log;
  }
}
