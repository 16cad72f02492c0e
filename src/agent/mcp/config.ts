// The MCP servers file in the shape Claude Code, Cursor and Claude Desktop share:
//   {"mcpServers": {"name": {"command": "...", "args": [...], "env": {...}, "cwd": "..."} | {"url": "...", "headers": {...}}}}
// `${VAR}` and `${VAR:-default}` in strings are taken from the environment (so API keys stay out of the
// file); a missing variable without a default is an error naming it, never an empty string sent along.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';

export interface StdioServerSpec {
  readonly kind: 'stdio';
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly cwd?: string;
}

export interface HttpServerSpec {
  readonly kind: 'http';
  readonly name: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
}

export type McpServerSpec = StdioServerSpec | HttpServerSpec;

const stringMap = z.record(z.string(), z.string());
const stdioEntry = z.strictObject({
  type: z.literal('stdio').optional(),
  command: z.string().min(1),
  args: z.array(z.string()).optional(),
  env: stringMap.optional(),
  cwd: z.string().optional(),
  disabled: z.boolean().optional(),
});
const httpEntry = z.strictObject({
  type: z.enum(['http', 'streamable-http', 'streamableHttp']).optional(),
  url: z.string().min(1),
  headers: stringMap.optional(),
  disabled: z.boolean().optional(),
});
const fileShape = z.object({ mcpServers: z.record(z.string(), z.unknown()) });

/** Replaces `${VAR}` / `${VAR:-default}` from `env`; `where` names the field for the error. */
export function expandVars(text: string, env: Record<string, string | undefined>, where: string): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_m, name: string, fallback: string | undefined) => {
    const value = env[name];
    if (value !== undefined) return value;
    if (fallback !== undefined) return fallback;
    throw new Error(`${where}: environment variable ${name} is not set (write \${${name}:-default} for a default)`);
  });
}

function describeIssue(err: z.ZodError): string {
  const issue = err.issues[0]!;
  const path = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
  return `${path}: ${issue.message}`;
}

/**
 * Parses a config object. `baseDir` resolves relative `cwd`s (the config file's folder); `source` names
 * the file in errors.
 */
export function parseMcpConfig(
  raw: unknown,
  options: { baseDir?: string; source?: string; env?: Record<string, string | undefined> } = {},
): McpServerSpec[] {
  const source = options.source ?? 'MCP config';
  const env = options.env ?? process.env;
  const top = fileShape.safeParse(raw);
  if (!top.success) throw new Error(`${source}: expected {"mcpServers": {"name": {...}}} (${describeIssue(top.error)})`);
  const specs: McpServerSpec[] = [];
  for (const [name, entry] of Object.entries(top.data.mcpServers)) {
    const where = `${source}: server "${name}"`;
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name)) throw new Error(`${where}: a server name is 1-64 letters, digits, '_', '-' or '.'`);
    if (entry === null || typeof entry !== 'object') throw new Error(`${where}: expected an object with "command" or "url"`);
    const has = (k: string): boolean => Object.prototype.hasOwnProperty.call(entry, k);
    if (has('command') && has('url')) throw new Error(`${where}: give either "command" (stdio) or "url" (HTTP), not both`);
    if (has('url')) {
      const r = httpEntry.safeParse(entry);
      if (!r.success) throw new Error(`${where}: ${describeIssue(r.error)}`);
      if (r.data.disabled) continue;
      const url = expandVars(r.data.url, env, `${where} url`);
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch {
        throw new Error(`${where}: "${url}" is not a URL`);
      }
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error(`${where}: the url must be http or https`);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(r.data.headers ?? {})) headers[k] = expandVars(v, env, `${where} header ${k}`);
      specs.push({ kind: 'http', name, url, headers });
    } else if (has('command')) {
      const r = stdioEntry.safeParse(entry);
      if (!r.success) throw new Error(`${where}: ${describeIssue(r.error)}`);
      if (r.data.disabled) continue;
      const envOut: Record<string, string> = {};
      for (const [k, v] of Object.entries(r.data.env ?? {})) envOut[k] = expandVars(v, env, `${where} env ${k}`);
      const cwd = r.data.cwd === undefined ? undefined : resolve(options.baseDir ?? process.cwd(), expandVars(r.data.cwd, env, `${where} cwd`));
      specs.push({
        kind: 'stdio',
        name,
        command: expandVars(r.data.command, env, `${where} command`),
        args: (r.data.args ?? []).map((a, i) => expandVars(a, env, `${where} args[${i}]`)),
        env: envOut,
        ...(cwd === undefined ? {} : { cwd }),
      });
    } else {
      throw new Error(`${where}: expected "command" (a stdio server) or "url" (a Streamable HTTP server)`);
    }
  }
  return specs;
}

/** Reads and parses a servers file; errors name the file. */
export function readMcpConfig(path: string, env?: Record<string, string | undefined>): McpServerSpec[] {
  const abs = resolve(path);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (e) {
    throw new Error(`cannot read MCP config ${path}: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`MCP config ${path} is not valid JSON: ${(e as Error).message}`);
  }
  return parseMcpConfig(raw, { baseDir: dirname(abs), source: path, ...(env ? { env } : {}) });
}
