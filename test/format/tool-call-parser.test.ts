import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseModelOutput } from '../../src/format/output-parser.js';
import { ToolCallParser, randomCallId } from '../../src/format/tool-call-parser.js';
import { renderChat } from '../../src/format/chat-template.js';
import type { ToolDefinition } from '../../src/format/messages.js';
import { TOOLS, fn, parseChunks } from './helpers.js';

/** Parses text that is all content (reasoning already over). */
const parse = (text: string, tools: readonly ToolDefinition[] | null = TOOLS) => parseChunks([text], tools, false).result;
const call = (name: string, params: Record<string, string>) =>
  `<tool_call>\n<function=${name}>\n${Object.entries(params)
    .map(([k, v]) => `<parameter=${k}>\n${v}\n</parameter>\n`)
    .join('')}</function>\n</tool_call>`;

test('a well-formed call', () => {
  const r = parseModelOutput('Checking.\n</think>\n' + call('get_weather', { city: 'Paris', days: '3' }), TOOLS);
  assert.equal(r.reasoning, 'Checking.');
  assert.equal(r.content, '');
  assert.equal(r.toolCalls.length, 1);
  assert.match(r.toolCalls[0]!.id, /^call_[0-9a-f]{24}$/);
  assert.equal(r.toolCalls[0]!.name, 'get_weather');
  assert.deepEqual(r.toolCalls[0]!.arguments, { city: 'Paris', days: 3 });
  assert.deepEqual(r.warnings, []);
  assert.equal(r.endedInToolCall, false);
});

test('ids are fresh per call', () => {
  const ids = new Set(Array.from({ length: 100 }, randomCallId));
  assert.equal(ids.size, 100);
  const r = parseModelOutput('</think>' + call('get_time', {}) + call('get_time', {}), TOOLS);
  assert.notEqual(r.toolCalls[0]!.id, r.toolCalls[1]!.id);
});

test('parallel calls; text before the first is content, whitespace between and after them is dropped', () => {
  const text = 'Let me check both.\n\n' + call('get_weather', { city: 'Rome' }) + '\n\n' + call('get_weather', { city: 'Oslo' }) + '\n';
  const r = parse(text);
  assert.equal(r.content, 'Let me check both.\n\n');
  assert.deepEqual(
    r.toolCalls.map((c) => c.arguments),
    [{ city: 'Rome' }, { city: 'Oslo' }],
  );
  // Whitespace before the first call is dropped too, text after the last one is kept.
  const r2 = parse('\n' + call('get_time', {}) + '\nDone.');
  assert.equal(r2.content, '\nDone.');
  assert.equal(r2.toolCalls.length, 1);
  // Without any call, whitespace is content like any other.
  assert.equal(parse('\n \n').content, '\n \n');
});

test('events carry the call index in order', () => {
  const { events } = parseChunks([call('get_time', {}) + 'x' + call('get_time', {})], TOOLS, false);
  assert.deepEqual(
    events.map((e) => (e.type === 'tool_call' ? `call${e.index}` : e.type)),
    ['call0', 'content', 'call1'],
  );
});

test('values: exactly one framing newline is stripped on each side', () => {
  const r = parse('<tool_call>\n<function=write_file>\n<parameter=path>\na.txt\n</parameter>\n<parameter=content>\n\n\nbody\n\n\n</parameter>\n</function>\n</tool_call>');
  assert.equal(r.toolCalls[0]!.arguments.content, '\n\nbody\n\n');
  const r2 = parse('<tool_call><function=write_file><parameter=path>a.txt</parameter><parameter=content>x</parameter></function></tool_call>');
  assert.deepEqual(r2.toolCalls[0]!.arguments, { path: 'a.txt', content: 'x' });
});

test('values keep XML, backslashes, quotes and newlines; tags inside a value are text', () => {
  const content = '<root>\n  <tool_call>not a call</tool_call>\n  <function=x>\n</root>\n\tC:\\dir\\n "q" \\\\';
  const command = "printf '%s\\n' \"<tool_call>\" | grep -c '</function>' && echo '</tool_call>'";
  const r = parse(call('write_file', { path: 'C:\\a\\b.xml', content }) + call('run_shell', { command }));
  assert.deepEqual(r.toolCalls.map((c) => c.arguments), [{ path: 'C:\\a\\b.xml', content }, { command }]);
  assert.deepEqual(r.warnings, []);
  assert.equal(r.content, '');
});

test('coercion by schema', () => {
  const r = parse(
    call('search', {
      query: '  007 ',
      filters: '{"lang": "en", "year": 2024}',
      tags: "['moe', 'mtp']",
      limit: '10',
      threshold: '0.5',
      anything: '[1, 2]',
    }),
  );
  assert.deepEqual(r.toolCalls[0]!.arguments, {
    query: '  007 ',
    filters: { lang: 'en', year: 2024 },
    tags: ['moe', 'mtp'],
    limit: 10,
    threshold: 0.5,
    anything: [1, 2],
  });
  assert.deepEqual(r.warnings, []);
});

test('coercion: booleans, null, Python literals, enums', () => {
  const args = (params: Record<string, string>, name = 'write_file') => parse(call(name, params)).toolCalls[0]!.arguments;
  for (const [text, value] of [['true', true], ['False', false], ['1', true], ['0', false]] as const)
    assert.equal(args({ path: 'p', content: 'c', overwrite: text }).overwrite, value, text);
  assert.equal(args({ limit: 'null' }, 'search').limit, null);
  assert.equal(args({ limit: 'None' }, 'search').limit, null);
  assert.equal(args({ threshold: 'null' }, 'search').threshold, null);
  // A string property keeps "null" as the text the model wrote.
  assert.equal(args({ query: 'null' }, 'search').query, 'null');
  assert.deepEqual(args({ filters: "{'a': True, 'b': None, 'c': (1, 2)}" }, 'search').filters, { a: true, b: null, c: [1, 2] });
  assert.equal(args({ unit: 'fahrenheit' }, 'get_weather').unit, 'fahrenheit');
  assert.equal(args({ days: '3.0' }, 'get_weather').days, 3);
  assert.equal(args({ threshold: '1e-05' }, 'search').threshold, 1e-5);
  assert.equal(args({ anything: 'free text' }, 'search').anything, 'free text');
  assert.deepEqual(args({ anything: '{"k": [true]}' }, 'search').anything, { k: [true] });
});

test('values that do not fit their type, and undeclared parameters, stay strings with a warning', () => {
  const r = parse(call('get_weather', { city: 'Paris', days: 'three', mood: 'sunny' }));
  assert.deepEqual(r.toolCalls[0]!.arguments, { city: 'Paris', days: 'three', mood: 'sunny' });
  assert.equal(r.warnings.length, 2);
  assert.match(r.warnings[0]!, /"days" is not a valid integer/);
  assert.match(r.warnings[1]!, /"mood" is not declared/);
  const r2 = parse(call('search', { filters: 'not json', threshold: 'inf' }));
  assert.deepEqual(r2.toolCalls[0]!.arguments, { filters: 'not json', threshold: 'inf' });
  assert.equal(r2.warnings.length, 2);
});

test('a repeated parameter keeps its last value', () => {
  const r = parse(call('get_weather', { city: 'A' }).replace('</function>', '<parameter=city>\nB\n</parameter>\n</function>'));
  assert.deepEqual(r.toolCalls[0]!.arguments, { city: 'B' });
  assert.match(r.warnings.join(), /given twice/);
});

test('arguments always serialise to valid JSON', () => {
  const r = parse(call('search', { query: 'x\u0000y\ud800', filters: "{'__proto__': {'a': 1}}", anything: '1e999' }));
  const args = r.toolCalls[0]!.arguments;
  assert.deepEqual(JSON.parse(JSON.stringify(args)), args);
  assert.equal(Object.getPrototypeOf(args.filters), Object.prototype);
  assert.deepEqual(Object.keys(args.filters as object), ['__proto__']);
  assert.equal(JSON.stringify(args.anything), '"1e999"');
});

test('tools not given: any name is a call, every value a string', () => {
  const r = parse(call('anything', { n: '5', o: '{"a": 1}' }), null);
  assert.deepEqual(r.toolCalls.map((c) => [c.name, c.arguments]), [['anything', { n: '5', o: '{"a": 1}' }]]);
  assert.deepEqual(r.warnings, []);
  // Without declared tools a bare <function=...> is not trusted.
  assert.equal(parse('<function=anything>\n</function>', null).toolCalls.length, 0);
});

test('an unknown tool name comes back as content, flagged', () => {
  const text = call('rm_rf', { path: '/' });
  const r = parse('Sure.\n' + text);
  assert.equal(r.toolCalls.length, 0);
  assert.equal(r.content, 'Sure.\n' + text);
  assert.match(r.warnings[0]!, /"rm_rf", which is not a declared tool/);
  assert.equal(parse(call('get_time', {}), []).toolCalls.length, 0);
});

test('an unterminated call at the end of the stream is content, never half a call', () => {
  for (const cut of ['<tool_call>', '<tool_call>\n<function=get_wea', '<tool_call>\n<function=get_weather>\n<parameter=city>\nPar', call('get_weather', { city: 'P' }).slice(0, -30)]) {
    const r = parse('Text ' + cut);
    assert.equal(r.toolCalls.length, 0, cut);
    assert.equal(r.content, 'Text ' + cut);
    assert.equal(r.endedInToolCall, true);
  }
  // A value closed only by </function> with nothing after it is not proven complete.
  const r = parse('<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</function>');
  assert.equal(r.toolCalls.length, 0);
  assert.equal(r.endedInToolCall, true);
});

test('a call complete up to </function> survives a missing </tool_call> at the end', () => {
  const r = parse('<tool_call>\n<function=get_time>\n</function>\n');
  assert.equal(r.toolCalls.length, 1);
  assert.equal(r.endedInToolCall, false);
  assert.match(r.warnings.join(), /missing <\/tool_call>/);
});

test('repair: missing </parameter> before </function>, proven by </tool_call>', () => {
  const r = parse('<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n<parameter=days>\n3\n</function>\n</tool_call>');
  assert.deepEqual(r.toolCalls[0]!.arguments, { city: 'Paris', days: 3 });
  assert.equal(r.content, '');
  assert.match(r.warnings.join('|'), /missing <\/parameter> after city\|.*missing <\/parameter> after days/);
});

test('repair: missing </parameter> only before a declared parameter on its own line', () => {
  // `<parameter=other>` is not a parameter of write_file: it is part of the content.
  const content = 'line\n<parameter=other>\nmore';
  const r = parse(call('write_file', { path: 'a', content }));
  assert.equal(r.toolCalls[0]!.arguments.content, content);
  const r2 = parse('<tool_call>\n<function=write_file>\n<parameter=content>\nx <parameter=path>\n</parameter>\n</function>\n</tool_call>');
  assert.deepEqual(r2.toolCalls[0]!.arguments, { content: 'x <parameter=path>' });
});

test('repair: missing </function>, missing </tool_call>, next call starting', () => {
  const a = parse('<tool_call>\n<function=get_weather>\n<parameter=city>\nA\n</parameter>\n</tool_call>');
  assert.deepEqual(a.toolCalls.map((c) => c.arguments), [{ city: 'A' }]);
  const b = parse('<tool_call>\n<function=get_weather>\n<parameter=city>\nA\n</parameter>\n</function>\n<tool_call>\n<function=get_time>\n</function>\n</tool_call>');
  assert.deepEqual(b.toolCalls.map((c) => c.name), ['get_weather', 'get_time']);
  const c = parse('<tool_call>\n<function=get_weather>\n<parameter=city>\nA\n</parameter>\n<tool_call>\n<function=get_time>\n</function>\n</tool_call>');
  assert.deepEqual(c.toolCalls.map((x) => x.name), ['get_weather', 'get_time']);
  // Two functions in one wrapper.
  const d = parse('<tool_call>\n<function=get_time>\n</function>\n<function=get_weather>\n<parameter=city>\nB\n</parameter>\n</function>\n</tool_call>');
  assert.deepEqual(d.toolCalls.map((x) => x.name), ['get_time', 'get_weather']);
  assert.equal(d.content, '');
  // A missing </parameter> and </function> before a new call.
  const e = parse('<tool_call>\n<function=get_weather>\n<parameter=city>\nA\n</function>\n<tool_call>\n<function=get_time>\n</function>\n</tool_call>');
  assert.deepEqual(e.toolCalls.map((x) => [x.name, x.arguments]), [['get_weather', { city: 'A' }], ['get_time', {}]]);
});

test('repair: missing ">" after <function=NAME and <parameter=KEY', () => {
  const r = parse('<tool_call>\n<function=get_weather\n<parameter=city\nParis\n</parameter>\n</function>\n</tool_call>');
  assert.deepEqual(r.toolCalls[0]!.arguments, { city: 'Paris' });
  assert.match(r.warnings.join(), /missing ">" after <function=NAME.*missing ">" after <parameter=city/);
});

test('repair: <function NAME> without "="', () => {
  const r = parse('<tool_call>\n<function get_weather>\n<parameter=city>\nParis\n</parameter>\n</function>\n</tool_call>');
  assert.deepEqual(r.toolCalls.map((c) => [c.name, c.arguments]), [['get_weather', { city: 'Paris' }]]);
  const bare = parse('<function get_time>\n</function>');
  assert.deepEqual(bare.toolCalls.map((c) => c.name), ['get_time']);
});

test('repair: a bare <function=...> block for a declared tool', () => {
  const r = parse('Calling.\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n</function>\n</tool_call>\nok');
  assert.deepEqual(r.toolCalls.map((c) => c.arguments), [{ city: 'Paris' }]);
  assert.equal(r.content, 'Calling.\n\nok');
  // An undeclared name is not a call: it stays text.
  const text = 'Use <function=undeclared> like this.';
  assert.equal(parse(text).content, text);
  assert.equal(parse('<function=').content, '<function=');
});

test('<tool_call> that does not open a function is text', () => {
  for (const text of ['Use the <tool_call> tag.', '<tool_call></tool_call> after', '<tool_call>\n{"name": "get_time"}\n</tool_call>'])
    assert.equal(parse(text).content, text, text);
  const r = parse('mention <tool_call> then ' + call('get_time', {}));
  assert.equal(r.content, 'mention <tool_call> then ');
  assert.equal(r.toolCalls.length, 1);
});

test('invalid names are not calls', () => {
  const text = '<tool_call>\n<function=>\n</function>\n</tool_call>';
  assert.equal(parse(text).content, text);
  assert.equal(parse('<tool_call>\n<function=' + 'x'.repeat(300) + '</function></tool_call>').toolCalls.length, 0);
});

test('stray text between parameters is ignored', () => {
  const r = parse('<tool_call>\n<function=get_weather>\nhmm\n<parameter=city>\nParis\n</parameter>\noops\n</function>\n</tool_call>');
  assert.deepEqual(r.toolCalls[0]!.arguments, { city: 'Paris' });
});

test('a tool call before </think> ends the reasoning and is not lost; a later </think> is dropped', () => {
  const r = parseModelOutput('I will look it up.\n' + call('get_weather', { city: 'Oslo' }) + '\n</think>\n\nIt is cold.', TOOLS);
  assert.equal(r.reasoning, 'I will look it up.');
  assert.deepEqual(r.toolCalls.map((c) => c.arguments), [{ city: 'Oslo' }]);
  assert.equal(r.content, '\nIt is cold.');
  // Only one stray </think> is dropped, and only after an implicit end.
  assert.equal(parseModelOutput('a</think>b</think>c', TOOLS).content, 'b</think>c');
});

test('the parser used alone', () => {
  const p = new ToolCallParser({ tools: TOOLS, generateId: () => 'call_x' });
  const events = [...p.push('hi <tool_'), ...p.push('call>\n<function=get_time>\n</function>\n</tool_call>'), ...p.end()];
  assert.deepEqual(events, [
    { type: 'content', text: 'hi ' },
    { type: 'tool_call', index: 0, call: { id: 'call_x', name: 'get_time', arguments: {} } },
  ]);
  assert.deepEqual(p.warnings, []);
});

test('round trip: calls rendered by the chat template parse back to the same arguments', () => {
  const tools = [
    fn('probe', {
      s: { type: 'string' },
      xml: { type: 'string' },
      i: { type: 'integer' },
      f: { type: 'number' },
      t: { type: 'boolean' },
      n: { type: ['string', 'null'] },
      o: { type: 'object' },
      a: { type: 'array' },
    }),
  ];
  const args = {
    s: 'plain',
    xml: '<a>\n  <tool_call>x</tool_call>\\n </function> "q"\n</a>\n',
    i: -42,
    f: 2.5e-7,
    t: false,
    n: null,
    o: { k: 'é', nested: [1, { z: null }], b: true },
    a: [1, 'two', [3]],
  };
  const prompt = renderChat(
    [
      { role: 'user', content: 'go' },
      { role: 'assistant', content: 'Running.', reasoning_content: 'Think.', tool_calls: [{ type: 'function', function: { name: 'probe', arguments: args } }, { type: 'function', function: { name: 'probe', arguments: JSON.stringify({ s: '' }) } }] },
    ],
    { tools },
  );
  const turn = prompt.slice(prompt.lastIndexOf('<|im_start|>assistant\n') + '<|im_start|>assistant\n'.length, prompt.lastIndexOf('<|im_end|>'));
  // The rendered turn starts with the `<think>\n` the generation prompt would have supplied.
  const r = parseModelOutput(turn, tools);
  assert.equal(r.reasoning, 'Think.');
  assert.equal(r.content, 'Running.');
  assert.deepEqual(r.toolCalls.map((c) => c.arguments), [args, { s: '' }]);
  assert.deepEqual(r.warnings, []);
});
