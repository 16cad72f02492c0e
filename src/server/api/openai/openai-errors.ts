// Engine errors in OpenAI's words. A prompt that does not fit gets OpenAI's own sentence, because client
// libraries (LangChain, LiteLLM, agent frameworks) detect context overflow by matching it and the
// `context_length_exceeded` code, and then compact or trim the conversation themselves.
import { ChatError } from '../../chat-service.js';
import { HttpError, errorBody, toHttpError } from '../../http/errors.js';

export function toOpenAIError(e: unknown, promptParam: 'messages' | 'prompt'): HttpError {
  if (e instanceof ChatError && e.kind === 'context_length') {
    const { promptTokens, maxContext } = e.details;
    const message =
      promptTokens !== undefined && maxContext !== undefined
        ? `This model's maximum context length is ${maxContext} tokens. However, your ${promptParam === 'messages' ? 'messages' : 'prompt'} resulted in ${promptTokens} tokens. Please reduce the length of the ${promptParam}.`
        : e.message;
    return new HttpError('context_length', message, promptParam);
  }
  return toHttpError(e);
}

/** The `data:` payload for an error after a stream has started. */
export function streamErrorData(e: unknown, promptParam: 'messages' | 'prompt', requestId: string): unknown {
  return errorBody('openai', toOpenAIError(e, promptParam), requestId).body;
}
