import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OutputParser, parseModelOutput } from '../../src/format/output-parser.js';
import { TOOLS, parseChunks, rng, type ChunkedRun } from './helpers.js';

const call = (name: string, body: string) => `<tool_call>\n<function=${name}>\n${body}</function>\n</tool_call>`;
const param = (k: string, v: string) => `<parameter=${k}>\n${v}\n</parameter>\n`;

// Outputs that exercise every rule; each must parse the same however it is chunked.
const CORPUS: string[] = [
  '',
  'Short answer without reasoning end',
  'Reasoning.\n</think>\nAnswer with a 😀 and <b>html</b> and a stray < sign.',
  '<think>\nrepeated open\n</think>\n\nanswer\n',
  'a\n\n</think>\n\n\nb',
  'Need the weather.\n</think>\n\nChecking.\n' + call('get_weather', param('city', 'Zürich') + param('days', '3')) + '\n' + call('get_weather', param('city', '東京')) + '\n',
  'Think\n' + call('run_shell', param('command', 'cat <<EOF\n<tool_call>\n</tool_call>\n</function>\nEOF\n\\\\ \\n')) + '\n</think>\n\nDone.',
  'r</think>\n' + '<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n<parameter=days>\n3\n</function>\n</tool_call>',
  'r</think>\n' + '<tool_call>\n<function=get_weather\n<parameter=city\nParis\n</parameter>\n</tool_call>\ntext after',
  'r</think>\n' + '<function get_weather>\n<parameter=unit>\ncelsius\n</parameter>\n</function>\nthen <function=undeclared> text',
  'r</think>\n' + '<tool_call>\n<function=nope>\n' + param('x', '1') + '</function>\n</tool_call>',
  'r</think>\n' + '<tool_call>\n<function=search>\n' + param('filters', "{'a': True}") + param('limit', 'null') + param('bogus', 'v') + '</function>\n</tool_call>',
  'r</think>\nmention <tool_call> in prose, then <tool_call></tool_call>',
  'r</think>\n' + call('get_time', '') + '<tool_call>\n<function=get_weather>\n<parameter=city>\nunterminated value',
  'r</think>\n' + '<tool_call>\n<function=get_time>\n</function>\n',
  'r</think>\n' + '<tool_call>\n<function=get_weather>\n<parameter=city>\nA\n</function>\n<tool_call>\n<function=get_time>\n</function>\n</tool_call>',
  'r</think>\n' + '<tool_call>\n<function=write_file>\n' + param('content', 'x\n<parameter=other>\ny </function> z') + param('path', 'p') + '</function>\n</tool_call>',
  'unfinished reasoning with a partial tag </thi',
  'r</think>\nends with partial <tool_ca',
  'r</think>\nends with partial <function=get_wea',
  'r\n</think>\n\n\n \n',
];

function assertSame(a: ChunkedRun, b: ChunkedRun, what: string) {
  assert.deepEqual(a.events, b.events, what);
  assert.deepEqual(a.result, b.result, what);
}

test('chunking never changes the result: every two-way split', () => {
  for (const text of CORPUS) {
    const whole = parseChunks([text], TOOLS);
    for (let i = 0; i <= text.length; i++) assertSame(parseChunks([text.slice(0, i), text.slice(i)], TOOLS), whole, `${JSON.stringify(text)} split at ${i}`);
  }
});

test('chunking never changes the result: one character at a time, and random splits', () => {
  const random = rng(12345);
  for (const text of CORPUS) {
    const whole = parseChunks([text], TOOLS);
    assertSame(parseChunks([...text], TOOLS), whole, `${JSON.stringify(text)} char by char`);
    for (let trial = 0; trial < 40; trial++) {
      const cuts = new Set<number>();
      const n = 1 + Math.floor(random() * 8);
      for (let k = 0; k < n; k++) cuts.add(Math.floor(random() * (text.length + 1)));
      const sorted = [0, ...[...cuts].sort((x, y) => x - y), text.length];
      const chunks = sorted.slice(1).map((end, j) => text.slice(sorted[j], end));
      assertSame(parseChunks(chunks, TOOLS), whole, `${JSON.stringify(text)} cut at ${sorted.join(',')}`);
    }
  }
});

test('the result equals the events', () => {
  for (const text of CORPUS) {
    const { events, result } = parseChunks([text], TOOLS);
    const join = (t: string) => events.map((e) => (e.type === t && 'text' in e ? e.text : '')).join('');
    assert.equal(join('reasoning'), result.reasoning);
    assert.equal(join('content'), result.content);
    assert.deepEqual(
      events.flatMap((e) => (e.type === 'tool_call' ? [e.call] : [])),
      result.toolCalls,
    );
  }
});

test('nothing is lost: without calls, reasoning and content hold every character but the markers', () => {
  for (const text of CORPUS) {
    const r = parseChunks([text], TOOLS).result;
    if (r.toolCalls.length > 0) continue;
    const stripped = text.replace(/^<think>\n?/, '').replace(/\n?<\/think>\n?/, '');
    assert.equal(r.reasoning + r.content, stripped, JSON.stringify(text));
  }
});

test('events stream as they are decided', () => {
  const p = new OutputParser({ tools: TOOLS, generateId: () => 'call_0' });
  assert.deepEqual(p.push('Let me '), [{ type: 'reasoning', text: 'Let me ' }]);
  assert.deepEqual(p.push('think.\n</think>\nSure'), [
    { type: 'reasoning', text: 'think.' },
    { type: 'content', text: 'Sure' },
  ]);
  assert.deepEqual(p.push('.\n<tool_call>\n<function=get_time>\n'), [{ type: 'content', text: '.\n' }]);
  assert.deepEqual(p.push('</function>\n'), []);
  assert.deepEqual(p.push('</tool_call>'), [{ type: 'tool_call', index: 0, call: { id: 'call_0', name: 'get_time', arguments: {} } }]);
  assert.deepEqual(p.push('\n'), []);
  assert.deepEqual(p.end(), []);
  assert.throws(() => p.push('more'), /after end/);
  const r = p.result();
  assert.deepEqual([r.reasoning, r.content, r.toolCalls.length, r.endedInReasoning], ['Let me think.', 'Sure.\n', 1, false]);
});

test('the end of the stream inside reasoning', () => {
  const r = parseModelOutput('thinking forever', TOOLS);
  assert.deepEqual([r.reasoning, r.content, r.endedInReasoning, r.endedInToolCall], ['thinking forever', '', true, false]);
});

test('the end of the stream inside a call', () => {
  const r = parseModelOutput('r</think>\n<tool_call>\n<function=get_time>', TOOLS);
  assert.deepEqual([r.content, r.endedInReasoning, r.endedInToolCall, r.toolCalls.length], ['<tool_call>\n<function=get_time>', false, true, 0]);
});

test('a cut-off stream drops the open call instead of returning it as text', () => {
  const p = new OutputParser({ tools: TOOLS, startInReasoning: true });
  const events = [...p.push('r</think>\nLet me check.\n<tool_call>\n<function=get_time>\n<parameter=zone>\nUT'), ...p.end({ dropOpenCall: true })];
  const r = p.result();
  assert.deepEqual([r.content.trimEnd(), r.endedInToolCall, r.toolCalls.length], ['Let me check.', true, 0]);
  assert.ok(events.every((e) => e.type !== 'content' || !e.text.includes('<tool_call>')));
  assert.match(r.warnings.join('\n'), /partial call was dropped/);
});
