// The OpenAI-compatible API: POST /v1/chat/completions, POST /v1/completions, GET /v1/models and
// GET /v1/models/{id}. `openaiRoutes(options)` returns the routes for the HTTP app (src/server/http/app.ts).
// Wire-format decisions (reasoning field names, `timings`, the `stepflash` extension) are described in
// docs/server-openai.md.
import type { Route } from '../../http/route.js';
import { chatCompletionsRoute } from './chat-route.js';
import { completionsRoute } from './completions-route.js';
import { modelsRoutes } from './models-route.js';
import { resolveOptions, type OpenAIRouteOptions } from './options.js';

export type { OpenAIRouteOptions, ReasoningField } from './options.js';

export function openaiRoutes(options: OpenAIRouteOptions = {}): Route[] {
  const opts = resolveOptions(options);
  return [chatCompletionsRoute(opts), completionsRoute(opts), ...modelsRoutes(opts)];
}
