// The agent loop against a scripted endpoint that speaks the real OpenAI HTTP API: tool calls, parallel
// calls, malformed calls, endless loops, retries (429 with retry-after, 500s, a stream cut mid-reply),
// cancellation, budgets, a final-answer schema, the trace, and the three context strategies.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { runAgent, type AgentEvent, type RunAgentOptions } from '../../src/agent/loop/index.js';
import type { AgentTool } from '../../src/agent/tool.js';
import { startScriptServer, type ScriptEntry } from '../helpers/openai-script-server.js';

const dir = mkdtempSync(join(tmpdir(), 'agent-loop-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const echo: AgentTool = {
  name: 'echo',
  description: 'echo text back',
  parameters: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
  run: async (args) => ({ content: `echo: ${args.text}` }),
};

function sleeper(name: string, log: string[]): AgentTool {
  return {
    name,
    description: 'sleep ms then report',
    parameters: { type: 'object', properties: { ms: { type: 'integer', minimum: 0 } }, required: ['ms'] },
    run: async (args, ctx) => {
      log.push(`start ${name} ${args.ms}`);
      await new Promise((ok) => setTimeout(ok, args.ms as number));
      log.push(`end ${name} ${args.ms}`);
      return { content: `${name} slept ${args.ms} in ${ctx.workspace}` };
    },
  };
}

async function run(script: ScriptEntry[], opts: Partial<RunAgentOptions> & { fallback?: ScriptEntry } = {}) {
  const server = await startScriptServer(script, { fallback: opts.fallback });
  const events: AgentEvent[] = [];
  try {
    const result = await runAgent({
      task: 'do the task',
      tools: [echo],
      workspace: dir,
      onEvent: (e) => events.push(e),
      ...opts,
      client: { apiKey: 'k', retry: { baseDelayMs: 5, maxDelayMs: 50 }, ...opts.client, baseURL: server.baseURL, model: 'm' },
    });
    return { result, events, requests: server.requests, remaining: server.remaining() };
  } finally {
    await server.close();
  }
}

const call = (name: string, args: unknown, id?: string) => ({ name, arguments: typeof args === 'string' ? args : JSON.stringify(args), id });

describe('agent loop', () => {
  test('a plain answer: streamed deltas, usage from the endpoint, the request shape', async () => {
    const { result, events, requests } = await run([{ reasoning: 'thinking hard', content: 'The answer is 42.', usage: { prompt_tokens: 50, completion_tokens: 7 } }]);
    assert.equal(result.stopReason, 'final');
    assert.equal(result.final, 'The answer is 42.');
    assert.equal(result.steps, 1);
    assert.deepEqual(result.usage, { promptTokens: 50, completionTokens: 7, totalTokens: 57, calls: 1 });
    const text = events.filter((e) => e.type === 'delta' && e.kind === 'content').map((e) => (e as { text: string }).text).join('');
    assert.equal(text, 'The answer is 42.');
    assert.ok(events.some((e) => e.type === 'delta' && e.kind === 'reasoning'));
    assert.deepEqual(events.at(-1), { type: 'stop', reason: 'final', error: undefined });
    assert.equal(result.finishReason, 'stop');
    const body = requests[0]!.body;
    assert.equal(requests[0]!.headers.authorization, 'Bearer k');
    assert.equal(body.model, 'm');
    assert.equal(body.stream, true);
    assert.deepEqual(body.stream_options, { include_usage: true });
    assert.equal(body.tools[0].function.name, 'echo');
    assert.deepEqual(body.messages.map((m: { role: string }) => m.role), ['system', 'user']);
  });

  test('tool call, result sent back with its id, then the final answer; reasoning is sent back', async () => {
    const { result, requests } = await run([{ reasoning: 'use echo', toolCalls: [call('echo', { text: 'hi' }, 'c1')] }, { content: 'done' }]);
    assert.equal(result.stopReason, 'final');
    assert.equal(result.steps, 2);
    const msgs = requests[1]!.body.messages;
    assert.equal(msgs[2].role, 'assistant');
    assert.equal(msgs[2].reasoning_content, 'use echo');
    assert.equal(msgs[2].tool_calls[0].function.arguments, '{"text":"hi"}');
    assert.deepEqual(msgs[3], { role: 'tool', tool_call_id: 'c1', content: 'echo: hi' });
  });

  test('parallel calls run concurrently and come back in call order', async () => {
    const log: string[] = [];
    const { result, requests } = await run([{ toolCalls: [call('slow', { ms: 300 }, 'a'), call('fast', { ms: 10 }, 'b'), call('slow', { ms: 200 }, 'c')] }, { content: 'ok' }], {
      tools: [sleeper('slow', log), sleeper('fast', log)],
    });
    assert.equal(result.stopReason, 'final');
    // Concurrent: all three started before any ended, and they ended in order of their sleeps.
    assert.deepEqual(log, ['start slow 300', 'start fast 10', 'start slow 200', 'end fast 10', 'end slow 200', 'end slow 300']);
    const tools = requests[1]!.body.messages.filter((m: { role: string }) => m.role === 'tool');
    assert.deepEqual(tools.map((m: { tool_call_id: string }) => m.tool_call_id), ['a', 'b', 'c']);
    assert.match(tools[0].content, /slow slept 300/);
  });

  test('malformed calls (unknown tool, arguments not JSON, arguments failing the schema, a throwing tool) become error results', async () => {
    const boom: AgentTool = { name: 'boom', description: 'fails', parameters: { type: 'object', properties: {} }, run: async () => { throw new Error('kaput'); } };
    const { result, requests } = await run(
      [{ toolCalls: [call('nope', {}, 'u'), call('echo', '{"text": "unterminated', 'j'), call('echo', { text: 5 }, 's'), call('echo', '[1]', 'a'), call('boom', {}, 'b')] }, { content: 'recovered' }],
      { tools: [echo, boom] },
    );
    assert.equal(result.stopReason, 'final');
    assert.equal(result.final, 'recovered');
    const tools = requests[1]!.body.messages.filter((m: { role: string }) => m.role === 'tool').map((m: { content: string }) => m.content);
    assert.match(tools[0], /unknown tool "nope".*Available tools: echo, boom/);
    assert.match(tools[1], /not valid JSON/);
    assert.match(tools[2], /\$\.text: expected string, got integer/);
    assert.match(tools[3], /must be a JSON object/);
    assert.match(tools[4], /boom failed: kaput/);
  });

  test('an endless loop of identical calls is told to the model and ends at max_steps', async () => {
    const { result, requests } = await run([], { fallback: { toolCalls: [call('echo', { text: 'again' })] }, maxSteps: 5 });
    assert.equal(result.stopReason, 'max_steps');
    assert.equal(result.steps, 5);
    assert.equal(requests.length, 5);
    const tools = result.messages.filter((m) => m.role === 'tool').map((m) => m.content as string);
    assert.equal(tools[0], 'echo: again');
    assert.equal(tools[1], 'echo: again');
    assert.match(tools[2]!, /exact call .* 3 times and it returned the same result each time/);
  });

  test('a repeated call whose result changes is not taken for a loop', async () => {
    let n = 0;
    const counter: AgentTool = { name: 'count', description: 'counts', parameters: { type: 'object' }, run: async () => ({ content: String(++n) }) };
    const { result } = await run([], { tools: [counter], fallback: { toolCalls: [call('count', {})] }, maxSteps: 5 });
    assert.deepEqual(result.messages.filter((m) => m.role === 'tool').map((m) => m.content), ['1', '2', '3', '4', '5']);
  });

  test('429 with retry-after and 500s are retried with backoff; the trace records attempts', async () => {
    const trace = join(dir, 'retry.jsonl');
    const t0 = performance.now();
    const { result, events } = await run([{ status: 429, headers: { 'retry-after': '0.3' } }, { status: 500 }, { status: 503 }, { content: 'finally' }], { trace });
    assert.equal(result.stopReason, 'final');
    assert.equal(result.final, 'finally');
    assert.ok(performance.now() - t0 >= 290, 'retry-after honoured');
    const retries = events.filter((e) => e.type === 'retry') as Extract<AgentEvent, { type: 'retry' }>[];
    assert.equal(retries.length, 3);
    assert.equal(retries[0]!.delayMs, 300);
    assert.match(retries[1]!.reason, /HTTP 500/);
    const lines = readFileSync(trace, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const mc = lines.find((l) => l.type === 'model_call');
    assert.equal(mc.attempts, 4);
    assert.deepEqual(mc.usage, { prompt_tokens: 100, completion_tokens: 10 });
  });

  test('a stream cut mid-reply is retried; errors beyond the retries and 4xx stop the run with the reason', async () => {
    const cut = await run([{ content: 'partial answer that will be cut', disconnectAfter: 3 }, { content: 'whole answer' }]);
    assert.equal(cut.result.stopReason, 'final');
    assert.equal(cut.result.final, 'whole answer');
    assert.match((cut.events.find((e) => e.type === 'retry') as { reason: string }).reason, /stream (ended|broke off)/);

    const dead = await run([], { fallback: { status: 500, error: 'engine on fire' }, client: { baseURL: '', model: 'm', retry: { maxRetries: 2, baseDelayMs: 1 } } });
    assert.equal(dead.result.stopReason, 'error');
    assert.match(dead.result.error!, /HTTP 500: engine on fire \(after 3 attempts\)/);
    assert.equal(dead.requests.length, 3);

    const bad = await run([{ status: 400, error: 'bad request body' }]);
    assert.equal(bad.result.stopReason, 'error');
    assert.equal(bad.requests.length, 1, '4xx is not retried');
    assert.match(bad.result.error!, /HTTP 400: bad request body/);

    const server = await startScriptServer([]);
    const url = server.baseURL;
    await server.close();
    const gone = await runAgent({ client: { baseURL: url, model: 'm', retry: { maxRetries: 1, baseDelayMs: 1 } }, task: 't', workspace: dir });
    assert.equal(gone.stopReason, 'error');
    assert.match(gone.error!, /cannot reach/);
  });

  test('cancellation stops a streaming model call and a running tool promptly', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 150);
    const t0 = performance.now();
    const slow = await run([{ content: 'x'.repeat(400), chunkDelayMs: 20 }], { signal: ac.signal });
    assert.equal(slow.result.stopReason, 'cancelled');
    assert.ok(performance.now() - t0 < 1000);

    const ac2 = new AbortController();
    let toolSignal: AbortSignal | undefined;
    const stubborn: AgentTool = {
      name: 'wait',
      description: 'waits for its signal',
      parameters: { type: 'object' },
      run: (_a, ctx) => {
        toolSignal = ctx.signal;
        setTimeout(() => ac2.abort(), 50);
        return new Promise(() => {}); // never settles: the loop must not hang on it
      },
    };
    const t1 = performance.now();
    const r2 = await run([{ toolCalls: [call('wait', {})] }], { tools: [stubborn], signal: ac2.signal });
    assert.equal(r2.result.stopReason, 'cancelled');
    assert.equal(toolSignal?.aborted, true, 'the tool saw the abort');
    assert.ok(performance.now() - t1 < 1000);
    assert.equal(r2.requests.length, 1);
  });

  test('a tool past its time limit is stopped and reported', async () => {
    const { result, requests } = await run([{ toolCalls: [call('slow', { ms: 2000 })] }, { content: 'ok' }], { tools: [sleeper('slow', [])], toolTimeoutMs: 100 });
    assert.equal(result.stopReason, 'final');
    assert.match(requests[1]!.body.messages.at(-1).content, /did not finish within 100 ms/);
  });

  test('the token budget stops the run from the endpoint usage', async () => {
    const { result } = await run([], { fallback: (r) => ({ toolCalls: [call('echo', { text: String(r.body.messages.length) })] }), tokenBudget: 250 });
    assert.equal(result.stopReason, 'token_budget');
    assert.equal(result.steps, 3, '110 tokens a call: 220 < 250 after two, 330 after three');
    assert.equal(result.usage.totalTokens, 330);
  });

  test('a final answer failing the schema is sent back for repair, then parsed', async () => {
    const schema = { type: 'object', properties: { city: { type: 'string' }, population: { type: 'integer' } }, required: ['city', 'population'], additionalProperties: false };
    const { result, requests, events } = await run([{ content: 'Paris, about 2 million' }, { content: '{"city": "Paris"}' }, { content: '```json\n{"city": "Paris", "population": 2100000}\n```' }], { finalSchema: schema });
    assert.equal(result.stopReason, 'final');
    assert.deepEqual(result.json, { city: 'Paris', population: 2100000 });
    assert.equal(events.filter((e) => e.type === 'repair').length, 2);
    assert.match(requests[2]!.body.messages.at(-1).content, /missing required property "population"/);

    const never = await run([], { fallback: { content: 'no json here' }, finalSchema: schema, maxRepairs: 1 });
    assert.equal(never.result.stopReason, 'error');
    assert.match(never.result.error!, /failed the schema after 1 repair/);
  });

  test('an answer cut by max tokens says so in finishReason', async () => {
    const { result } = await run([{ content: 'The answer is', finish: 'length' }]);
    assert.equal(result.stopReason, 'final');
    assert.equal(result.finishReason, 'length');
  });

  test('non-streaming mode gives the same result', async () => {
    const { result, requests } = await run([{ toolCalls: [call('echo', { text: 'a' })] }, { content: 'plain' }], { client: { baseURL: '', model: 'm', stream: false } });
    assert.equal(result.final, 'plain');
    assert.equal(requests[0]!.body.stream, undefined);
    assert.equal(result.usage.calls, 2);
  });
});

describe('context management', () => {
  const big = 'x'.repeat(4000);
  const bigTool: AgentTool = { name: 'big', description: 'big output', parameters: { type: 'object', properties: { n: { type: 'integer' } } }, run: async (a) => ({ content: `${a.n}:${big}` }) };
  // Each scripted reply reports the prompt as the estimate would see it, so the threshold is crossed by tool output.
  const growing = (r: { body: Record<string, any> }) => ({ toolCalls: [call('big', { n: r.body.messages.length })], usage: { prompt_tokens: Math.ceil(JSON.stringify(r.body.messages).length / 4), completion_tokens: 5 } });

  test('discard replaces old tool outputs with stubs and keeps the latest', async () => {
    const { result, requests } = await run([], { tools: [bigTool], fallback: growing, context: 'discard', contextThreshold: 2500, keepRecent: 1, maxSteps: 5 });
    assert.equal(result.stopReason, 'max_steps');
    assert.ok(result.contextEvents >= 1);
    const last = requests.at(-1)!.body.messages.filter((m: { role: string }) => m.role === 'tool');
    assert.match(last[0].content, /^\[discarded to save context: the big output was 4002 characters/);
    assert.ok(last.at(-1).content.endsWith(big), 'the latest output is kept');
  });

  test('discard acts only when there is something to discard; summarize waits for growth after a summary that could not get under the threshold', async () => {
    const small: AgentTool = { name: 'small', description: '', parameters: { type: 'object', properties: { i: { type: 'integer' } } }, run: async () => ({ content: 'ok' }) };
    // One big output, then small calls: the big output is the latest at first (kept), then discarded.
    const script = (r: { body: Record<string, any> }) => ({
      toolCalls: [r.body.messages.length < 4 ? call('big', { n: 1 }) : call('small', { i: r.body.messages.length })],
      usage: { prompt_tokens: Math.ceil(JSON.stringify(r.body.messages).length / 4), completion_tokens: 5 },
    });
    const d = await run([], { tools: [bigTool, small], fallback: script, context: 'discard', contextThreshold: 500, keepRecent: 1, maxSteps: 6 });
    assert.equal(d.result.contextEvents, 1);
    assert.match(d.requests[2]!.body.messages[3].content, /^\[discarded to save context/);

    // A summary longer than the threshold: one summary, not one per step.
    // Two big outputs pass the threshold; the summary itself is longer than it.
    let turn = 0;
    const twoBig = (r: { body: Record<string, any> }) => ({
      toolCalls: [++turn <= 2 ? call('big', { n: turn }) : call('small', { i: turn })],
      usage: { prompt_tokens: Math.ceil(JSON.stringify(r.body.messages).length / 4), completion_tokens: 5 },
    });
    const summarizing = (r: { body: Record<string, any> }) => (r.body.messages[0].content.startsWith('You condense') ? { content: 's'.repeat(9000) } : twoBig(r));
    const s = await run([], { tools: [bigTool, small], fallback: summarizing, context: 'summarize', contextThreshold: 1500, maxSteps: 8 });
    assert.equal(s.requests.length, 8);
    assert.equal(s.requests.filter((r) => r.body.messages[0].content.startsWith('You condense')).length, 1);
    assert.equal(s.result.contextEvents, 1);
  });

  test('reset restarts from the task and the model-written progress note', async () => {
    const script = (r: { body: Record<string, any> }) => (r.body.messages.at(-1).content?.startsWith('Your context is full') ? { content: 'NOTE: read big 2 and 4' } : growing(r));
    const { result, requests } = await run([], { tools: [bigTool], fallback: script, context: 'reset', contextThreshold: 2500, maxSteps: 6 });
    assert.ok(result.contextEvents >= 1);
    const noteReq = requests.findIndex((r) => r.body.messages.at(-1).content?.startsWith('Your context is full'));
    assert.ok(noteReq > 0);
    assert.equal(requests[noteReq]!.body.tools, undefined, 'the note call offers no tools');
    const after = requests[noteReq + 1]!.body.messages;
    assert.equal(after.length, 2);
    assert.equal(after[0].role, 'system');
    assert.match(after[1].content, /^do the task\n\n---\nYou are resuming this task after a context reset \(1 so far\)[\s\S]*NOTE: read big 2 and 4/);
  });

  test('a prompt the endpoint refuses as too long forces the context strategy at once, then the call is retried', async () => {
    let refused = 0;
    const script = (r: { body: Record<string, any> }) => {
      const size = JSON.stringify(r.body.messages).length;
      // The endpoint's context is smaller than the agent's threshold says.
      if (size > 9000 && refused < 5) {
        refused++;
        return { status: 400, error: "This model's maximum context length is 2048 tokens. However, your messages resulted in 2600 tokens.", code: 'context_length_exceeded' };
      }
      return growing(r);
    };
    const { result, requests } = await run([], { tools: [bigTool], fallback: script, context: 'discard', contextThreshold: 100_000, keepRecent: 1, maxSteps: 6 });
    assert.equal(result.stopReason, 'max_steps', result.error);
    assert.ok(refused >= 1);
    assert.ok(result.contextEvents >= 1);
    assert.match(requests.at(-1)!.body.messages.find((m: { role: string }) => m.role === 'tool').content, /^\[discarded to save context/);

    const noMode = await run([{ toolCalls: [call('big', { n: 1 })] }, { toolCalls: [call('big', { n: 2 })] }, { toolCalls: [call('big', { n: 3 })] }], { tools: [bigTool], fallback: script, maxSteps: 6 });
    assert.equal(noMode.result.stopReason, 'error', 'without a context mode the refusal ends the run');
    assert.match(noMode.result.error!, /maximum context length .*\[context_length_exceeded\]/);
  });

  test('summarize replaces old turns with a model-written summary, keeping the latest turn whole', async () => {
    const script = (r: { body: Record<string, any> }) => (r.body.messages[0].content.startsWith('You condense') ? { content: 'SUMMARY: called big twice' } : growing(r));
    const { result, requests } = await run([], { tools: [bigTool], fallback: script, context: 'summarize', contextThreshold: 2500, maxSteps: 6 });
    assert.ok(result.contextEvents >= 1);
    const sumReq = requests.findIndex((r) => r.body.messages[0].content.startsWith('You condense'));
    assert.ok(sumReq > 0);
    assert.match(requests[sumReq]!.body.messages[1].content, /\[Assistant tool call\] big\(/);
    const after = requests[sumReq + 1]!.body.messages;
    assert.equal(after[1].content, 'do the task');
    assert.match(after[2].content, /^Summary of your earlier work[\s\S]*SUMMARY: called big twice/);
    assert.equal(after[3].role, 'assistant');
    assert.equal(after[4].role, 'tool');
  });
});
