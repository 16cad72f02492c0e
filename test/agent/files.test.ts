// The file tools stay inside the workspace: .. traversal, absolute paths elsewhere and symbolic links
// leading out are refused for every operation; inside, reads, writes, lists, searches and edits work.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileTools, todoTool } from '../../src/agent/tools/index.js';
import type { AgentTool } from '../../src/agent/tool.js';

const root = mkdtempSync(join(tmpdir(), 'agent-files-'));
const ws = join(root, 'ws');
mkdirSync(join(ws, 'src'), { recursive: true });
writeFileSync(join(root, 'secret.txt'), 'TOP-SECRET');
mkdirSync(join(root, 'outside'));
writeFileSync(join(ws, 'src/a.txt'), 'alpha\nbeta\ngamma\ndelta\n');
writeFileSync(join(ws, 'src/b.txt'), 'beta again\n');
symlinkSync(join(root, 'secret.txt'), join(ws, 'leak'));
symlinkSync(join(root, 'outside'), join(ws, 'door'));
symlinkSync('src/a.txt', join(ws, 'alias'));
after(() => rmSync(root, { recursive: true, force: true }));

const tools = Object.fromEntries(fileTools().map((t) => [t.name, t])) as Record<string, AgentTool>;
const run = (name: string, args: Record<string, unknown>) => tools[name]!.run(args, { signal: new AbortController().signal, workspace: ws, callId: 'c' });

describe('file tools', () => {
  test('read with line ranges, list, search', async () => {
    const r = await run('read_file', { path: 'src/a.txt', start_line: 2, end_line: 3 });
    assert.equal(r.content, 'src/a.txt (4 lines)\n2| beta\n3| gamma\n[lines 4-4 not shown; read again with start_line=4]');
    assert.match((await run('read_file', { path: 'alias' })).content, /1\| alpha/, 'a link that stays inside is followed');
    const l = await run('list_files', { recursive: true });
    assert.deepEqual(l.content.split('\n'), ['alias@', 'door@', 'leak@', 'src/', 'src/a.txt', 'src/b.txt']);
    const s = await run('search_files', { pattern: '^beta' });
    assert.equal(s.content, 'src/a.txt:2: beta\nsrc/b.txt:1: beta again');
    assert.equal((await run('search_files', { pattern: '(' })).isError, true);
  });

  test('write creates directories; edit replaces one unique string and refuses ambiguous or missing ones', async () => {
    assert.equal((await run('write_file', { path: 'new/dir/c.txt', content: 'one two two' })).isError, undefined);
    assert.equal(readFileSync(join(ws, 'new/dir/c.txt'), 'utf8'), 'one two two');
    const amb = await run('edit_file', { path: 'new/dir/c.txt', old_string: 'two', new_string: '2' });
    assert.match(amb.content, /occurs 2 times/);
    assert.equal(amb.isError, true);
    assert.match((await run('edit_file', { path: 'new/dir/c.txt', old_string: 'three', new_string: '3' })).content, /not found/);
    assert.equal((await run('edit_file', { path: 'new/dir/c.txt', old_string: 'one two', new_string: '1 2' })).content, 'edited new/dir/c.txt at line 1');
    assert.equal(readFileSync(join(ws, 'new/dir/c.txt'), 'utf8'), '1 2 two');
  });

  test('traversal, absolute paths and links out of the workspace are refused for every operation', async () => {
    const attempts: [string, Record<string, unknown>][] = [
      ['read_file', { path: '../secret.txt' }],
      ['read_file', { path: 'src/../../secret.txt' }],
      ['read_file', { path: join(root, 'secret.txt') }],
      ['read_file', { path: '/etc/passwd' }],
      ['read_file', { path: 'leak' }],
      ['read_file', { path: 'door/x' }],
      ['write_file', { path: '../escape.txt', content: 'x' }],
      ['write_file', { path: 'door/escape.txt', content: 'x' }],
      ['write_file', { path: 'leak', content: 'overwritten' }],
      ['write_file', { path: 'door/sub/escape.txt', content: 'x' }],
      ['edit_file', { path: 'leak', old_string: 'TOP', new_string: 'x' }],
      ['list_files', { path: '..' }],
      ['list_files', { path: 'door' }],
      ['search_files', { pattern: 'SECRET', path: '../' }],
      ['search_files', { pattern: 'SECRET', path: 'leak' }],
    ];
    for (const [name, args] of attempts) {
      const r = await run(name, args);
      assert.equal(r.isError, true, `${name} ${JSON.stringify(args)} is refused`);
      assert.match(r.content, /^refused: .*(outside the workspace|symbolic link)/, `${name} ${JSON.stringify(args)}: ${r.content}`);
      assert.doesNotMatch(r.content, /TOP-SECRET/);
    }
    // a search of the whole workspace does not follow the links out either
    assert.equal((await run('search_files', { pattern: 'SECRET' })).content, 'no matches');
    assert.equal(readFileSync(join(root, 'secret.txt'), 'utf8'), 'TOP-SECRET');
    assert.equal(existsSync(join(root, 'escape.txt')), false);
    assert.equal(existsSync(join(root, 'outside/escape.txt')), false);
    assert.equal(existsSync(join(root, 'outside/sub')), false);
  });

  test('missing files and directories give clear errors', async () => {
    assert.match((await run('read_file', { path: 'nope.txt' })).content, /no such file or directory: nope.txt/);
    assert.match((await run('read_file', { path: 'src' })).content, /is a directory/);
    assert.match((await run('read_file', { path: 'src/a.txt', start_line: 9 })).content, /past the end/);
    execFileSync('mkfifo', [join(ws, 'pipe')]);
    assert.match((await run('read_file', { path: 'pipe' })).content, /is not a regular file/, 'a FIFO is refused, not read forever');
    assert.equal((await run('search_files', { pattern: 'x' })).isError, undefined, 'search skips it');
    assert.equal((await run('write_file', { path: 'pipe', content: 'x' })).isError, true, 'writing to it fails at once instead of waiting for a reader');
  });
});

describe('todo tool', () => {
  test('adds, updates, removes and always shows the whole plan', async () => {
    const t = todoTool();
    const c = { signal: new AbortController().signal, workspace: ws, callId: 'c' };
    assert.equal((await t.run({}, c)).content, 'The plan is empty.\n(0/0 completed)');
    await t.run({ set: [{ id: '1', task: 'search' }, { id: '2', task: 'verify', status: 'pending' }] }, c);
    const r = await t.run({ set: [{ id: '1', status: 'completed', notes: 'found 3 sources' }], remove: ['2'] }, c);
    assert.equal(r.content, '[x] 1: search (found 3 sources)\n(1/1 completed)');
    const bad = await t.run({ set: [{ id: '3' }], remove: ['9'] }, c);
    assert.equal(bad.isError, true);
    assert.match(bad.content, /item "3" is new and needs a task; no item "9" to remove/);
    assert.deepEqual(t.items(), [{ id: '1', task: 'search', status: 'completed', notes: 'found 3 sources' }]);
  });
});
