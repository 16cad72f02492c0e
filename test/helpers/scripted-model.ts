// ScriptedModel: a stand-in for the real model behind the engine's narrow model interface (EngineModel in
// src/server/engine/model-port.ts) that makes each sequence say a scripted reply. Everything else is real:
// the chat template, the tokenizer, the batch scheduler, sampling, the reasoning and tool-call parsers,
// constrained decoding, the HTTP APIs. Use it to get known reasoning, content and tool-call text through
// the whole stack (the real random-weight models say gibberish).
//
//   import { ScriptedModel } from '../helpers/scripted-model.js';
//   const model = new ScriptedModel(tokenizer, (p) =>
//     p.text.includes('weather') ? 'The user wants the weather.\n</think>\n<tool_call>\n<function=get_weather>\n' +
//       '<parameter=city>\nParis\n</parameter>\n</function>\n</tool_call>' : 'Short thought.\n</think>\nHello!');
//   const service = createChatService({ model, tokenizer, parallel: 2 });
//
// The reply callback gets the prompt (`text`: the decoded prompt, special tokens included, so a chat prompt
// ends with `<|im_start|>assistant\n<think>\n`; `tokens`: its ids) and returns what the model "generates"
// after it: a string, or { text, repeat } where `repeat` is cycled forever after `text` instead of ending
// (for token limits and the repetition guard). The text is tokenized with the real tokenizer (the text of
// special tokens such as `</think>` and `<tool_call>` becomes those tokens), then the end-of-turn token
// (`<|im_end|>`, else EOS) follows.
//
// Logits are `margin` (default 50) for the scripted token and 0 for every other, so any sampler settings
// pick the scripted token; a constraint that refuses it makes the sampler choose among the allowed ones.
//
// Options: maxBatch (default 64), margin, delayMs (each forward pass resolves after this many
// milliseconds, asynchronously, so HTTP I/O interleaves with steps).
// Controls and introspection:
//   stall()        the next forward pass never resolves until the returned release() is called (a wedged
//                  engine, for /health tests)
//   passes         every forward pass so far: the token count of each item
//   prompts        every prompt a reply was planned for, in order
//
// A reply is planned at the first logits request after the sequence was (re)started for a request (the
// scheduler calls truncate() when it assigns a sequence) or fed several tokens at once (a prompt);
// generated tokens are fed back one at a time and index into the plan by position, so a token the engine
// forces (a reasoning budget, a constraint) shifts nothing: the script simply goes on.
import type { EngineBatchItem, EngineModel, EngineSequence } from '../../src/server/engine/model-port.js';
import type { Tokenizer } from '../../src/tokenizer/index.js';

export interface ScriptedPrompt {
  readonly text: string;
  readonly tokens: readonly number[];
}

export type ScriptedReply = string | { readonly text: string; readonly repeat?: string };

export interface ScriptedModelOptions {
  readonly maxBatch?: number;
  readonly margin?: number;
  readonly delayMs?: number;
}

class ScriptedSequence implements EngineSequence {
  length = 0;
  readonly maxRollback = Infinity;
  readonly tokens: number[] = [];
  plan: { anchor: number; tokens: number[]; repeat: number[] } | null = null;

  constructor(readonly maxLength: number) {}

  truncate(length: number): void {
    if (length < 0 || length > this.length) throw new RangeError(`cannot truncate ${this.length} positions to ${length}`);
    this.length = length;
    this.tokens.length = length;
    this.plan = null;
  }
}

export class ScriptedModel implements EngineModel {
  readonly vocabSize: number;
  readonly maxBatch: number;
  readonly margin: number;
  readonly delayMs: number;
  readonly passes: number[][] = [];
  readonly prompts: ScriptedPrompt[] = [];
  private readonly endToken: number;
  private stalled: Promise<void> | null = null;

  constructor(
    readonly tokenizer: Tokenizer,
    private readonly reply: (prompt: ScriptedPrompt) => ScriptedReply,
    options: ScriptedModelOptions = {},
  ) {
    this.vocabSize = tokenizer.vocabSize;
    this.maxBatch = options.maxBatch ?? 64;
    this.margin = options.margin ?? 50;
    this.delayMs = options.delayMs ?? 0;
    const imEnd = tokenizer.tokenId('<|im_end|>');
    const end = imEnd ?? tokenizer.eos;
    if (end === undefined) throw new Error('ScriptedModel: the tokenizer has neither <|im_end|> nor an EOS token');
    this.endToken = end;
  }

  createSequence(maxLength: number): EngineSequence {
    return new ScriptedSequence(maxLength);
  }

  /** The next forward pass hangs until release() is called. */
  stall(): () => void {
    let release!: () => void;
    this.stalled = new Promise<void>((r) => (release = r));
    return release;
  }

  forwardMany(items: readonly EngineBatchItem[]): Float32Array[] | Promise<Float32Array[]> {
    const total = items.reduce((a, it) => a + it.tokens.length, 0);
    if (total > this.maxBatch) throw new RangeError(`${total} tokens in one pass exceed the batch size ${this.maxBatch}`);
    this.passes.push(items.map((it) => it.tokens.length));
    const rows = items.map((it) => this.evaluate(it));
    const stall = this.stalled;
    this.stalled = null;
    if (stall) return stall.then(() => rows);
    if (this.delayMs > 0) return new Promise((r) => setTimeout(() => r(rows), this.delayMs));
    return rows;
  }

  private evaluate(item: EngineBatchItem): Float32Array {
    const seq = item.seq as ScriptedSequence;
    if (!(seq instanceof ScriptedSequence)) throw new TypeError('ScriptedModel: a sequence must come from createSequence()');
    if (seq.length + item.tokens.length > seq.maxLength) throw new RangeError('ScriptedModel: the sequence is full');
    for (const t of item.tokens) {
      if (!Number.isInteger(t) || t < 0 || t >= this.vocabSize) throw new RangeError(`token id ${t} is outside the vocabulary`);
      seq.tokens.push(t);
    }
    seq.length += item.tokens.length;
    if (item.tokens.length > 1) seq.plan = null;
    if (item.logits === 'none') return new Float32Array(0);
    if (!seq.plan) seq.plan = this.planFor(seq.tokens);
    const k = seq.tokens.length - seq.plan.anchor;
    const { tokens, repeat } = seq.plan;
    const next = k < tokens.length ? tokens[k]! : repeat.length > 0 ? repeat[(k - tokens.length) % repeat.length]! : this.endToken;
    const row = new Float32Array(this.vocabSize);
    row[next] = this.margin;
    return row;
  }

  private planFor(history: readonly number[]): { anchor: number; tokens: number[]; repeat: number[] } {
    const prompt: ScriptedPrompt = { text: this.tokenizer.decode(history), tokens: [...history] };
    this.prompts.push(prompt);
    const r = this.reply(prompt);
    const { text, repeat } = typeof r === 'string' ? { text: r, repeat: undefined } : r;
    const enc = (s: string) => this.tokenizer.encode(s, { parseSpecial: true, addSpecial: false });
    return { anchor: history.length, tokens: enc(text), repeat: repeat ? enc(repeat) : [] };
  }
}
