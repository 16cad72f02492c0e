// The engine's counters, gauges and histograms, rendered in the Prometheus text exposition format 0.0.4
// (what `GET /metrics` serves). No client library: the format is a few lines per metric.

export type Outcome = 'stop' | 'length' | 'tool_calls' | 'cancelled' | 'error' | 'overloaded' | 'context_length' | 'invalid_request';
const OUTCOMES: readonly Outcome[] = ['stop', 'length', 'tool_calls', 'cancelled', 'error', 'overloaded', 'context_length', 'invalid_request'];

class Histogram {
  private readonly counts: number[];
  private sum = 0;
  private n = 0;

  constructor(readonly buckets: readonly number[]) {
    this.counts = buckets.map(() => 0);
  }

  observe(v: number): void {
    if (!Number.isFinite(v)) return;
    this.sum += v;
    this.n++;
    this.buckets.forEach((b, i) => {
      if (v <= b) this.counts[i]!++;
    });
  }

  render(name: string, help: string): string {
    let s = `# HELP ${name} ${help}\n# TYPE ${name} histogram\n`;
    this.buckets.forEach((b, i) => (s += `${name}_bucket{le="${b}"} ${this.counts[i]}\n`));
    s += `${name}_bucket{le="+Inf"} ${this.n}\n${name}_sum ${num(this.sum)}\n${name}_count ${this.n}\n`;
    return s;
  }
}

function num(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(Math.round(v * 1e6) / 1e6);
}

export interface EngineGauges {
  readonly parallel: number;
  readonly activeSlots: number;
  readonly queued: number;
  readonly healthy: boolean;
  readonly draftMax: number;
}

export class EngineMetrics {
  private readonly requests = new Map<Outcome, number>(OUTCOMES.map((o) => [o, 0]));
  promptTokens = 0;
  cachedPromptTokens = 0;
  completionTokens = 0;
  reasoningTokens = 0;
  steps = 0;
  stepTokens = 0;
  draftTokens = 0;
  draftAccepted = 0;
  private readonly ttft = new Histogram([0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120]);
  private readonly tps = new Histogram([1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]);
  private readonly stepSeconds = new Histogram([0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30]);

  request(outcome: Outcome): void {
    this.requests.set(outcome, this.requests.get(outcome)! + 1);
  }

  finished(r: { promptTokens: number; cachedTokens: number; completionTokens: number; reasoningTokens: number }): void {
    this.promptTokens += r.promptTokens;
    this.cachedPromptTokens += r.cachedTokens;
    this.completionTokens += r.completionTokens;
    this.reasoningTokens += r.reasoningTokens;
  }

  timeToFirstToken(seconds: number): void {
    this.ttft.observe(seconds);
  }

  decodeSpeed(tokensPerSecond: number): void {
    this.tps.observe(tokensPerSecond);
  }

  /** Draft tokens verified and kept (speculative decoding), as they are decided. */
  drafts(drafted: number, accepted: number): void {
    this.draftTokens += drafted;
    this.draftAccepted += accepted;
  }

  step(ms: number, tokens: number): void {
    this.steps++;
    this.stepTokens += tokens;
    this.stepSeconds.observe(ms / 1000);
  }

  render(g: EngineGauges): string {
    const lines: string[] = [];
    const metric = (name: string, type: 'counter' | 'gauge', help: string, value: number) =>
      lines.push(`# HELP ${name} ${help}\n# TYPE ${name} ${type}\n${name} ${num(value)}\n`);
    let req = '# HELP stepflash_requests_total Requests by how they ended (rejections included).\n# TYPE stepflash_requests_total counter\n';
    for (const [o, n] of this.requests) req += `stepflash_requests_total{outcome="${o}"} ${n}\n`;
    lines.push(req);
    metric('stepflash_prompt_tokens_total', 'counter', 'Prompt tokens of finished requests.', this.promptTokens);
    metric('stepflash_prompt_tokens_cached_total', 'counter', 'Prompt tokens reused from a slot cache instead of evaluated.', this.cachedPromptTokens);
    metric('stepflash_completion_tokens_total', 'counter', 'Generated tokens (reasoning included).', this.completionTokens);
    metric('stepflash_reasoning_tokens_total', 'counter', 'Generated tokens inside the reasoning block.', this.reasoningTokens);
    metric('stepflash_queue_depth', 'gauge', 'Requests waiting for a slot.', g.queued);
    metric('stepflash_active_slots', 'gauge', 'Slots serving a request.', g.activeSlots);
    metric('stepflash_slots', 'gauge', 'Slots (sequences decoded together).', g.parallel);
    metric('stepflash_engine_healthy', 'gauge', '1 while the engine loop is making progress.', g.healthy ? 1 : 0);
    metric('stepflash_steps_total', 'counter', 'Batched forward passes.', this.steps);
    metric('stepflash_step_tokens_total', 'counter', 'Tokens evaluated by forward passes (prompt chunks and decode tokens).', this.stepTokens);
    lines.push(this.stepSeconds.render('stepflash_step_duration_seconds', 'Duration of one batched forward pass with sampling.'));
    lines.push(this.ttft.render('stepflash_time_to_first_token_seconds', 'From request arrival to its first generated token (queueing and prefill included).'));
    lines.push(this.tps.render('stepflash_decode_tokens_per_second', 'Per-request decode speed after the first token.'));
    metric('stepflash_draft_max_tokens', 'gauge', 'Configured speculative draft length (0: off).', g.draftMax);
    metric('stepflash_draft_tokens_total', 'counter', 'Draft tokens proposed.', this.draftTokens);
    metric('stepflash_draft_accepted_tokens_total', 'counter', 'Draft tokens accepted.', this.draftAccepted);
    metric('stepflash_draft_acceptance_ratio', 'gauge', 'Accepted / proposed draft tokens (NaN before any draft).', this.draftTokens > 0 ? this.draftAccepted / this.draftTokens : NaN);
    return lines.join('');
  }
}
