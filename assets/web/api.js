// @ts-check
// The page's only link to the server: the OpenAI-compatible routes on the same origin. Streams are read
// with fetch + a small server-sent-events parser (EventSource cannot POST or send a Bearer key).

/** An error the server reported, in its own words, with the HTTP status when there was one. */
export class ApiError extends Error {
  /** @param {string} message @param {number} [status] */
  constructor(message, status) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }
}

/** @param {string} apiKey @param {boolean} [json] @returns {Record<string, string>} */
function headers(apiKey, json = false) {
  /** @type {Record<string, string>} */
  const h = json ? { 'content-type': 'application/json' } : {};
  if (apiKey) h.authorization = `Bearer ${apiKey}`;
  return h;
}

/** The message in an error body of any of the server's shapes (OpenAI, Anthropic, plain). */
function messageOf(/** @type {any} */ body) {
  const e = body?.error;
  if (typeof e === 'string') return e;
  if (typeof e?.message === 'string') return e.message;
  return undefined;
}

/** @param {Response} res */
async function failure(res) {
  const text = await res.text().catch(() => '');
  let message;
  try {
    message = messageOf(JSON.parse(text));
  } catch {
    // not JSON: fall through to the raw text
  }
  return new ApiError(`${res.status} ${res.statusText}: ${message ?? (text.trim() || 'no details')}`, res.status);
}

/** The ids of the served models. @param {string} apiKey @returns {Promise<string[]>} */
export async function listModels(apiKey) {
  const res = await fetch('/v1/models', { headers: headers(apiKey) });
  if (!res.ok) throw await failure(res);
  const body = await res.json();
  return (body?.data ?? []).map((/** @type {{id: string}} */ m) => m.id);
}

/**
 * POSTs a streaming chat completion and calls onChunk with each parsed chunk. Resolves at `[DONE]` or
 * the end of the stream; rejects with ApiError (HTTP or in-stream error) or the fetch's AbortError.
 * @param {object} body @param {string} apiKey @param {AbortSignal} signal
 * @param {(chunk: any) => void} onChunk
 */
export async function streamChat(body, apiKey, signal, onChunk) {
  const res = await fetch('/v1/chat/completions', { method: 'POST', headers: headers(apiKey, true), body: JSON.stringify(body), signal });
  if (!res.ok) throw await failure(res);
  if (!res.body) throw new ApiError('the server sent no stream');
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value.replace(/\r\n?/g, '\n');
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = event
        .split('\n')
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(line.startsWith('data: ') ? 6 : 5))
        .join('\n');
      if (data === '') continue;
      if (data === '[DONE]') {
        await reader.cancel();
        return;
      }
      const chunk = JSON.parse(data);
      const error = messageOf(chunk);
      if (error !== undefined) throw new ApiError(error);
      onChunk(chunk);
    }
  }
}
