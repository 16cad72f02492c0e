// The `shell` and `python` tools: each call is a fresh process in the bubblewrap sandbox (sandbox.ts),
// with the workspace as its working directory. Limit hits are reported to the model as tool errors.
import type { AgentTool, ToolResult } from '../tool.js';
import { formatRun, resolvedLimits, runSandboxed, type SandboxLimits } from './sandbox.js';

function describeLimits(l: Required<SandboxLimits>): string {
  return `Limits: ${Math.round(l.timeMs / 1000)} s, ${Math.round(l.memoryBytes / 1024 ** 2)} MiB memory, ${l.maxProcs} processes, ${l.maxOutputBytes} bytes of output per stream; ${l.network ? 'network allowed' : 'no network'}; only the workspace is writable.`;
}

async function sandboxResult(argv: string[], ws: string, limits: SandboxLimits, signal: AbortSignal, stdin?: string, timeoutS?: unknown): Promise<ToolResult> {
  const l = resolvedLimits(limits);
  // The model may ask for less time than the configured limit, never more.
  const timeMs = typeof timeoutS === 'number' && timeoutS > 0 ? Math.min(l.timeMs, timeoutS * 1000) : l.timeMs;
  const r = await runSandboxed(argv, { workspace: ws, limits: { ...l, timeMs }, signal, stdin });
  return { content: formatRun(r), isError: r.exitCode !== 0 || r.violations.length > 0, data: { exitCode: r.exitCode, violations: r.violations, ms: Math.round(r.ms), outputBytes: r.outputBytes } };
}

export function shellTool(limits: SandboxLimits = {}): AgentTool {
  const l = resolvedLimits(limits);
  return {
    name: 'shell',
    description: `Run a bash command in a sandbox whose working directory is the workspace. A fresh process each call (no state kept between calls except files in the workspace). ${describeLimits(l)}`,
    parameters: {
      type: 'object',
      properties: {
        command: { type: 'string', description: 'the bash command line' },
        timeout: { type: 'number', description: `seconds before the command is killed (at most ${Math.round(l.timeMs / 1000)})` },
      },
      required: ['command'],
    },
    run: (args, ctx) => sandboxResult(['/bin/bash', '-c', String(args.command)], ctx.workspace, l, ctx.signal, undefined, args.timeout),
  };
}

export function pythonTool(limits: SandboxLimits = {}): AgentTool {
  const l = resolvedLimits(limits);
  return {
    name: 'python',
    description: `Run Python 3 code in a sandbox (working directory: the workspace) and return what it prints. A fresh interpreter each call: print what you need, keep data in workspace files. ${describeLimits(l)}`,
    parameters: {
      type: 'object',
      properties: {
        code: { type: 'string', description: 'the Python source to run' },
        timeout: { type: 'number', description: `seconds before it is killed (at most ${Math.round(l.timeMs / 1000)})` },
      },
      required: ['code'],
    },
    // The code comes on stdin, so its size is not bound by the argument-length limit; -I isolates it from
    // user site-packages and PYTHON* variables.
    run: (args, ctx) => sandboxResult(['/usr/bin/python3', '-I', '-'], ctx.workspace, l, ctx.signal, String(args.code), args.timeout),
  };
}
