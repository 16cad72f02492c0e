// From tasks to training examples: each conversation rendered by the Step 3.5 chat template
// (renderTrainingText) and tokenized by the model's own tokenizer, piece by piece at the boundaries of
// the assistant's spans — the prompt up to a turn's generation prompt as one text, the turn the model
// writes as another — because at inference the prompt is tokenized whole and the turn is the tokens the
// model emits. Tokens inside an assistant span are the trained ones (the loss mask). The system block
// (identical in every task: the tool definitions) is its own piece, so that packing can share it.
import type { Tokenizer } from '../../tokenizer/index.js';
import type { Task } from '../data/task.js';
import { renderTrainingText } from '../data/corpus.js';
import type { Example } from '../loop/batches.js';

const USER_TURN = '<|im_start|>user';

export function encodeTask(task: Task, tok: Tokenizer, bosToken: string): Example {
  const { text, assistantSpans } = renderTrainingText(task, { bosToken });
  const tokens: number[] = [];
  const trained: number[] = [];
  let at = 0;
  const piece = (end: number, mark: number) => {
    if (end <= at) return;
    for (const id of tok.encode(text.slice(at, end), { parseSpecial: true })) {
      tokens.push(id);
      trained.push(mark);
    }
    at = end;
  };
  const userStart = text.indexOf(USER_TURN);
  if (userStart < 0) throw new Error(`task ${task.id}: the rendered conversation has no user turn`);
  piece(userStart, 0);
  const prefix = tokens.length;
  for (const [s, e] of assistantSpans) {
    piece(s, 0);
    piece(e, 1);
  }
  piece(text.length, 0);
  return { tokens, trained, prefix };
}
