// Identifiers in Anthropic's style: `msg_` for messages, `toolu_` for tool uses. Random, so ids stay
// unique across the turns of a conversation (clients match tool results to calls by id).
import { randomBytes } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function randomId(prefix: string, length = 24): string {
  const bytes = randomBytes(length);
  let out = prefix;
  for (const b of bytes) out += ALPHABET[b % ALPHABET.length];
  return out;
}

export const messageId = (): string => randomId('msg_');
export const toolUseId = (): string => randomId('toolu_');
