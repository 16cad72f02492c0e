// Unit conversion: one convert_units call; the question names the units in words, the call uses their codes.
import { fill } from '../random.js';
import { step, type TaskDraft } from '../task.js';
import { UNITS, type Dimension, type Unit } from '../units.js';
import { expandAll, templateSet, type Family } from './family.js';
import { small } from './numbers.js';

const T = templateSet(
  'units',
  ['Convert {v} {from} to {to}.', 'How many {to} is {v} {from}?', 'What is {v} {from} in {to}?', 'Express {v} {from} in {to}.', 'Change {v} {from} into {to}.', 'I have {v} {from}. How many {to} is that?', '{v} {from} equals how many {to}?',
    'Tell me {v} {from} in {to}.', 'What does {v} {from} come to in {to}?', 'If something is {v} {from}, how many {to} is it?', 'Give {v} {from} in {to}.', 'Convert {v} {from} into {to}, please.',
    ...expandAll(['[V] {v} {from} [P] {to}.', 'How many {to} [E] {v} {from}?', 'What is {v} {from} [P] {to}?', 'I have {v} {from}. [Q]', 'A quantity of {v} {from}: [Q]', 'In {to}, what is {v} {from}?'], {
      V: ['Convert', 'Change', 'Express', 'Switch', 'Translate', 'Give'], P: ['to', 'into', 'in'], E: ['is', 'are in', 'make'],
      Q: ['How many {to} is that?', 'What is it in {to}?', 'Convert it to {to}.'],
    })],
  ['I measured {v} {from}. What would that be in {to}?', 'Please turn {v} {from} into {to}.'],
);

// Dimensions a question can draw; speed is left out of questions to keep the phrasing simple.
const DIMENSIONS: readonly Dimension[] = ['length', 'mass', 'volume', 'time', 'temperature'];

const name = (u: Unit, v: string) => (v === '1' ? u.names[0] : u.names[1]);

export const units: Family = {
  name: 'units',
  templates: (split) => T[split],
  draw(c, split, ranges): TaskDraft {
    const t = c.pick(T[split]);
    const dim = c.pick(DIMENSIONS);
    const [from, to] = c.sample(UNITS.filter((u) => u.dimension === dim), 2) as [Unit, Unit];
    const whole = small(c, ranges);
    // a quarter of the values have one decimal place
    const v = c.chance(0.25) ? `${whole}.${c.int(1, 9)}` : String(whole);
    const s = step(`A conversion from ${from.code} to ${to.code}. I will use convert_units.`, [
      { name: 'convert_units', arguments: { value: Number(v), from_unit: from.code, to_unit: to.code } },
    ]);
    const r = s.results[0]!;
    return {
      template: t.id,
      question: fill(t.text, { v, from: name(from, v), to: to.names[1] }),
      steps: [s],
      finalReasoning: 'I have the converted value.',
      finalAnswer: `That is ${r} ${name(to, r)}.`,
      answer: { kind: 'number', value: r },
      drawn: [whole],
    };
  },
};
