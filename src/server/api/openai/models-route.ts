// GET /v1/models and GET /v1/models/{id}. One model is served, and any model name a request gives maps
// to it, so /v1/models/{id} answers 200 for any id (clients such as Cursor check a configured model name
// this way before using it); `root` names the model that actually answers.
import { sendJson } from '../../http/errors.js';
import type { Route } from '../../http/route.js';
import type { ResolvedOpenAIOptions } from './options.js';

function modelObject(id: string, served: string, contextSize: number, created: number): Record<string, unknown> {
  return { id, object: 'model', created, owned_by: 'stepflash', root: served, max_model_len: contextSize };
}

export function modelsRoutes(opts: ResolvedOpenAIOptions): Route[] {
  return [
    {
      method: 'GET',
      path: '/v1/models',
      errors: 'openai',
      handler(ctx) {
        const { modelName, contextSize } = ctx.service;
        sendJson(ctx.res, 200, { object: 'list', data: [modelObject(modelName, modelName, contextSize, opts.startedAt)] });
      },
    },
    {
      method: 'GET',
      path: /^\/v1\/models\/.+$/,
      errors: 'openai',
      handler(ctx) {
        const raw = ctx.url.pathname.slice('/v1/models/'.length);
        let id: string;
        try {
          id = decodeURIComponent(raw);
        } catch {
          id = raw;
        }
        const { modelName, contextSize } = ctx.service;
        sendJson(ctx.res, 200, modelObject(id, modelName, contextSize, opts.startedAt));
      },
    },
  ];
}
