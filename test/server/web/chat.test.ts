// The web chat in a real browser (Debian's chromium, driven by playwright-core) against the real HTTP app
// and OpenAI routes over a scripted service, so what the page shows is known in advance: a streamed
// answer that grows, the reasoning toggle, a tool-call block, tokens/s, stop, errors, and the API key.
// A missing Chromium fails the test on purpose: CI (.ci/run) installs it, and a skipped browser test
// would hide a broken page.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createApp } from '../../../src/server/http/app.js';
import { webRoutes } from '../../../src/server/web/index.js';
import { openaiRoutes } from '../../../src/server/api/openai/index.js';
import { ChatError, type ChatRequest } from '../../../src/server/chat-service.js';
import { ScriptedChatService, type ScriptedReply } from '../../helpers/scripted-service.js';

const CHROMIUM = process.env.STEPFLASH_CHROMIUM ?? '/usr/bin/chromium';
const API_KEY = 'web-chat-test-key';
const REASONING = ['Let me ', 'think about ', '<b>this</b>.'];
const ANSWER = ['Hello', ' from', ' the', ' scripted', ' model.', ' <img src=x onerror="window.pwned=1">'];

function lastUserText(req: ChatRequest): string {
  const last = [...req.messages].reverse().find((m) => m.role === 'user');
  return typeof last?.content === 'string' ? last.content : '';
}

function script(req: ChatRequest): ScriptedReply {
  const text = lastUserText(req);
  if (text.includes('weather')) return { toolCalls: [{ name: 'get_weather', arguments: '{"city":"Paris"}' }], delayMs: 20 };
  if (text.includes('long')) return { content: Array.from({ length: 100 }, (_, i) => `word${i} `), delayMs: 100 };
  if (text.includes('code')) return { content: ['Run this:\n```sh\n', 'echo "<hi>"\n', '```\nDone.'], delayMs: 20 };
  if (text.includes('loop')) return { content: ['la ', 'la ', 'la'], finishReason: 'length', note: 'the repetition guard ended the reply' };
  if (text.includes('busy')) return { error: new ChatError('overloaded', 'the request queue is full') };
  return { reasoning: REASONING, content: ANSWER, delayMs: 120 };
}

describe('web chat in headless Chromium', () => {
  const service = new ScriptedChatService(script);
  let server: Server;
  let origin: string;
  let browser: Browser;
  let page: Page;
  const consoleErrors: string[] = [];
  const foreignRequests: string[] = [];
  const chatPosts: { body: Record<string, unknown>; authorization?: string }[] = [];

  before(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `Chromium not found at ${CHROMIUM}: the web chat test needs a real browser. Install Debian's ` +
          `(apt-get install -y --no-install-recommends chromium; .ci/run does this) or set STEPFLASH_CHROMIUM to a Chromium binary.`,
      );
    }
    server = createApp({ service, routes: [...webRoutes(), ...openaiRoutes()], apiKey: API_KEY });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    page = await browser.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(`${m.text()} [${m.location().url}]`);
    });
    page.on('pageerror', (e) => consoleErrors.push(`uncaught: ${e.message}`));
    page.on('request', (r) => {
      if (new URL(r.url()).origin !== origin) foreignRequests.push(r.url());
      if (r.url().endsWith('/v1/chat/completions')) chatPosts.push({ body: r.postDataJSON(), authorization: r.headers().authorization });
    });
    await page.goto(origin);
  });

  after(async () => {
    await browser?.close();
    if (!server) return;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const lastReply = () => page.locator('article.assistant').last();
  const send = async (text: string) => {
    await page.getByLabel('Message').fill(text);
    await page.getByLabel('Message').press('Enter');
  };

  it('serves the page and its assets with a strict Content-Security-Policy', async () => {
    const res = await fetch(`${origin}/`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'/);
    assert.match(csp, /connect-src 'self'/);
    assert.equal((await fetch(`${origin}/app.js`)).headers.get('content-type'), 'text/javascript; charset=utf-8');
    const again = await fetch(`${origin}/style.css`, { headers: { 'if-none-match': (await fetch(`${origin}/style.css`)).headers.get('etag')! } });
    assert.equal(again.status, 304);
    assert.equal((await fetch(`${origin}/missing.js`)).status, 404);
  });

  it('reports a missing API key, then lists the models once the key is given, and keeps it', async () => {
    await page.getByRole('status').filter({ hasText: '401' }).waitFor();
    await page.getByLabel('API key').fill(API_KEY);
    await page.getByLabel('API key').press('Tab'); // commits the field (change event)
    await page.locator('#model option', { hasText: service.modelName }).waitFor({ state: 'attached' });
    assert.equal(await page.getByRole('status').isHidden(), true);
    assert.equal(await page.evaluate(() => localStorage.getItem('stepflash.apiKey')), API_KEY);
  });

  it('Shift+Enter adds a new line and sends nothing', async () => {
    const input = page.getByLabel('Message');
    await input.fill('one');
    await input.press('Shift+Enter');
    await input.pressSequentially('two');
    assert.equal(await input.inputValue(), 'one\ntwo');
    assert.equal(service.requests.length, 0);
    await input.fill('');
  });

  it('streams the answer as it arrives, with the reasoning in a toggle that folds once the answer starts', async () => {
    await send('hello');
    const answer = lastReply().locator('.content');
    const footer = lastReply().locator('footer');
    const seen: string[] = [];
    let reasoningOpenWhileThinking = false;
    const deadline = Date.now() + 10_000;
    while ((await footer.textContent()) === '' && Date.now() < deadline) {
      const text = (await answer.textContent()) ?? '';
      if (seen.at(-1) !== text) seen.push(text);
      if (text === '' && (await lastReply().locator('details').getAttribute('open').catch(() => null)) !== null) {
        reasoningOpenWhileThinking = true;
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    const final = ANSWER.join('');
    assert.equal(await answer.textContent(), final);
    const partial = seen.filter((s) => s !== '' && s !== final);
    assert.ok(partial.length >= 2, `expected the answer to grow in steps; saw ${JSON.stringify(seen)}`);
    for (const s of partial) assert.ok(final.startsWith(s), `${JSON.stringify(s)} is not a prefix of the answer`);
    assert.ok(reasoningOpenWhileThinking, 'the reasoning block is open while the model reasons');

    // Model output is text, never markup.
    assert.equal(await page.locator('#log img, #log b').count(), 0);
    assert.equal(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned), undefined);

    const details = lastReply().locator('details');
    assert.equal(await details.getAttribute('open'), null, 'reasoning is folded once the answer has started');
    await details.getByText('Reasoning').click();
    assert.notEqual(await details.getAttribute('open'), null);
    const reasoning = details.locator('.reasoning-text');
    assert.equal(await reasoning.isVisible(), true);
    assert.equal(await reasoning.textContent(), REASONING.join(''));

    assert.match((await footer.textContent()) ?? '', /\d+\.\d tok\/s · draft acceptance —/);
    assert.deepEqual(service.requests[0]!.messages, [{ role: 'user', content: 'hello' }]);
    const post = chatPosts[0]!;
    assert.equal(post.authorization, `Bearer ${API_KEY}`);
    assert.equal(post.body.model, service.modelName);
    assert.equal(post.body.stream, true);
    assert.deepEqual(post.body.stream_options, { include_usage: true });
  });

  it('sends the reasoning back and shows a tool call as its own block', async () => {
    await send('what is the weather?');
    const call = lastReply().locator('.tool-call');
    await call.waitFor();
    await lastReply().locator('footer', { hasText: 'tok/s' }).waitFor();
    assert.equal(await call.locator('.tool-name').textContent(), 'get_weather');
    assert.equal(await call.locator('.tool-args').textContent(), '{"city":"Paris"}');
    const previous = service.requests[1]!.messages.find((m) => m.role === 'assistant') as Record<string, unknown> | undefined;
    assert.equal(previous?.content, ANSWER.join(''));
    assert.equal(previous?.reasoning_content, REASONING.join(''));
  });

  it('renders code fences as code blocks, still as text', async () => {
    await send('some code?');
    await lastReply().locator('footer', { hasText: 'tok/s' }).waitFor();
    const code = lastReply().locator('pre code');
    assert.equal(await code.textContent(), 'echo "<hi>"');
    assert.equal(await code.getAttribute('data-lang'), 'sh');
    assert.deepEqual(await lastReply().locator('.prose').allTextContents(), ['Run this:', 'Done.']);
  });

  it('says why a reply ended early, with the server\'s note', async () => {
    await send('loop forever');
    const footer = lastReply().locator('footer', { hasText: 'tok/s' });
    await footer.waitFor();
    assert.match((await footer.textContent()) ?? '', /finished: length; the repetition guard ended the reply$/);
  });

  it('the stop button aborts the request, and the server sees the abort', async () => {
    const cancelledBefore = service.cancelled;
    await send('a long one, please');
    await lastReply().locator('.content', { hasText: 'word1 ' }).waitFor();
    await page.getByRole('button', { name: 'Stop' }).click();
    await lastReply().locator('footer', { hasText: 'stopped' }).waitFor();
    const req = service.requests.at(-1)!;
    const deadline = Date.now() + 5_000;
    while (service.cancelled === cancelledBefore && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(req.signal.aborted, true);
    assert.equal(service.cancelled, cancelledBefore + 1);
    assert.equal(await page.getByRole('button', { name: 'Send' }).isEnabled(), true);
    assert.equal(await page.getByRole('button', { name: 'Stop' }).isEnabled(), false);
  });

  it('shows the server\'s error message inline', async () => {
    await send('are you busy?');
    const alert = lastReply().getByRole('alert');
    await alert.waitFor();
    assert.match((await alert.textContent()) ?? '', /^429 .*the request queue is full/);
  });

  it('logged no console errors beyond the deliberate 401 and 429, and asked no other origin for anything', () => {
    const deliberate = /Failed to load resource: the server responded with a status of (401|429)/;
    assert.deepEqual(consoleErrors.filter((e) => !deliberate.test(e)), []);
    assert.deepEqual(foreignRequests, []);
  });
});
