// Property: whatever the tool-call arguments (nested, unicode, quotes, backslashes, control characters),
// the streamed `function.arguments` deltas concatenate to the exact JSON text, which parses to the
// original, and no delta carries half of a surrogate pair.
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { ScriptedChatService } from '../../helpers/scripted-service.js';
import { splitText } from '../../../src/server/api/openai/wire.js';
import { postJson, readSse, startServer, type TestServer } from './harness.js';

const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

const tricky = fc.string({ unit: fc.constantFrom('"', '\\', '\n', '\t', '\u0000', '<', '>', '/', 'é', '東', '😀', '\u2028', '}', '{', 'a') });
const key = fc.oneof(fc.string({ unit: 'binary' }), tricky);
const value = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.string({ unit: 'binary' }),
    tricky,
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(key, tie('v'), { maxKeys: 4 }),
  ),
})).v;
const argumentsObject = fc.dictionary(key, value, { maxKeys: 6 });

let args = '{}';
const service = new ScriptedChatService(() => ({ toolCalls: [{ name: 'write_file', arguments: args }] }));
let server: TestServer;
before(async () => {
  server = await startServer(service, { routes: { toolArgumentsChunkChars: 5 } });
});
after(async () => {
  await server.close();
});

describe('streamed tool-call arguments', () => {
  it('splitText cuts anywhere but inside a surrogate pair, and loses nothing', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), fc.integer({ min: 1, max: 9 }), (text, max) => {
        const pieces = splitText(text, max);
        assert.equal(pieces.join(''), text);
        for (const p of pieces) {
          assert.ok(p.length > 0 && p.length <= Math.max(max, 2));
          assert.ok(!loneSurrogate.test(p), JSON.stringify(p));
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('concatenated deltas parse to the original arguments over real HTTP', async () => {
    await fc.assert(
      fc.asyncProperty(argumentsObject, async (obj) => {
        args = JSON.stringify(obj);
        const res = await postJson(`${server.url}/v1/chat/completions`, {
          messages: [{ role: 'user', content: 'go' }],
          tools: [{ type: 'function', function: { name: 'write_file' } }],
          stream: true,
        });
        const { data } = await readSse(res);
        assert.equal(data.at(-1), '[DONE]');
        let text = '';
        for (const d of data.slice(0, -1)) {
          for (const tc of JSON.parse(d).choices[0]?.delta.tool_calls ?? []) {
            const piece: string = tc.function.arguments;
            assert.ok(!loneSurrogate.test(piece));
            text += piece;
          }
        }
        assert.equal(text, args);
        assert.deepEqual(JSON.parse(text), JSON.parse(args));
      }),
      { numRuns: 150 },
    );
  });
});
