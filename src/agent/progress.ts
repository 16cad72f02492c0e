// A plain-text view of an agent run for a terminal: streamed text, tool calls and results in one line
// each, retries, context events and the stop. Reasoning is dimmed on a terminal.
import type { AgentEvent } from './loop/types.js';

function oneLine(s: string, max: number): string {
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

export function progressPrinter(write: (s: string) => void, opts: { color?: boolean; showReasoning?: boolean } = {}): (e: AgentEvent) => void {
  const dim = (s: string) => (opts.color ? `\x1b[2m${s}\x1b[22m` : s);
  const bold = (s: string) => (opts.color ? `\x1b[1m${s}\x1b[22m` : s);
  let inText: 'content' | 'reasoning' | null = null;
  const endText = () => {
    if (inText) write('\n');
    inText = null;
  };
  return (e) => {
    switch (e.type) {
      case 'step':
        endText();
        write(bold(`── step ${e.step} ──\n`));
        break;
      case 'delta':
        if (e.kind === 'reasoning' && opts.showReasoning === false) break;
        if (inText !== e.kind) {
          endText();
          inText = e.kind;
          if (e.kind === 'reasoning') write(dim('thinking: '));
        }
        write(e.kind === 'reasoning' ? dim(e.text) : e.text);
        break;
      case 'model_end':
        endText();
        write(dim(`(${Math.round(e.ms)} ms${e.usage ? `, ${e.usage.prompt} prompt + ${e.usage.completion} completion tokens` : ''}, finish: ${e.finishReason})\n`));
        break;
      case 'retry':
        endText();
        write(`retry ${e.attempt} in ${(e.delayMs / 1000).toFixed(1)} s: ${oneLine(e.reason, 160)}\n`);
        break;
      case 'tool_start':
        endText();
        write(`→ ${e.name}(${oneLine(typeof e.args === 'string' ? e.args : JSON.stringify(e.args), 200)})\n`);
        break;
      case 'tool_end':
        write(`${e.isError ? '✗' : '←'} ${e.name} ${Math.round(e.ms)} ms: ${oneLine(e.content, 200)}\n`);
        break;
      case 'context':
        write(bold(`[context ${e.mode}: ~${e.beforeTokens} → ~${e.afterTokens} tokens]\n`));
        break;
      case 'repair':
        write(`final answer rejected, asking for a fix: ${oneLine(e.problem, 200)}\n`);
        break;
      case 'stop':
        endText();
        write(bold(`[stopped: ${e.reason}${e.error ? ` (${oneLine(e.error, 300)})` : ''}]\n`));
        break;
      case 'final':
        break;
    }
  };
}
