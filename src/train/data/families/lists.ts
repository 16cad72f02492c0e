// Python families: sorting a list of numbers or words (sorted()), and counting a letter in a word or a
// value in a list (.count()). The held-out split's words come from a list that shares no word with training.
import { HELDOUT_WORDS, madeUpWord, TRAIN_WORDS } from '../words.js';
import { fill, type Chooser } from '../random.js';
import { step, type Split, type TaskDraft } from '../task.js';
import { expandAll, templateSet, type Family } from './family.js';
import { small } from './numbers.js';

const words = (split: Split) => (split === 'train' ? TRAIN_WORDS : HELDOUT_WORDS);
/** A word for a task: held-out words for the held-out split; for training, half the time a made-up word. */
const word = (c: Chooser, split: Split) => (split === 'train' && c.chance(0.5) ? madeUpWord(() => c.next()) : c.pick(words(split)));
/** n distinct words (the held-out split draws exactly as before made-up words were added to training). */
function distinctWords(c: Chooser, split: Split, n: number): string[] {
  if (split !== 'train') return c.sample(words(split), n);
  const seen = new Set<string>();
  while (seen.size < n) seen.add(word(c, split));
  return [...seen];
}
const python = (code: string) => ({ name: 'python' as const, arguments: { code } });
const pyList = (items: readonly (string | number)[]) => `[${items.map((x) => (typeof x === 'string' ? `'${x}'` : String(x))).join(', ')}]`;
const andList = (items: readonly (string | number)[]) => `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
/** How a training question writes a list: plain, as Python writes it, or with "and" (the held-out split keeps its one form). */
const listText = (c: Chooser, split: Split, items: readonly (string | number)[], usual: (xs: readonly (string | number)[]) => string) =>
  split === 'train' ? c.pick([usual, (xs: readonly (string | number)[]) => xs.join(', '), pyList, andList])(items) : usual(items);

const SORT_SLOTS = {
  V: ['Sort', 'Order', 'Put', 'Rearrange', 'Reorder', 'List', 'Organize'],
  N: ['these numbers', 'the numbers', 'this list', 'the following numbers', 'the list'],
  W: ['these words', 'the words', 'this list of words', 'the following words', 'the list'],
};
const sortPatterns = (obj: 'N' | 'W') => [`[V] [${obj}] [D]: {list}.`, '[V] {list} [D].', `{list}: [V] [${obj}] [D].`, `Here is a list: {list}. [V] it [D].`, `Can you [v] [${obj}] [D]? {list}`];
const sortExpand = (obj: 'N' | 'W', D: readonly string[]) =>
  expandAll(sortPatterns(obj), { ...SORT_SLOTS, v: SORT_SLOTS.V.map((x) => x.toLowerCase()), D });

// ---- sorting ----

const SORT = {
  asc: templateSet(
    'sorting.asc',
    ['Sort these numbers from smallest to largest: {list}.', 'Put {list} in ascending order.', 'Order from lowest to highest: {list}.', 'List {list} from low to high.', 'Sort {list}, the smallest number first.',
      ...sortExpand('N', ['from smallest to largest', 'in ascending order', 'from lowest to highest', 'from least to greatest', 'with the smallest first', 'low to high'])],
    ['Arrange the values {list} so that they increase.'],
  ),
  desc: templateSet(
    'sorting.desc',
    ['Sort these numbers from largest to smallest: {list}.', 'Put {list} in descending order.', 'Order from highest to lowest: {list}.', 'List {list} from high to low.', 'Sort {list}, the largest number first.',
      ...sortExpand('N', ['from largest to smallest', 'in descending order', 'from highest to lowest', 'from greatest to least', 'with the largest first', 'high to low'])],
    ['Rank {list} with the biggest first.'],
  ),
  alpha: templateSet(
    'sorting.alpha',
    ['Sort these words alphabetically: {list}.', 'Put {list} in alphabetical order.', 'Alphabetize: {list}.', 'Sort the words {list} from A to Z.', 'List these words in alphabetical order: {list}.', 'Order the words {list} alphabetically.',
      ...sortExpand('W', ['alphabetically', 'in alphabetical order', 'from A to Z', 'in A-Z order', 'by the alphabet'])],
    ['Arrange the words {list} as they would appear in a dictionary.'],
  ),
};

function distinctNumbers(c: Chooser, ranges: Split, n: number): number[] {
  const seen = new Set<number>();
  while (seen.size < n) seen.add(small(c, ranges));
  return [...seen];
}

export const sorting: Family = {
  name: 'sorting',
  templates: (split) => [...SORT.asc[split], ...SORT.desc[split], ...SORT.alpha[split]],
  draw(c, split, ranges): TaskDraft {
    const kind = c.pick(['asc', 'desc', 'alpha'] as const);
    const t = c.pick(SORT[kind][split]);
    const n = c.int(3, 6);
    const items: (string | number)[] = kind === 'alpha' ? distinctWords(c, ranges, n) : distinctNumbers(c, ranges, n);
    const code = `print(sorted(${pyList(items)}${kind === 'desc' ? ', reverse=True' : ''}))`;
    const order = kind === 'asc' ? 'ascending order' : kind === 'desc' ? 'descending order' : 'alphabetical order';
    const s = step(`${order[0]!.toUpperCase()}${order.slice(1)}. I will sort them with Python.`, [python(code)]);
    const sorted = [...items].sort((a, b) => (typeof a === 'number' ? a - (b as number) : a < b ? -1 : a > b ? 1 : 0));
    if (kind === 'desc') sorted.reverse();
    const shown = sorted.join(', ');
    return {
      template: t.id,
      question: fill(t.text, { list: listText(c, split, items, (xs) => xs.join(', ')) }),
      steps: [s],
      finalReasoning: 'Python printed the sorted list.',
      finalAnswer: `In ${order}: ${shown}.`,
      answer: { kind: 'list', items: sorted.map(String), numeric: kind !== 'alpha' },
      drawn: kind === 'alpha' ? [] : (items as number[]),
    };
  },
};

// ---- counting ----

const COUNT = {
  letter: templateSet(
    'counting.letter',
    ['How many times does the letter "{x}" appear in "{w}"?', 'Count the letter {x} in the word {w}.', 'How many {x}\'s are in "{w}"?', 'How many times is the letter "{x}" in the word "{w}"?', 'Tell me how many "{x}" letters "{w}" has.', 'Count how often the letter "{x}" occurs in "{w}".',
      ...expandAll(['How many times does [L] [A] in [T]?', 'How often does [L] [A] in [T]?', 'Count how many times [L] [A]s in [T].', 'In [T], how many times does [L] [A]?', 'Take [T]. How many times does [L] [A] in it?', 'The word is "{w}". How many times does [L] [A] in it?', 'How many {x}\'s does [T] have?'], {
        L: ['the letter "{x}"', '"{x}"', 'the letter {x}', 'the character "{x}"'], A: ['appear', 'occur', 'show up'], T: ['"{w}"', 'the word "{w}"', 'the word {w}'],
      })],
    ['In the word "{w}", how often do you see the letter "{x}"?'],
  ),
  value: templateSet(
    'counting.value',
    ['How many times does {x} appear in the list {list}?', 'Count how often {x} occurs in {list}.', 'In {list}, how many entries equal {x}?', 'How many times is {x} in the list {list}?', 'Tell me how many times {x} shows up in {list}.', 'Count the entries equal to {x} in {list}.',
      ...expandAll(['How many times does {x} [A] in [T]?', 'How often does {x} [A] in [T]?', 'Count how many times {x} [A]s in [T].', 'In [T], how many times does {x} [A]?', 'Here is a list: {list}. How many times does {x} [A] in it?', 'Given {list}, how many times does {x} [A]?', 'Take {list}. Count the entries equal to {x}.', 'The list {list} has some numbers. How many of them equal {x}?'], {
        A: ['appear', 'occur', 'show up'], T: ['{list}', 'the list {list}', 'this list: {list}', 'the numbers {list}'],
      })],
    ['Looking at {list}, how frequently is {x} found?'],
  ),
};

export const counting: Family = {
  name: 'counting',
  templates: (split) => [...COUNT.letter[split], ...COUNT.value[split]],
  draw(c, split, ranges): TaskDraft {
    const kind = c.pick(['letter', 'value'] as const);
    const t = c.pick(COUNT[kind][split]);
    if (kind === 'letter') {
      const w = word(c, ranges);
      // mostly a letter of the word; sometimes one it lacks (the answer is then 0)
      const x = c.chance(0.85) ? c.pick([...w]) : c.pick([...'abcdefghijklmnopqrstuvwxyz'].filter((l) => !w.includes(l)));
      const s = step('A letter count. I will use Python.', [python(`print('${w}'.count('${x}'))`)]);
      const r = s.results[0]!;
      return {
        template: t.id,
        question: fill(t.text, { x, w }),
        steps: [s],
        finalReasoning: 'Python printed the count.',
        finalAnswer: `The letter "${x}" appears ${r} ${r === '1' ? 'time' : 'times'} in "${w}".`,
        answer: { kind: 'number', value: r },
        drawn: [],
      };
    }
    // a list with repeats: a few distinct values, the asked one repeated 0-4 times
    const pool = distinctNumbers(c, ranges, c.int(3, 5));
    const x = pool[0]!;
    const reps = c.int(0, 4);
    const list: number[] = [];
    for (let i = 0; i < reps; i++) list.push(x);
    for (let i = 0, n = c.int(2, 6); i < n; i++) list.push(c.pick(pool.slice(1)));
    for (let i = list.length - 1; i > 0; i--) {
      const j = c.int(0, i);
      [list[i], list[j]] = [list[j]!, list[i]!];
    }
    const s = step('A count of one value in a list. I will use Python.', [python(`print(${pyList(list)}.count(${x}))`)]);
    const r = s.results[0]!;
    return {
      template: t.id,
      question: fill(t.text, { x, list: listText(c, split, list, pyList) }),
      steps: [s],
      finalReasoning: 'Python printed the count.',
      finalAnswer: `It appears ${r} ${r === '1' ? 'time' : 'times'} in the list.`,
      answer: { kind: 'number', value: r },
      drawn: [...list, x],
    };
  },
};
