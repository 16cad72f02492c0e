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
    train: [...new Set(train)].map((text, i) => ({ id: `${prefix}.t${i}`, text })),
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

/**
 * Every sentence a pattern makes: each `[slot]` is replaced by each of its choices in turn (the cartesian
 * product; a slot used twice takes the same choice both times), `{placeholders}` are left for the task's values. Training uses it to write many phrasings of
 * the same request, so that a small model learns a family from what a question asks and holds (a list
 * and a value, two dates, unit names) rather than from a handful of memorised sentences.
 */
export function expand(pattern: string, slots: Readonly<Record<string, readonly string[]>>): string[] {
  const m = /\[(\w+)\]/.exec(pattern);
  if (!m) return [pattern.replace(/ {2,}/g, ' ').replace(/ ([.,:?])/g, '$1')];
  const choices = slots[m[1]!];
  if (!choices) throw new Error(`pattern ${JSON.stringify(pattern)}: no slot [${m[1]}]`);
  // every occurrence of a slot takes the same choice ("[I] each ... how many [I]")
  return choices.flatMap((c) => expand(pattern.split(m[0]).join(c), slots));
}

/** `expand` over several patterns sharing slots, without duplicates. */
export function expandAll(patterns: readonly string[], slots: Readonly<Record<string, readonly string[]>>): string[] {
  return [...new Set(patterns.flatMap((p) => expand(p, slots)))];
}

// What people put around a question. Training questions get one now and then, so that words the model
// has not seen before or after a request do not decide what it does.
const LEAD_INS = ['Hi! ', 'Hello. ', 'Hey! ', 'Question: ', 'Please help. ', 'I need help with this. ', 'Next one. ', 'A task for you. ', 'Good morning. ', 'Help me, please. ', 'Here is a question. ', 'Task: '];
const TRAILERS = [' Thanks!', ' Thank you.', ' Please.', ' Use the tools.', ' Answer briefly.', ' Thanks in advance.', ' I need the exact answer.', ' Be precise.'];

/** A training question with, sometimes, a greeting before it and a courtesy after it. */
export function decorate(c: Chooser, question: string): string {
  const lead = c.chance(0.25) ? c.pick(LEAD_INS) : '';
  const trail = c.chance(0.2) ? c.pick(TRAILERS) : '';
  return lead + question + trail;
}

/** Words that only the held-out question frames use: training text never contains them (checked in the tests),
 * so a held-out frame stays unseen wording, not a reshuffle of training's. */
export const HELDOUT_ONLY_WORDS: readonly string[] = [
  'work', 'out', 'altogether', 'could', 'split', 'big', 'part', 'go', 'increase', 'shelves', 'books', 'floor', 'reduce', 'factory',
  'rejected', 'values', 'well', 'quick', 'sums', 'my', 'notes', 'comes', 'measured', 'would', 'turn', 'starts', 'return',
  'project', 'begins', 'ends', 'last', 'arrange', 'they', 'rank', 'biggest', 'dictionary', 'see', 'looking', 'frequently', 'found',
];
