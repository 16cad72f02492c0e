// @ts-check
// The conversation's DOM. Everything the model or the user wrote goes in through textContent or text
// nodes, never innerHTML, so a reply cannot inject markup; code fences are the only formatting, and they
// are split out as text too.

/**
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag @param {string} [className] @param {string} [text]
 * @returns {HTMLElementTagNameMap[K]}
 */
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Keeps the log scrolled to the bottom across a change, unless the reader has scrolled up. */
function follow(/** @type {HTMLElement} */ log, /** @type {() => void} */ change) {
  const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 48;
  change();
  if (atBottom) log.scrollTop = log.scrollHeight;
}

/**
 * Text split at ``` fence lines into prose and code blocks. An unclosed fence (still streaming) runs to
 * the end, so code looks like code while it arrives.
 * @param {string} text @returns {{code: boolean, lang: string, text: string}[]}
 */
export function splitFences(text) {
  const parts = [];
  let current = { code: false, lang: '', lines: /** @type {string[]} */ ([]) };
  for (const line of text.split('\n')) {
    const fence = /^\s*```\s*([\w.+-]*)\s*$/.exec(line);
    if (fence) {
      parts.push(current);
      current = current.code ? { code: false, lang: '', lines: [] } : { code: true, lang: fence[1], lines: [] };
    } else current.lines.push(line);
  }
  parts.push(current);
  return parts
    .map((p) => ({ code: p.code, lang: p.lang, text: p.lines.join('\n') }))
    .filter((p) => p.code || p.text.trim() !== '');
}

/** @param {HTMLElement} target @param {string} text */
function renderText(target, text) {
  target.replaceChildren(
    ...splitFences(text).map((p) => {
      if (!p.code) return el('div', 'prose', p.text.replace(/^\n+|\n+$/g, ''));
      const pre = el('pre', 'code');
      const code = el('code', undefined, p.text);
      if (p.lang) code.dataset.lang = p.lang;
      pre.append(code);
      return pre;
    }),
  );
}

/** @param {HTMLElement} log @param {string} text */
export function addUserMessage(log, text) {
  const article = el('article', 'msg user');
  article.setAttribute('aria-label', 'You');
  article.append(el('div', 'prose', text));
  follow(log, () => log.append(article));
}

/**
 * @typedef {{prompt_n?: number, predicted_n?: number, predicted_per_second?: number,
 *   draft_n?: number, draft_accepted_n?: number, draft_acceptance?: number}} Timings
 */

/** "42 tokens · 18.3 tok/s · draft acceptance 71%", with "—" for what the server did not report. */
export function formatStats(/** @type {Timings | undefined} */ t, /** @type {any} */ usage) {
  const tokens = t?.predicted_n ?? usage?.completion_tokens;
  const rate = t?.predicted_per_second;
  let acceptance = t?.draft_acceptance;
  if (acceptance === undefined && t?.draft_n && t.draft_accepted_n !== undefined) acceptance = t.draft_accepted_n / t.draft_n;
  return [
    `${tokens ?? '—'} tokens`,
    `${typeof rate === 'number' ? rate.toFixed(1) : '—'} tok/s`,
    `draft acceptance ${typeof acceptance === 'number' ? `${Math.round(acceptance * 100)}%` : '—'}`,
  ].join(' · ');
}

/** One assistant reply as it streams: reasoning block, answer, tool-call blocks, stats or error. */
export class ReplyView {
  /** @param {HTMLElement} log */
  constructor(log) {
    this.log = log;
    this.article = el('article', 'msg assistant');
    this.article.setAttribute('aria-label', 'Assistant');
    // Screen readers hold announcements of a busy region until it is done, instead of reading fragments.
    this.article.setAttribute('aria-busy', 'true');
    /** @type {HTMLDetailsElement | null} */ this.reasoning = null;
    /** @type {HTMLElement | null} */ this.reasoningText = null;
    this.answered = false;
    this.content = el('div', 'content');
    this.text = '';
    this.renderQueued = false;
    this.tools = el('div', 'tools');
    /** @type {Map<number, {name: HTMLElement, args: HTMLElement}>} */ this.toolViews = new Map();
    this.footer = el('footer', 'stats');
    this.article.append(this.content, this.tools, this.footer);
    follow(log, () => log.append(this.article));
  }

  /** @param {string} text */
  reasoningDelta(text) {
    follow(this.log, () => {
      if (!this.reasoning) {
        this.reasoning = el('details', 'reasoning');
        this.reasoning.open = !this.answered;
        this.reasoning.append(el('summary', undefined, 'Reasoning'));
        this.reasoningText = el('div', 'reasoning-text');
        this.reasoning.append(this.reasoningText);
        this.article.prepend(this.reasoning);
      }
      this.reasoningText?.append(text);
    });
  }

  /** The answer has started (or the reply ended): fold the reasoning away, once, so the answer leads. */
  answerStarted() {
    if (this.answered) return;
    this.answered = true;
    if (this.reasoning) this.reasoning.open = false;
  }

  /** @param {string} text */
  contentDelta(text) {
    this.answerStarted();
    this.text += text;
    // Re-render at most once a frame: fence splitting looks at the whole text.
    if (this.renderQueued) return;
    this.renderQueued = true;
    requestAnimationFrame(() => this.renderContent());
  }

  renderContent() {
    this.renderQueued = false;
    follow(this.log, () => renderText(this.content, this.text));
  }

  /** @param {number} index @param {string} name @param {string} args the arguments so far */
  toolCall(index, name, args) {
    this.answerStarted();
    follow(this.log, () => {
      let view = this.toolViews.get(index);
      if (!view) {
        const block = el('section', 'tool-call');
        const title = el('div', 'tool-title', 'Tool call ');
        view = { name: el('span', 'tool-name'), args: el('pre', 'tool-args') };
        title.append(view.name);
        block.append(title, view.args);
        this.tools.append(block);
        this.toolViews.set(index, view);
      }
      view.name.textContent = name;
      view.args.textContent = args;
    });
  }

  /** @param {string} stats @param {string} [note] */
  finish(stats, note) {
    this.end();
    this.footer.textContent = note ? `${stats} · ${note}` : stats;
  }

  stopped() {
    this.end();
    this.footer.textContent = 'stopped';
  }

  /** @param {string} message */
  error(message) {
    this.end();
    const p = el('p', 'error', message);
    p.setAttribute('role', 'alert');
    follow(this.log, () => this.article.append(p));
  }

  end() {
    this.answerStarted();
    if (this.renderQueued) this.renderContent();
    this.article.removeAttribute('aria-busy');
  }
}
