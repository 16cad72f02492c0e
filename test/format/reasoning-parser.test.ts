import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReasoningParser, type ReasoningPiece } from '../../src/format/reasoning-parser.js';

function split(chunks: string[], startInReasoning = true) {
  const p = new ReasoningParser({ startInReasoning });
  const pieces: ReasoningPiece[] = [];
  for (const c of chunks) pieces.push(...p.push(c));
  pieces.push(...p.end());
  const join = (k: string) => pieces.filter((x) => x.kind === k).map((x) => x.text).join('');
  return { reasoning: join('reasoning'), content: join('content'), inReasoning: p.inReasoning, endedBy: p.endedBy, pieces };
}

test('reasoning ends at </think>, trimming one newline on each side', () => {
  const r = split(['Plan it.\n</think>\nAnswer.']);
  assert.deepEqual([r.reasoning, r.content, r.endedBy, r.inReasoning], ['Plan it.', 'Answer.', 'think', false]);
  // Only one newline each side belongs to the tag.
  const r2 = split(['a\n\n</think>\n\nb\n']);
  assert.deepEqual([r2.reasoning, r2.content], ['a\n', '\nb\n']);
  const r3 = split(['a</think>b']);
  assert.deepEqual([r3.reasoning, r3.content], ['a', 'b']);
});

test('a later </think> or <think> in the content is content', () => {
  const r = split(['r\n</think>\nx </think> <think> y']);
  assert.deepEqual([r.reasoning, r.content], ['r', 'x </think> <think> y']);
});

test('reasoning ends at a <tool_call> that comes before any </think>, and the call goes to content', () => {
  const r = split(['Need data.\n<tool_call>\n<function=f>\n</function>\n</tool_call>']);
  assert.equal(r.reasoning, 'Need data.');
  assert.equal(r.content, '<tool_call>\n<function=f>\n</function>\n</tool_call>');
  assert.equal(r.endedBy, 'tool_call');
});

test('partial markers are held back across chunks', () => {
  const p = new ReasoningParser();
  assert.deepEqual(p.push('abc</thi'), [{ kind: 'reasoning', text: 'abc' }]);
  assert.deepEqual(p.push('nk>'), []);
  assert.deepEqual(p.push('\nhi'), [{ kind: 'content', text: 'hi' }]);
  const q = new ReasoningParser();
  assert.deepEqual(q.push('x\n'), [{ kind: 'reasoning', text: 'x' }]);
  assert.deepEqual(q.push('<tool_ca'), []);
  assert.deepEqual(q.push('ll>'), [{ kind: 'content', text: '<tool_call>' }]);
  // A held '<' that turns out to be ordinary text is released as reasoning.
  const r = new ReasoningParser();
  assert.deepEqual(r.push('a <'), [{ kind: 'reasoning', text: 'a ' }]);
  assert.deepEqual(r.push('b'), [{ kind: 'reasoning', text: '<b' }]);
});

test('the newline after </think> is dropped even when it arrives in the next chunk', () => {
  assert.deepEqual(split(['r</think>', '\n', 'c']).content, 'c');
  assert.deepEqual(split(['r\n', '</think>', '\n\nc']).content, '\nc');
});

test('the end of the stream inside reasoning returns everything as reasoning', () => {
  const r = split(['still thinking\n', '</th']);
  assert.equal(r.reasoning, 'still thinking\n</th');
  assert.equal(r.content, '');
  assert.equal(r.inReasoning, true);
  assert.equal(r.endedBy, null);
});

test('a repeated <think> at the very start is dropped with its newline', () => {
  assert.equal(split(['<think>\nr</think>c']).reasoning, 'r');
  assert.equal(split(['<thi', 'nk>', '\nr</think>c']).reasoning, 'r');
  assert.equal(split(['x<think>r</think>c']).reasoning, 'x<think>r');
  assert.equal(split(['<thin']).reasoning, '<thin');
});

test('startInReasoning: false passes everything through as content', () => {
  const r = split(['a</think>b<tool_call>'], false);
  assert.deepEqual([r.reasoning, r.content], ['', 'a</think>b<tool_call>']);
});

test('empty stream', () => {
  const r = split([]);
  assert.deepEqual([r.reasoning, r.content, r.inReasoning], ['', '', true]);
  assert.deepEqual(split(['']).pieces, []);
});
