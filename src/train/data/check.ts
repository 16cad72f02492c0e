// Grading a model's work on a task: are its tool calls the expected ones, and does its final answer state
// the expected value? Lenient on form (thousands separators, a trailing period, spacing around operators,
// "17834.0", × or * or x), strict on values: every number the answer mentions must be one the task
// knows (from the question, the calls and the results), and the answer itself must be where it belongs.
import { canonicalNumber, cmp, parseDecimal } from './rational.js';
import { evaluateExpression } from './calculator.js';
import { findUnit } from './units.js';
import { parseIsoDate } from './dates.js';
import { executeTool, type ToolCallSpec } from './tools.js';
import type { Task } from './task.js';

/** Thousands separators out, unicode minus as '-', operators between digits without spaces. */
export function normalizeText(text: string): string {
  let s = text.replace(/\u2212/g, '-');
  // 1,234,567 -> 1234567 (a comma followed by exactly three digits, not part of a longer run)
  s = s.replace(/\d{1,3}(?:,\d{3})+(?![\d,])/g, (m, offset: number, all: string) => {
    const before = offset > 0 ? all[offset - 1]! : '';
    return /[\d,]/.test(before) ? m : m.replace(/,/g, '');
  });
  s = s.replace(/(\d)\s*[×x·*]\s*(?=\(?-?\d)/g, '$1*');
  s = s.replace(/(\d)\s*[÷/]\s*(?=\(?-?\d)/g, '$1/');
  s = s.replace(/(\d)\s*\+\s*(?=\(?\d)/g, '$1+');
  s = s.replace(/(\d) +- +(?=\(?\d)/g, '$1-');
  return s;
}

/** The numbers a text mentions, canonical ("17,834.0" -> "17834"); a '-' is a sign only where no letter or digit precedes it. */
export function extractNumbers(text: string): string[] {
  const s = text.replace(/\u2212/g, '-');
  const out: string[] = [];
  const re = /-?\d+(?:,\d{3})*(?:\.\d+)?/g;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    let t = m[0];
    const before = m.index > 0 ? s[m.index - 1]! : '';
    if (t.startsWith('-') && /[\p{L}\p{N})\]]/u.test(before)) t = t.slice(1);
    // "1,23" is not a separator: split at commas unless every group has three digits
    const parts = t.split(',');
    const grouped = parts.length > 1 && parts.slice(1).every((p, i) => (i === parts.length - 2 ? /^\d{3}(?:\.\d+)?$/ : /^\d{3}$/).test(p));
    for (const p of grouped ? [parts.join('')] : parts) {
      const c = canonicalNumber(p);
      if (c !== undefined) out.push(c);
    }
  }
  return out;
}

export interface Verdict {
  readonly ok: boolean;
  readonly reason?: string;
}

const OK: Verdict = { ok: true };
const fail = (reason: string): Verdict => ({ ok: false, reason });

function stripFinal(text: string): string {
  return text.trim().replace(/[.!\s]+$/, '');
}

function collapseRepeats(xs: readonly string[]): string[] {
  return xs.filter((x, i) => i === 0 || x !== xs[i - 1]);
}

/** Where `option` (normalized) last occurs in `text` as a whole expression, or -1. */
function lastMention(text: string, option: string): number {
  const needle = normalizeText(option).replace(/\s+/g, ' ').toLowerCase();
  const hay = text.toLowerCase();
  for (let at = hay.lastIndexOf(needle); at >= 0; at = at > 0 ? hay.lastIndexOf(needle, at - 1) : -1) {
    const before = at > 0 ? hay[at - 1]! : ' ';
    const after = hay.slice(at + needle.length, at + needle.length + 2);
    if (/[\d.*/+\-=]/.test(before) && before !== '-') continue;
    if (before === '-' && at > 1 && /\d/.test(hay[at - 2]!)) continue;
    if (/^[\d*/+]/.test(after) || /^[.,]\d/.test(after) || /^-\d/.test(after)) continue;
    return at;
  }
  return -1;
}

/** Detailed grading of a final answer; see checkAnswer. */
export function gradeAnswer(task: Task, finalText: string): Verdict {
  const expected = task.answer;
  const text = normalizeText(stripFinal(finalText));
  if (expected.kind === 'free') return text.length > 0 ? OK : fail('empty reply');
  const numbers = extractNumbers(text);
  const allowed = new Set(task.allowedNumbers);
  const stray = (extra: Iterable<string>) => {
    const ok = new Set([...allowed, ...extra]);
    return numbers.find((n) => !ok.has(n));
  };
  switch (expected.kind) {
    case 'number': {
      if (numbers.length === 0) return fail('no number in the answer');
      const last = numbers[numbers.length - 1]!;
      if (last !== expected.value) return fail(`the answer ends with ${last}, expected ${expected.value}`);
      const s = stray([expected.value]);
      return s === undefined ? OK : fail(`the answer mentions ${s}, which the task does not produce`);
    }
    case 'numbers': {
      const want = expected.values;
      const s = stray(want);
      if (s !== undefined) return fail(`the answer mentions ${s}, which the task does not produce`);
      // the results are the numbers the question and the calls do not already hold
      const echo = new Set(task.allowedNumbers.filter((n) => !want.includes(n)));
      const said = collapseRepeats(numbers.filter((n) => !echo.has(n)));
      return JSON.stringify(said) === JSON.stringify(want) ? OK : fail(`the answer states ${said.join(', ') || 'no result'}, expected ${want.join(', ')}`);
    }
    case 'list': {
      const want = expected.items;
      let said: string[];
      if (expected.numeric) {
        const s = stray(want);
        if (s !== undefined) return fail(`the answer mentions ${s}, which is not in the list`);
        said = numbers.slice(-want.length);
      } else {
        const vocab = new Set(want.map((w) => w.toLowerCase()));
        said = (text.toLowerCase().match(/[\p{L}'-]+/gu) ?? []).filter((w) => vocab.has(w)).slice(-want.length);
      }
      const norm = (xs: readonly string[]) => xs.map((x) => x.toLowerCase()).join('|');
      return norm(said) === norm(want) ? OK : fail(`the answer lists ${said.join(', ')}, expected ${want.join(', ')}`);
    }
    case 'choice': {
      const s = stray([]);
      if (s !== undefined) return fail(`the answer mentions ${s}, which the task does not produce`);
      const at = expected.options.map((o) => lastMention(text.toLowerCase(), o));
      const best = at.indexOf(Math.max(...at));
      if (at[best]! < 0) return fail('the answer names none of the options');
      return best === expected.winner ? OK : fail(`the answer names ${expected.options[best]}, expected ${expected.options[expected.winner]}`);
    }
  }
}

/** Whether `finalText` states the task's expected answer (harmless formatting aside). */
export function checkAnswer(task: Task, finalText: string): boolean {
  return gradeAnswer(task, finalText).ok;
}

// ---- tool calls ----

export interface CallLike {
  readonly name: string;
  readonly arguments: Readonly<Record<string, unknown>>;
}

/** The data a call's text holds: its string literals and its unsigned numbers, sorted (a multiset). */
function literals(text: string): string[] {
  const strs: string[] = [];
  const rest = text.replace(/"([^"\\]*)"|'([^'\\]*)'/g, (_, a?: string, b?: string) => {
    strs.push(a ?? b ?? '');
    return ' ';
  });
  const nums = (rest.match(/\d+(?:\.\d+)?/g) ?? []).map((n) => canonicalNumber(n)!);
  return [...nums.map((n) => `n:${n}`), ...strs.map((x) => `s:${x}`)].sort();
}

function sameValue(a: string, b: string): boolean {
  const x = parseDecimal(a), y = parseDecimal(b);
  return x !== undefined && y !== undefined && cmp(x, y) === 0;
}

/** Whether `call` does what `expected` does: same tool, and the same computation (not necessarily the same text). */
export function matchCall(expected: ToolCallSpec, call: CallLike): Verdict {
  if (call.name !== expected.name) return fail(`called ${call.name}, expected ${expected.name}`);
  const a = call.arguments;
  const e = expected.arguments;
  switch (expected.name) {
    case 'calculator': {
      // same numbers (any order, so 37 * 482 is fine) and the same exact value
      if (typeof a.expression !== 'string') return fail('calculator: no expression');
      if (literals(a.expression).join() !== literals(String(e.expression)).join()) return fail(`calculator: expression ${JSON.stringify(a.expression)} uses other numbers than ${JSON.stringify(e.expression)}`);
      try {
        if (cmp(evaluateExpression(a.expression), evaluateExpression(String(e.expression))) !== 0) return fail(`calculator: ${JSON.stringify(a.expression)} is not ${JSON.stringify(e.expression)}`);
      } catch {
        return fail(`calculator: ${JSON.stringify(a.expression)} does not evaluate`);
      }
      return OK;
    }
    case 'python': {
      if (typeof a.code !== 'string') return fail('python: no code');
      if (literals(a.code).join() !== literals(String(e.code)).join()) return fail(`python: code ${JSON.stringify(a.code)} uses other data than ${JSON.stringify(e.code)}`);
      const got = executeTool('python', a);
      const want = executeTool('python', e);
      return got === want ? OK : fail(`python: prints ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
    }
    case 'date_diff': {
      for (const k of ['start', 'end'] as const) {
        const d = typeof a[k] === 'string' ? parseIsoDate(a[k] as string) : undefined;
        const w = parseIsoDate(String(e[k]));
        if (!d || !w || d.y !== w.y || d.m !== w.m || d.d !== w.d) return fail(`date_diff: ${k} ${JSON.stringify(a[k])}, expected ${e[k]}`);
      }
      return OK;
    }
    case 'convert_units': {
      const v = typeof a.value === 'number' ? String(a.value) : typeof a.value === 'string' ? a.value : '';
      if (!sameValue(v, String(e.value))) return fail(`convert_units: value ${JSON.stringify(a.value)}, expected ${e.value}`);
      for (const k of ['from_unit', 'to_unit'] as const) {
        const u = typeof a[k] === 'string' ? findUnit(a[k] as string) : undefined;
        if (!u || u.code !== findUnit(String(e[k]))!.code) return fail(`convert_units: ${k} ${JSON.stringify(a[k])}, expected ${e[k]}`);
      }
      return OK;
    }
  }
}

/**
 * Whether the calls of one assistant turn are the task's expected calls for step `stepIndex`. Several calls
 * in one turn may come in any order (each is answered by its own result, matched by position).
 */
export function checkToolCalls(task: Task, stepIndex: number, calls: readonly CallLike[]): Verdict {
  const step = task.steps[stepIndex];
  if (!step) return fail(`tool calls in turn ${stepIndex + 1}, but the task needs ${task.steps.length} tool turn(s)`);
  if (calls.length !== step.calls.length) return fail(`${calls.length} call(s) in turn ${stepIndex + 1}, expected ${step.calls.length}`);
  const used = new Set<number>();
  for (const c of calls) {
    let reason = '';
    const j = step.calls.findIndex((e, k) => {
      if (used.has(k)) return false;
      const v = matchCall(e, c);
      if (!v.ok && !reason) reason = v.reason!;
      return v.ok;
    });
    if (j < 0) return fail(reason || `unexpected call to ${c.name}`);
    used.add(j);
  }
  return OK;
}
