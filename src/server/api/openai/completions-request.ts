// POST /v1/completions bodies: untemplated text in, text out. The prompt goes to the model as it is
// (no chat template), which is what raw-template tests and FIM-less code tools use it for.
import { z } from 'zod';
import type { ChatService } from '../../chat-service.js';
import { samplingFields } from './common-schema.js';
import { samplingRequest } from './sampling.js';
import { invalidParam, parseBody } from './validation.js';

const opt = <T extends z.ZodType>(t: T) => t.nullable().optional();

export const CompletionBody = z.looseObject({
  ...samplingFields,
  prompt: z.unknown(),
  echo: opt(z.boolean()),
  suffix: opt(z.string()),
  logprobs: opt(z.number().int().min(0).max(20)),
  best_of: opt(z.number().int()),
});

export type CompletionRequest = Parameters<ChatService['complete']>[0];

export interface ParsedCompletion {
  readonly request: Omit<CompletionRequest, 'signal'>;
  readonly stream: boolean;
  readonly includeUsage: boolean;
  readonly echo: boolean;
  readonly logprobs: number | undefined;
  readonly requestedMaxTokens: number;
}

export function parseCompletion(body: unknown, defaultMaxTokens: number): ParsedCompletion {
  const b = parseBody(CompletionBody, body);
  const prompt = promptText(b.prompt);
  if (b.suffix != null && b.suffix !== '') throw invalidParam('suffix', 'suffix (fill-in-the-middle) is not supported by this model');
  if (b.best_of != null && b.best_of !== 1) throw invalidParam('best_of', `only best_of=1 is supported (got ${b.best_of})`);
  if (b.echo === true && b.logprobs != null) {
    throw invalidParam('echo', 'echo with logprobs would need the prompt tokens\' logprobs, which this server does not compute');
  }
  const requestedMaxTokens = b.max_tokens ?? defaultMaxTokens;
  return {
    request: {
      prompt,
      ...samplingRequest(b, requestedMaxTokens),
      ...(b.logprobs != null ? { logprobs: b.logprobs } : {}),
    },
    stream: b.stream === true,
    includeUsage: b.stream === true && b.stream_options?.include_usage === true,
    echo: b.echo === true,
    logprobs: b.logprobs ?? undefined,
    requestedMaxTokens,
  };
}

/** A string, or an array holding one string. Token-id prompts and batches are refused by name. */
function promptText(prompt: unknown): string {
  if (typeof prompt === 'string') return prompt;
  if (prompt === undefined || prompt === null) throw invalidParam('prompt', 'missing; expected a string');
  if (Array.isArray(prompt)) {
    if (prompt.length === 1 && typeof prompt[0] === 'string') return prompt[0];
    if (prompt.length > 1 && prompt.every((p) => typeof p === 'string')) {
      throw invalidParam('prompt', `only one prompt per request is supported (got ${prompt.length}); send them as separate requests`);
    }
    if (prompt.length > 0 && prompt.every((p) => typeof p === 'number' || Array.isArray(p))) {
      throw invalidParam('prompt', 'token-id prompts are not supported; send the prompt as text');
    }
  }
  throw invalidParam('prompt', 'expected a string or an array of one string');
}
