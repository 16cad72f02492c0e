// Constrained decoding on the real tiny random model, through the whole ChatService: whatever the random
// weights say, a json_schema request yields JSON valid against the schema, json_object an object, and
// tool_choice required / named yields tool calls that parse and fit their tools' schemas. The reasoning
// before `</think>` stays free; the budget closes it (a random model never does).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import type { ToolDefinition } from '../../../src/format/index.js';
import type { ChatService } from '../../../src/server/chat-service.js';
import { createChatService } from '../../../src/server/engine/index.js';
import type { LoadedModel } from '../../../src/model/load.js';
import { loadTiny, req, run } from './helpers.js';

let loaded: LoadedModel;
let service: ChatService;

before(() => {
  const { loaded: l, tokenizer } = loadTiny();
  loaded = l;
  // Tight limits keep a random model's strings, arrays and objects short (the defaults suit real models).
  const constraintLimits = { maxStringChars: 24, maxKeyChars: 12, maxItems: 4, maxProperties: 4, maxDepth: 3, maxWhitespace: 2, maxIntegerDigits: 9, maxFractionDigits: 6, maxToolCalls: 3 };
  service = createChatService({ model: loaded.model, tokenizer, parallel: 4, contextSize: 2048, constraintLimits });
});

after(async () => {
  await service?.close();
  loaded?.close();
});

const schema = {
  type: 'object',
  properties: {
    title: { type: 'string' },
    year: { type: 'integer', minimum: 1900, maximum: 2100 },
    rating: { type: 'number', minimum: 0, maximum: 5 },
    genres: { type: 'array', items: { enum: ['drama', 'comedy', 'horror'] }, minItems: 1, maxItems: 3 },
    director: { anyOf: [{ type: 'null' }, { type: 'object', properties: { name: { type: 'string' }, born: { type: 'integer' } }, required: ['name'], additionalProperties: false }] },
    seen: { type: 'boolean' },
  },
  required: ['title', 'year', 'genres', 'director'],
  additionalProperties: false,
};

test('json_schema: schema-valid JSON over many seeds, reasoning budgets and temperatures', async () => {
  const validate = z.fromJSONSchema(schema as never);
  const runs = Array.from({ length: 16 }, (_, seed) =>
    run(service, req('Describe a movie as JSON.', {
      seed,
      temperature: seed % 4 === 3 ? 0 : 1 + (seed % 3) * 0.5,
      reasoningBudget: seed % 3 === 0 ? 0 : seed % 5,
      maxTokens: 600,
      responseFormat: { type: 'json_schema', schema, name: 'movie' },
    })),
  );
  for (const [seed, s] of (await Promise.all(runs)).entries()) {
    assert.equal(s.done.finishReason, 'stop', `seed ${seed}: ${JSON.stringify(s.content)} (${s.done.note})`);
    const v = validate.safeParse(JSON.parse(s.content));
    assert.ok(v.success, `seed ${seed}: ${s.content}: ${JSON.stringify(v.error?.issues)}`);
    assert.equal(s.toolCalls.length, 0);
  }
});

test('json_object: a JSON object', async () => {
  for (let seed = 0; seed < 6; seed++) {
    const s = await run(service, req('JSON please', { seed, reasoningBudget: 2, maxTokens: 600, responseFormat: { type: 'json_object' } }));
    assert.equal(s.done.finishReason, 'stop', s.content);
    const v = JSON.parse(s.content) as unknown;
    assert.ok(v !== null && typeof v === 'object' && !Array.isArray(v), s.content);
  }
});

const tools: ToolDefinition[] = [
  {
    type: 'function',
    function: {
      name: 'get_weather',
      description: 'Weather for a city',
      parameters: { type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer', minimum: 1, maximum: 14 }, units: { enum: ['metric', 'imperial'] } }, required: ['city'] },
    },
  },
  {
    type: 'function',
    function: { name: 'run_query', parameters: { type: 'object', properties: { sql: { type: 'string' }, params: { type: 'array', items: { type: 'number' } }, dry: { type: 'boolean' } }, required: ['sql', 'dry'] } },
  },
];
const validators = new Map(tools.map((t) => [t.function.name, z.fromJSONSchema(t.function.parameters as never)]));

test('tool_choice required: parseable calls with schema-valid arguments, finish tool_calls', async () => {
  const runs = Array.from({ length: 10 }, (_, seed) =>
    run(service, req('Do something.', { seed, tools, toolChoice: 'required', reasoningBudget: seed % 4, maxTokens: 600, parallelToolCalls: seed % 2 === 0 })),
  );
  for (const [seed, s] of (await Promise.all(runs)).entries()) {
    assert.equal(s.done.finishReason, 'tool_calls', `seed ${seed}: ${s.content} ${s.done.note}`);
    assert.ok(s.toolCalls.length >= 1);
    if (seed % 2 === 1) assert.equal(s.toolCalls.length, 1);
    assert.equal(s.content.trim(), '');
    s.toolCalls.forEach((c, i) => {
      assert.equal(c.index, i);
      const v = validators.get(c.name)!.safeParse(JSON.parse(c.arguments));
      assert.ok(v.success, `seed ${seed}: ${c.name} ${c.arguments}: ${JSON.stringify(v.error?.issues)}`);
    });
  }
});

test('tool_choice naming a tool: exactly one call to it', async () => {
  for (let seed = 0; seed < 4; seed++) {
    const s = await run(service, req('Query.', { seed, tools, toolChoice: { name: 'run_query' }, reasoningBudget: 1, maxTokens: 600 }));
    assert.equal(s.done.finishReason, 'tool_calls');
    assert.deepEqual(s.toolCalls.map((c) => c.name), ['run_query']);
    assert.ok(validators.get('run_query')!.safeParse(JSON.parse(s.toolCalls[0]!.arguments)).success, s.toolCalls[0]!.arguments);
  }
});

test('max tokens cutting a constrained output ends with length', async () => {
  const s = await run(service, req('JSON', { seed: 1, reasoningBudget: 0, maxTokens: 8, responseFormat: { type: 'json_schema', schema } }));
  assert.equal(s.done.finishReason, 'length');
  assert.equal(s.done.usage.completionTokens, 8);
  assert.throws(() => JSON.parse(s.content));
  const t = await run(service, req('call', { seed: 1, tools, toolChoice: 'required', reasoningBudget: 0, maxTokens: 10 }));
  assert.equal(t.done.finishReason, 'length');
  assert.equal(t.toolCalls.length, 0);
});
