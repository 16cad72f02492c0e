// The shape every task family has, and helpers the families share.
import type { Chooser } from '../random.js';
import type { FamilyName, Split, TaskDraft } from '../task.js';

/** A question template: its text with {placeholders}, and the id the task records. */
export interface QuestionTemplate {
  readonly id: string;
  readonly text: string;
}

export interface Family {
  readonly name: FamilyName;
  /** Every question template of a split (for the held-out disjointness check and for documentation). */
  templates(split: Split): readonly QuestionTemplate[];
  /**
   * Draws one task: phrasing from `split`'s templates, numbers from `ranges`' ranges (normally the same
   * split; the held-out templates with the training ranges isolate the effect of phrasing).
   */
  draw(c: Chooser, split: Split, ranges: Split): TaskDraft;
}

/** Templates given as plain strings, with ids `${prefix}.t0`, ... (training) or `.h0`, ... (held-out). */
export function templateSet(prefix: string, train: readonly string[], heldout: readonly string[]): Record<Split, QuestionTemplate[]> {
  return {
    train: train.map((text, i) => ({ id: `${prefix}.t${i}`, text })),
    heldout: heldout.map((text, i) => ({ id: `${prefix}.h${i}`, text })),
  };
}

/** Numbers in questions: sometimes with thousands separators, as people write them. */
export function questionNumber(c: Chooser, n: number | bigint | string, commaChance = 0.2): string {
  const s = String(n);
  if (!/^\d{4,}$/.test(s) || !c.chance(commaChance)) return s;
  return s.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** Operator symbols as questions and answers write them. */
export const SYMBOL = { add: '+', sub: '−', mul: '×', div: '÷' } as const;
/** Operators as the calculator expression writes them. */
export const CALC = { add: '+', sub: '-', mul: '*', div: '/' } as const;
export type Op = keyof typeof SYMBOL;
