// One request's generation, as the scheduler runs it: for every logits row it picks the next token
// (sampler, reasoning budget, constrained decoding after `</think>`), turns tokens into text (never half a
// UTF-8 character), splits that text into reasoning, content and tool calls (the format layer's
// OutputParser), applies stop strings to the content, and streams ChatEvents to the API route. It ends on
// an end-of-generation token, a stop string, the token limit, the repetition guard, or cancellation.
import type { ChatEvent, FinishReason, TokenLogprob } from '../chat-service.js';
import { ChatError } from '../chat-service.js';
import { argmax, tokenLogprobs, type Sampler } from '../../engine/sampler.js';
import { StopMatcher } from '../../engine/stop.js';
import { OutputParser, type OutputEvent, type ToolDefinition } from '../../format/index.js';
import type { StreamDecoder, Tokenizer } from '../../tokenizer/index.js';
import { OutputConstraint } from './constraint/constraint.js';
import type { Frame } from './constraint/frame.js';
import type { TokenTrie } from './constraint/token-trie.js';
import { EventChannel } from './event-channel.js';
import { LoopGuard, type LoopGuardOptions } from './loop-guard.js';
import type { EngineMetrics } from './metrics.js';
import { ReasoningTracker } from './reasoning-tracker.js';
import type { SchedulerJob } from './slot.js';
import type { TokenTexts } from './token-text.js';

/** What every generation of one service shares. */
export interface GenerationShared {
  readonly tokenizer: Tokenizer;
  readonly texts: TokenTexts;
  readonly trie: () => TokenTrie;
  readonly eog: ReadonlySet<number>;
  readonly vocabSize: number;
  /** `\n</think>\n` as tokens: what the reasoning budget forces. */
  readonly closeReasoning: readonly number[];
  readonly metrics: EngineMetrics;
}

export interface GenerationOptions {
  readonly prompt: readonly number[];
  readonly maxTokens: number;
  readonly maxTokensClamped: boolean;
  readonly sampler: Sampler;
  readonly stop: readonly string[];
  readonly logprobs?: number;
  /** Chat output (reasoning, tool calls) or raw completion text. */
  readonly chat: boolean;
  /** Tools the parser recognises calls to ([]: none; a call is then returned as content). */
  readonly parserTools: readonly ToolDefinition[];
  /** parallel_tool_calls false: the generation ends after the first complete call. */
  readonly singleToolCall?: boolean;
  /** The grammar for what follows `</think>`, or null. */
  readonly grammar: readonly Frame[] | null;
  readonly reasoningBudget: number;
  readonly loopGuard: LoopGuardOptions | false;
  readonly signal: AbortSignal;
  /** When the request arrived (performance.now()), for time to first token. */
  readonly arrivedAt: number;
}

type EndKind = 'eog' | 'stop-string' | 'length' | 'cancelled';

export class Generation implements SchedulerJob {
  readonly events: EventChannel<ChatEvent>;
  readonly prompt: readonly number[];
  readonly signal: AbortSignal;
  private readonly abort = new AbortController();

  private readonly decoder: StreamDecoder;
  private readonly stopper: StopMatcher;
  private readonly parser: OutputParser | null;
  private readonly tracker: ReasoningTracker;
  private readonly guard: LoopGuard | null;
  /** The grammar as it stands at its start, for checking how a token would end the reasoning. */
  private readonly probe: OutputConstraint | null;
  private constraint: OutputConstraint | null = null;
  private forced: number[] = [];
  private budgetSpent = false;
  private maskBuf: Float32Array | null = null;

  private cachedTokens = 0;
  private completionTokens = 0;
  private reasoningTokens = 0;
  private toolCalls = 0;
  private drafted = 0;
  private draftsAccepted = 0;
  private pendingLogprobs: TokenLogprob[] = [];
  private stopHit: string | null = null;
  private notes: string[] = [];
  private ended = false;
  private startedAt = 0;
  private firstTokenAt = 0;

  constructor(private readonly shared: GenerationShared, private readonly opts: GenerationOptions) {
    this.prompt = opts.prompt;
    // Either the client going away or the consumer dropping the stream ends the generation.
    this.signal = AbortSignal.any([opts.signal, this.abort.signal]);
    this.events = new EventChannel<ChatEvent>(() => this.abort.abort());
    this.decoder = shared.tokenizer.createStreamDecoder({ skipSpecial: true });
    this.stopper = new StopMatcher(opts.stop);
    this.parser = opts.chat ? new OutputParser({ tools: opts.parserTools, startInReasoning: true }) : null;
    this.tracker = new ReasoningTracker(opts.chat);
    this.guard = opts.loopGuard === false ? null : new LoopGuard(opts.loopGuard);
    this.probe = opts.grammar ? this.newConstraint() : null;
    opts.sampler.reset(opts.prompt);
  }

  // ---------------------------------------------------------------------------------------------------
  // SchedulerJob

  started(cachedTokens: number): void {
    this.cachedTokens = cachedTokens;
    this.startedAt = performance.now();
    this.events.push({
      type: 'start',
      promptTokens: this.prompt.length,
      cachedTokens,
      maxTokens: this.opts.maxTokens,
      maxTokensClamped: this.opts.maxTokensClamped,
    });
  }

  next(logits: Float32Array): number | null {
    if (this.ended) return null;
    if (this.firstTokenAt === 0) {
      this.firstTokenAt = performance.now();
      this.shared.metrics.timeToFirstToken((this.firstTokenAt - this.opts.arrivedAt) / 1000);
    }
    const id = this.choose(logits);
    if (id < 0) {
      this.notes.push('constrained decoding found no allowed token; the output was cut');
      return this.finish('length');
    }
    this.opts.sampler.accept(id);
    this.completionTokens++;
    const inReasoning = this.tracker.inReasoning;
    if (inReasoning) this.reasoningTokens++;
    if (this.shared.eog.has(id)) return this.finish('eog');

    const lp = this.opts.logprobs !== undefined && !inReasoning ? this.logprob(logits, id) : undefined;
    this.consume(id, lp);
    if (this.stopHit !== null) return this.finish('stop-string');
    if (this.opts.singleToolCall && this.toolCalls > 0) return this.finish('eog');

    const loop = this.guard?.push(id);
    if (loop) {
      this.notes.push(`repetition detected: the last ${loop.tokens} tokens repeat a ${loop.period}-token cycle; the server ended the generation`);
      return this.finish('length');
    }
    if (this.completionTokens >= this.opts.maxTokens) return this.finish('length');
    return id;
  }

  cancelled(): void {
    this.finish('cancelled');
  }

  draftRoom(): number {
    return this.ended ? 0 : Math.max(0, this.opts.maxTokens - this.completionTokens - 1);
  }

  /** The draft the generation's greedy choice would most likely agree with: after logit bias and penalties. */
  draftPick(logits: Float32Array): number {
    return argmax(this.opts.sampler.process(logits));
  }

  countDrafts(drafted: number, accepted: number): void {
    this.drafted += drafted;
    this.draftsAccepted += accepted;
    this.shared.metrics.drafts(drafted, accepted);
  }

  failed(error: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.shared.metrics.request('error');
    const msg = error instanceof Error ? error.message : String(error);
    this.events.fail(error instanceof ChatError ? error : new ChatError('internal', `generation failed: ${msg}`));
  }

  // ---------------------------------------------------------------------------------------------------
  // Choosing tokens

  private newConstraint(): OutputConstraint {
    return new OutputConstraint(this.opts.grammar!, this.shared.texts, this.shared.trie, this.shared.eog);
  }

  private choose(logits: Float32Array): number {
    const { opts } = this;
    if (opts.chat && !this.budgetSpent && this.tracker.inReasoning && this.reasoningTokens >= opts.reasoningBudget) {
      this.budgetSpent = true;
      this.forced = [...this.shared.closeReasoning];
      this.notes.push(`reasoning budget of ${opts.reasoningBudget} tokens reached; the server closed the reasoning`);
    }
    if (this.forced.length > 0) return this.forced.shift()!;
    const id = opts.sampler.sample(logits);
    if (this.constraint) {
      if (this.constraint.allows(id)) return id;
      return this.sampleMasked(logits, this.constraint.mask(this.shared.vocabSize));
    }
    if (this.probe && this.tracker.inReasoning && !this.endsReasoningBadly(id)) return id;
    if (this.probe && this.tracker.inReasoning) {
      // Rare: this token would leave the reasoning into text the grammar refuses. Allow every token that does not.
      const V = this.shared.vocabSize;
      const mask = new Uint8Array(V);
      for (let t = 0; t < V; t++) mask[t] = this.endsReasoningBadly(t) ? 0 : 1;
      return this.sampleMasked(logits, mask);
    }
    return id;
  }

  /** Whether the token ends the reasoning with text the grammar cannot start with. */
  private endsReasoningBadly(id: number): boolean {
    if (this.shared.eog.has(id)) return false;
    const end = this.tracker.peek(this.shared.texts.bytes(id));
    return end !== null && !this.probe!.acceptsBytes(end.rest);
  }

  private sampleMasked(logits: Float32Array, mask: Uint8Array): number {
    const buf = (this.maskBuf ??= new Float32Array(logits.length));
    let any = false;
    for (let i = 0; i < logits.length; i++) {
      if (mask[i]) {
        buf[i] = logits[i]!;
        any = true;
      } else buf[i] = -Infinity;
    }
    return any ? this.opts.sampler.sample(buf) : -1;
  }

  private logprob(logits: Float32Array, id: number): TokenLogprob {
    const lp = tokenLogprobs(logits, id, this.opts.logprobs ?? 0);
    const tok = this.shared.tokenizer;
    const piece = (t: number) => {
      const bytes = t < tok.vocabSize ? tok.tokenToBytes(t, { special: false }) : new Uint8Array(0);
      return { token: new TextDecoder().decode(bytes), bytes: Array.from(bytes) };
    };
    return { ...piece(id), logprob: lp.logprob, top: lp.top.map((t) => ({ ...piece(t.id), logprob: t.logprob })) };
  }

  // ---------------------------------------------------------------------------------------------------
  // Text

  private consume(id: number, lp: TokenLogprob | undefined): void {
    const bytes = this.shared.texts.bytes(id);
    if (this.tracker.inReasoning) {
      const end = this.tracker.push(bytes);
      if (end && this.opts.grammar) {
        this.constraint = this.newConstraint();
        this.constraint.acceptBytes(end.rest);
      }
    } else if (this.constraint) {
      this.constraint.acceptToken(id);
    }
    if (lp) this.pendingLogprobs.push(lp);
    const text = id < this.shared.tokenizer.vocabSize ? this.decoder.push(id) : '';
    this.emitText(text);
  }

  private emitText(text: string): void {
    if (text === '') return;
    if (this.parser) for (const ev of this.parser.push(text)) this.route(ev);
    else this.content(text);
  }

  private route(ev: OutputEvent): void {
    if (this.stopHit !== null) return;
    if (ev.type === 'reasoning') this.events.push({ type: 'reasoning', text: ev.text });
    else if (ev.type === 'content') this.content(ev.text);
    else {
      this.toolCalls++;
      this.pendingLogprobs = [];
      this.events.push({ type: 'tool_call', index: ev.index, id: ev.call.id, name: ev.call.name, arguments: JSON.stringify(ev.call.arguments) });
    }
  }

  /** Content goes through the stop strings; each content event carries the logprobs of the tokens behind it. */
  private content(text: string): void {
    if (this.stopHit !== null) return;
    const r = this.stopper.push(text);
    if (r.stop !== undefined) this.stopHit = r.stop;
    this.emitContent(r.text);
  }

  private emitContent(text: string): void {
    if (text === '') return;
    if (this.opts.logprobs !== undefined) {
      this.events.push({ type: 'content', text, logprobs: this.pendingLogprobs });
      this.pendingLogprobs = [];
    } else {
      this.events.push({ type: 'content', text });
    }
  }

  // ---------------------------------------------------------------------------------------------------
  // The end

  private finish(kind: EndKind): null {
    if (this.ended) return null;
    if (kind !== 'cancelled' && kind !== 'stop-string') {
      // Release what was held back: an incomplete character, a possible marker, a possible stop string.
      this.emitText(this.decoder.flush());
      if (this.parser) {
        // A call cut off by max_tokens (or a server stop) is dropped: half a call is neither a call nor
        // anything the client should show. One the model itself ended early stays as text.
        const dropOpenCall = kind === 'length';
        for (const ev of this.parser.end({ dropOpenCall })) this.route(ev);
        if (dropOpenCall && this.parser.result().endedInToolCall) this.notes.push('max_tokens was reached inside a tool call; the partial call was dropped');
      }
      if (this.stopHit === null) this.emitContent(this.stopper.flush());
    }
    this.ended = true;
    const now = performance.now();
    let reason: FinishReason;
    if (this.stopHit !== null) reason = 'stop';
    else if (kind === 'eog') reason = this.toolCalls > 0 ? 'tool_calls' : 'stop';
    else if (kind === 'stop-string') reason = 'stop';
    else reason = kind;

    const started = this.startedAt || now;
    const first = this.firstTokenAt || now;
    const prefillMs = first - started;
    const decodeMs = now - first;
    const decodeTokensPerSecond = this.completionTokens > 1 && decodeMs > 0 ? (this.completionTokens - 1) / (decodeMs / 1000) : 0;
    const usage = {
      promptTokens: this.prompt.length,
      completionTokens: this.completionTokens,
      reasoningTokens: this.reasoningTokens,
      cachedTokens: this.cachedTokens,
    };
    const m = this.shared.metrics;
    m.request(reason);
    m.finished(usage);
    if (decodeTokensPerSecond > 0) m.decodeSpeed(decodeTokensPerSecond);
    this.events.push({
      type: 'done',
      finishReason: reason,
      ...(this.stopHit !== null ? { stopSequence: this.stopHit } : {}),
      usage,
      timings: {
        prefillMs,
        decodeMs,
        decodeTokensPerSecond,
        ...(this.drafted > 0 ? { draftTokens: this.drafted, draftAcceptedTokens: this.draftsAccepted, draftAcceptance: this.draftsAccepted / this.drafted } : {}),
      },
      ...(this.notes.length > 0 ? { note: this.notes.join('; ') } : {}),
    });
    this.events.close();
    return null;
  }
}
