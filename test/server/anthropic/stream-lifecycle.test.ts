// The stream around the events: pings while generation has not started (a queue wait, a long prefill),
// errors after the 200 as `event: error`, and a client that goes away stopping generation.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import { ScriptedChatService, type ScriptedReply } from '../../helpers/scripted-service.js';
import { ChatError, type ChatEvent, type ChatRequest, type ChatService } from '../../../src/server/chat-service.js';
import { checkStream, rawStream, startServer, USER_HI, type TestServer } from './helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The scripted service behind a slow start, optionally failing before or during generation. */
class SlowService implements ChatService {
  readonly inner: ScriptedChatService;
  startDelayMs = 0;
  failBeforeStart: ChatError | undefined;
  failAfterEvents: number | undefined;
  readonly modelName: string;
  readonly contextSize: number;

  constructor(script: () => ScriptedReply) {
    this.inner = new ScriptedChatService(script);
    this.modelName = this.inner.modelName;
    this.contextSize = this.inner.contextSize;
  }

  chat(req: ChatRequest): AsyncIterable<ChatEvent> {
    const self = this;
    return (async function* () {
      await sleep(self.startDelayMs);
      if (self.failBeforeStart) throw self.failBeforeStart;
      let n = 0;
      for await (const ev of self.inner.chat(req)) {
        if (self.failAfterEvents !== undefined && n++ === self.failAfterEvents) throw new Error('the engine fell over');
        yield ev;
      }
    })();
  }

  countTokens = (req: Parameters<ChatService['countTokens']>[0]) => this.inner.countTokens(req);
  complete = (req: Parameters<ChatService['complete']>[0]) => this.inner.complete(req);
  health = () => this.inner.health();
  metrics = () => this.inner.metrics();
  close = () => this.inner.close();
}

let reply: ScriptedReply = { content: ['ok'] };
const service = new SlowService(() => reply);
let server: TestServer;
const body = { model: 'm', max_tokens: 100, messages: USER_HI, stream: true };

before(async () => {
  server = await startServer(service, { routes: { headerWaitMs: 50, keepAliveMs: 40 } });
});
after(() => server.close());

function reset(): void {
  service.startDelayMs = 0;
  service.failBeforeStart = undefined;
  service.failAfterEvents = undefined;
  reply = { content: ['ok'] };
}

describe('keep-alive', () => {
  test('a slow start opens the stream and pings until generation starts; the SDK reads through', async () => {
    reset();
    service.startDelayMs = 300;
    reply = { reasoning: ['r'], content: ['late but fine'] };
    const { status, events } = await rawStream(server.url, { ...body, thinking: { type: 'adaptive' } });
    assert.equal(status, 200);
    const firstStart = events.findIndex((e) => e.event === 'message_start');
    assert.ok(firstStart >= 3, `pings before message_start (got ${firstStart})`);
    assert.ok(events.slice(0, firstStart).every((e) => e.event === 'ping' && e.data.type === 'ping'));
    const msg = checkStream(events);
    assert.deepEqual(msg.content.map((b: any) => b.type), ['thinking', 'text']);

    const final = await server.client.messages.stream({ ...body, stream: undefined } as any).finalMessage();
    assert.deepEqual(final.content, [{ type: 'text', text: 'late but fine' }]);
  });

  test('pings during a long pause between events (the stream stays grammatical)', async () => {
    reset();
    reply = { content: ['a', 'b', 'c'], delayMs: 120 };
    const { events } = await rawStream(server.url, body);
    assert.ok(events.filter((e) => e.event === 'ping').length >= 3);
    assert.equal(checkStream(events).content[0].text, 'abc');
  });

  test('a fast start waits for the first event: no ping before message_start', async () => {
    reset();
    const { events } = await rawStream(server.url, body);
    assert.equal(events[0]!.event, 'message_start');
  });
});

describe('errors after the 200', () => {
  test('overloaded after the stream opened: event: error with overloaded_error, then the stream ends', async () => {
    reset();
    service.startDelayMs = 120;
    service.failBeforeStart = new ChatError('overloaded', 'queue wait timed out');
    const { status, events } = await rawStream(server.url, body);
    assert.equal(status, 200);
    const last = events[events.length - 1]!;
    assert.equal(last.event, 'error');
    assert.equal(last.data.type, 'error');
    assert.deepEqual(last.data.error, { type: 'overloaded_error', message: 'queue wait timed out' });
    assert.ok(events.slice(0, -1).every((e) => e.event === 'ping'));

    await assert.rejects(server.client.messages.stream({ ...body, stream: undefined } as any).finalMessage(), (e: unknown) => {
      assert.ok(e instanceof Anthropic.APIError);
      assert.equal((e.error as any).error.type, 'overloaded_error');
      return true;
    });
  });

  test('prompt too long found late keeps the exact wording in the error event', async () => {
    reset();
    service.startDelayMs = 120;
    service.failBeforeStart = new ChatError('context_length', 'x', { promptTokens: 9000, maxContext: 4096 });
    const { events } = await rawStream(server.url, body);
    assert.deepEqual(events[events.length - 1]!.data.error, { type: 'invalid_request_error', message: 'prompt is too long: 9000 tokens > 4096 maximum' });
  });

  test('an engine failure mid-stream: event: error with api_error; the SDK throws', async () => {
    reset();
    reply = { content: ['a', 'b', 'c'] };
    service.failAfterEvents = 2;
    const { events } = await rawStream(server.url, body);
    assert.deepEqual(
      events.map((e) => e.event),
      ['message_start', 'ping', 'content_block_start', 'content_block_delta', 'error'],
    );
    assert.equal(events[4]!.data.error.type, 'api_error');
    assert.match(events[4]!.data.error.message, /the engine fell over/);

    const stream = server.client.messages.stream({ ...body, stream: undefined } as any);
    await assert.rejects(stream.finalMessage(), Anthropic.APIError);
  });

  test('a non-streaming request that fails mid-generation gets a 500 api_error', async () => {
    reset();
    reply = { content: ['a', 'b'] };
    service.failAfterEvents = 1;
    await assert.rejects(server.client.messages.create({ model: 'm', max_tokens: 10, messages: USER_HI }), (e: unknown) => {
      assert.ok(e instanceof Anthropic.InternalServerError);
      assert.equal((e.error as any).error.type, 'api_error');
      return true;
    });
  });
});

describe('cancellation', () => {
  test('a client that aborts mid-stream stops generation', async () => {
    reset();
    reply = { content: Array.from({ length: 50 }, (_, i) => `w${i} `), delayMs: 20 };
    const before = service.inner.cancelled;
    const controller = new AbortController();
    const stream = await server.client.messages.create({ model: 'm', max_tokens: 100, messages: USER_HI, stream: true }, { signal: controller.signal });
    let deltas = 0;
    try {
      for await (const ev of stream) {
        if (ev.type === 'content_block_delta' && ++deltas === 3) controller.abort();
      }
    } catch {
      // the SDK reports the abort
    }
    for (let i = 0; i < 50 && service.inner.cancelled === before; i++) await sleep(10);
    assert.equal(service.inner.cancelled, before + 1, 'the service saw the abort');
  });

  test('a non-streaming client that goes away stops generation too', async () => {
    reset();
    reply = { content: Array.from({ length: 50 }, (_, i) => `w${i} `), delayMs: 20 };
    const before = service.inner.cancelled;
    const controller = new AbortController();
    const pending = server.client.messages.create({ model: 'm', max_tokens: 100, messages: USER_HI }, { signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    await assert.rejects(pending);
    for (let i = 0; i < 50 && service.inner.cancelled === before; i++) await sleep(10);
    assert.equal(service.inner.cancelled, before + 1);
  });
});
