// Turn generators for the evaluation harness: the model through stepflash's engine (greedy), and an oracle
// that replays each task's reference conversation (it must score 100%, which shows that the harness, the
// parser, the tools and the checker agree with the data).
import type { ChatMessageInput } from '../../format/index.js';
import { renderChat } from '../../format/index.js';
import { generate, type GenerateResult } from '../../engine/generate.js';
import { ContextOverflowError, Session } from '../../engine/session.js';
import type { Step35Model } from '../../model/step35.js';
import type { Tokenizer } from '../../tokenizer/index.js';
import { renderTrainingText } from '../data/corpus.js';
import type { Task } from '../data/task.js';
import type { TurnGenerator, TurnOutput } from './harness.js';

const IM_END = '<|im_end|>';

export interface EngineGeneratorOptions {
  /** Most tokens per turn (default 256). */
  readonly maxTokens?: number;
  /** KV cache size (default: the model's training context, at most 4096). */
  readonly contextSize?: number;
}

/**
 * Greedy decoding through one engine Session, so the system block shared by every prompt stays cached.
 * Each turn's prompt is the conversation rendered by the chat template with the task tools, BOS first when
 * the model's tokenizer adds one, ending with the generation prompt.
 */
export function engineGenerator(model: Step35Model, tokenizer: Tokenizer, options: EngineGeneratorOptions = {}): TurnGenerator {
  const session = new Session(model, options.contextSize ? { contextSize: options.contextSize } : {});
  const bosToken = tokenizer.addBos && tokenizer.bos !== undefined && tokenizer.bos >= 0 ? tokenizer.tokenText(tokenizer.bos) : '';
  const maxTokens = options.maxTokens ?? 256;
  return {
    async next(task: Task, messages: readonly ChatMessageInput[]): Promise<TurnOutput> {
      const text = renderChat(messages, { tools: task.tools, bosToken, addGenerationPrompt: true });
      const ids = tokenizer.encode(text, { parseSpecial: true, addSpecial: false });
      const room = session.contextSize - ids.length;
      if (room <= 0) return { text: '', finish: 'context', tokens: 0 };
      let result: GenerateResult | undefined;
      try {
        for await (const ev of generate(session, tokenizer, ids, { maxTokens: Math.min(maxTokens, room), sampling: { temperature: 0 } })) {
          if (ev.type === 'done') result = ev.result;
        }
      } catch (e) {
        if (e instanceof ContextOverflowError) return { text: '', finish: 'context', tokens: 0 };
        throw e;
      }
      const r = result!;
      const finish = r.finishDetail === 'eog' || r.finishDetail === 'stop-string' ? 'stop' : r.finishDetail === 'context-full' || r.tokens.length >= room ? 'context' : 'length';
      return { text: r.text, finish, tokens: r.usage.completionTokens };
    },
  };
}

export interface OracleOptions {
  /**
   * Check that each prompt the harness builds (rendered without BOS) is exactly the reference conversation up
   * to that turn, i.e. that the harness feeds the model what training showed it. Default true.
   */
  readonly verifyPrompts?: boolean;
}

/** Replays the task's own reference turns. */
export function oracleGenerator(options: OracleOptions = {}): TurnGenerator {
  const verify = options.verifyPrompts ?? true;
  return {
    async next(task: Task, messages: readonly ChatMessageInput[]): Promise<TurnOutput> {
      const { text, assistantSpans } = renderTrainingText(task, { bosToken: '' });
      const k = messages.filter((m) => m.role === 'assistant').length;
      const span = assistantSpans[k];
      if (!span) return { text: '', finish: 'stop', tokens: 0 };
      if (verify) {
        const prompt = renderChat(messages, { tools: task.tools, addGenerationPrompt: true });
        if (prompt !== text.slice(0, span[0])) throw new Error(`task ${task.id}: the harness's prompt for turn ${k} differs from the reference conversation`);
      }
      const turn = text.slice(span[0], span[1]);
      return { text: turn.endsWith(IM_END) ? turn.slice(0, -IM_END.length) : turn, finish: 'stop', tokens: 0 };
    },
  };
}
