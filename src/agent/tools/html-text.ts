// Readable text from an HTML page, for a model: the title, the visible text with paragraph and list
// structure kept, links written as [text](url) (resolved against the page URL), and scripts, styles,
// navigation chrome and comments dropped. A regex pass, not a browser: good for documents, not for apps.

const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', ndash: '–', mdash: '—', hellip: '…', copy: '©', reg: '®', laquo: '«', raquo: '»', rsquo: '’', lsquo: '‘', rdquo: '”', ldquo: '“', middot: '·', bull: '•', times: '×', deg: '°' };

export function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, e: string) => {
    if (e[0] === '#') {
      const cp = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return cp > 0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : m;
    }
    return NAMED[e.toLowerCase()] ?? m;
  });
}

function resolveHref(href: string, base: string | undefined): string | undefined {
  try {
    const u = new URL(decodeEntities(href), base);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : undefined;
  } catch {
    return undefined;
  }
}

export function htmlToText(html: string, baseUrl?: string): { title: string; text: string } {
  const titleMatch = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(html);
  const title = titleMatch ? decodeEntities(titleMatch[1]!.replace(/<[^>]+>/g, '')).replace(/\s+/g, ' ').trim() : '';
  let s = html.replace(/<!--[\s\S]*?-->/g, '');
  s = s.replace(/<(script|style|noscript|template|svg|head|title|iframe|object|canvas|nav|select)\b[\s\S]*?<\/\1\s*>/gi, ' ');
  s = s.replace(/<a\b[^>]*?href\s*=\s*("([^"]*)"|'([^']*)'|([^\s>]+))[^>]*>([\s\S]*?)<\/a\s*>/gi, (_m, _q, d, sq, bare, inner: string) => {
    const text = inner.replace(/<[^>]+>/g, '').trim();
    const url = resolveHref(d ?? sq ?? bare ?? '', baseUrl);
    return url && text ? `[${text}](${url})` : text;
  });
  s = s.replace(/<(br|hr)\b[^>]*>/gi, '\n');
  s = s.replace(/<li\b[^>]*>/gi, '\n- ');
  s = s.replace(/<h([1-6])\b[^>]*>/gi, (_m, n: string) => `\n\n${'#'.repeat(Number(n))} `);
  s = s.replace(/<\/(p|div|section|article|header|footer|ul|ol|h[1-6]|tr|table|blockquote|pre|main|aside|dd|dt|figure|form)\s*>/gi, '\n');
  s = s.replace(/<(p|div|section|article|tr|table|blockquote|pre|main|dd|dt)\b[^>]*>/gi, '\n');
  s = s.replace(/<\/t[dh]\s*>/gi, '\t');
  s = s.replace(/<[^>]+>/g, '');
  s = decodeEntities(s);
  const lines = s.split('\n').map((l) => l.replace(/[ \t\u00a0]+/g, ' ').trim());
  const text = lines.join('\n').replace(/\n{3,}/g, '\n\n').trim();
  return { title, text };
}
