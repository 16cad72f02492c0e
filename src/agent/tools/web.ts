// The web tools: fetch_url (a page as readable text; HTML is converted, other text passed through) and,
// when a search provider is configured, web_search. Hosts are checked against an allow-list at every
// redirect; without one, any public host is allowed but loopback and private addresses are refused.
// Time and size are bounded: the body is read as a stream and cut at maxBytes.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { AgentTool, ToolContext } from '../tool.js';
import { htmlToText } from './html-text.js';

export interface SearchHit {
  readonly title: string;
  readonly url: string;
  readonly snippet?: string;
}

/** Anything that answers a query with hits: a hosted search API, a local index, a test stub. */
export interface SearchProvider {
  readonly name: string;
  search(query: string, opts: { limit: number; signal: AbortSignal }): Promise<SearchHit[]>;
}

export interface WebOptions {
  /** Hosts that may be fetched: "example.com", "*.example.org", "127.0.0.1:8080" (host:port). Default: any public host. */
  readonly allowHosts?: readonly string[];
  /** Per request (default 20000 ms). */
  readonly timeMs?: number;
  /** Largest body read (default 2 MiB). */
  readonly maxBytes?: number;
  /** Characters of text returned (default 20000; the model may ask for fewer). */
  readonly maxChars?: number;
  readonly search?: SearchProvider;
}

export function privateHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost') || h === '0.0.0.0' || h === '::' || h === '::1') return true;
  if (isIP(h) === 4) {
    const [a, b] = h.split('.').map(Number) as [number, number];
    return a === 127 || a === 10 || a === 0 || (a === 169 && b === 254) || (a === 172 && b >= 16 && b < 32) || (a === 192 && b === 168) || (a === 100 && b >= 64 && b < 128);
  }
  if (isIP(h) === 6) return h.startsWith('fc') || h.startsWith('fd') || h.startsWith('fe80') || h.startsWith('::ffff:');
  return false;
}

/** Why a URL may not be fetched, or null when it may. */
export function urlRefusal(url: URL, allow: readonly string[] | undefined): string | null {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `only http and https URLs are fetched, not ${url.protocol}`;
  const host = url.hostname.toLowerCase();
  if (!allow) return privateHost(host) ? `${host} is a loopback or private address; allow it explicitly to fetch it` : null;
  const ok = allow.some((rule) => {
    const r = rule.toLowerCase();
    if (r.includes(':') && !r.startsWith('[')) return `${host}:${url.port || (url.protocol === 'https:' ? '443' : '80')}` === r;
    if (r.startsWith('*.')) return host.endsWith(r.slice(1)) || host === r.slice(2);
    return host === r;
  });
  return ok ? null : `${url.host} is not in the allowed hosts (${allow.join(', ')})`;
}

/** Without an allow-list, a public-looking name that resolves to a private address is refused too. */
async function resolvesPrivate(hostname: string): Promise<string | null> {
  if (isIP(hostname.replace(/^\[|\]$/g, ''))) return null;
  let addrs: { address: string }[];
  try {
    addrs = await lookup(hostname, { all: true });
  } catch {
    return null; // fetch reports the failure to resolve
  }
  const bad = addrs.find((a) => privateHost(a.address));
  return bad ? `${hostname} resolves to ${bad.address}, a loopback or private address; allow the host explicitly to fetch it` : null;
}

async function readCapped(res: Response, maxBytes: number): Promise<{ buf: Buffer; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let n = 0;
  const reader = res.body?.getReader();
  if (!reader) return { buf: Buffer.alloc(0), truncated: false };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return { buf: Buffer.concat(chunks), truncated: false };
    const room = maxBytes - n;
    chunks.push(Buffer.from(value.subarray(0, room)));
    n += Math.min(room, value.length);
    if (value.length >= room) {
      await reader.cancel();
      return { buf: Buffer.concat(chunks), truncated: true };
    }
  }
}

export function webTools(o: WebOptions = {}): AgentTool[] {
  const timeMs = o.timeMs ?? 20_000;
  const maxBytes = o.maxBytes ?? 2 * 1024 * 1024;
  const maxChars = o.maxChars ?? 20_000;
  const fetchUrl: AgentTool = {
    name: 'fetch_url',
    description: `Fetch a web page (http/https) and return its readable text, with links as [text](url). At most ${maxChars} characters${o.allowHosts ? `; allowed hosts: ${o.allowHosts.join(', ')}` : ''}.`,
    parameters: {
      type: 'object',
      properties: { url: { type: 'string' }, max_chars: { type: 'integer', minimum: 100, description: `characters of text to return (at most ${maxChars})` } },
      required: ['url'],
    },
    run: async (a, ctx: ToolContext) => {
      let url: URL;
      try {
        url = new URL(a.url as string);
      } catch {
        return { content: `not a valid URL: ${String(a.url)}`, isError: true };
      }
      const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(timeMs)]);
      let res: Response | undefined;
      try {
        for (let hop = 0; ; hop++) {
          const refusal = urlRefusal(url, o.allowHosts) ?? (o.allowHosts ? null : await resolvesPrivate(url.hostname));
          if (refusal) return { content: `refused: ${refusal}`, isError: true };
          res = await fetch(url, { redirect: 'manual', signal, headers: { 'user-agent': 'stepflash-agent/0.1', accept: 'text/html,text/plain,application/json;q=0.9,*/*;q=0.5' } });
          const loc = res.headers.get('location');
          if (res.status >= 300 && res.status < 400 && loc) {
            await res.body?.cancel();
            if (hop >= 5) return { content: 'too many redirects', isError: true };
            url = new URL(loc, url);
            continue;
          }
          break;
        }
        const { buf, truncated } = await readCapped(res, maxBytes);
        const type = res.headers.get('content-type') ?? '';
        if (!/text|json|xml|javascript/.test(type) && type !== '' && buf.includes(0)) return { content: `${url.href} is not text (${type}, ${buf.length} bytes)`, isError: true };
        const raw = buf.toString('utf8');
        const page = /html/.test(type) || /^\s*<(!doctype html|html)/i.test(raw) ? htmlToText(raw, url.href) : { title: '', text: raw };
        const limit = Math.min(maxChars, (a.max_chars as number | undefined) ?? maxChars);
        const cut = page.text.length > limit;
        const text = cut ? `${page.text.slice(0, limit)}\n[... ${page.text.length - limit} more characters not shown ...]` : page.text;
        const head = [`URL: ${url.href}`, `Status: ${res.status}`];
        if (page.title) head.push(`Title: ${page.title}`);
        if (truncated) head.push(`(only the first ${maxBytes} bytes of the page were read)`);
        return { content: `${head.join('\n')}\n\n${text}`, isError: res.status >= 400, data: { url: url.href, status: res.status, title: page.title } };
      } catch (e) {
        if (ctx.signal.aborted) return { content: 'cancelled', isError: true };
        if (signal.aborted) return { content: `no complete response from ${url.host} within ${timeMs} ms`, isError: true };
        const cause = (e as Error & { cause?: Error }).cause;
        return { content: `fetch failed: ${cause?.message ?? (e as Error).message}`, isError: true };
      }
    },
  };
  const tools = [fetchUrl];
  const provider = o.search;
  if (provider) {
    tools.push({
      name: 'web_search',
      description: `Search the web (${provider.name}); returns titles, URLs and snippets. Open results with fetch_url.`,
      parameters: { type: 'object', properties: { query: { type: 'string', minLength: 1 }, limit: { type: 'integer', minimum: 1, maximum: 50 } }, required: ['query'] },
      run: async (a, ctx) => {
        const hits = await provider.search(a.query as string, { limit: (a.limit as number | undefined) ?? 10, signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(timeMs)]) });
        if (hits.length === 0) return { content: `no results for "${String(a.query)}"` };
        return { content: hits.map((h, i) => `${i + 1}. ${h.title}\n   ${h.url}${h.snippet ? `\n   ${h.snippet}` : ''}`).join('\n'), data: hits };
      },
    });
  }
  return tools;
}

/**
 * A search provider over any HTTP endpoint answering GET url?q=QUERY&n=LIMIT with JSON: an array of
 * {title, url, snippet}, or an object with such an array in `results`, `items` or `hits`.
 */
export function httpJsonSearch(endpoint: string, name = 'http-json'): SearchProvider {
  return {
    name,
    async search(query, { limit, signal }) {
      const u = new URL(endpoint);
      u.searchParams.set('q', query);
      u.searchParams.set('n', String(limit));
      const res = await fetch(u, { signal });
      if (!res.ok) throw new Error(`search endpoint answered HTTP ${res.status}`);
      const j = (await res.json()) as unknown;
      const list = (Array.isArray(j) ? j : ((j as Record<string, unknown>).results ?? (j as Record<string, unknown>).items ?? (j as Record<string, unknown>).hits)) as Record<string, unknown>[] | undefined;
      if (!Array.isArray(list)) throw new Error('search endpoint did not return a list of results');
      return list.slice(0, limit).map((h) => ({ title: String(h.title ?? ''), url: String(h.url ?? h.link ?? ''), snippet: h.snippet === undefined ? undefined : String(h.snippet) }));
    },
  };
}
