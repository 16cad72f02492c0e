// Citations in the Master's answer: `[n]`, `[n][m]` or `[n, m]`, where n numbers a page in the ledger.
// A number that names no fetched page is not a citation of anything: it is replaced by `[?]` and
// reported, so an answer never shows a citation that looks backed and is not.
import type { Source, SourceLedger } from './sources.js';

export interface CitationCheck {
  /** The answer with unknown citation numbers replaced by [?]. */
  readonly text: string;
  /** The fetched pages the answer cites, in order of first citation. */
  readonly cited: Source[];
  /** Citation numbers that match no fetched page. */
  readonly invalid: number[];
}

const GROUP = /\[(\d{1,4}(?:\s*,\s*\d{1,4})*)\]/g;

export function checkCitations(answer: string, ledger: SourceLedger): CitationCheck {
  const cited: Source[] = [];
  const invalid: number[] = [];
  const text = answer.replace(GROUP, (_m, inner: string) => {
    const parts = inner.split(',').map((p) => Number(p.trim()));
    return parts
      .map((n) => {
        const s = ledger.byNumber(n);
        if (!s) {
          if (!invalid.includes(n)) invalid.push(n);
          return '[?]';
        }
        if (!cited.includes(s)) cited.push(s);
        return `[${n}]`;
      })
      .join('');
  });
  return { text, cited, invalid };
}

/** The answer followed by its reference list (cited pages only). */
export function withReferences(check: CitationCheck): string {
  if (check.cited.length === 0) return check.text;
  const refs = [...check.cited].sort((a, b) => a.n - b.n).map((s) => `[${s.n}] ${s.title ? `${s.title} — ` : ''}${s.url}`);
  return `${check.text.trimEnd()}\n\nSources:\n${refs.join('\n')}`;
}
