// The web tools against a local HTTP server: HTML to readable text, the host allow-list checked at
// every redirect, loopback refused without one, size and time limits, and a pluggable search provider.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { htmlToText, httpJsonSearch, webTools } from '../../src/agent/tools/index.js';
import { privateHost } from '../../src/agent/tools/web.js';
import type { AgentTool } from '../../src/agent/tool.js';

let server: Server;
let base = '';
let host = '';
before(async () => {
  server = createServer((req, res) => {
    const u = new URL(req.url!, 'http://x');
    if (u.pathname === '/page') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(`<!doctype html><html><head><title>Tea &amp; Cake</title><style>body{}</style><script>alert("no")</script></head>
        <body><nav>menu junk</nav><h1>Green tea</h1><p>Steep at 80&deg;C for <b>2&nbsp;minutes</b>.</p>
        <ul><li>one</li><li>two</li></ul><a href="/more">More &gt;</a><!-- hidden --></body></html>`);
    } else if (u.pathname === '/hop') {
      res.writeHead(302, { location: '/page' }).end();
    } else if (u.pathname === '/away') {
      res.writeHead(302, { location: 'http://example.invalid/x' }).end();
    } else if (u.pathname === '/big') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('z'.repeat(300_000));
    } else if (u.pathname === '/hang') {
      // never answers
    } else if (u.pathname === '/search') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ results: [{ title: `About ${u.searchParams.get('q')}`, url: `${base}/page`, snippet: 'tea facts' }, { title: 'Two', url: `${base}/hop` }].slice(0, Number(u.searchParams.get('n'))) }));
    } else res.writeHead(404).end('missing');
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  base = `http://${host}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

const ctx = () => ({ signal: new AbortController().signal, workspace: '/tmp', callId: 'c' });
const tool = (tools: AgentTool[], name: string) => tools.find((t) => t.name === name)!;

describe('web tools', () => {
  test('fetch_url returns the readable text of a page with links resolved', async () => {
    const r = await tool(webTools({ allowHosts: [host] }), 'fetch_url').run({ url: `${base}/hop` }, ctx());
    assert.equal(r.isError, false);
    assert.equal(r.content, `URL: ${base}/page\nStatus: 200\nTitle: Tea & Cake\n\n# Green tea\n\nSteep at 80°C for 2 minutes.\n\n- one\n- two\n[More >](${base}/more)`);
  });

  test('hosts are checked against the allow-list at every redirect; loopback needs explicit permission', async () => {
    const allowed = webTools({ allowHosts: [host] });
    assert.match((await tool(allowed, 'fetch_url').run({ url: `${base}/away` }, ctx())).content, /^refused: example\.invalid is not in the allowed hosts/);
    assert.match((await tool(allowed, 'fetch_url').run({ url: 'http://other.example/' }, ctx())).content, /^refused: other\.example is not in the allowed hosts/);
    assert.match((await tool(allowed, 'fetch_url').run({ url: 'file:///etc/passwd' }, ctx())).content, /only http and https/);
    const open = tool(webTools(), 'fetch_url');
    for (const u of [`${base}/page`, 'http://localhost:1/', 'http://10.1.2.3/', 'http://[::1]:80/', 'http://192.168.0.1/']) {
      const r = await open.run({ url: u }, ctx());
      assert.match(r.content, /^refused: .* is a loopback or private address/, u);
    }
  });

  test('private and loopback addresses are recognised (names are also resolved before fetching)', () => {
    for (const h of ['127.0.0.1', '10.0.0.8', '172.20.1.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', '[::1]', 'fd00::1', 'fe80::1', '::ffff:127.0.0.1', 'localhost', 'db.localhost']) assert.equal(privateHost(h), true, h);
    for (const h of ['8.8.8.8', '172.32.0.1', 'example.com', '2001:db8::1']) assert.equal(privateHost(h), false, h);
  });

  test('size and time limits', async () => {
    const small = await tool(webTools({ allowHosts: [host], maxBytes: 1000, maxChars: 500 }), 'fetch_url').run({ url: `${base}/big` }, ctx());
    assert.match(small.content, /only the first 1000 bytes of the page were read/);
    assert.match(small.content, /\[\.\.\. 500 more characters not shown \.\.\.\]$/);
    const t0 = performance.now();
    const slow = await tool(webTools({ allowHosts: [host], timeMs: 300 }), 'fetch_url').run({ url: `${base}/hang` }, ctx());
    assert.ok(performance.now() - t0 < 2000);
    assert.match(slow.content, /no complete response from .* within 300 ms/);
    assert.equal((await tool(webTools({ allowHosts: [host] }), 'fetch_url').run({ url: `${base}/nothing` }, ctx())).isError, true);
  });

  test('web_search exists only with a provider, and lists the provider hits', async () => {
    assert.equal(webTools().some((t) => t.name === 'web_search'), false);
    const s = tool(webTools({ search: httpJsonSearch(`${base}/search`, 'local') }), 'web_search');
    assert.match(s.description, /\(local\)/);
    const r = await s.run({ query: 'green tea', limit: 1 }, ctx());
    assert.equal(r.content, `1. About green tea\n   ${base}/page\n   tea facts`);
  });

  test('htmlToText keeps structure and decodes entities', () => {
    const { title, text } = htmlToText('<title>A &#x26; B</title><div>x<br>y</div><table><tr><td>1</td><td>2</td></tr></table><p>&#169; &unknown;</p>');
    assert.equal(title, 'A & B');
    assert.equal(text, 'x\ny\n\n1 2\n\n© &unknown;');
  });
});
