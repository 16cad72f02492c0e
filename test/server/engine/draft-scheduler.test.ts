// The batch scheduler's speculative decoding against plain decoding, where rollback is hardest: the random
// tiny model (one MTP head, so 3 drafts are round-robin and mostly rejected: almost every step rolls back)
// with a batch of 8 tokens, so the sliding rings hold window + 8 = 72 positions and generations of 150
// tokens wrap them; two slots decode while a third request's long prompt is prefilled in chunks between
// them, and the budget left for drafts changes from step to step. Every token must be the same. A second
// run swaps the heads' drafts for an oracle's (the plain run's own tokens, every third step with a wrong
// last draft), so that drafts are kept, partly kept and rejected under the same conditions.
import { strict as assert } from 'node:assert';
import { after, before, it } from 'node:test';
import type { ChatEvent } from '../../../src/server/chat-service.js';
import { createChatService, stepModelPort, type EngineModel, type EngineSequence } from '../../../src/server/engine/index.js';
import type { LoadedModel } from '../../../src/model/load.js';
import type { Tokenizer } from '../../../src/tokenizer/index.js';
import { collect, never } from './helpers.js';
import { loadTiny } from './helpers.js';

let loaded: LoadedModel;
let tokenizer: Tokenizer;

before(() => {
  ({ loaded, tokenizer } = loadTiny(8));
});
after(() => loaded.close());

const PROMPTS = ['The quick brown fox', 'Once upon a time there was', 'lorem ipsum '.repeat(30)];

/** The real model, recording what each sequence evaluated (one slot per request: parallel 3). */
function recording(seen: Map<EngineSequence, number[]>): EngineModel {
  const port = stepModelPort(loaded.model);
  return {
    ...port,
    forwardMany: (items) => {
      const before = items.map((it) => it.seq.length);
      const out = port.forwardMany(items);
      items.forEach((it, i) => {
        const list = seen.get(it.seq) ?? [];
        list.length = before[i]!;
        list.push(...it.tokens);
        seen.set(it.seq, list);
      });
      return out;
    },
  };
}

/** The real model and drafters, but each draft list replaced by the continuation of a known sequence. */
function oracle(known: readonly number[][]): EngineModel {
  const port = stepModelPort(loaded.model);
  let calls = 0;
  return {
    ...port,
    createDrafter: (seq, tokens, options) => {
      const real = port.createDrafter!(seq, tokens, options);
      return {
        ...real,
        propose: (pending, maxDraft, pick) => {
          const mine = real.propose(pending, maxDraft, pick);
          const prefix = [...tokens, pending];
          const hit = known.find((k) => k.length > prefix.length && prefix.every((t, i) => k[i] === t));
          if (!hit) return mine;
          const drafts = hit.slice(prefix.length, prefix.length + Math.min(maxDraft, mine.length));
          if (++calls % 3 === 0 && drafts.length > 0) drafts[drafts.length - 1] = (drafts.at(-1)! + 1) % port.vocabSize;
          return drafts;
        },
      };
    },
  };
}

async function generate(draft: number, model: EngineModel = stepModelPort(loaded.model), parallel = 2): Promise<{ tokens: string[][]; drafted: number; accepted: number }> {
  const service = createChatService({ model, tokenizer, contextSize: 512, parallel, draft, loopGuard: false });
  try {
    const runs = await Promise.all(
      PROMPTS.map((prompt, i) => collect(service.complete({ prompt, maxTokens: 150 - 20 * i, temperature: 0, logprobs: 0, signal: never }))),
    );
    let drafted = 0;
    let accepted = 0;
    const tokens = runs.map((events: ChatEvent[]) => {
      const done = events.at(-1)!;
      assert.equal(done.type, 'done');
      if (done.type === 'done') {
        drafted += done.timings.draftTokens ?? 0;
        accepted += done.timings.draftAcceptedTokens ?? 0;
      }
      return events.flatMap((e) => (e.type === 'content' ? (e.logprobs ?? []).map((l) => l.token) : []));
    });
    return { tokens, drafted, accepted };
  } finally {
    await service.close();
  }
}

it('drafting in the scheduler (round-robin, rings wrapped, parallel slots, chunked prefill) changes no token', async () => {
  const base = await generate(0);
  const spec = await generate(3);
  for (let i = 0; i < PROMPTS.length; i++) {
    assert.ok(base.tokens[i]!.length > 100, `generation ${i} is long enough to wrap the rings (${base.tokens[i]!.length} tokens)`);
    assert.deepEqual(spec.tokens[i], base.tokens[i], `prompt ${i}`);
  }
  assert.equal(base.drafted, 0);
  assert.ok(spec.drafted > 200, `drafted ${spec.drafted}`);
  assert.ok(spec.accepted < spec.drafted);
});

it('drafts an oracle makes right are kept, wrong ones rejected, and no token changes', async () => {
  const seen = new Map<EngineSequence, number[]>();
  const base = await generate(0, recording(seen), 3);
  assert.equal(seen.size, 3);
  const spec = await generate(3, oracle([...seen.values()]));
  for (let i = 0; i < PROMPTS.length; i++) assert.deepEqual(spec.tokens[i], base.tokens[i], `prompt ${i}`);
  assert.ok(spec.accepted > 0.5 * spec.drafted && spec.accepted < spec.drafted, `${spec.accepted} of ${spec.drafted} kept`);
});
