// POST /tokenize and POST /detokenize over real HTTP on the whole server (every route, an API key), with the
// real service and the tiny model's tokenizer: llama.cpp server's request and response shapes, round trips,
// special tokens, pieces that are not whole characters, and 400s that name the field.
import { strict as assert } from 'node:assert';
import { after, before, it } from 'node:test';
import type { RunningServer } from '../../src/server/server.js';
import { startServer } from '../../src/server/server.js';
import type { ChatService } from '../../src/server/chat-service.js';
import { scripted, tinyTokenizer } from './engine/helpers.js';

let service: ChatService;
let server: RunningServer;

before(async () => {
  ({ service } = scripted(() => 'unused'));
  server = await startServer({ service, port: 0, apiKey: 'sekret', webChat: false });
});
after(() => server.close());

async function post(path: string, body: unknown, key = 'sekret'): Promise<{ status: number; json: any }> {
  const res = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

const tok = () => tinyTokenizer();

it('/tokenize returns the ids the model sees; add_special and parse_special as llama.cpp defines them', async () => {
  const text = 'Hello world, 12 + 30 = 42';
  const r = await post('/tokenize', { content: text });
  assert.equal(r.status, 200);
  assert.deepEqual(r.json, { tokens: tok().encode(text, { parseSpecial: true }) });

  // parse_special defaults to true: the chat marker is one control token; false spells it out as text.
  const marker = '<|im_start|>user';
  const special = (await post('/tokenize', { content: marker })).json.tokens as number[];
  assert.equal(special[0], tok().tokenId('<|im_start|>'));
  const plain = (await post('/tokenize', { content: marker, parse_special: false })).json.tokens as number[];
  assert.ok(plain.length > special.length && !plain.includes(tok().tokenId('<|im_start|>')!));

  const withBos = (await post('/tokenize', { content: text, add_special: true })).json.tokens as number[];
  assert.deepEqual(withBos, tok().encode(text, { addSpecial: true, parseSpecial: true }));
  if (tok().addBos) assert.equal(withBos.length, r.json.tokens.length + 1);
});

it('/tokenize with_pieces gives {id, piece}: text, or bytes for a piece that is part of a character', async () => {
  const text = 'naïve café 你好 🙂 <|im_end|>';
  const r = await post('/tokenize', { content: text, with_pieces: true });
  assert.equal(r.status, 200);
  const items = r.json.tokens as { id: number; piece: string | number[] }[];
  assert.deepEqual(items.map((t) => t.id), tok().encode(text, { parseSpecial: true }));
  const bytes = Buffer.concat(items.map((t) => (typeof t.piece === 'string' ? Buffer.from(t.piece, 'utf8') : Buffer.from(t.piece))));
  assert.equal(bytes.toString('utf8'), text);
  assert.ok(items.some((t) => Array.isArray(t.piece)), 'the emoji is split into byte tokens');
  assert.ok(items.some((t) => t.piece === '<|im_end|>'));
});

it('/detokenize turns ids back into the text, special tokens included', async () => {
  for (const text of ['Hello world', '<|im_start|>assistant\n<think>\nhmm</think>\n🙂 ok<|im_end|>', '']) {
    const ids = (await post('/tokenize', { content: text })).json.tokens as number[];
    const r = await post('/detokenize', { tokens: ids });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { content: text });
  }
});

it('bad input is a 400 naming the field; the API key is required; only POST', async () => {
  const V = tok().vocabSize;
  const cases: [string, unknown, string, RegExp][] = [
    ['/tokenize', {}, 'content', /Missing required parameter: 'content'/],
    ['/tokenize', { content: 42 }, 'content', /expected string/],
    ['/tokenize', { content: 'x', with_pieces: 'yes' }, 'with_pieces', /expected boolean/],
    ['/detokenize', {}, 'tokens', /Missing required parameter: 'tokens'/],
    ['/detokenize', { tokens: 'hello' }, 'tokens', /expected array/],
    ['/detokenize', { tokens: [1, 2.5] }, 'tokens[1]', /expected int/],
    ['/detokenize', { tokens: [1, '2'] }, 'tokens[1]', /expected number/],
    ['/detokenize', { tokens: [1, V] }, 'tokens[1]', new RegExp(`token id ${V} is outside the vocabulary \\(0\\.\\.${V - 1}\\)`)],
    ['/detokenize', { tokens: [-1] }, 'tokens[0]', /outside the vocabulary/],
  ];
  for (const [path, body, param, message] of cases) {
    const r = await post(path, body);
    assert.equal(r.status, 400, `${path} ${JSON.stringify(body)}`);
    assert.equal(r.json.error.type, 'invalid_request_error');
    assert.equal(r.json.error.param, param, JSON.stringify(r.json));
    assert.match(r.json.error.message, message);
  }
  const malformed = await post('/tokenize', '{"content": ');
  assert.equal(malformed.status, 400);
  assert.match(malformed.json.error.message, /not valid JSON/);

  assert.equal((await post('/tokenize', { content: 'x' }, 'wrong')).status, 401);
  assert.equal((await post('/detokenize', { tokens: [1] }, 'wrong')).status, 401);
  const get = await fetch(`${server.url}/tokenize`, { headers: { authorization: 'Bearer sekret' } });
  assert.equal(get.status, 405);
});
