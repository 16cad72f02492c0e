// Every task family, and how often the generator draws each.
import type { FamilyName } from '../task.js';
import { arithmetic, chain, compare, parallel } from './arithmetic.js';
import { dates } from './dates.js';
import type { Family } from './family.js';
import { counting, sorting } from './lists.js';
import { smalltalk } from './smalltalk.js';
import { units } from './units.js';

export const FAMILIES: Readonly<Record<FamilyName, Family>> = { arithmetic, chain, parallel, compare, units, dates, sorting, counting, smalltalk };

/** Relative frequency of each family in generated data (families without templates in a split are skipped). */
export const FAMILY_WEIGHTS: Readonly<Record<FamilyName, number>> = {
  arithmetic: 3, chain: 1.5, parallel: 1, compare: 1, units: 1.5, dates: 1.5, sorting: 1.5, counting: 1.5, smalltalk: 0.3,
};

/**
 * Training's own mix (the held-out split keeps FAMILY_WEIGHTS, so its tasks stay the same): more of the
 * families the first two nano models solved least often (chain, compare, units, sorting, counting).
 */
export const TRAIN_FAMILY_WEIGHTS: Readonly<Record<FamilyName, number>> = {
  arithmetic: 2.5, chain: 2, parallel: 1, compare: 1.5, units: 2, dates: 1.5, sorting: 2, counting: 2, smalltalk: 0.3,
};

export type { Family, QuestionTemplate } from './family.js';
