// Multi-agent research end to end over HTTP: the Master, Search, Verify and Summary agents all talk to
// stepflash's OpenAI API (a scripted model behind it, multi-fixtures.ts), the sub-agents use the real
// web tools against a local search endpoint and local pages. The answer's citations must point at pages
// the sub-agents actually fetched (checked against the page server's own request log).
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { httpJsonSearch } from '../../src/agent/tools/web.js';
import { checkCitations, pool, research, SourceLedger, traceFor, type ResearchEvent } from '../../src/agent/multi/index.js';
import type { AgentTool } from '../../src/agent/tool.js';
import { startResearchModel, startWeb, type Web } from './multi-fixtures.js';

let web: Web;
before(async () => {
  web = await startWeb();
});
after(async () => {
  await web.close();
});

async function run(opts: { bogusCitation?: number; summaryProse?: boolean; emptyAnswer?: boolean; maxParallel?: number; maxSteps?: number; extraTools?: () => AgentTool[] } = {}) {
  const model = await startResearchModel(opts);
  const events: ResearchEvent[] = [];
  try {
    const result = await research('How tall is the Eiffel Tower and when did it open?', {
      client: { baseURL: model.baseURL, model: 'scripted', retry: { maxRetries: 0 } },
      search: httpJsonSearch(`${web.url}/search`, 'local'),
      allowHosts: [web.host],
      maxParallel: opts.maxParallel ?? 3,
      ...(opts.maxSteps ? { maxSteps: opts.maxSteps } : {}),
      ...(opts.extraTools ? { extraTools: opts.extraTools } : {}),
      onEvent: (e) => events.push(e),
    });
    return { result, events, requests: model.service.requests };
  } finally {
    await model.server.close();
  }
}

describe('research: Master, parallel Search and Verify sub-agents, Summary agents, cited synthesis', () => {
  it('answers with citations that point at pages the sub-agents fetched', async () => {
    web.log.length = 0;
    const { result, events } = await run();
    assert.equal(result.stopReason, 'final');
    assert.match(result.text, /^The Eiffel Tower is 330 metres tall \[\d\], .* opened in 1889 \[\d\]\.$/);
    assert.equal(result.invalidCitations.length, 0);
    // Every cited page was really requested from the page server, and it is the page that says it.
    assert.equal(result.cited.length, 2);
    for (const s of result.cited) assert.ok(web.log.includes(new URL(s.url).pathname), `${s.url} was fetched`);
    const [height, history] = result.cited;
    assert.match(height!.url, /\/pages\/eiffel-height$/);
    assert.match(height!.excerpt, /330 metres/);
    assert.match(history!.url, /\/pages\/eiffel-history$/);
    assert.match(result.text, new RegExp(`330 metres tall \\[${height!.n}\\]`));
    assert.match(result.answer, new RegExp(`\\n\\nSources:\\n\\[${height!.n}\\] Eiffel Tower height — ${web.url}/pages/eiffel-height\\n`));
    // The unrelated search hit was never fetched, so it is not a source.
    assert.ok(!result.sources.some((s) => s.url.endsWith('/unrelated')));
    assert.ok(!web.log.includes('/pages/unrelated'));

    // Three sub-agents: two searches that ran in parallel, then a verification.
    assert.deepEqual(result.reports.map((r) => [r.id, r.role, r.stopReason]), [
      ['search-1', 'search', 'final'],
      ['search-2', 'search', 'final'],
      ['verify-3', 'verify', 'final'],
    ]);
    const order = events.filter((e) => e.type === 'agent_start' || e.type === 'agent_end').map((e) => `${e.type}:${(e as { id: string }).id}`);
    assert.deepEqual(order.slice(0, 2).sort(), ['agent_start:search-1', 'agent_start:search-2']);
    assert.equal(order.at(-2), 'agent_start:verify-3');

    // Each Summary agent's JSON became structured feedback; the never-fetched URL it named was dropped.
    for (const r of result.reports) {
      assert.equal(r.feedback.by, 'model');
      assert.equal(r.feedback.confidence, 'high');
      assert.deepEqual(r.feedback.droppedSources, ['http://127.0.0.1:1/never-fetched']);
      assert.deepEqual(r.feedback.findings[0]!.sources, r.sources.map((s) => s.n));
    }
    assert.equal(result.reports[2]!.feedback.verdict, 'supported');
    // Usage adds up the Master, three sub-agents (3 calls each) and three summaries.
    assert.equal(result.usage.calls, result.masterSteps + 3 * 3 + 3);
    assert.equal(result.masterSteps, 3);
  });

  it('replaces a citation that names no fetched page with [?] and reports it', async () => {
    const { result } = await run({ bogusCitation: 9 });
    assert.deepEqual(result.invalidCitations, [9]);
    assert.match(result.text, /painted every seven years \[\?\]\.$/);
    assert.equal(result.cited.length, 2);
  });

  it('falls back to the sub-agent\'s own report when the Summary agent gives no JSON', async () => {
    const { result } = await run({ summaryProse: true });
    for (const r of result.reports) {
      assert.equal(r.feedback.by, 'fallback');
      assert.match(r.feedback.findings[0]!.claim, /^Found it|^Verdict: supported/);
      assert.deepEqual(r.feedback.findings[0]!.sources, r.sources.map((s) => s.n));
    }
    assert.equal(result.stopReason, 'final');
  });

  it('runs one sub-agent at a time with maxParallel 1', async () => {
    const { events } = await run({ maxParallel: 1 });
    const order = events.filter((e) => e.type === 'agent_start' || e.type === 'agent_end').map((e) => `${e.type}:${(e as { id: string }).id}`);
    assert.deepEqual(order, ['agent_start:search-1', 'agent_end:search-1', 'agent_start:search-2', 'agent_end:search-2', 'agent_start:verify-3', 'agent_end:verify-3']);
  });

  it('assembles a cited answer from the reports when the Master runs out of steps', async () => {
    const { result } = await run({ maxSteps: 1 });
    assert.equal(result.stopReason, 'max_steps');
    assert.match(result.text, /^The research stopped before the lead agent wrote an answer \(max_steps\)/);
    assert.equal(result.reports.length, 2);
    assert.equal(result.cited.length, 2);
    assert.equal(result.invalidCitations.length, 0);
  });
});

describe('research: an empty answer', () => {
  it('is replaced by the reports\' cited findings, saying why', async () => {
    const { result } = await run({ emptyAnswer: true });
    assert.equal(result.stopReason, 'final');
    assert.match(result.text, /^The research stopped before the lead agent wrote an answer \(its answer was empty\)\. What the sub-agents found:\n- /);
    assert.equal(result.reports.length, 3);
    assert.ok(result.cited.length >= 2);
  });
});

describe('research: cancellation', () => {
  it('cancels the Master and its running sub-agents promptly', async () => {
    const model = await startResearchModel({ subDelayMs: 300 });
    const ac = new AbortController();
    const events: ResearchEvent[] = [];
    try {
      const started = Date.now();
      const result = await research('How tall is the Eiffel Tower?', {
        client: { baseURL: model.baseURL, model: 'scripted', retry: { maxRetries: 0 } },
        search: httpJsonSearch(`${web.url}/search`, 'local'),
        allowHosts: [web.host],
        signal: ac.signal,
        onEvent: (e) => {
          events.push(e);
          if (e.type === 'agent_start' && e.id === 'search-2') setTimeout(() => ac.abort(), 100);
        },
      });
      assert.equal(result.stopReason, 'cancelled');
      assert.ok(Date.now() - started < 5000, `${Date.now() - started} ms`);
      // The sub-agents saw the cancellation too: each ended cancelled, none ran to its answer.
      await new Promise((r) => setTimeout(r, 500));
      const ends = events.filter((e) => e.type === 'agent_end') as Extract<ResearchEvent, { type: 'agent_end' }>[];
      assert.deepEqual(ends.map((e) => e.stopReason), ['cancelled', 'cancelled']);
      assert.ok(!events.some((e) => e.type === 'agent_start' && e.id.startsWith('verify')));
    } finally {
      await model.server.close();
    }
  });
});

describe('research: sub-agent tools', () => {
  it('offers extra tools (a python tool in the CLI) to every sub-agent, fresh per agent, and never to the Master', async () => {
    let made = 0;
    const calc: () => AgentTool[] = () => {
      made++;
      return [{ name: 'calc', description: 'compute', parameters: { type: 'object', properties: {} }, run: async () => ({ content: '0' }) }];
    };
    const { requests } = await run({ extraTools: calc });
    const names = (r: (typeof requests)[number]) => (r.tools ?? []).map((t) => t.function.name);
    const system = (r: (typeof requests)[number]) => String((r.messages[0] as { content?: unknown }).content);
    const sub = requests.filter((r) => /^You are a (search|verification) agent/.test(system(r)));
    const master = requests.filter((r) => system(r).startsWith('You are the research lead'));
    assert.ok(sub.length >= 9 && sub.every((r) => names(r).includes('calc') && names(r).includes('fetch_url')));
    assert.ok(master.every((r) => names(r).join() === 'dispatch'));
    assert.equal(made, 3);
  });
});

describe('research parts', () => {
  it('checkCitations accepts [n], [n][m] and [n, m] for known pages only', () => {
    const ledger = new SourceLedger();
    ledger.add('http://a/x#frag', 'A', 'text a', 's1');
    ledger.add('http://b/y', 'B', 'text b', 's2');
    ledger.add('http://a/x', 'A', 'again', 's2');
    assert.equal(ledger.all().length, 2);
    assert.deepEqual(ledger.get('http://a/x')!.fetchedBy, ['s1', 's2']);
    const c = checkCitations('One [1], two [1, 2], three [2][3], code a[0].', ledger);
    assert.equal(c.text, 'One [1], two [1][2], three [2][?], code a[?].');
    assert.deepEqual(c.invalid, [3, 0]);
    assert.deepEqual(c.cited.map((s) => s.n), [1, 2]);
  });

  it('traceFor puts each agent\'s trace next to the Master\'s', () => {
    assert.equal(traceFor('/t/run.jsonl', 'search-1'), '/t/run.search-1.jsonl');
    assert.equal(traceFor('/t.d/run', 'verify-2.summary'), '/t.d/run.verify-2.summary');
    assert.equal(traceFor('/t/.trace', 'a'), '/t/.trace.a');
  });

  it('pool keeps order and never runs more than the limit at once', async () => {
    let running = 0;
    let peak = 0;
    const out = await pool([5, 1, 4, 2, 3], 2, async (x) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, x * 5));
      running--;
      return x * 10;
    });
    assert.deepEqual(out, [50, 10, 40, 20, 30]);
    assert.equal(peak, 2);
  });

  it('refuses an empty question', async () => {
    await assert.rejects(research('  ', { client: { baseURL: 'http://127.0.0.1:1/v1', model: 'x' } }), /question is empty/);
  });
});
