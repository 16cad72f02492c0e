// The web chat at `/`: plain HTML, CSS and ES modules shipped in `assets/web/` and served by the same
// process (no build step, no CDN, no external fonts). The page talks to the OpenAI routes on the same
// origin, so the Content-Security-Policy allows nothing but 'self'; model output is only ever inserted
// as text, and the policy is the second line of defence if that ever slips.
import { readdirSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Route, RouteContext } from '../http/route.js';

/** The same relative path from src/server/web and dist/server/web. */
export const WEB_ASSETS_DIR = fileURLToPath(new URL('../../../assets/web/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

interface Asset {
  readonly body: Buffer;
  readonly type: string;
  readonly etag: string;
}

/** Every servable file in the directory, read once: the set is small and fixed for a server's life. */
function loadAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const name of readdirSync(dir).sort()) {
    const type = TYPES[extname(name)];
    if (type === undefined) continue;
    const body = readFileSync(join(dir, name));
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
    assets.set(name, { body, type, etag });
  }
  if (!assets.has('index.html')) throw new Error(`web chat assets missing: no index.html in ${dir}`);
  return assets;
}

function serve(asset: Asset, { req, res }: RouteContext): void {
  const headers = {
    'content-type': asset.type,
    'content-security-policy': CONTENT_SECURITY_POLICY,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    // Revalidate every time: a restarted server may ship a newer page, and the ETag makes it cheap.
    'cache-control': 'no-cache',
    etag: asset.etag,
  };
  if (req.headers['if-none-match'] === asset.etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  res.writeHead(200, { ...headers, 'content-length': String(asset.body.length) });
  res.end(asset.body);
}

/** `GET /` (the page) and `GET /<file>` for each asset; public, since the page itself asks for the key. */
export function webRoutes(dir: string = WEB_ASSETS_DIR): Route[] {
  const assets = loadAssets(dir);
  const route = (path: string, asset: Asset): Route => ({
    method: 'GET',
    path,
    errors: 'plain',
    public: true,
    handler: (ctx) => serve(asset, ctx),
  });
  const routes = [route('/', assets.get('index.html')!)];
  for (const [name, asset] of assets) routes.push(route(`/${name}`, asset));
  return routes;
}
