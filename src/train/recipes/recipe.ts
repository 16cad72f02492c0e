// A training recipe: the model's shape, the corpus, the tokenizer size, the batch and the optimisation
// schedule — everything `stepflash train --recipe NAME` needs to reproduce a model from nothing.
import type { Preset } from '../../model/make/presets.js';

export interface Recipe {
  readonly name: string;
  readonly description: string;
  /** The model shape (a step35 preset; its vocabSize is the tokenizer's). */
  readonly model: Preset;
  /** Most byte-level BPE tokens (special tokens included); training stops earlier when no pair repeats. */
  readonly vocabSize: number;
  /** Training conversations generated (split "train") and the seed of the generator. */
  readonly examples: number;
  /** Conversations the tokenizer is trained on (the first n of the corpus). */
  readonly tokenizerExamples: number;
  /**
   * Merges are learned only from words found in at least this many of those conversations (default 1):
   * the task data's own words (made-up words, list items) then come out in recurring pieces instead of
   * whole tokens that only one conversation ever uses.
   */
  readonly tokenizerMinDocuments?: number;
  readonly dataSeed: number;
  /** Seed of the initial weights and of the batch order. */
  readonly seed: number;
  /** Tokens per packed row, rows per micro-batch, micro-batches per optimizer step. */
  readonly T: number;
  /**
   * Pack several conversations per row as one multi-turn conversation, the system block written once
   * (the tool definitions are most of every prompt; sharing them spends the compute on the turns).
   */
  readonly sharePrefix: boolean;
  readonly nSeq: number;
  readonly accum: number;
  readonly steps: number;
  readonly lr: number;
  readonly warmup: number;
  readonly minLrRatio: number;
  readonly weightDecay: number;
  readonly clip: number;
  /** Router-bias step of the loss-free balancing. */
  readonly biasUpdate: number;
  readonly mtpWeight: number;
  /** Tie the output heads (main and MTP) to the token embedding (src/train/model/params.ts). Default false. */
  readonly tieEmbeddings?: boolean;
  /** Steps between checkpoints. */
  readonly checkpointEvery: number;
}
