// The engine behind the HTTP APIs: createChatService() builds the real ChatService (continuous batching
// over the model, the Step 3.5 chat format, constrained decoding, loop guard, metrics); engineRoutes() are
// GET /health and GET /metrics.
import type { ChatService } from '../chat-service.js';
import { EngineChatService, type ChatServiceOptions } from './service.js';

export type { ChatServiceOptions } from './service.js';
export type { EngineModel, EngineSequence, EngineBatchItem } from './model-port.js';
export { stepModelPort } from './model-port.js';
export type { LoopGuardOptions } from './loop-guard.js';
export type { ConstraintLimits } from './constraint/limits.js';
export { DEFAULT_LIMITS } from './constraint/limits.js';
export { engineRoutes } from './routes.js';
export { EngineChatService } from './service.js';

export function createChatService(options: ChatServiceOptions): ChatService & { readonly draft: number } {
  return new EngineChatService(options);
}
