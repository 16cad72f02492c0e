// Thinking-block signatures. Anthropic's are opaque tokens that let its API check a thinking block came
// from the model; clients (Claude Code above all) store them and send them back, and proxies that drop or
// reject them break every later turn. Here a signature is an HMAC-SHA256 of the thinking text under a key
// made at process start, base64: non-empty, opaque, stable for the same text within a process. Nothing
// checks them on the way back in; any signature, or none, is accepted (see messages.ts).
import { createHmac, randomBytes } from 'node:crypto';

const PROCESS_KEY = randomBytes(32);

export function thinkingSignature(thinking: string, key: Uint8Array = PROCESS_KEY): string {
  return createHmac('sha256', key).update(thinking, 'utf8').digest('base64');
}
