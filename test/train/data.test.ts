// The agentic task corpus: determinism, held-out templates / number ranges / words disjoint from training,
// tool results that are the tools' real output, reference answers the checker accepts (and wrong ones it
// rejects), and rendered conversations that src/format's streaming parser reads back to the same calls.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { GENERATION_PROMPT, OutputParser } from '../../src/format/index.js';
import { checkAnswer, checkToolCalls, gradeAnswer } from '../../src/train/data/check.js';
import { familiesOf, generateTasks, renderPrompt, renderTrainingText, BOS_TEXT, type Task } from '../../src/train/data/corpus.js';
import { FAMILIES } from '../../src/train/data/families/index.js';
import { HELDOUT_ONLY_WORDS } from '../../src/train/data/families/family.js';
import { OPERAND_DIGITS, SMALL_DIGITS, YEARS, digitCount } from '../../src/train/data/families/numbers.js';
import { Chooser } from '../../src/train/data/random.js';
import { executeTool, TOOLS } from '../../src/train/data/tools.js';
import { HELDOUT_WORDS, TRAIN_WORDS } from '../../src/train/data/words.js';
import { FAMILY_NAMES } from '../../src/train/data/task.js';

const train = generateTasks({ split: 'train', count: 1500, seed: 1 });
const heldout = generateTasks({ split: 'heldout', count: 800, seed: 2 });
const all = [...train, ...heldout];

describe('generateTasks', () => {
  it('is deterministic, and task i depends only on (seed, split, i)', () => {
    assert.deepEqual(generateTasks({ split: 'train', count: 200, seed: 1 }), train.slice(0, 200));
    assert.deepEqual(generateTasks({ split: 'heldout', count: 50, seed: 2 }), heldout.slice(0, 50));
    const other = generateTasks({ split: 'train', count: 200, seed: 3 });
    assert.ok(other.filter((t, i) => t.question === train[i]!.question).length < 20);
  });

  it('covers every family in training and every family but small talk in the held-out split', () => {
    assert.deepEqual(new Set(train.map((t) => t.family)), new Set(FAMILY_NAMES));
    assert.deepEqual(new Set(heldout.map((t) => t.family)), new Set(FAMILY_NAMES.filter((f) => f !== 'smalltalk')));
    assert.deepEqual(familiesOf('heldout'), FAMILY_NAMES.filter((f) => f !== 'smalltalk'));
    assert.ok(train.some((t) => t.steps.length === 2), 'chains take two tool turns');
    assert.ok(train.some((t) => t.steps.some((s) => s.calls.length === 2)), 'parallel calls share one turn');
    for (const name of ['calculator', 'python', 'date_diff', 'convert_units']) assert.ok(train.some((t) => t.steps.some((s) => s.calls.some((c) => c.name === name))), name);
  });

  it('filters families and rejects bad options', () => {
    const only = generateTasks({ split: 'heldout', count: 30, seed: 4, families: ['dates', 'units'] });
    assert.ok(only.every((t) => t.family === 'dates' || t.family === 'units'));
    assert.throws(() => generateTasks({ split: 'heldout', count: 1, seed: 1, families: ['smalltalk'] }), /no task family has heldout templates/);
    assert.throws(() => generateTasks({ split: 'test' as never, count: 1, seed: 1 }), /split must be/);
    assert.throws(() => generateTasks({ split: 'train', count: -1, seed: 1 }), /count must be/);
    assert.throws(() => generateTasks({ split: 'train', count: 1, seed: 1, families: ['poetry' as never] }), /unknown task family/);
  });
});

describe('the held-out split', () => {
  it('uses question templates that training never uses', () => {
    for (const f of FAMILY_NAMES) {
      const t = FAMILIES[f].templates('train'), h = FAMILIES[f].templates('heldout');
      const texts = new Set(t.map((x) => x.text));
      assert.ok(h.every((x) => !texts.has(x.text) && /\.h\d+$/.test(x.id)), f);
      assert.ok(t.every((x) => /\.t\d+$/.test(x.id)), f);
    }
    assert.ok(train.every((t) => /\.t\d+$/.test(t.template)));
    assert.ok(heldout.every((t) => /\.h\d+$/.test(t.template)));
    // and a question shows which split's template produced it: the template text without placeholders
    // matches the question, and no training template matches a held-out question
    const pattern = (text: string) => new RegExp('^' + text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\\\{\w+\\\}/g, '.+') + '$', 's');
    const trainPatterns = FAMILY_NAMES.flatMap((f) => FAMILIES[f].templates('train').map((x) => pattern(x.text)));
    for (const t of heldout) assert.ok(!trainPatterns.some((p) => p.test(t.question)), t.question);
  });

  it('draws numbers from ranges training never uses, and words training never sees', () => {
    const inYears = (y: number, s: 'train' | 'heldout') => YEARS[s].some(([lo, hi]) => y >= lo && y <= hi);
    for (const t of all) {
      const s = t.split;
      const digits = ['arithmetic', 'chain', 'parallel', 'compare'].includes(t.family) ? OPERAND_DIGITS : SMALL_DIGITS;
      for (const n of t.drawn) {
        if (t.family === 'dates') assert.ok(inYears(n, s) && !inYears(n, s === 'train' ? 'heldout' : 'train'), `${t.id}: year ${n}`);
        else assert.ok(digits[s].includes(digitCount(n)) && !digits[s === 'train' ? 'heldout' : 'train'].includes(digitCount(n)), `${t.id}: ${n}`);
      }
    }
    assert.ok(heldout.filter((t) => t.family !== 'dates' && t.drawn.length > 0).length > 300);
    // held-out phrasing with training ranges (to separate the two kinds of generalization)
    const mixed = generateTasks({ split: 'heldout', count: 100, seed: 6, ranges: 'train', families: ['arithmetic', 'units'] });
    for (const t of mixed) {
      assert.match(t.template, /\.h\d+$/);
      const digits = t.family === 'arithmetic' ? OPERAND_DIGITS : SMALL_DIGITS;
      assert.ok(t.drawn.every((n) => digits.train.includes(digitCount(n))), t.question);
    }
    assert.equal(TRAIN_WORDS.filter((w) => HELDOUT_WORDS.includes(w)).length, 0);
    const words = (t: Task) => (t.question.match(/[a-z]{3,}/g) ?? []).filter((w) => TRAIN_WORDS.includes(w) || HELDOUT_WORDS.includes(w));
    for (const t of heldout.filter((x) => x.family === 'sorting' || x.family === 'counting')) assert.ok(words(t).every((w) => HELDOUT_WORDS.includes(w)), t.question);
    // training's words, listed or made up, are never held-out words
    const callWords = (t: Task) => t.steps.flatMap((s) => s.calls.flatMap((c) => String(c.arguments.code ?? '').match(/'[a-z]+'/g) ?? [])).map((w) => w.slice(1, -1));
    const trainWords = train.filter((x) => x.family === 'sorting' || x.family === 'counting').flatMap(callWords);
    assert.ok(trainWords.filter((w) => w.length > 1 && !TRAIN_WORDS.includes(w)).length > 100, 'made-up words in training');
    assert.ok(trainWords.every((w) => !HELDOUT_WORDS.includes(w)));
  });
});

describe('tool calls and answers', () => {
  it('records as each result exactly what executing the call returns, and no errors', () => {
    for (const t of all) {
      for (const s of t.steps) {
        assert.equal(s.calls.length, s.results.length);
        s.calls.forEach((c, k) => assert.equal(executeTool(c.name, c.arguments), s.results[k], `${t.id}: ${JSON.stringify(c)}`));
        assert.ok(s.results.every((r) => r !== '' && !/Error/.test(r)), `${t.id}: ${s.results.join(' | ')}`);
      }
    }
  });

  it('accepts each reference conversation: its calls and its final answer', () => {
    for (const t of all) {
      t.steps.forEach((s, k) => assert.ok(checkToolCalls(t, k, s.calls).ok, t.id));
      const v = gradeAnswer(t, t.finalAnswer);
      assert.ok(v.ok, `${t.id}: ${t.finalAnswer}: ${v.reason}`);
    }
  });

  it('rejects wrong answers', () => {
    let checked = 0;
    for (const t of all) {
      const a = t.answer;
      if (a.kind === 'number') {
        const wrong = String(BigInt(a.value.split('.')[0]!) + 1n) + (a.value.includes('.') ? '.' + a.value.split('.')[1] : '');
        assert.equal(checkAnswer(t, `The answer is ${wrong}.`), false, `${t.id}: ${wrong}`);
        assert.equal(checkAnswer(t, `The answer is ${a.value}.`), true, t.id);
        assert.equal(checkAnswer(t, 'I do not know.'), false);
      } else if (a.kind === 'numbers') {
        assert.equal(checkAnswer(t, `${a.values[1]} and ${a.values[0]}.`), false, t.id);
        assert.equal(checkAnswer(t, `${a.values[0]} and ${a.values[1]}.`), true, t.id);
      } else if (a.kind === 'list') {
        assert.equal(checkAnswer(t, [...a.items].reverse().join(', ')), false, t.id);
        assert.equal(checkAnswer(t, a.items.join(', ')), true, t.id);
      } else if (a.kind === 'choice') {
        assert.equal(checkAnswer(t, `The answer is ${a.options[1 - a.winner]}.`), false, t.id);
        assert.equal(checkAnswer(t, `The answer is ${a.options[a.winner]}.`), true, t.id);
      } else {
        assert.equal(checkAnswer(t, ''), false);
        continue;
      }
      checked++;
    }
    assert.ok(checked > 2000);
    // a made-up number next to the right answer is caught
    const mul = all.find((t) => t.template.startsWith('arithmetic.mul'))!;
    assert.equal(checkAnswer(mul, `Roughly 12345678901, exactly ${(mul.answer as { value: string }).value}.`), false);
    // harmless formatting passes
    const big = all.find((t) => t.answer.kind === 'number' && /^\d{5,}$/.test(t.answer.value))!;
    const v = (big.answer as { value: string }).value;
    assert.equal(checkAnswer(big, `It is ${v.replace(/\B(?=(\d{3})+(?!\d))/g, ',')}.`), true);
    assert.equal(checkAnswer(big, `It is ${v}.0`), true);
  });

  it('rejects wrong tool calls', () => {
    const t = all.find((x) => x.family === 'arithmetic' && x.template.includes('.mul'))!;
    const call = t.steps[0]!.calls[0]!;
    const expr = call.arguments.expression as string;
    assert.ok(checkToolCalls(t, 0, [{ name: 'calculator', arguments: { expression: expr.split(' * ').reverse().join('*') } }]).ok);
    assert.ok(!checkToolCalls(t, 0, [{ name: 'calculator', arguments: { expression: expr.replace('*', '+') } }]).ok);
    assert.ok(!checkToolCalls(t, 0, [{ name: 'python', arguments: { code: `print(${expr})` } }]).ok);
    assert.ok(!checkToolCalls(t, 0, [call, call]).ok);
    assert.ok(!checkToolCalls(t, 1, [call]).ok);
  });
});

describe('rendering', () => {
  it('renders the conversation with the tools block and marks exactly what the model produces', () => {
    for (const t of all.slice(0, 300)) {
      const { text, assistantSpans } = renderTrainingText(t);
      assert.ok(text.startsWith(BOS_TEXT + '<|im_start|>system\n# Tools'));
      for (const tool of TOOLS) assert.ok(text.includes(`"name": "${tool.function.name}"`));
      const assistants = t.messages.filter((m) => m.role === 'assistant').length;
      assert.equal(assistantSpans.length, assistants);
      let masked = text.slice(0, assistantSpans[0]![0]);
      for (let k = 0; k < assistantSpans.length; k++) {
        const [a, b] = assistantSpans[k]!;
        assert.equal(text.slice(a - GENERATION_PROMPT.length, a), GENERATION_PROMPT);
        assert.ok(text.slice(a, b).endsWith('<|im_end|>'));
        masked += text.slice(b, assistantSpans[k + 1]?.[0] ?? text.length);
      }
      // the question and every tool response are context, not targets
      assert.ok(masked.includes(t.question));
      for (const s of t.steps) for (const r of s.results) assert.ok(masked.includes(`<tool_response>${r}</tool_response>`));
      assert.equal(renderPrompt(t), text.slice(0, assistantSpans[0]![0]));
      assert.equal(renderTrainingText(t, { bosToken: '' }).text, text.slice(BOS_TEXT.length));
    }
  });

  it('parses each generated turn back, streamed in random chunks, to the same reasoning, calls and answer', () => {
    const c = new Chooser(99);
    for (const t of all.slice(0, 600)) {
      const { text, assistantSpans } = renderTrainingText(t);
      const turns = t.messages.filter((m) => m.role === 'assistant');
      assistantSpans.forEach(([a, b], k) => {
        const out = text.slice(a, b - '<|im_end|>'.length); // generation stops at <|im_end|>
        const parser = new OutputParser({ tools: t.tools, startInReasoning: true });
        for (let i = 0; i < out.length; ) {
          const n = c.int(1, 12);
          parser.push(out.slice(i, i + n));
          i += n;
        }
        parser.end();
        const r = parser.result();
        const m = turns[k]!;
        assert.equal(r.reasoning, m.reasoning_content, t.id);
        assert.equal(r.content, m.content, t.id);
        assert.deepEqual(r.warnings, []);
        const step = t.steps[k];
        if (step) {
          assert.deepEqual(r.toolCalls.map((x) => ({ name: x.name, arguments: x.arguments })), step.calls.map((x) => ({ name: x.name, arguments: x.arguments })), t.id);
          assert.ok(checkToolCalls(t, k, r.toolCalls).ok);
        } else {
          assert.deepEqual(r.toolCalls, []);
          assert.ok(checkAnswer(t, r.content), t.id);
        }
      });
    }
  });
});

describe('training text and the held-out frames', () => {
  it('never uses a word that only the held-out question frames use', () => {
    const heldoutWords = new Set(FAMILY_NAMES.flatMap((f) => FAMILIES[f].templates('heldout').flatMap((t) => t.text.toLowerCase().match(/[a-z']+/g) ?? [])));
    for (const w of HELDOUT_ONLY_WORDS) assert.ok(heldoutWords.has(w), `${w} is in no held-out frame`);
    const banned = new Set(HELDOUT_ONLY_WORDS);
    for (const f of FAMILY_NAMES) for (const t of FAMILIES[f].templates('train')) assert.ok(!(t.text.toLowerCase().match(/[a-z']+/g) ?? []).some((w) => banned.has(w)), t.text);
    for (const t of generateTasks({ split: 'train', count: 3000, seed: 9 })) {
      const text = [t.question, ...t.steps.map((s) => s.reasoning), t.finalReasoning, t.finalAnswer].join(' ').toLowerCase();
      const hit = (text.match(/[a-z']+/g) ?? []).find((w) => banned.has(w));
      assert.equal(hit, undefined, t.question);
    }
  });

  it('keeps the held-out tasks that every nano model has been evaluated on (seed 1, first 200)', () => {
    const h = generateTasks({ split: 'heldout', count: 200, seed: 1 });
    const digest = createHash('sha256')
      .update(h.map((t) => `${t.family}\n${t.question}\n${JSON.stringify(t.answer)}\n${JSON.stringify(t.steps.map((s) => s.calls))}`).join('\n'))
      .digest('hex');
    assert.equal(digest, 'b51fc0e3500216cee8ebbdff214ba9c7826df01fe1f41518d3a07c9fbadf0ba7');
  });
});
