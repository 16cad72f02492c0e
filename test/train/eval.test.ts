// The held-out evaluation harness: the oracle (each task's own reference turns) must solve everything, which
// shows that the harness's prompts, the parser, the tools and the checker agree with the data; scripted
// generators show that wrong calls, wrong answers, missing calls, endless calling and garbage are failures
// with reasons (never exceptions); the real engine runs on the tiny random model without crashing; and the
// command line reports as documented.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { GGMLType } from '../../src/gguf/ggml-types.js';
import { makeModel } from '../../src/model/make/random-model.js';
import { loadModel } from '../../src/model/load.js';
import { Tokenizer } from '../../src/tokenizer/index.js';
import { generateTasks, renderTrainingText, type Task } from '../../src/train/data/corpus.js';
import { Chooser } from '../../src/train/data/random.js';
import { engineGenerator, evaluateTask, evaluateTasks, formatReport, formatTeacherForced, oracleGenerator, teacherForced, type TurnGenerator } from '../../src/train/eval/index.js';

const root = new URL('../..', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'stepflash-eval-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The reference turns of a task, as the model would write them (without <|im_end|>). */
function referenceTurns(t: Task): string[] {
  const { text, assistantSpans } = renderTrainingText(t, { bosToken: '' });
  return assistantSpans.map(([a, b]) => text.slice(a, b - '<|im_end|>'.length));
}

/** Replays `turns(task)` one by one, then repeats the last. */
function scripted(turns: (t: Task) => string[]): TurnGenerator {
  return {
    async next(task, messages) {
      const k = messages.filter((m) => m.role === 'assistant').length;
      const all = turns(task);
      return { text: all[Math.min(k, all.length - 1)]!, finish: 'stop', tokens: 1 };
    },
  };
}

const heldout = generateTasks({ split: 'heldout', count: 200, seed: 1 });

describe('evaluateTasks', () => {
  it('scores the reference conversations 100% on 200 held-out tasks (prompts checked turn by turn)', async () => {
    let calls = 0;
    const r = await evaluateTasks(heldout, oracleGenerator({ verifyPrompts: true }), { onProgress: () => calls++ });
    assert.equal(calls, 200);
    assert.equal(r.tasks, 200);
    assert.equal(r.solved, 200, JSON.stringify(r.failures[0]));
    assert.equal(r.solveRate, 1);
    assert.equal(r.toolCallParseRate, 1);
    assert.ok(Object.values(r.perFamily).every((f) => f.solveRate === 1));
    assert.equal(Object.keys(r.perFamily).length, 8);
    const text = formatReport(r, 'oracle');
    assert.match(text, /solved 200\/200 \(100\.0%\)/);
    assert.match(text, /arithmetic/);
  });

  it('scores the training split (small talk included) 100% too', async () => {
    const r = await evaluateTasks(generateTasks({ split: 'train', count: 150, seed: 4 }), oracleGenerator());
    assert.equal(r.solved, 150);
  });

  it('fails a wrong final answer, with the right calls', async () => {
    const t = heldout.find((x) => x.family === 'arithmetic')!;
    const o = await evaluateTask(t, scripted((x) => {
      const turns = referenceTurns(x);
      turns[turns.length - 1] = 'The tool answered.\n</think>\nThe result is 4.';
      return turns;
    }));
    assert.equal(o.solved, false);
    assert.equal(o.callsCorrect, true);
    assert.equal(o.answerCorrect, false);
    assert.match(o.reason!, /ends with 4|mentions 4/);
  });

  it('fails a right answer given without the tool call', async () => {
    const t = heldout.find((x) => x.family === 'units')!;
    const o = await evaluateTask(t, scripted((x) => [`Easy.\n</think>\n${x.finalAnswer}`]));
    assert.equal(o.answerCorrect, true);
    assert.equal(o.callsCorrect, false);
    assert.equal(o.solved, false);
    assert.match(o.reason!, /0 tool turn\(s\), expected 1/);
  });

  it('fails a wrong call, and sends its (error) result back as the tool response', async () => {
    const t = heldout.find((x) => x.family === 'arithmetic')!;
    let seen = '';
    const gen: TurnGenerator = {
      async next(task, messages) {
        const k = messages.filter((m) => m.role === 'assistant').length;
        if (k === 0) return { text: 'Compute.\n</think>\n<tool_call>\n<function=calculator>\n<parameter=expression>\n1 / 0\n</parameter>\n</function>\n</tool_call>', finish: 'stop', tokens: 1 };
        seen = String(messages[messages.length - 1]!.content);
        return { text: `Done.\n</think>\n${task.finalAnswer}`, finish: 'stop', tokens: 1 };
      },
    };
    const o = await evaluateTask(t, gen);
    assert.equal(seen, 'Error: division by zero');
    assert.equal(o.solved, false);
    assert.match(o.reason!, /calculator/);
    assert.equal(o.callAttempts, 1);
    assert.equal(o.callsParsed, 1);
  });

  it('stops a model that never stops calling tools', async () => {
    const t = heldout.find((x) => x.family === 'dates')!;
    const first = referenceTurns(t)[0]!;
    const o = await evaluateTask(t, scripted(() => [first]), { maxRounds: 3 });
    assert.equal(o.turns.length, 3);
    assert.equal(o.solved, false);
    assert.match(o.reason!, /turn 2|no final answer/);
  });

  it('survives garbage: broken tags, undeclared tools, unfinished turns', async () => {
    const c = new Chooser(5);
    const pieces = ['<tool_call>', '</tool_call>', '<function=calculator>', '<function=rm_rf>', '<parameter=expression>', '</parameter>', '</function>', '</think>', '<think>', '1 + ', 'garbage ', '\n', '<|im_end|>', '\u{1F600}', '<parameter=code>\nprint(', 'x = 2 ** 99999'];
    const garbage: TurnGenerator = {
      async next() {
        let s = '';
        for (let i = 0, n = c.int(0, 30); i < n; i++) s += c.pick(pieces);
        return { text: s, finish: c.pick(['stop', 'length', 'context'] as const), tokens: 30 };
      },
    };
    const r = await evaluateTasks(heldout.slice(0, 60), garbage, { keepFailures: 3 });
    assert.equal(r.solved, 0);
    assert.equal(r.failures.length, 3);
    assert.ok(r.failures.every((f) => typeof f.reason === 'string' && f.reason.length > 0));
    assert.ok(r.toolCallParseRate !== null && r.toolCallParseRate < 1);
  });
});

describe('the engine on the tiny random model', () => {
  it('runs tasks end to end and reports failures without crashing', async () => {
    const file = join(dir, 'tiny.gguf');
    makeModel({ preset: 'tiny', type: GGMLType.Q8_0, seed: 0, out: file });
    const lm = loadModel(file, { threads: 2 });
    try {
      const tok = Tokenizer.fromMetadata(lm.file.metadata);
      const gen = engineGenerator(lm.model, tok, { maxTokens: 16 });
      const r = await evaluateTasks(heldout.slice(0, 2), gen, { maxRounds: 2 });
      assert.equal(r.tasks, 2);
      assert.equal(r.solved, 0);
      assert.ok(r.generatedTokens > 0 && r.generatedTokens <= 2 * 2 * 16);
      assert.ok(r.failures.every((f) => f.turns.length >= 1 && f.reason));
    } finally {
      lm.close();
    }
  });
});

describe('teacher-forced scoring', () => {
  it('ranks the trained model\'s own training conversations almost all right, the random model\'s not, and marks the misses', () => {
    const train = generateTasks({ split: 'train', count: 12, seed: 1 });
    const nano = loadModel(join(root, 'models/nano.gguf'), { threads: 2 });
    const tiny = join(dir, 'tiny-tf.gguf');
    makeModel({ preset: 'tiny', type: GGMLType.Q8_0, seed: 0, out: tiny });
    const random = loadModel(tiny, { threads: 2 });
    try {
      const r = teacherForced(nano.model, Tokenizer.fromMetadata(nano.file.metadata), train, { keepFailures: 12 });
      assert.equal(r.tasks, 12);
      assert.ok(r.accuracy > 0.9, `trained model: ${r.correct}/${r.tokens}`);
      const fams = Object.values(r.perFamily);
      assert.equal(fams.reduce((a, f) => a + f.tasks, 0), 12);
      assert.equal(fams.reduce((a, f) => a + f.tokens, 0), r.tokens);
      assert.equal(fams.reduce((a, f) => a + f.correct, 0), r.correct);
      assert.equal(fams.reduce((a, f) => a + f.exact, 0), r.exact);
      assert.equal(r.failures.length, r.tasks - r.exact);
      for (const f of r.failures) assert.equal((f.marked.match(/\[".*?"→".*?"\]/g) ?? []).length, f.misses, f.marked);
      assert.match(formatTeacherForced(r, 'nano'), /assistant tokens ranked first \d+\/\d+/);
      const q = teacherForced(random.model, Tokenizer.fromMetadata(random.file.metadata), train.slice(0, 3), { keepFailures: 1 });
      assert.ok(q.accuracy < 0.2, `random model: ${q.correct}/${q.tokens}`);
      assert.equal(q.exact, 0);
      assert.throws(() => teacherForced(nano.model, Tokenizer.fromMetadata(nano.file.metadata), train.slice(0, 1), { contextSize: 64 }), /more than the context of 64: raise --ctx/);
    } finally {
      nano.close();
      random.close();
    }
  });
});

describe('stepflash eval-tasks', () => {
  const cli = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'eval-tasks', ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });

  it('has --help, reports --json, and rejects bad flags', () => {
    const help = cli(['--help']);
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /Usage: stepflash eval-tasks/);
    assert.match(help.stdout, /--max-rounds/);
    const r = cli(['--oracle', '--count', '40', '--seed', '3', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.tasks, 40);
    assert.equal(j.solveRate, 1);
    assert.equal(j.split, 'heldout');
    assert.equal(j.seed, 3);
    const text = cli(['--oracle', '--count', '10', '--families', 'dates,units']);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /solved 10\/10/);
    assert.doesNotMatch(text.stdout, /arithmetic/);
    const bad = cli(['--oracle', '--split', 'test']);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /--split must be train or heldout/);
    assert.match(cli(['--oracle', '--families', 'poetry']).stderr, /unknown family "poetry"/);
    assert.match(cli(['--oracle', '--count', '0']).stderr, /--count must be a positive integer/);
    assert.match(cli(['--oracle', '--teacher-forced']).stderr, /cannot be combined with --oracle/);
    const tf = cli(['--teacher-forced', '--split', 'train', '--count', '3', '--json']);
    assert.equal(tf.status, 0, tf.stderr);
    const tj = JSON.parse(tf.stdout);
    assert.equal(tj.teacher_forced, true);
    assert.equal(tj.tasks, 3);
    assert.ok(tj.tokens > 0 && tj.correct <= tj.tokens);
  });
});
