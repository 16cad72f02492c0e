// The pages the research agents actually fetched. Citations in the final answer may only point here: a
// URL the model saw in a search snippet, remembered or invented is not a source. Every sub-agent's
// fetch tool is wrapped so that a successful fetch is recorded (with the agent that made it and the
// start of the page text), and each distinct URL gets a stable number that the Master cites as [n].
import type { AgentTool, ToolResult } from '../tool.js';

export interface Source {
  /** 1-based citation number. */
  readonly n: number;
  readonly url: string;
  readonly title: string;
  /** The beginning of the fetched text, to show what the page said. */
  readonly excerpt: string;
  /** Ids of the agents that fetched it. */
  readonly fetchedBy: string[];
}

const EXCERPT = 400;

/** A URL in one canonical spelling, so `http://h/a` and `http://h/a#x` count as one page. */
export function canonicalUrl(url: string): string {
  try {
    const u = new URL(url);
    u.hash = '';
    return u.href;
  } catch {
    return url.trim();
  }
}

export class SourceLedger {
  private readonly byUrl = new Map<string, Source>();

  add(url: string, title: string, text: string, agent: string): Source {
    const key = canonicalUrl(url);
    const known = this.byUrl.get(key);
    if (known) {
      if (!known.fetchedBy.includes(agent)) known.fetchedBy.push(agent);
      return known;
    }
    const source: Source = { n: this.byUrl.size + 1, url: key, title, excerpt: text.slice(0, EXCERPT), fetchedBy: [agent] };
    this.byUrl.set(key, source);
    return source;
  }

  get(url: string): Source | undefined {
    return this.byUrl.get(canonicalUrl(url));
  }

  byNumber(n: number): Source | undefined {
    return [...this.byUrl.values()].find((s) => s.n === n);
  }

  all(): Source[] {
    return [...this.byUrl.values()];
  }

  fetchedBy(agent: string): Source[] {
    return this.all().filter((s) => s.fetchedBy.includes(agent));
  }
}

/** The text after fetch_url's header lines (URL:, Status:, Title:). */
function bodyOf(content: string): string {
  const i = content.indexOf('\n\n');
  return i >= 0 ? content.slice(i + 2) : content;
}

/**
 * Wraps the page-fetching tools among `tools` (by name, default `fetch_url`) so that each successful
 * fetch is recorded for `agent` and its result starts with the page's citation number.
 */
export function trackFetches(tools: readonly AgentTool[], ledger: SourceLedger, agent: string, fetchNames: readonly string[] = ['fetch_url']): AgentTool[] {
  return tools.map((tool) => {
    if (!fetchNames.includes(tool.name)) return tool;
    return {
      ...tool,
      async run(args, ctx): Promise<ToolResult> {
        const r = await tool.run(args, ctx);
        if (r.isError) return r;
        const data = (r.data ?? {}) as { url?: unknown; title?: unknown };
        const url = typeof data.url === 'string' ? data.url : typeof args.url === 'string' ? args.url : '';
        if (!url) return r;
        const s = ledger.add(url, typeof data.title === 'string' ? data.title : '', bodyOf(r.content), agent);
        return { ...r, content: `[source ${s.n}] ${r.content}` };
      },
    };
  });
}
