// GET /health and GET /metrics, for any ChatService: /health answers 200 while the engine makes progress and
// 503 when it is wedged (JSON either way, no API key needed, so load balancers and supervisors can poll
// it); /metrics serves the Prometheus text format (behind the API key when one is set).
import type { Route } from '../http/route.js';

export function engineRoutes(): Route[] {
  return [
    {
      method: 'GET',
      path: '/health',
      errors: 'plain',
      public: true,
      handler: ({ res, service }) => {
        const h = service.health();
        const body = JSON.stringify({ status: h.ok ? 'ok' : 'error', detail: h.detail, model: service.modelName });
        res.writeHead(h.ok ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': String(Buffer.byteLength(body)) });
        res.end(body);
      },
    },
    {
      method: 'GET',
      path: '/metrics',
      errors: 'plain',
      handler: ({ res, service }) => {
        const text = service.metrics();
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'cache-control': 'no-store', 'content-length': String(Buffer.byteLength(text)) });
        res.end(text);
      },
    },
  ];
}
