// Small talk: no tool is needed and none is called, so the model also learns when not to call one. Training
// split only (its answers cannot be checked beyond being non-empty, so the held-out evaluation leaves it out).
import { fill } from '../random.js';
import type { TaskDraft } from '../task.js';
import { templateSet, type Family } from './family.js';

// Each question with its reply (same index).
const QUESTIONS = ['Hello!', 'Hi there.', 'What can you do?', 'Thanks for the help!', 'Good morning.', 'Who are you?', 'Can you help me with some math?'];
const GREETING = 'Hello! I can do exact arithmetic, convert units, count days between dates, sort lists and count things. What do you need?';
const ABOUT = 'I am a small assistant with a calculator, a Python tool, a date tool and a unit converter. Ask me a question.';
const REPLIES = [GREETING, GREETING, ABOUT, 'You are welcome! Ask me anything that needs a calculation.', GREETING, ABOUT, 'Yes. Tell me what to calculate.'];
const T = templateSet('smalltalk', QUESTIONS, []);

export const smalltalk: Family = {
  name: 'smalltalk',
  templates: (split) => T[split],
  draw(c, split): TaskDraft {
    const k = c.int(0, T[split].length - 1);
    const t = T[split][k]!;
    return {
      template: t.id,
      question: fill(t.text, {}),
      steps: [],
      finalReasoning: 'No tool is needed for this.',
      finalAnswer: REPLIES[k]!,
      answer: { kind: 'free' },
      drawn: [],
    };
  },
};
