// Calculator families: one operation (arithmetic), a product then a sum or difference in two tool turns
// (chain), two independent operations called together in one turn (parallel), and which of two products or
// sums is larger or smaller (compare, two calls in one turn, then a choice).
import { formatDecimal } from '../rational.js';
import { evaluateExpression } from '../calculator.js';
import { fill, type Chooser } from '../random.js';
import { step, type Split, type TaskDraft } from '../task.js';
import { CALC, expandAll, questionNumber, SYMBOL, templateSet, type Family, type Op, type QuestionTemplate } from './family.js';
import { operand } from './numbers.js';

const calc = (expression: string) => ({ name: 'calculator' as const, arguments: { expression } });
const value = (expression: string) => formatDecimal(evaluateExpression(expression));

/** The ways of asking for one quantity [O] that every calculator family's training split shares. */
const asked = (slots: { O: readonly string[] }) =>
  expandAll(['[V] [O].', '[W] [O]?', '[O] = ?', 'I need [O].', '[O]: what is it?'], {
    ...slots,
    V: ['Calculate', 'Compute', 'Evaluate', 'Give me', 'Tell me', 'Please compute', 'Determine'],
    W: ['What is', 'What\'s', 'How much is', 'What do you get for', 'Can you compute'],
  });

// {a} {b}: the operands as the question writes them; {s}: the operator symbol.
const ARITH: Record<Op, Record<Split, QuestionTemplate[]>> = {
  add: templateSet(
    'arithmetic.add',
    [
      'What is {a} + {b}?', 'Calculate {a} + {b}.', 'What is the sum of {a} and {b}?', 'Add {a} and {b}.', 'How much is {a} plus {b}?',
      'Find the total of {a} and {b}.', '{a} plus {b} equals what?', 'What do {a} and {b} add up to?', 'Compute the sum: {a} + {b}',
      'I have {a} and get {b} more. How many do I have now?', 'Combine {a} and {b}. What is the total?',
      'Add up {a} and {b}.', 'What number is {b} more than {a}?', 'Tell me the sum of {a} and {b}.', 'If you add {b} to {a}, what is the result?',
      'A box has {a} coins and another has {b}. How many coins are there in both?', 'Sum {a} and {b}.',
      ...asked({ O: ['{a} + {b}', '{a} plus {b}', 'the sum of {a} and {b}', 'the total of {a} and {b}', '{a} added to {b}'] }),
    ],
    ['Work out the total of {a} and {b} for me.', 'If I combine {a} with {b}, what number do I get?'],
  ),
  sub: templateSet(
    'arithmetic.sub',
    [
      'What is {a} − {b}?', 'Calculate {a} - {b}.', 'Subtract {b} from {a}.', 'How much is {a} minus {b}?', 'What is the difference {a} − {b}?',
      'What is {a} take away {b}?', 'How much larger is {a} than {b}?', 'Find the difference between {a} and {b}.',
      'What remains when {b} is removed from {a}?', '{a} minus {b} equals what?',
      'Tell me {a} minus {b}.', 'If you subtract {b} from {a}, what is the result?', 'I had {a} and spent {b}. How much is left?',
      'What is {b} less than {a}?', 'Deduct {b} from {a}.', 'How far apart are {a} and {b}?',
      ...asked({ O: ['{a} - {b}', '{a} − {b}', '{a} minus {b}', 'the difference of {a} and {b}', '{a} less {b}'] }),
    ],
    ['Take {b} away from {a}. What remains?', 'By how much is {a} bigger than {b}?'],
  ),
  mul: templateSet(
    'arithmetic.mul',
    [
      'What is {a} × {b}?', 'Calculate {a} * {b}.', 'Multiply {a} by {b}.', 'What is the product of {a} and {b}?', 'How much is {a} times {b}?',
      'Please find the product of {a} and {b}.', '{a} times {b} equals what?', 'There are {a} groups with {b} in each. How many in total?',
      'What is {a} multiplied by {b}?', 'Compute {a} × {b}.',
      'Tell me the product of {a} and {b}.', 'If you multiply {a} by {b}, what is the result?', 'Each of {a} boxes holds {b} pens. How many pens in all?',
      'Find {a} times {b}.', 'What do you get when {a} is multiplied by {b}?',
      ...asked({ O: ['{a} × {b}', '{a} * {b}', '{a} times {b}', 'the product of {a} and {b}', '{a} multiplied by {b}'] }),
    ],
    ['I have {a} groups of {b}. How many is that altogether?', 'Could you work out {a} multiplied by {b}?'],
  ),
  div: templateSet(
    'arithmetic.div',
    [
      'What is {a} ÷ {b}?', 'Calculate {a} / {b}.', 'Divide {a} by {b}.', 'How much is {a} divided by {b}?', 'What is the quotient of {a} and {b}?',
      'Find the quotient of {a} and {b}.', '{a} divided by {b} equals what?', 'Share {a} equally among {b}. How much does each get?',
      'How many times does {b} fit into {a}?', 'Compute {a} ÷ {b}.',
      'Tell me {a} divided by {b}.', 'If you divide {a} by {b}, what is the result?', '{a} apples are packed {b} to a bag. How many bags?',
      'Find {a} over {b}.', 'What do you get when {a} is divided by {b}?',
      ...asked({ O: ['{a} ÷ {b}', '{a} / {b}', '{a} divided by {b}', 'the quotient of {a} and {b}', '{a} over {b}'] }),
    ],
    ['Split {a} into {b} equal parts. How big is each part?', 'How many times does {b} go into {a}?'],
  ),
};
const OPS: readonly Op[] = ['add', 'sub', 'mul', 'div'];
/** What the reasoning calls each operation's result. The reasoning names the operation and nothing else: every
 * number a reply copies is a chance for a small model to slip a digit, so only the calls and the answer copy. */
const NOUN: Record<Op, string> = { add: 'sum', sub: 'difference', mul: 'product', div: 'quotient' };

/** Two operands for `op`: a difference is usually not negative; a division is exact (a = b * q). */
function operands(c: Chooser, op: Op, ranges: Split): { a: number; b: number; drawn: number[] } {
  if (op === 'div') {
    const b = operand(c, ranges), q = operand(c, ranges);
    return { a: b * q, b, drawn: [b, q] };
  }
  let a = operand(c, ranges), b = operand(c, ranges);
  if (op === 'sub' && a < b && c.chance(0.8)) [a, b] = [b, a];
  return { a, b, drawn: [a, b] };
}

export const arithmetic: Family = {
  name: 'arithmetic',
  templates: (split) => OPS.flatMap((op) => ARITH[op][split]),
  draw(c, split, ranges): TaskDraft {
    const op = c.pick(OPS);
    const t = c.pick(ARITH[op][split]);
    const { a, b, drawn } = operands(c, op, ranges);
    const expr = `${a} ${CALC[op]} ${b}`;
    const s = step(`This is a ${NOUN[op]}. I will use the calculator.`, [calc(expr)]);
    const r = s.results[0]!;
    return {
      template: t.id,
      question: fill(t.text, { a: questionNumber(c, a, 0.15), b: questionNumber(c, b, 0.15) }),
      steps: [s],
      finalReasoning: 'I have the result.',
      finalAnswer: `The answer is ${r}.`,
      answer: { kind: 'number', value: r },
      drawn,
    };
  },
};

// ---- chain: a × b, then ± c ----

const CHAIN_SLOTS = {
  M: ['Multiply {a} by {b}', 'Take {a} times {b}', 'Compute {a} × {b}', 'Find {a} * {b}', 'Start with the product of {a} and {b}'],
  m: ['multiply {a} by {b}', 'compute {a} × {b}', 'find the product of {a} and {b}'],
};
const CHAIN_STORY = {
  C: ['{a} boxes', '{a} crates', '{a} bags', '{a} packs', '{a} trays', '{a} rows', '{a} teams'],
  I: ['items', 'pens', 'eggs', 'cards', 'cups', 'stones', 'tickets'],
  U: ['sold', 'lost', 'broken', 'given away', 'used'],
};

const CHAIN: Record<'add' | 'sub', Record<Split, QuestionTemplate[]>> = {
  add: templateSet(
    'chain.add',
    [
      'What is {a} × {b} + {c}?', 'Multiply {a} by {b} and then add {c}.', 'A crate holds {b} items. How many items are in {a} crates plus {c} loose ones?',
      'Compute {a} times {b}, then add {c} to the result.', 'Find the product of {a} and {b}, then add {c}.', 'There are {a} rows of {b} seats and {c} extra seats. How many seats in total?',
      'Each of {a} boxes holds {b} pens, and {c} pens are loose. How many pens in all?', 'What is {c} plus {a} times {b}?', 'Multiply {a} and {b}, then add {c} to it.',
      ...expandAll(['[M], then [P] {c}.', '[M] and [P] {c}.', 'First [m], then [P] {c}.', 'Compute ({a} × {b}) + {c}.', 'Evaluate {a} * {b} + {c}.', 'What do you get if you [m] and then [P] {c}?'], { ...CHAIN_SLOTS, P: ['add', 'plus', 'add on'] }),
      ...expandAll(['[C] hold {b} [I] each, and there are {c} extra [I]. How many [I] are there?', 'You have [C] with {b} [I] in each, plus {c} loose [I]. How many [I] in total?'], CHAIN_STORY),
    ],
    ['Take the product of {a} and {b}, then increase it by {c}. What do you get?', 'There are {a} shelves with {b} books each, and {c} more books on the floor. How many books in total?'],
  ),
  sub: templateSet(
    'chain.sub',
    [
      'What is {a} × {b} − {c}?', 'Multiply {a} by {b} and then subtract {c}.', 'A crate holds {b} items. If there are {a} crates and {c} items are removed, how many remain?',
      'Compute {a} times {b}, then take away {c}.', 'Find the product of {a} and {b}, then subtract {c}.', 'A shop makes {b} parts a day for {a} days and sells {c}. How many parts are left?',
      'There are {a} bags of {b} apples and {c} apples are eaten. How many apples remain?', 'What is {a} times {b} minus {c}?', 'Multiply {a} and {b}, then subtract {c} from it.',
      ...expandAll(['[M], then [P] {c}.', '[M] and [P] {c}.', 'First [m], then [P] {c}.', 'Compute ({a} × {b}) - {c}.', 'Evaluate {a} * {b} - {c}.', 'What do you get if you [m] and then [P] {c}?'], { ...CHAIN_SLOTS, P: ['subtract', 'take away', 'remove', 'deduct'] }),
      ...expandAll(['[C] hold {b} [I] each, and {c} [I] are [U]. How many [I] remain?', 'You have [C] with {b} [I] in each, and {c} [I] get [U]. How many [I] are left?'], CHAIN_STORY),
    ],
    ['Find the product of {a} and {b}, then reduce it by {c}.', 'A factory makes {b} parts a day for {a} days and {c} parts are rejected. How many good parts are left?'],
  ),
};

export const chain: Family = {
  name: 'chain',
  templates: (split) => [...CHAIN.add[split], ...CHAIN.sub[split]],
  draw(c, split, ranges): TaskDraft {
    const op = c.pick(['add', 'sub'] as const);
    const t = c.pick(CHAIN[op][split]);
    const a = operand(c, ranges), b = operand(c, ranges), k = operand(c, ranges);
    const first = step(`Two steps: the product first, then a ${NOUN[op]}. I will use the calculator.`, [calc(`${a} * ${b}`)]);
    const p = first.results[0]!;
    const second = step(`Now the ${NOUN[op]} with ${k}.`, [calc(`${p} ${CALC[op]} ${k}`)]);
    const r = second.results[0]!;
    return {
      template: t.id,
      question: fill(t.text, { a: questionNumber(c, a, 0.15), b: questionNumber(c, b, 0.15), c: questionNumber(c, k, 0.15) }),
      steps: [first, second],
      finalReasoning: 'I have the result.',
      finalAnswer: `The answer is ${r}.`,
      answer: { kind: 'number', value: r },
      drawn: [a, b, k],
    };
  },
};

// ---- parallel: two operations, both calls in one turn ----

const PAIR_OPS: readonly Op[] = ['add', 'sub', 'mul'];

const PARALLEL = templateSet(
  'parallel',
  [
    'What are {x} and {y}?', 'Calculate both {x} and {y}.', 'I need two results: {x} and {y}.', 'Compute {x}, and also {y}.', 'Give me {x} and {y}.', 'What is {x}? And what is {y}?', 'Tell me {x} and {y}.', 'Find {x} and then {y}.', 'Solve both: {x}, {y}.', 'What do {x} and {y} come to?',
    ...expandAll(['[V] [B]{x} and {y}.', '[V] {x}, and [A] {y}.', 'Two calculations: {x} and {y}.', '{x} and {y}: what are the results?', 'First {x}, second {y}. What are the two results?', 'What is {x}, and what is {y}?', 'I need {x} and {y}, please.'], {
      V: ['Calculate', 'Compute', 'Evaluate', 'Give me', 'Tell me', 'Solve'],
      B: ['', 'both ', 'the results of '],
      A: ['also', 'then', 'next'],
    }),
  ],
  ['Please give me the values of {x} as well as {y}.', 'Two quick sums for my notes: {x}; {y}.'],
);

interface Pair {
  readonly shown: string;
  readonly asked: string;
  readonly expr: string;
  readonly a: number;
  readonly b: number;
}

function pair(c: Chooser, ranges: Split, ops: readonly Op[]): Pair {
  const op = c.pick(ops);
  const { a, b } = operands(c, op, ranges);
  return {
    shown: `${a} ${SYMBOL[op]} ${b}`,
    asked: `${questionNumber(c, a, 0.15)} ${SYMBOL[op]} ${questionNumber(c, b, 0.15)}`,
    expr: `${a} ${CALC[op]} ${b}`,
    a,
    b,
  };
}

/** Two pairs whose results are distinct and differ from every operand (so an answer's numbers are unambiguous). */
function twoPairs(c: Chooser, ranges: Split, ops: readonly Op[]): [Pair, Pair] {
  for (let tries = 0; ; tries++) {
    const x = pair(c, ranges, ops), y = pair(c, ranges, ops);
    const rx = value(x.expr), ry = value(y.expr);
    const operandsText = [x.a, x.b, y.a, y.b].map(String);
    if ((rx !== ry && !operandsText.includes(rx) && !operandsText.includes(ry)) || tries > 20) return [x, y];
  }
}

export const parallel: Family = {
  name: 'parallel',
  templates: (split) => PARALLEL[split],
  draw(c, split, ranges): TaskDraft {
    const t = c.pick(PARALLEL[split]);
    const [x, y] = twoPairs(c, ranges, PAIR_OPS);
    const s = step('Two independent calculations, so I will call the calculator for both at once.', [calc(x.expr), calc(y.expr)]);
    const [rx, ry] = s.results as [string, string];
    return {
      template: t.id,
      question: fill(t.text, { x: x.asked, y: y.asked }),
      steps: [s],
      finalReasoning: 'I have both results.',
      finalAnswer: `The results are ${rx} and ${ry}.`,
      answer: { kind: 'numbers', values: [rx, ry] },
      drawn: [x.a, x.b, y.a, y.b],
    };
  },
};

// ---- compare: which of two expressions is larger (or smaller) ----

const COMPARE_PATTERNS = ['Which is [R]: {x} or {y}?', 'Which is [R], {x} or {y}?', '{x} or {y}: which is [R]?', 'Compare {x} and {y}. Which is [R]?', 'Which of {x} and {y} is [R]?', 'Which of these is [R]: {x} or {y}?', 'Is {x} [R] than {y}, or the other way round?', 'Tell me which one is [R]: {x} or {y}.'];

const COMPARE: Record<'larger' | 'smaller', Record<Split, QuestionTemplate[]>> = {
  larger: templateSet(
    'compare.larger',
    ['Which is larger: {x} or {y}?', 'Which is bigger, {x} or {y}?', 'Is {x} or {y} greater?', 'Which gives the higher number, {x} or {y}?', 'Which one is greater: {x} or {y}?', 'Tell me which is more, {x} or {y}.', 'Between {x} and {y}, which is the largest?',
      ...expandAll(COMPARE_PATTERNS, { R: ['larger', 'bigger', 'greater', 'higher', 'more'] })],
    ['Of {x} and {y}, which one comes out higher?'],
  ),
  smaller: templateSet(
    'compare.smaller',
    ['Which is smaller: {x} or {y}?', 'Which is less, {x} or {y}?', 'Is {x} or {y} lower?', 'Which gives the lower number, {x} or {y}?', 'Which one is lower: {x} or {y}?', 'Tell me which is less, {x} or {y}.', 'Between {x} and {y}, which is the smallest?',
      ...expandAll(COMPARE_PATTERNS, { R: ['smaller', 'less', 'lower', 'fewer'] })],
    ['Of {x} and {y}, which one comes out lower?'],
  ),
};

export const compare: Family = {
  name: 'compare',
  templates: (split) => [...COMPARE.larger[split], ...COMPARE.smaller[split]],
  draw(c, split, ranges): TaskDraft {
    const want = c.pick(['larger', 'smaller'] as const);
    const t = c.pick(COMPARE[want][split]);
    const op = c.pick(['add', 'mul'] as const);
    const [x, y] = twoPairs(c, ranges, [op]);
    const s = step('To compare them I will compute both with the calculator.', [calc(x.expr), calc(y.expr)]);
    const [rx, ry] = s.results as [string, string];
    const xWins = (BigInt(rx) > BigInt(ry)) === (want === 'larger');
    const winner = xWins ? x.shown : y.shown;
    return {
      template: t.id,
      question: fill(t.text, { x: x.asked, y: y.asked }),
      steps: [s],
      finalReasoning: `${rx} ${BigInt(rx) > BigInt(ry) ? '>' : '<'} ${ry}, so the ${xWins ? 'first' : 'second'} one is ${want}.`,
      finalAnswer: `The ${want} one is ${winner}.`,
      answer: { kind: 'choice', options: [x.asked, y.asked], winner: xWins ? 0 : 1 },
      drawn: [x.a, x.b, y.a, y.b],
    };
  },
};
