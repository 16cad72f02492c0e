// Fixtures for the research tests: a local "web" (a search endpoint returning results JSON and a few
// HTML pages, logging every request) and a scripted research model behind stepflash's own OpenAI server
// (the real HTTP API over a ScriptedChatService). The script plays every role the way a model would,
// deciding from what it is sent: the Master dispatches two searches, then a verification, then answers
// citing the source numbers the reports gave it; search agents search and fetch the first result;
// the verifier fetches the page it checks; the Summary agent returns JSON naming the fetched pages (and
// one page nobody fetched, which must be dropped).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ChatRequest } from '../../src/server/chat-service.js';
import { ScriptedChatService, type ScriptedReply } from '../helpers/scripted-service.js';
import { startServer, type TestServer } from '../server/openai/harness.js';

export interface Web {
  readonly url: string;
  readonly host: string;
  /** Paths requested, in order (search queries included). */
  readonly log: string[];
  close(): Promise<void>;
}

const PAGES: Record<string, { title: string; body: string }> = {
  '/pages/eiffel-height': { title: 'Eiffel Tower height', body: 'The Eiffel Tower is 330 metres (1,083 ft) tall, including antennas.' },
  '/pages/eiffel-history': { title: 'Eiffel Tower history', body: 'The tower opened on 31 March 1889 for the World\'s Fair.' },
  '/pages/unrelated': { title: 'Bridges of Paris', body: 'Paris has 37 bridges over the Seine.' },
};

export async function startWeb(): Promise<Web> {
  const log: string[] = [];
  let base = '';
  const server: Server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    log.push(u.pathname + u.search);
    if (u.pathname === '/search') {
      const q = (u.searchParams.get('q') ?? '').toLowerCase();
      const hits = q.includes('open') || q.includes('year')
        ? [{ title: 'Eiffel Tower history', url: `${base}/pages/eiffel-history`, snippet: 'opened in 1889' }]
        : [
            { title: 'Eiffel Tower height', url: `${base}/pages/eiffel-height`, snippet: '330 metres' },
            { title: 'Bridges of Paris', url: `${base}/pages/unrelated`, snippet: 'bridges' },
          ];
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ results: hits }));
      return;
    }
    const page = PAGES[u.pathname];
    if (!page) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(`<!doctype html><html><head><title>${page.title}</title></head><body><nav>menu</nav><p>${page.body}</p></body></html>`);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const port = (server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
  return {
    url: base,
    host: `127.0.0.1:${port}`,
    log,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

type Msg = { role: string; content?: unknown; tool_calls?: unknown };

const text = (m: Msg | undefined): string => (typeof m?.content === 'string' ? m.content : '');
const call = (name: string, args: unknown): ScriptedReply => ({ reasoning: ['Next step.'], toolCalls: [{ name, arguments: JSON.stringify(args) }] });
const say = (content: string): ScriptedReply => ({ reasoning: ['Done.'], content: [content] });

/** The number the reports gave the page whose URL ends with `path` ("[3] http://.../path ..."). */
function numberOf(reports: string, path: string): number | null {
  const m = new RegExp(`^\\[(\\d+)\\] \\S*${path.replace(/[/-]/g, '\\$&')}`, 'm').exec(reports);
  return m ? Number(m[1]) : null;
}

export interface ResearchScriptOptions {
  /** The Master also cites this number, which names no fetched page. */
  readonly bogusCitation?: number;
  /** The Summary agent answers with prose instead of JSON (the fallback path). */
  readonly summaryProse?: boolean;
  /** The Master's last turn is reasoning only, with no answer text. */
  readonly emptyAnswer?: boolean;
  /** Sub-agents' replies stream one piece every this many milliseconds (for cancellation). */
  readonly subDelayMs?: number;
}

export function researchScript(opts: ResearchScriptOptions = {}): (req: ChatRequest) => ScriptedReply {
  return (req) => {
    const reply = play(req, opts);
    const sub = !text((req.messages as readonly Msg[])[0]).startsWith('You are the research lead');
    return sub && opts.subDelayMs ? { ...reply, delayMs: opts.subDelayMs } : reply;
  };
}

function play(req: ChatRequest, opts: ResearchScriptOptions): ScriptedReply {
  const msgs = req.messages as readonly Msg[];
  const system = text(msgs[0]);
  const tools = msgs.filter((m) => m.role === 'tool').map(text);
  const task = text(msgs.find((m) => m.role === 'user'));
  if (system.startsWith('You are the research lead')) {
    if (tools.length === 0) {
      return call('dispatch', {
        tasks: [
          { role: 'search', objective: 'Find the height of the Eiffel Tower in metres' },
          { role: 'search', objective: 'Find the year the Eiffel Tower opened' },
        ],
      });
    }
    if (tools.length === 1) return call('dispatch', { tasks: [{ role: 'verify', objective: 'Verify: the Eiffel Tower is 330 metres tall' }] });
    if (opts.emptyAnswer) return { reasoning: ['I thought about it but wrote nothing.'] };
    const all = tools.join('\n');
    const h = numberOf(all, '/pages/eiffel-height');
    const y = numberOf(all, '/pages/eiffel-history');
    const bogus = opts.bogusCitation ? ` It is also painted every seven years [${opts.bogusCitation}].` : '';
    return say(`The Eiffel Tower is 330 metres tall [${h}], a figure the verification confirmed, and it opened in 1889 [${y}].${bogus}`);
  }
  if (system.startsWith('You are a search agent')) {
    if (tools.length === 0) return call('web_search', { query: task.includes('year') ? 'Eiffel Tower year opened' : 'Eiffel Tower height metres' });
    if (tools.length === 1) {
      const url = /https?:\/\/\S+/.exec(tools[0]!)?.[0];
      return call('fetch_url', { url });
    }
    return say(`Found it: ${tools[1]!.split('\n').slice(-1)[0]}`);
  }
  if (system.startsWith('You are a verification agent')) {
    if (tools.length === 0) return call('web_search', { query: 'Eiffel Tower height metres' });
    if (tools.length === 1) return call('fetch_url', { url: /https?:\/\/\S+/.exec(tools[0]!)?.[0] });
    return say('Verdict: supported. The page says 330 metres.');
  }
  if (system.startsWith('You condense one research agent')) {
    if (opts.summaryProse) return say('The agent found some things.');
    const fetched = [...task.matchAll(/^- (http\S+)/gm)].map((m) => m[1]!);
    const verify = task.includes('Role: verify');
    return say(
      JSON.stringify({
        findings: [{ claim: verify ? 'The height of 330 metres is confirmed' : `Reported: ${task.split('\n')[1]!.slice(11)}`, sources: [...fetched, 'http://127.0.0.1:1/never-fetched'] }],
        ...(verify ? { verdict: 'supported' } : {}),
        open_questions: [],
        dead_ends: [],
        confidence: 'high',
      }),
    );
  }
  return say('unexpected request');
}

export async function startResearchModel(opts: ResearchScriptOptions = {}): Promise<{ server: TestServer; service: ScriptedChatService; baseURL: string }> {
  const service = new ScriptedChatService(researchScript(opts));
  const server = await startServer(service);
  return { server, service, baseURL: `${server.url}/v1` };
}
