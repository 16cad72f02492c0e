// Date differences: one date_diff call; the question writes dates in words or as ISO dates, the call as ISO.
import { fromDayNumber, dayNumber, isoDate, ukDate, usDate, daysInMonth, type YMD } from '../dates.js';
import { fill, type Chooser } from '../random.js';
import { step, type Split, type TaskDraft } from '../task.js';
import { expandAll, templateSet, type Family } from './family.js';
import { YEARS } from './numbers.js';

const T = templateSet(
  'dates',
  [
    'How many days are there from {a} to {b}?', 'How many days pass between {a} and {b}?', 'Count the days from {a} until {b}.',
    'What is the number of days between {a} and {b}?', 'A trip lasts from {a} to {b}. How many days is that?', 'How long is it from {a} to {b}, in days?',
    'Tell me the days between {a} and {b}.', 'The event runs from {a} to {b}. How many days long is it?', 'How many days lie between {a} and {b}?',
    'Find the number of days from {a} to {b}.', 'From {a} to {b} is how many days?',
    ...expandAll(['How many days [P] [R]?', '[R]: how many days is that?', 'Count the days [R].', 'What is the number of days [R]?', 'Days [R]?', 'I need the number of days [R].', '[E] [R]. How many days is that?', 'Tell me how many days [P] [R].'], {
      P: ['are there', 'pass', 'elapse'], R: ['from {a} to {b}', 'between {a} and {b}', 'from {a} until {b}'],
      E: ['A holiday runs', 'A course lasts', 'A loan runs', 'A contract runs', 'We travel'],
    }),
  ],
  ['My trip starts on {a} and I return on {b}. How many days is that?', 'If a project begins {a} and ends {b}, how long does it last in days?'],
);

const inRanges = (y: number, split: Split) => YEARS[split].some(([lo, hi]) => y >= lo && y <= hi);

function drawDate(c: Chooser, split: Split): YMD {
  const [lo, hi] = c.pick(YEARS[split]);
  const y = c.int(lo, hi), m = c.int(1, 12);
  return { y, m, d: c.int(1, daysInMonth(y, m)) };
}

export const dates: Family = {
  name: 'dates',
  templates: (split) => T[split],
  draw(c, split, ranges): TaskDraft {
    const t = c.pick(T[split]);
    let a = drawDate(c, ranges), b: YMD;
    // the second date follows within about four years and stays in the split's years
    for (;;) {
      b = fromDayNumber(dayNumber(a) + c.int(1, 1500));
      if (inRanges(b.y, ranges)) break;
      a = drawDate(c, ranges);
    }
    const style = c.pick([usDate, ukDate, isoDate]);
    const s = step('A number of days between two dates. I will use date_diff.', [
      { name: 'date_diff', arguments: { start: isoDate(a), end: isoDate(b) } },
    ]);
    const r = s.results[0]!;
    return {
      template: t.id,
      question: fill(t.text, { a: style(a), b: style(b) }),
      steps: [s],
      finalReasoning: 'I have the number of days.',
      finalAnswer: `It is ${r} days.`,
      answer: { kind: 'number', value: r },
      drawn: [a.y, b.y],
    };
  },
};
