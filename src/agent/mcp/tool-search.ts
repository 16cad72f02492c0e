// Deferred tool loading for large tool sets. With 80+ tools every schema would cost prompt tokens on every
// turn and models pick worse among that many, so past a threshold the model is offered only `tool_search`
// (whose description lists every tool's name) plus the tools it has loaded. A search returns the matching
// tools' names, descriptions and schemas, and loads them: from the next model call they are offered as
// ordinary tools. Step's chat template has no deferred-tool notion, so this lives on the client side and
// works with any endpoint. Loaded tools are kept in least-recently-loaded order up to `maxLoaded`.
import type { AgentTool, ToolResult, ToolSource } from '../tool.js';

export interface ToolSearchOptions {
  /** Offer every tool directly while there are at most this many (default 40; 0 = always search). */
  readonly threshold?: number;
  /** Tools a search returns at most (default 5). */
  readonly maxResults?: number;
  /** Loaded tools kept at once; the oldest loads drop out first (default 32). */
  readonly maxLoaded?: number;
  /** Names offered from the start without a search. */
  readonly preload?: readonly string[];
}

export const TOOL_SEARCH_NAME = 'tool_search';
const NAME_LIST_LIMIT = 12_000;

/** Lower-case words of a name or text: splits snake_case, kebab-case, camelCase and punctuation. */
export function words(text: string): string[] {
  return text
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w.length > 0);
}

interface Scored {
  readonly tool: AgentTool;
  readonly score: number;
}

/**
 * Ranks tools for a query: each query word counts by its rarity among the tools (idf), triple in the
 * name, once in the description, half for a prefix match (so "weath" finds "weather"); an exact name
 * wins outright.
 */
export function rankTools(tools: readonly AgentTool[], query: string): Scored[] {
  const q = words(query);
  const exact = query.trim();
  const docs = tools.map((t) => ({ tool: t, name: new Set(words(t.name)), desc: new Set(words(t.description)) }));
  const df = new Map<string, number>();
  for (const d of docs) for (const w of new Set([...d.name, ...d.desc])) df.set(w, (df.get(w) ?? 0) + 1);
  const idf = (w: string): number => Math.log(1 + tools.length / (1 + (df.get(w) ?? 0)));
  const scored: Scored[] = [];
  for (const d of docs) {
    let score = d.tool.name === exact ? 1000 : 0;
    for (const w of q) {
      if (d.name.has(w)) score += 3 * idf(w);
      else if (w.length >= 3 && [...d.name].some((n) => n.startsWith(w))) score += 1.5 * idf(w);
      if (d.desc.has(w)) score += idf(w);
      else if (w.length >= 3 && [...d.desc].some((n) => n.startsWith(w))) score += 0.5 * idf(w);
    }
    if (score > 0) scored.push({ tool: d.tool, score });
  }
  return scored.sort((a, b) => b.score - a.score || a.tool.name.localeCompare(b.tool.name));
}

export class ToolSearch implements ToolSource {
  /** Names loaded by searches, oldest first. */
  readonly loaded: string[] = [];
  private readonly threshold: number;
  private readonly maxResults: number;
  private readonly maxLoaded: number;

  constructor(
    private readonly inner: ToolSource,
    options: ToolSearchOptions = {},
  ) {
    this.threshold = options.threshold ?? 40;
    this.maxResults = options.maxResults ?? 5;
    this.maxLoaded = options.maxLoaded ?? 32;
    for (const n of options.preload ?? []) this.markLoaded(n);
  }

  /** Whether the model currently sees `tool_search` instead of every tool. */
  get active(): boolean {
    return this.inner.tools().length > this.threshold;
  }

  tools(): readonly AgentTool[] {
    const all = this.inner.tools();
    if (all.length <= this.threshold) return all;
    const byName = new Map(all.map((t) => [t.name, t]));
    const loaded = this.loaded.flatMap((n) => byName.get(n) ?? []);
    return [this.searchTool(all), ...loaded];
  }

  async close(): Promise<void> {
    await this.inner.close?.();
  }

  /** Loads tools by exact name (for callers that know what they need); returns the names found. */
  load(names: readonly string[]): string[] {
    const known = new Set(this.inner.tools().map((t) => t.name));
    const found = names.filter((n) => known.has(n));
    for (const n of found) this.markLoaded(n);
    return found;
  }

  private markLoaded(name: string): void {
    const i = this.loaded.indexOf(name);
    if (i >= 0) this.loaded.splice(i, 1);
    this.loaded.push(name);
    while (this.loaded.length > this.maxLoaded) this.loaded.shift();
  }

  private searchTool(all: readonly AgentTool[]): AgentTool {
    let names = all.map((t) => t.name).join(', ');
    if (names.length > NAME_LIST_LIMIT) names = `${names.slice(0, names.lastIndexOf(', ', NAME_LIST_LIMIT))}, ... (search to find the rest)`;
    return {
      name: TOOL_SEARCH_NAME,
      description:
        `Find tools by keywords and load them. ${all.length} tools exist but only loaded ones can be called; ` +
        `a search returns the best matches with their argument schemas and loads them, so you can call them ` +
        `from your next step. Query with words for what you need ("weather forecast"), or "select:name1,name2" ` +
        `for exact names. Available tools: ${names}`,
      parameters: {
        type: 'object',
        properties: {
          query: { type: 'string', description: 'keywords, or select:name1,name2 for exact tool names' },
          max_results: { type: 'integer', minimum: 1, maximum: 20, description: `how many tools to load (default ${this.maxResults})` },
        },
        required: ['query'],
        additionalProperties: false,
      },
      run: async (args): Promise<ToolResult> => this.search(args),
    };
  }

  private search(args: Record<string, unknown>): ToolResult {
    const query = args.query;
    if (typeof query !== 'string' || query.trim().length === 0) {
      return { content: 'tool_search needs a non-empty "query" string', isError: true };
    }
    const max = typeof args.max_results === 'number' && Number.isInteger(args.max_results) ? Math.min(Math.max(args.max_results, 1), 20) : this.maxResults;
    const all = this.inner.tools();
    let picked: AgentTool[];
    if (query.trim().startsWith('select:')) {
      const wanted = query.trim().slice('select:'.length).split(',').map((s) => s.trim()).filter(Boolean);
      const byName = new Map(all.map((t) => [t.name, t]));
      const missing = wanted.filter((n) => !byName.has(n));
      picked = wanted.flatMap((n) => byName.get(n) ?? []);
      if (missing.length > 0 && picked.length === 0) {
        return { content: `No tool is named ${missing.join(', ')}. Search with keywords instead.`, isError: true };
      }
    } else {
      picked = rankTools(all, query).slice(0, max).map((s) => s.tool);
    }
    if (picked.length === 0) {
      return { content: `No tool matched "${query}". Try other words; the tool names are listed in tool_search's description.`, data: { loaded: [] } };
    }
    for (const t of picked) this.markLoaded(t.name);
    const lines = picked.map((t) => `- ${t.name}: ${t.description}\n  parameters: ${JSON.stringify(t.parameters)}`);
    return {
      content: `Loaded ${picked.length} tool${picked.length === 1 ? '' : 's'}; call them from your next step:\n${lines.join('\n')}`,
      data: { loaded: picked.map((t) => t.name) },
    };
  }
}

/** `source` behind a tool search (see ToolSearch). */
export function withToolSearch(source: ToolSource, options: ToolSearchOptions = {}): ToolSearch {
  return new ToolSearch(source, options);
}
