// The evaluation report as text for the terminal.
import { FAMILY_NAMES, type FamilyName } from '../data/task.js';
import type { EvalReport } from './harness.js';

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

export function formatReport(r: EvalReport, title: string): string {
  const lines = [
    title,
    `solved ${r.solved}/${r.tasks} (${pct(r.solveRate)})   correct answers ${pct(r.answerRate)}   correct calls ${pct(r.callRate)}   tool-call parse rate ${r.toolCallParseRate === null ? 'n/a (no calls)' : pct(r.toolCallParseRate)}`,
    '',
    'family        tasks  solved',
  ];
  for (const [f, s] of Object.entries(r.perFamily).sort(([a], [b]) => FAMILY_NAMES.indexOf(a as FamilyName) - FAMILY_NAMES.indexOf(b as FamilyName))) lines.push(`${f.padEnd(12)} ${String(s.tasks).padStart(6)}  ${String(s.solved).padStart(6)}  ${pct(s.solveRate)}`);
  lines.push('', `${r.generatedTokens} tokens generated in ${(r.ms / 1000).toFixed(1)} s`);
  if (r.failures.length > 0) {
    lines.push('', `first ${r.failures.length} failure(s):`);
    for (const o of r.failures) {
      const last = o.turns[o.turns.length - 1]?.text ?? '';
      lines.push(`- ${o.id} [${o.template}] ${o.question}`, `  ${o.reason}`, `  last turn: ${JSON.stringify(last.length > 160 ? last.slice(0, 160) + '…' : last)}`);
    }
  }
  return lines.join('\n');
}
