// The ChatService the HTTP APIs run on: renders and counts prompts, checks them against the context,
// clamps max tokens, sets up sampling and constrained decoding, and hands each request to the batch
// scheduler as a Generation whose events the API route streams.
import { ChatError, type ChatEvent, type ChatRequest, type ChatService, type TokenCodec } from '../chat-service.js';
import { resolveSamplerOptions, Sampler } from '../../engine/sampler.js';
import type { DraftMode } from '../../engine/speculative.js';
import type { ToolDefinition } from '../../format/index.js';
import type { KvCacheTypes } from '../../engine/kv-cache.js';
import { Step35Model } from '../../model/step35.js';
import type { Tokenizer } from '../../tokenizer/index.js';
import { buildGrammar } from './constraint/grammar.js';
import { resolveLimits, type ConstraintLimits } from './constraint/limits.js';
import { TokenTrie } from './constraint/token-trie.js';
import { Generation, type GenerationShared } from './generation.js';
import type { LoopGuardOptions } from './loop-guard.js';
import { EngineMetrics } from './metrics.js';
import { isEngineModel, stepModelPort, type EngineModel } from './model-port.js';
import { PromptBuilder } from './prompt.js';
import { BatchScheduler } from './scheduler.js';
import { TokenTexts } from './token-text.js';

export interface ChatServiceOptions {
  /** The loaded model, or anything implementing the scheduler's narrow model interface. */
  readonly model: Step35Model | EngineModel;
  /** Key/value cache storage of a Step35Model's sequences (default f32). */
  readonly cacheTypes?: KvCacheTypes;
  readonly tokenizer: Tokenizer;
  /** Reported as the model's name (any requested name maps to it). Default 'step3.5-flash'. */
  readonly modelName?: string;
  /** Positions per sequence (prompt + generated); each slot holds this much KV cache. Default 4096. */
  readonly contextSize?: number;
  /** Sequences decoded together in one forward pass. Default 1. */
  readonly parallel?: number;
  /** Requests that may wait for a slot before new ones are refused as overloaded. Default 4 × parallel. */
  readonly queueSize?: number;
  /**
   * Speculative decoding: tokens the model's MTP heads draft per step (0..3, default 0: off). Every decoding
   * sequence drafts, and the drafts of all of them are verified in the step's one batched pass; the output
   * is what draft 0 produces (see scheduler.ts). Needs a model with MTP heads.
   */
  readonly draft?: number;
  /** How the heads draft (default: chain when the model has at least `draft` heads, else roundrobin). */
  readonly draftMode?: DraftMode;
  /** Stop drafting at a token the head gives less than this probability (default 0: never). */
  readonly draftPMin?: number;
  /** Reasoning tokens before the server closes the reasoning itself, when a request sets none. Default 16384. */
  readonly reasoningBudget?: number;
  /** Tokens per forward pass (decode tokens plus prompt chunks). Default: the model's batch size. */
  readonly stepTokens?: number;
  /** Seconds without progress (or in one forward pass) before /health reports a wedged engine. Default 120. */
  readonly stallSeconds?: number;
  /** The repetition guard's settings, or false to turn it off. */
  readonly loopGuard?: LoopGuardOptions | false;
  /** Caps on what constrained decoding leaves open (see constraint/limits.ts). */
  readonly constraintLimits?: Partial<ConstraintLimits>;
}

const DEFAULT_REASONING_BUDGET = 16384;

export class EngineChatService implements ChatService {
  readonly modelName: string;
  readonly contextSize: number;
  readonly draft: number;
  private readonly engine: EngineModel;
  private readonly prompts: PromptBuilder;
  private readonly scheduler: BatchScheduler;
  private readonly metricsRegistry = new EngineMetrics();
  private readonly shared: GenerationShared;
  private readonly limits: ConstraintLimits;
  private readonly reasoningBudget: number;
  private trie: TokenTrie | null = null;

  constructor(private readonly options: ChatServiceOptions) {
    const { tokenizer } = options;
    this.engine = isEngineModel(options.model) ? options.model : options.model instanceof Step35Model ? stepModelPort(options.model, options.cacheTypes) : badModel();
    this.modelName = options.modelName ?? 'step3.5-flash';
    this.contextSize = options.contextSize ?? 4096;
    this.draft = options.draft ?? 0;
    if (!Number.isInteger(this.draft) || this.draft < 0 || this.draft > 3) throw new RangeError(`draft must be an integer from 0 to 3, got ${this.draft}`);
    this.reasoningBudget = options.reasoningBudget ?? DEFAULT_REASONING_BUDGET;
    if (!(this.reasoningBudget >= 0)) throw new RangeError(`reasoningBudget must be >= 0, got ${this.reasoningBudget}`);
    this.limits = resolveLimits(options.constraintLimits);
    const parallel = options.parallel ?? 1;
    this.scheduler = new BatchScheduler(this.engine, {
      parallel,
      queueSize: options.queueSize ?? 4 * parallel,
      contextSize: this.contextSize,
      stepTokens: options.stepTokens,
      stallMs: (options.stallSeconds ?? 120) * 1000,
      onStep: (s) => this.metricsRegistry.step(s.ms, s.tokens),
      ...(this.draft > 0 ? { draft: { n: this.draft, ...(options.draftMode ? { mode: options.draftMode } : {}), ...(options.draftPMin ? { pMin: options.draftPMin } : {}) } } : {}),
    });
    this.prompts = new PromptBuilder(tokenizer);
    const texts = new TokenTexts(tokenizer, this.engine.vocabSize);
    this.shared = {
      tokenizer,
      texts,
      trie: () => (this.trie ??= new TokenTrie(texts)),
      eog: new Set(tokenizer.eogIds),
      vocabSize: this.engine.vocabSize,
      closeReasoning: tokenizer.encode('\n</think>\n', { parseSpecial: true, addSpecial: false }),
      metrics: this.metricsRegistry,
    };
  }

  get tokens(): TokenCodec {
    const tok = this.options.tokenizer;
    return {
      vocabSize: tok.vocabSize,
      encode: (text, o) => tok.encode(text, o),
      piece: (id) => tok.tokenToBytes(id, { special: true }),
      decode: (ids) => tok.decode(ids),
    };
  }

  countTokens(req: Pick<ChatRequest, 'messages' | 'tools'>): number {
    return this.prompts.chat(req.messages, req.tools ?? []).length;
  }

  chat(req: ChatRequest): AsyncIterable<ChatEvent> {
    return this.run(() => {
      // tool_choice "none": the tools leave the prompt, and a call the model writes anyway stays text.
      const tools: readonly ToolDefinition[] = req.toolChoice === 'none' ? [] : (req.tools ?? []);
      const prompt = this.prompts.chat(req.messages, tools);
      const grammar = buildGrammar({ ...req, tools }, this.limits);
      return { prompt, chat: true, parserTools: tools, grammar };
    }, req);
  }

  complete(req: Parameters<ChatService['complete']>[0]): AsyncIterable<ChatEvent> {
    return this.run(() => ({ prompt: this.prompts.raw(req.prompt), chat: false, parserTools: [], grammar: null }), req);
  }

  private run(
    build: () => { prompt: number[]; chat: boolean; parserTools: readonly ToolDefinition[]; grammar: ReturnType<typeof buildGrammar> },
    req: Omit<ChatRequest, 'messages'>,
  ): AsyncIterable<ChatEvent> {
    const arrivedAt = performance.now();
    const m = this.metricsRegistry;
    try {
      if (!this.scheduler.canAccept()) this.scheduler.refuse();
      const { prompt, chat, parserTools, grammar } = build();
      const maxPrompt = this.contextSize - 1; // at least one token must be left to generate
      if (prompt.length > maxPrompt)
        throw new ChatError('context_length', `prompt is too long: ${prompt.length} tokens > ${maxPrompt} maximum`, { promptTokens: prompt.length, maxContext: maxPrompt });
      const room = this.contextSize - prompt.length;
      const asked = req.maxTokens;
      if (asked !== undefined && !(Number.isInteger(asked) && asked >= 1)) throw new ChatError('invalid_request', `max tokens must be a positive integer, got ${asked}`);
      const maxTokens = Math.min(asked ?? room, room);
      let budget = req.reasoningBudget ?? this.reasoningBudget;
      if (!(budget >= 0)) throw new ChatError('invalid_request', `reasoning budget must be >= 0, got ${budget}`);
      // A constrained answer must get a chance to start: reasoning may take at most half the tokens.
      if (grammar && budget >= maxTokens) budget = Math.floor(maxTokens / 2);
      if (req.logprobs !== undefined && !(Number.isInteger(req.logprobs) && req.logprobs >= 0 && req.logprobs <= 20))
        throw new ChatError('invalid_request', `logprobs must be an integer in 0..20, got ${req.logprobs}`);
      if (req.stop !== undefined && (!Array.isArray(req.stop) || !req.stop.every((s) => typeof s === 'string')))
        throw new ChatError('invalid_request', 'stop must be an array of strings');
      const gen = new Generation(this.shared, {
        prompt,
        maxTokens,
        maxTokensClamped: asked !== undefined && asked > room,
        sampler: this.sampler(req),
        stop: req.stop ?? [],
        logprobs: req.logprobs,
        chat,
        parserTools,
        singleToolCall: req.parallelToolCalls === false,
        grammar,
        reasoningBudget: budget,
        loopGuard: this.options.loopGuard ?? {},
        signal: req.signal,
        arrivedAt,
      });
      this.scheduler.submit(gen);
      return gen.events;
    } catch (e) {
      if (e instanceof ChatError) {
        m.request(e.kind === 'overloaded' ? 'overloaded' : e.kind === 'context_length' ? 'context_length' : e.kind === 'invalid_request' ? 'invalid_request' : 'error');
        throw e;
      }
      m.request('error');
      throw new ChatError('internal', e instanceof Error ? e.message : String(e));
    }
  }

  private sampler(req: Omit<ChatRequest, 'messages'>): Sampler {
    const options = {
      temperature: req.temperature,
      topP: req.topP,
      topK: req.topK,
      minP: req.minP,
      presencePenalty: req.presencePenalty,
      frequencyPenalty: req.frequencyPenalty,
      repeatPenalty: req.repetitionPenalty,
      seed: req.seed,
    };
    try {
      resolveSamplerOptions(options);
      if (req.seed !== undefined && !Number.isFinite(req.seed)) throw new RangeError(`seed must be a finite number, got ${req.seed}`);
    } catch (e) {
      throw new ChatError('invalid_request', (e as Error).message);
    }
    return new Sampler(this.engine.vocabSize, options);
  }

  health(): { readonly ok: boolean; readonly detail: string } {
    return this.scheduler.health();
  }

  metrics(): string {
    const s = this.scheduler.stats;
    return this.metricsRegistry.render({
      parallel: s.parallel,
      activeSlots: s.activeSlots,
      queued: s.queued,
      healthy: this.scheduler.health().ok,
      draftMax: this.draft,
    });
  }

  async close(): Promise<void> {
    await this.scheduler.close();
  }
}

function badModel(): never {
  throw new TypeError('model must be a Step35Model or implement EngineModel (vocabSize, maxBatch, createSequence, forwardMany)');
}
