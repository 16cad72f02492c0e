// Many tools: a real stdio MCP server offering 106 tools. The model is offered only `tool_search`, whose
// description names every tool; a search loads the best matches' schemas, the loaded tools are offered
// from the next call on, and calling one reaches the server.
import { strict as assert } from 'node:assert';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connectMcpServers, rankTools, ToolSearch, type McpToolSource } from '../../src/agent/mcp/index.js';
import type { AgentTool, ToolContext } from '../../src/agent/tool.js';

const root = new URL('../..', import.meta.url).pathname;
const ctx = (): ToolContext => ({ signal: new AbortController().signal, workspace: tmpdir(), callId: 'c1' });

describe('tool search over a 106-tool MCP server', () => {
  let source: McpToolSource;
  before(async () => {
    source = await connectMcpServers([
      { kind: 'stdio', name: 'kit', command: process.execPath, args: ['--import', 'tsx', join(root, 'test/helpers/mcp-stdio-server.ts'), '--many', '100'], env: {}, cwd: root },
    ]);
  });
  after(async () => {
    await source.close();
  });

  const search = (args: Record<string, unknown>) => source.tools().find((t) => t.name === 'tool_search')!.run(args, ctx());

  it('offers only tool_search at first, with every tool name in its description and no schemas', () => {
    assert.equal(source.allTools().length, 106);
    const offered = source.tools();
    assert.deepEqual(offered.map((t) => t.name), ['tool_search']);
    const desc = offered[0]!.description;
    for (const t of source.allTools()) assert.ok(desc.includes(t.name), `${t.name} is named`);
    assert.ok(!desc.includes('"properties"'));
    // The whole offer is far smaller than every schema would be.
    const offerChars = JSON.stringify(offered.map((t) => [t.name, t.description, t.parameters])).length;
    const allChars = JSON.stringify(source.allTools().map((t) => [t.name, t.description, t.parameters])).length;
    assert.ok(offerChars * 3 < allChars, `${offerChars} vs ${allChars}`);
  });

  it('finds the right tool by meaning, returns its schema, loads it, and the call works', async () => {
    const r = await search({ query: 'weather forecast for a city' });
    assert.equal(r.isError, undefined);
    const loaded = (r.data as { loaded: string[] }).loaded;
    assert.equal(loaded[0], 'kit__weather_forecast');
    assert.ok(loaded.length <= 5);
    assert.match(r.content, /kit__weather_forecast: .*\n {2}parameters: \{"type":"object","properties":\{"city"/);
    const offered = source.tools().map((t) => t.name);
    assert.equal(offered[0], 'tool_search');
    assert.ok(offered.includes('kit__weather_forecast'));
    const forecast = source.tools().find((t) => t.name === 'kit__weather_forecast')!;
    assert.deepEqual(forecast.parameters.required, ['city']);
    assert.equal((await forecast.run({ city: 'Oslo', days: 2 }, ctx())).content, 'forecast for Oslo: sunny for 2 day(s)');
    const bad = await forecast.run({ city: 'Oslo', days: 40 }, ctx());
    assert.equal(bad.isError, true);
    assert.match(bad.content, /Invalid arguments for kit__weather_forecast: .*days.*<= 14/);
  });

  it('matches descriptions, exact names and select:, and says so when nothing matches', async () => {
    const rates = await search({ query: 'exchange rates', max_results: 3 });
    assert.deepEqual(
      (rates.data as { loaded: string[] }).loaded.map((n) => n.split('_')[2]),
      ['currency', 'currency', 'currency'],
    );
    const exact = await search({ query: 'kit__stocks_export' });
    assert.equal((exact.data as { loaded: string[] }).loaded[0], 'kit__stocks_export');
    const sel = await search({ query: 'select:kit__maps_delete, kit__email_list' });
    assert.deepEqual((sel.data as { loaded: string[] }).loaded, ['kit__maps_delete', 'kit__email_list']);
    assert.ok(source.tools().some((t) => t.name === 'kit__maps_delete'));
    const none = await search({ query: 'zebra giraffe' });
    assert.match(none.content, /^No tool matched "zebra giraffe"/);
    const unknown = await search({ query: 'select:kit__nope' });
    assert.equal(unknown.isError, true);
    const empty = await search({});
    assert.equal(empty.isError, true);
  });
});

describe('ToolSearch on its own', () => {
  const mk = (name: string, description: string): AgentTool => ({ name, description, parameters: { type: 'object' }, run: async () => ({ content: name }) });
  const tools = Array.from({ length: 50 }, (_, i) => mk(`t${i}_thing`, `generic thing number ${i}`));
  tools.push(mk('getWeather', 'Current weather'), mk('send_email', 'Send an e-mail message'));

  it('ranks name words over description words, splits camelCase, and matches prefixes', () => {
    assert.equal(rankTools(tools, 'weather')[0]!.tool.name, 'getWeather');
    assert.equal(rankTools(tools, 'emai')[0]!.tool.name, 'send_email');
    assert.equal(rankTools(tools, 'nothing-like-it').length, 0);
  });

  it('offers everything under the threshold, and keeps at most maxLoaded loaded tools', () => {
    const small = new ToolSearch({ tools: () => tools.slice(0, 10) });
    assert.equal(small.tools().length, 10);
    const big = new ToolSearch({ tools: () => tools }, { maxLoaded: 2, preload: ['send_email'] });
    assert.deepEqual(big.tools().map((t) => t.name), ['tool_search', 'send_email']);
    big.load(['t1_thing', 't2_thing']);
    assert.deepEqual(big.tools().map((t) => t.name), ['tool_search', 't1_thing', 't2_thing']);
  });
});
