// What the service and the format layer throw -> the HttpError the app reports in Anthropic's shape.
// The overflow message is rebuilt from the error's details so its wording is exactly Anthropic's
// (`prompt is too long: N tokens > M maximum`): Claude Code decides to compact by matching that text.
import { ChatTemplateError } from '../../../format/index.js';
import { ChatError } from '../../chat-service.js';
import { HttpError } from '../../http/errors.js';

export function promptTooLongMessage(promptTokens: number, maxContext: number): string {
  return `prompt is too long: ${promptTokens} tokens > ${maxContext} maximum`;
}

export function toAnthropicError(e: unknown): HttpError {
  if (e instanceof HttpError) return e;
  if (e instanceof ChatError) {
    const { promptTokens, maxContext } = e.details;
    if (e.kind === 'context_length' && promptTokens !== undefined && maxContext !== undefined) {
      return new HttpError('context_length', promptTooLongMessage(promptTokens, maxContext));
    }
    return new HttpError(e.kind, e.message);
  }
  // The conversation could not be rendered (a tool call's arguments that are not an object, ...): the
  // request's fault, not the server's.
  if (e instanceof ChatTemplateError) return new HttpError('invalid_request', e.message);
  return new HttpError('internal', e instanceof Error ? e.message : String(e));
}
