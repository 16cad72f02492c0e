// Shared by the parser tests: deterministic ids, chunked parsing, event coalescing.
import { OutputParser, type OutputEvent, type ParsedOutput } from '../../src/format/output-parser.js';
import type { ToolDefinition } from '../../src/format/messages.js';

export function counterIds(): () => string {
  let n = 0;
  return () => 'call_' + (n++).toString(16).padStart(24, '0');
}

/** Merges adjacent reasoning/content deltas, so that differently chunked streams compare equal. */
export function coalesce(events: readonly OutputEvent[]): OutputEvent[] {
  const out: OutputEvent[] = [];
  for (const e of events) {
    const last = out[out.length - 1];
    if (e.type !== 'tool_call' && last && last.type === e.type) last.text += e.text;
    else out.push(e.type === 'tool_call' ? e : { ...e });
  }
  return out;
}

export interface ChunkedRun {
  events: OutputEvent[];
  result: ParsedOutput;
}

export function parseChunks(
  chunks: readonly string[],
  tools?: readonly ToolDefinition[] | null,
  startInReasoning = true,
): ChunkedRun {
  const parser = new OutputParser({ tools, startInReasoning, generateId: counterIds() });
  const events: OutputEvent[] = [];
  for (const c of chunks) events.push(...parser.push(c));
  events.push(...parser.end());
  return { events: coalesce(events), result: parser.result() };
}

/** A small seeded PRNG (mulberry32), so a failing random split can be replayed. */
export function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function fn(name: string, properties?: Record<string, unknown>): ToolDefinition {
  return { type: 'function', function: { name, ...(properties ? { parameters: { type: 'object', properties } } : {}) } };
}

export const TOOLS: ToolDefinition[] = [
  fn('get_weather', {
    city: { type: 'string' },
    unit: { type: 'string', enum: ['celsius', 'fahrenheit'] },
    days: { type: 'integer' },
  }),
  fn('run_shell', { command: { type: 'string' }, timeout: { type: 'number' } }),
  fn('write_file', { path: { type: 'string' }, content: { type: 'string' }, overwrite: { type: 'boolean' } }),
  fn('search', {
    query: { type: 'string' },
    filters: { type: 'object' },
    tags: { type: 'array', items: { type: 'string' } },
    limit: { type: ['integer', 'null'] },
    threshold: { type: 'number' },
    anything: {},
  }),
  fn('get_time'),
];
