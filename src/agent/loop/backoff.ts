// When to retry a model call and how long to wait: exponential backoff with full jitter, except that a
// server's retry-after (seconds, an HTTP date, or retry-after-ms) is honoured when it says.

export interface BackoffPolicy {
  readonly maxRetries: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

/** Statuses worth retrying: rate limits, overload (529 is Anthropic-style overload), server errors. */
export function retryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/** Delay in ms named by retry-after-ms / retry-after headers, if any. */
export function retryAfterMs(headers: Headers | undefined, now = Date.now()): number | undefined {
  if (!headers) return undefined;
  const ms = headers.get('retry-after-ms');
  if (ms !== null && Number.isFinite(Number(ms)) && Number(ms) >= 0) return Number(ms);
  const ra = headers.get('retry-after');
  if (ra === null) return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(ra)) return Number(ra) * 1000;
  const date = Date.parse(ra);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The longest retry-after honoured; a server asking for more is waited on this long, then tried. */
export const MAX_RETRY_AFTER_MS = 60_000;

/** Backoff before retry number `attempt` (1-based); a server's retry-after wins over the policy. */
export function backoffDelay(policy: BackoffPolicy, attempt: number, hintMs?: number, random = Math.random): number {
  if (hintMs !== undefined) return Math.min(MAX_RETRY_AFTER_MS, hintMs);
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  // Full jitter keeps many agents that failed together from retrying together.
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** Resolves after ms, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
