// A validated Anthropic request -> the service's ChatRequest, plus what the response needs to know that
// the ChatRequest does not carry: whether to show thinking blocks, and notes on what was changed.
//
// Thinking: Step 3.5 Flash always reasons. `thinking: {type:'enabled', budget_tokens}` shows the reasoning
// as thinking blocks and bounds it with a reasoning budget; `adaptive` (what Claude Code sends) shows it
// unbounded. Without `thinking`, or with `disabled`, the model still reasons but the response carries no
// thinking blocks: clients that did not ask for thinking read `content[0].text`.
import type { ChatMessageInput } from '../../../format/index.js';
import type { ChatRequest } from '../../chat-service.js';
import { HttpError } from '../../http/errors.js';
import { systemText, toChatMessages } from './messages.js';
import type { CountTokensRequest, MessagesRequest } from './schemas.js';
import { mapTools } from './tools.js';

export interface MappedRequest {
  readonly chat: Omit<ChatRequest, 'signal'>;
  readonly showThinking: boolean;
  /** What the server changed or ignored, reported with the response. */
  readonly notes: readonly string[];
}

function conversation(body: CountTokensRequest): { messages: ChatMessageInput[]; tools: ReturnType<typeof mapTools> } {
  const tools = mapTools(body.tools, body.tool_choice, body.messages);
  const messages = toChatMessages(systemText(body.system), body.messages);
  return { messages, tools };
}

export function toChatRequest(body: MessagesRequest): MappedRequest {
  const last = body.messages[body.messages.length - 1]!;
  if (last.role === 'assistant') {
    throw new HttpError(
      'invalid_request',
      `messages[${body.messages.length - 1}]: the last message is from the assistant; continuing a partial assistant turn (prefill) is not supported, end with a user message`,
    );
  }
  const { messages, tools } = conversation(body);
  const notes = [...tools.notes];
  const thinking = body.thinking;
  if (thinking?.type === 'disabled') notes.push('thinking cannot be switched off on this model: it reasoned, and the reasoning is left out of the response');
  const stop = (body.stop_sequences ?? []).filter((s) => s !== '');
  const chat: Omit<ChatRequest, 'signal'> = {
    messages,
    ...(tools.tools.length > 0 ? { tools: tools.tools } : {}),
    ...(tools.toolChoice !== undefined ? { toolChoice: tools.toolChoice } : {}),
    ...(tools.parallelToolCalls !== undefined ? { parallelToolCalls: tools.parallelToolCalls } : {}),
    maxTokens: body.max_tokens,
    ...(body.temperature != null ? { temperature: body.temperature } : {}),
    ...(body.top_p != null ? { topP: body.top_p } : {}),
    ...(body.top_k != null ? { topK: body.top_k } : {}),
    ...(stop.length > 0 ? { stop } : {}),
    ...(thinking?.type === 'enabled' ? { reasoningBudget: thinking.budget_tokens } : {}),
  };
  return { chat, showThinking: thinking?.type === 'enabled' || thinking?.type === 'adaptive', notes };
}

/** What count_tokens counts: the prompt the same request would render (messages and tools). */
export function toCountRequest(body: CountTokensRequest): Pick<ChatRequest, 'messages' | 'tools'> {
  const { messages, tools } = conversation(body);
  return { messages, ...(tools.tools.length > 0 ? { tools: tools.tools } : {}) };
}
