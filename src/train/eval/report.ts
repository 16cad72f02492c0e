// The evaluation report as text for the terminal.
import { FAMILY_NAMES, type FamilyName } from '../data/task.js';
import type { EvalReport } from './harness.js';
import type { TeacherForcedReport } from './teacher-forced.js';

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

export function formatTeacherForced(r: TeacherForcedReport, title: string): string {
  const lines = [
    title,
    `assistant tokens ranked first ${r.correct}/${r.tokens} (${pct(r.accuracy)})   conversations with every token right ${r.exact}/${r.tasks} (${pct(r.tasks ? r.exact / r.tasks : 0)})`,
    '',
    'family        tasks  tokens  right   exact',
  ];
  for (const [f, s] of Object.entries(r.perFamily).sort(([a], [b]) => FAMILY_NAMES.indexOf(a as FamilyName) - FAMILY_NAMES.indexOf(b as FamilyName)))
    lines.push(`${f.padEnd(12)} ${String(s.tasks).padStart(6)}  ${String(s.tokens).padStart(6)}  ${pct(s.tokens ? s.correct / s.tokens : 0).padStart(6)}  ${String(s.exact).padStart(6)}`);
  lines.push('', `scored in ${(r.ms / 1000).toFixed(1)} s`);
  if (r.failures.length > 0) {
    lines.push('', `first ${r.failures.length} conversation(s) with a miss ([expected→predicted]):`);
    for (const o of r.failures) lines.push(`- ${o.id} [${o.template}] ${o.question}`, `  ${o.misses} miss(es): ${o.marked.replace(/\n/g, '⏎')}`);
  }
  return lines.join('\n');
}
