// The Anthropic-compatible Messages API: POST /v1/messages (streaming and not, also `?beta=true`) and
// POST /v1/messages/count_tokens, mapped onto the ChatService. See routes.ts for the request flow,
// sequencer.ts for the stream's event order, request.ts/messages.ts/tools.ts for the request mapping.
export { anthropicRoutes, type AnthropicRoutesOptions } from './routes.js';
export { MessageSequencer, type SequencerOptions } from './sequencer.js';
export { MessageBuilder } from './message-builder.js';
export { thinkingSignature } from './signature.js';
export { promptTooLongMessage } from './errors.js';
export type { MessageOut, StreamEvent, ContentBlockOut, StopReason, StepflashReport } from './wire.js';
