// The loop through stepflash's real server stack: Step 3.5's chat template, tokenizer, engine and XML
// tool-call parser over a scripted model, so the tool calls the agent gets are parsed from the model's
// own output format (parallel calls, parameters typed by schema, a failing call),
// and the results the agent sends back are rendered by the real template in the next prompt.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { runAgent } from '../../src/agent/loop/index.js';
import { fileTools, todoTool } from '../../src/agent/tools/index.js';
import { startServer } from '../../src/server/server.js';
import type { ScriptedPrompt } from '../helpers/scripted-model.js';
import { scripted } from '../server/engine/helpers.js';

const ws = mkdtempSync(join(tmpdir(), 'agent-step-'));
after(() => rmSync(ws, { recursive: true, force: true }));

const call = (name: string, params: Record<string, string>) =>
  `<tool_call>\n<function=${name}>\n${Object.entries(params).map(([k, v]) => `<parameter=${k}>\n${v}\n</parameter>\n`).join('')}</function>\n</tool_call>`;

describe('agent loop over the Step 3.5 chat format', () => {
  test('parallel XML tool calls, a failing call, results rendered back in order, then the answer', { timeout: 60_000 }, async () => {
    const prompts: string[] = [];
    const reply = (p: ScriptedPrompt) => {
      prompts.push(p.text);
      if (!p.text.includes('wrote 11 bytes')) {
        return `I will write the file and plan.\n</think>\n${call('write_file', { path: 'notes/a.txt', content: 'hello world' })}\n${call('todo', { set: '[{"id": "1", "task": "write notes", "status": "completed"}]' })}\n${call('read_file', { path: 'missing.txt' })}`;
      }
      return 'The file is written.\n</think>\nDone: notes/a.txt holds the greeting.';
    };
    const { service } = scripted(reply);
    const server = await startServer({ service, port: 0, webChat: false });
    try {
      const result = await runAgent({ client: { baseURL: `${server.url}/v1`, model: 'any', maxTokens: 400 }, task: 'Write hello world to notes/a.txt', tools: [...fileTools(), todoTool()], workspace: ws, maxSteps: 4 });
      assert.equal(result.stopReason, 'final', result.error);
      assert.equal(result.final, 'Done: notes/a.txt holds the greeting.');
      assert.equal(readFileSync(join(ws, 'notes/a.txt'), 'utf8'), 'hello world');
      const first = result.messages[2]!;
      assert.equal(first.role, 'assistant');
      assert.equal(first.role === 'assistant' && first.reasoning_content?.trim(), 'I will write the file and plan.');
      const calls = first.role === 'assistant' ? first.tool_calls! : [];
      assert.deepEqual(calls.map((c) => c.function.name), ['write_file', 'todo', 'read_file']);
      assert.deepEqual(JSON.parse(calls[1]!.function.arguments).set, [{ id: '1', task: 'write notes', status: 'completed' }], 'an array parameter is typed by the schema');
      const tools = result.messages.filter((m) => m.role === 'tool').map((m) => m.content);
      assert.equal(tools[0], 'wrote 11 bytes to notes/a.txt');
      assert.match(tools[1]!, /\[x\] 1: write notes/);
      assert.equal(tools[2], 'no such file or directory: missing.txt');
      // The second prompt carries the three results, in call order, through the real template.
      const second = prompts.at(-1)!;
      const at = ['wrote 11 bytes to notes/a.txt', '[x] 1: write notes', 'no such file or directory: missing.txt'].map((t) => second.indexOf(t));
      assert.ok(at.every((i, k) => i > 0 && (k === 0 || i > at[k - 1]!)), `results in order in the prompt: ${at}`);
      assert.ok(result.usage.promptTokens > 0 && result.usage.completionTokens > 0);
    } finally {
      await server.close();
    }
  });
});
