// Speculative decoding in the server (`serve --draft N`) on the trained nano model, whose MTP heads
// predict well: through the real `openai` SDK, parallel requests to a server drafting 3 tokens per step
// get, token for token, what a server without drafting gives (greedy, and seeded sampling too: the
// scheduler keeps a draft only when the request's own choice from that row is the draft), and the
// per-reply `timings` and /metrics carry real draft counts, which are absent or zero without drafting.
import { strict as assert } from 'node:assert';
import { after, before, it } from 'node:test';
import OpenAI from 'openai';
import { nanoModelPath } from '../../../src/cli/default-model.js';
import { openModel, type OpenModel } from '../../../src/cli/open-model.js';
import { calculatorTool as calculator } from './harness.js';
import { createChatService } from '../../../src/server/engine/index.js';
import { startServer, type RunningServer } from '../../../src/server/server.js';
import type { Timings } from '../../../src/server/api/openai/wire.js';
// The web chat's footer under each reply (a browser module without DOM use at import).
import { formatStats } from '../../../assets/web/render.js';

let opened: OpenModel;

interface Served {
  readonly running: RunningServer;
  readonly client: OpenAI;
}

/** A whole server (every route) on the shared nano model; the two servers are used one after the other. */
async function serve(draft: number): Promise<Served> {
  const service = createChatService({ model: opened.model, tokenizer: opened.tokenizer, contextSize: 1024, parallel: 3, draft });
  const running = await startServer({ service, port: 0, webChat: false });
  return { running, client: new OpenAI({ baseURL: `${running.url}/v1`, apiKey: 'none', maxRetries: 0, timeout: 20_000 }) };
}

let plain: Served;
let drafting: Served;

before(async () => {
  const path = nanoModelPath();
  assert.ok(path, 'models/nano.gguf is part of the repository');
  opened = openModel(path, { quiet: true, threads: 1 });
  plain = await serve(0);
  drafting = await serve(3);
});
after(async () => {
  await plain.running.close();
  await drafting.running.close();
  opened.close();
});

const QUESTIONS = ['What is 1234 * 56?', 'What is 17 + 25?', 'A box holds 12 eggs. How many eggs are in 7 boxes?'];

interface Reply {
  readonly text: string;
  readonly completionTokens: number;
  readonly finish: string | null;
  readonly timings: Partial<Timings> | undefined;
}

/** The questions at once (3 slots: decoded, and drafted, together), each reply with reasoning, content and calls. */
async function ask(s: Served, extra: Partial<OpenAI.ChatCompletionCreateParamsNonStreaming> = {}): Promise<Reply[]> {
  return Promise.all(
    QUESTIONS.map(async (q) => {
      const r = await s.client.chat.completions.create({ model: 'nano', messages: [{ role: 'user', content: q }], tools: [calculator], max_tokens: 96, temperature: 0, ...extra });
      const msg = r.choices[0]!.message as OpenAI.ChatCompletionMessage & { reasoning_content?: string };
      const calls = (msg.tool_calls ?? []).map((c) => (c.type === 'function' ? `${c.function.name}(${c.function.arguments})` : ''));
      return {
        text: `${msg.reasoning_content ?? ''}|${msg.content ?? ''}|${calls.join(';')}`,
        completionTokens: r.usage!.completion_tokens,
        finish: r.choices[0]!.finish_reason,
        timings: (r as unknown as { timings?: Partial<Timings> }).timings,
      };
    }),
  );
}

async function metric(s: Served, name: string): Promise<number> {
  const text = await (await fetch(`${s.running.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  assert.ok(line, `${name} is in /metrics`);
  return Number(line.slice(name.length + 1));
}

it('greedy replies to parallel requests are token for token the same with --draft 3 as with --draft 0', async () => {
  const base = await ask(plain);
  const spec = await ask(drafting);
  assert.ok(base.some((r) => r.finish === 'tool_calls'), 'the nano model calls the calculator');
  for (let i = 0; i < QUESTIONS.length; i++) {
    assert.equal(spec[i]!.text, base[i]!.text, QUESTIONS[i]);
    assert.equal(spec[i]!.completionTokens, base[i]!.completionTokens);
    assert.equal(spec[i]!.finish, base[i]!.finish);
    // Per-reply draft counts: real ones with drafting, none without.
    const t = spec[i]!.timings!;
    assert.ok(t.draft_n! > 0 && t.draft_accepted_n! > 0 && t.draft_accepted_n! <= t.draft_n!, JSON.stringify(t));
    assert.equal(t.draft_acceptance, Math.round((t.draft_accepted_n! / t.draft_n!) * 1000) / 1000);
    assert.match(formatStats(t, undefined), /draft acceptance [1-9]\d*%/);
    const b = base[i]!.timings!;
    assert.equal(b.draft_n, undefined);
    assert.equal(b.draft_acceptance, undefined);
    assert.match(formatStats(b, undefined), /draft acceptance —/);
  }
  // The nano model's heads agree with the trunk most of the time.
  const drafted = spec.reduce((a, r) => a + r.timings!.draft_n!, 0);
  const kept = spec.reduce((a, r) => a + r.timings!.draft_accepted_n!, 0);
  assert.ok(kept / drafted > 0.5, `acceptance ${kept}/${drafted}`);
});

it('seeded sampling gives the same replies with and without drafting', async () => {
  const sampling = { temperature: 0.9, top_p: 0.95, seed: 1234 };
  const base = await ask(plain, sampling);
  const spec = await ask(drafting, sampling);
  for (let i = 0; i < QUESTIONS.length; i++) assert.equal(spec[i]!.text, base[i]!.text, QUESTIONS[i]);
  assert.ok(spec.some((r) => r.timings!.draft_accepted_n! > 0));
});

it('a streamed reply ends with the draft counts; /metrics counts drafts with --draft 3 and none with --draft 0', async () => {
  const stream = await drafting.client.chat.completions.create({ model: 'nano', messages: [{ role: 'user', content: QUESTIONS[1]! }], max_tokens: 64, temperature: 0, stream: true });
  let timings: Partial<Timings> | undefined;
  for await (const chunk of stream) if (chunk.choices[0]?.finish_reason) timings = (chunk as unknown as { timings: Partial<Timings> }).timings;
  assert.ok(timings && timings.draft_n! > 0 && timings.draft_accepted_n! > 0, JSON.stringify(timings));

  assert.equal(await metric(drafting, 'stepflash_draft_max_tokens'), 3);
  const proposed = await metric(drafting, 'stepflash_draft_tokens_total');
  const accepted = await metric(drafting, 'stepflash_draft_accepted_tokens_total');
  assert.ok(proposed > 0 && accepted > 0 && accepted <= proposed, `${accepted}/${proposed}`);
  assert.equal(await metric(drafting, 'stepflash_draft_acceptance_ratio'), Math.round((accepted / proposed) * 1e6) / 1e6);

  assert.equal(await metric(plain, 'stepflash_draft_max_tokens'), 0);
  assert.equal(await metric(plain, 'stepflash_draft_tokens_total'), 0);
  assert.equal(await metric(plain, 'stepflash_draft_accepted_tokens_total'), 0);
  assert.ok(Number.isNaN(await metric(plain, 'stepflash_draft_acceptance_ratio')));
});

it('a draft length beyond the three heads is refused', () => {
  // A model without heads is refused too (health-metrics.test.ts).
  assert.throws(() => createChatService({ model: opened.model, tokenizer: opened.tokenizer, draft: 4 }), /draft must be an integer from 0 to 3/);
});
