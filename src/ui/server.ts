import { readFileSync } from 'node:fs';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { join } from 'node:path';
import type { FlowConfig } from '../config/config.js';
import { UsageError, isFlowError } from '../errors/index.js';
import { redactUrl } from '../util/url-credentials.js';
import type { DiskStore } from '../store/types.js';
import { PACKAGE_ROOT } from '../util/package-info.js';
import { type ApiContext, type Reply, route } from './api.js';
import { APP_CSP, CARD_CSP, RAW_CSP, baseHeaders, checkRequest } from './security.js';
import { StoreReader } from './reader.js';

export interface UiServerOptions {
  store: DiskStore;
  config?: FlowConfig;
  /** 0 picks a free port. */
  port: number;
  /** The mirror runs are listed from and fetched from on demand (shown, never written to). */
  mirrorUrl?: string;
  /** Renders a task's card as one HTML document (loaded only when a card is asked for). */
  renderCard?: (ctx: ApiContext, run: string, step: string, task: string, id: string | null) => Promise<string>;
}

export interface UiServer {
  url: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

/** The front end, built by tools/build-ui.mjs into dist/ui (shipped in the package). */
export const ASSET_DIR = join(PACKAGE_ROOT, 'dist', 'ui');
const ASSETS: Record<string, string> = { 'app.js': 'text/javascript; charset=utf-8', 'app.css': 'text/css; charset=utf-8', 'favicon.svg': 'image/svg+xml' };

const INDEX_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>flow ui</title><link rel="icon" href="/assets/favicon.svg"><link rel="stylesheet" href="/assets/app.css"></head>
<body><div id="app"><p class="loading">Loading…</p></div><script type="module" src="/assets/app.js"></script></body></html>
`;

/**
 * `flow ui`'s server: loopback only, GET only, every answer under a strict Content-Security-
 * Policy. Pages are the single-page app (every path serves it: each page has its own URL);
 * /api/… answers JSON read through the client API; /cards/… serves a task's card as a
 * sandboxed document.
 */
export async function startUiServer(o: UiServerOptions): Promise<UiServer> {
  const ctx: ApiContext = { reader: new StoreReader(o.store), config: o.config, mirrorUrl: o.mirrorUrl ? redactUrl(o.mirrorUrl) : undefined };
  const assets = new Map<string, Buffer>();
  let port = o.port;
  const server = createServer((req, res) => {
    void handle(req, res);
  });
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const verdict = checkRequest(req.method, req.headers, port);
    if (!verdict.ok) return send(res, req, verdict.status, verdict.reason, 'text/plain; charset=utf-8', RAW_CSP, verdict.status === 405 ? { Allow: 'GET, HEAD' } : {});
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    try {
      if (url.pathname.startsWith('/assets/')) {
        const name = url.pathname.slice('/assets/'.length);
        const type = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
        if (!type) return send(res, req, 404, 'Not found', 'text/plain; charset=utf-8', RAW_CSP);
        let body = assets.get(name);
        if (!body) {
          body = readFileSync(join(ASSET_DIR, name));
          assets.set(name, body);
        }
        return send(res, req, 200, body, type, APP_CSP, { 'Cache-Control': 'no-cache' });
      }
      if (url.pathname.startsWith('/api/')) {
        const r = route(url.pathname);
        if (!r) return sendJson(res, req, 404, { error: { code: 'UI_NOT_FOUND', message: `No such endpoint: ${url.pathname}` } });
        return reply(res, req, await r.handler(ctx, r.params, url.searchParams));
      }
      const card = /^\/cards\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(url.pathname);
      if (card) {
        if (!o.renderCard) return send(res, req, 404, 'Cards are not served here.', 'text/plain; charset=utf-8', RAW_CSP);
        const [run, step, task] = card.slice(1).map((s) => decodeURIComponent(s)) as [string, string, string];
        return send(res, req, 200, await o.renderCard(ctx, run, step, task, url.searchParams.get('id')), 'text/html; charset=utf-8', CARD_CSP);
      }
      return send(res, req, 200, INDEX_HTML, 'text/html; charset=utf-8', APP_CSP);
    } catch (e) {
      if (url.pathname.startsWith('/api/') || url.pathname.startsWith('/cards/')) return sendError(res, req, e, url.pathname.startsWith('/cards/'));
      throw e;
    }
  };
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(e.code === 'EADDRINUSE' ? new UsageError('UI_PORT_IN_USE', `Port ${o.port} on 127.0.0.1 is already in use.`, { fix: 'Pick another with flow ui --port N (or --port 0 for any free port).' }) : e));
    server.listen(o.port, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  port = typeof address === 'object' && address ? address.port : o.port;
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function reply(res: ServerResponse, req: IncomingMessage, r: Reply): void {
  if ('json' in r) return sendJson(res, req, 200, r.json);
  send(res, req, 200, r.body, r.type, r.csp === 'card' ? CARD_CSP : RAW_CSP);
}

function sendJson(res: ServerResponse, req: IncomingMessage, status: number, value: unknown): void {
  send(res, req, status, JSON.stringify(value), 'application/json; charset=utf-8', RAW_CSP);
}

/** A FlowError as JSON (its code, message and fix); anything else as an internal error without details. */
function sendError(res: ServerResponse, req: IncomingMessage, e: unknown, html: boolean): void {
  const status = isFlowError(e) ? (e.name === 'NotFoundError' || /NOT_FOUND$/.test(e.code) ? 404 : e.exitCode === 2 ? 400 : 500) : 500;
  const error = isFlowError(e) ? e.toJSON() : { code: 'UI_INTERNAL', message: 'Internal error in flow ui (run it with --debug for details).' };
  if (!isFlowError(e) && process.env.FLOW_DEBUG === '1') process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  if (html) return send(res, req, status, `${error.code}: ${error.message}`, 'text/plain; charset=utf-8', RAW_CSP);
  sendJson(res, req, status, { error });
}

function send(res: ServerResponse, req: IncomingMessage, status: number, body: Buffer | string, type: string, csp: string, extra: Record<string, string> = {}): void {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  res.writeHead(status, { ...baseHeaders(csp), 'Content-Type': type, 'Content-Length': String(bytes.byteLength), ...extra });
  res.end(req.method === 'HEAD' ? undefined : bytes);
}
