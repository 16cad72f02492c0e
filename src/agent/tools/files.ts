// The file tools, confined to the workspace (workspace-path.ts): read with line ranges, write, list,
// search (regular expression over the files), and a precise edit that replaces one unique string.
import { closeSync, constants, fstatSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, lstatSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { AgentTool, ToolContext, ToolResult } from '../tool.js';
import { OutsideWorkspace, shown, workspacePath } from './workspace-path.js';

const MAX_READ_BYTES = 2 * 1024 * 1024;
const MAX_READ_LINES = 2000;
const MAX_LIST = 1000;
const MAX_MATCHES = 200;
const SKIP_DIRS = new Set(['.git', 'node_modules', '__pycache__', '.venv']);

function guard(fn: (args: Record<string, unknown>, ctx: ToolContext) => ToolResult): AgentTool['run'] {
  return async (args, ctx) => {
    try {
      return fn(args, ctx);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (e instanceof OutsideWorkspace) return { content: `refused: ${err.message}`, isError: true };
      if (err.code === 'ENOENT') return { content: `no such file or directory: ${String(args.path ?? '')}`, isError: true };
      if (err.code === 'ELOOP') return { content: `refused: ${String(args.path ?? '')} is a symbolic link`, isError: true };
      return { content: `error: ${err.message}`, isError: true };
    }
  };
}

function readText(abs: string): string {
  const st = statSync(abs);
  if (st.isDirectory()) throw new Error(`${abs} is a directory (use list_files)`);
  // A FIFO or device (which the sandboxed shell can make) would block or never end.
  if (!st.isFile()) throw new Error(`${abs} is not a regular file`);
  if (st.size > MAX_READ_BYTES) throw new Error(`the file is ${st.size} bytes; files over ${MAX_READ_BYTES} bytes are not read (use search_files or shell tools)`);
  const buf = readFileSync(abs);
  if (buf.includes(0)) throw new Error('the file is binary');
  return buf.toString('utf8');
}

/** Writes without following a symbolic link at the final component (a link planted after the check). */
function writeNoFollow(abs: string, text: string): void {
  // O_NONBLOCK: opening a FIFO for writing would otherwise wait for a reader forever.
  const fd = openSync(abs, constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK, 0o644);
  try {
    if (!fstatSync(fd).isFile()) throw new Error(`${abs} is not a regular file`);
    ftruncateSync(fd, 0);
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
}

function walk(ws: string, dir: string, out: string[], limit: number, recursive: boolean): boolean {
  for (const name of readdirSync(dir).sort()) {
    if (out.length >= limit) return false;
    const p = join(dir, name);
    const st = lstatSync(p);
    if (st.isSymbolicLink()) out.push(`${shown(ws, p)}@`);
    else if (st.isDirectory()) {
      out.push(`${shown(ws, p)}/`);
      if (recursive && !SKIP_DIRS.has(name) && !walk(ws, p, out, limit, recursive)) return false;
    } else out.push(shown(ws, p));
  }
  return true;
}

export function fileTools(): AgentTool[] {
  const read: AgentTool = {
    name: 'read_file',
    description: `Read a text file in the workspace, with line numbers. Optional 1-based start_line and end_line (inclusive); at most ${MAX_READ_LINES} lines per call.`,
    parameters: {
      type: 'object',
      properties: { path: { type: 'string' }, start_line: { type: 'integer', minimum: 1 }, end_line: { type: 'integer', minimum: 1 } },
      required: ['path'],
    },
    run: guard((a, ctx) => {
      const abs = workspacePath(ctx.workspace, a.path as string);
      const lines = readText(abs).split('\n');
      if (lines.at(-1) === '') lines.pop();
      const start = (a.start_line as number | undefined) ?? 1;
      const end = Math.min(lines.length, (a.end_line as number | undefined) ?? lines.length, start + MAX_READ_LINES - 1);
      if (start > Math.max(1, lines.length)) return { content: `the file has ${lines.length} lines; start_line ${start} is past the end`, isError: true };
      const width = String(end).length;
      const body = lines.slice(start - 1, end).map((l, i) => `${String(start + i).padStart(width)}| ${l}`).join('\n');
      const more = end < lines.length ? `\n[lines ${end + 1}-${lines.length} not shown; read again with start_line=${end + 1}]` : '';
      return { content: `${shown(ctx.workspace, abs)} (${lines.length} lines)\n${body}${more}` };
    }),
  };
  const write: AgentTool = {
    name: 'write_file',
    description: 'Create or overwrite a text file in the workspace (parent directories are created).',
    parameters: { type: 'object', properties: { path: { type: 'string' }, content: { type: 'string' } }, required: ['path', 'content'] },
    run: guard((a, ctx) => {
      const abs = workspacePath(ctx.workspace, a.path as string);
      mkdirSync(dirname(abs), { recursive: true });
      workspacePath(ctx.workspace, a.path as string); // the directories made are inside too
      writeNoFollow(abs, a.content as string);
      return { content: `wrote ${Buffer.byteLength(a.content as string)} bytes to ${shown(ctx.workspace, abs)}` };
    }),
  };
  const list: AgentTool = {
    name: 'list_files',
    description: `List a directory of the workspace (directories end in /, symbolic links in @). recursive=true walks subdirectories (skipping .git and node_modules); at most ${MAX_LIST} entries.`,
    parameters: { type: 'object', properties: { path: { type: 'string', description: 'default: the workspace root' }, recursive: { type: 'boolean' } } },
    run: guard((a, ctx) => {
      const abs = workspacePath(ctx.workspace, (a.path as string | undefined) || '.');
      const out: string[] = [];
      const complete = walk(ctx.workspace, abs, out, MAX_LIST, a.recursive === true);
      return { content: out.length ? out.join('\n') + (complete ? '' : `\n[stopped at ${MAX_LIST} entries]`) : '(empty directory)' };
    }),
  };
  const search: AgentTool = {
    name: 'search_files',
    description: `Search the workspace's text files for a regular expression (JavaScript syntax); prints file:line: text for each matching line, at most ${MAX_MATCHES}.`,
    parameters: {
      type: 'object',
      properties: {
        pattern: { type: 'string' },
        path: { type: 'string', description: 'directory or file to search (default: the workspace root)' },
        ignore_case: { type: 'boolean' },
      },
      required: ['pattern'],
    },
    run: guard((a, ctx) => {
      let re: RegExp;
      try {
        re = new RegExp(a.pattern as string, a.ignore_case ? 'i' : '');
      } catch (e) {
        return { content: `invalid regular expression: ${(e as Error).message}`, isError: true };
      }
      const abs = workspacePath(ctx.workspace, (a.path as string | undefined) || '.');
      const files: string[] = [];
      if (statSync(abs).isDirectory()) {
        const all: string[] = [];
        walk(ctx.workspace, abs, all, 20_000, true);
        for (const f of all) if (!f.endsWith('/') && !f.endsWith('@')) files.push(workspacePath(ctx.workspace, f));
      } else files.push(abs);
      const hits: string[] = [];
      for (const f of files) {
        let text: string;
        try {
          text = readText(f);
        } catch {
          continue; // binary or too large
        }
        const lines = text.split('\n');
        for (let i = 0; i < lines.length && hits.length < MAX_MATCHES; i++) if (re.test(lines[i]!)) hits.push(`${shown(ctx.workspace, f)}:${i + 1}: ${lines[i]!.slice(0, 300)}`);
        if (hits.length >= MAX_MATCHES) break;
      }
      return { content: hits.length ? hits.join('\n') + (hits.length >= MAX_MATCHES ? `\n[stopped at ${MAX_MATCHES} matches]` : '') : 'no matches' };
    }),
  };
  const edit: AgentTool = {
    name: 'edit_file',
    description: 'Replace one exact, unique occurrence of old_string with new_string in a workspace file. Include enough surrounding text to make old_string unique.',
    parameters: {
      type: 'object',
      properties: { path: { type: 'string' }, old_string: { type: 'string', minLength: 1 }, new_string: { type: 'string' } },
      required: ['path', 'old_string', 'new_string'],
    },
    run: guard((a, ctx) => {
      const abs = workspacePath(ctx.workspace, a.path as string);
      const text = readText(abs);
      const oldS = a.old_string as string;
      const first = text.indexOf(oldS);
      if (first < 0) return { content: `old_string was not found in ${shown(ctx.workspace, abs)}; read the file and copy the text exactly`, isError: true };
      let count = 0;
      for (let i = first; i >= 0; i = text.indexOf(oldS, i + 1)) count++;
      if (count > 1) return { content: `old_string occurs ${count} times in ${shown(ctx.workspace, abs)}; include more surrounding text so it is unique`, isError: true };
      const next = text.slice(0, first) + (a.new_string as string) + text.slice(first + oldS.length);
      writeNoFollow(abs, next);
      const line = text.slice(0, first).split('\n').length;
      return { content: `edited ${shown(ctx.workspace, abs)} at line ${line}` };
    }),
  };
  return [read, write, list, search, edit];
}
