import type { IncomingHttpHeaders } from 'node:http';

/**
 * What the `flow ui` server accepts and the headers every answer carries. The server is
 * local and read-only, but a browser visiting another site can still reach 127.0.0.1: the
 * checks below are what stops that site from reading the store (DNS rebinding: a name that
 * resolves to 127.0.0.1 arrives with its own Host header) or embedding its pages.
 */

/** The Host header values that name this server (loopback by address or by name). */
export function ownHosts(port: number): Set<string> {
  return new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]);
}

export type Verdict = { ok: true } | { ok: false; status: number; reason: string };

/**
 * Refuses requests that are not GET/HEAD (the server has no write endpoints), whose Host is
 * not this server (DNS rebinding), whose Origin is another site, or which another site makes
 * from inside its own page (fetch, img, iframe: Sec-Fetch-Site cross-site). Following a link
 * from elsewhere to a page of the UI stays possible: that is a top-level navigation.
 */
export function checkRequest(method: string | undefined, headers: IncomingHttpHeaders, port: number): Verdict {
  if (method !== 'GET' && method !== 'HEAD') return { ok: false, status: 405, reason: `flow ui is read-only: ${method ?? '(no method)'} is not accepted (GET and HEAD are).` };
  const hosts = ownHosts(port);
  const host = headers.host;
  if (!host || !hosts.has(host.toLowerCase())) {
    return { ok: false, status: 403, reason: `flow ui answers only requests for http://127.0.0.1:${port} (this one was for ${JSON.stringify(host ?? '')}).` };
  }
  const origin = headers.origin;
  if (origin !== undefined && !(origin.startsWith('http://') && hosts.has(origin.slice('http://'.length).toLowerCase()))) {
    return { ok: false, status: 403, reason: `flow ui does not answer requests made by another site (Origin ${JSON.stringify(origin)}).` };
  }
  const site = headers['sec-fetch-site'];
  const navigation = headers['sec-fetch-mode'] === 'navigate' && headers['sec-fetch-dest'] === 'document';
  if ((site === 'cross-site' || site === 'same-site') && !navigation) {
    return { ok: false, status: 403, reason: "flow ui does not answer requests made from inside another site's page." };
  }
  return { ok: true };
}

/** The app's policy: only its own scripts and styles, data only from itself, never framed by others. */
export const APP_CSP = ["default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "connect-src 'self'", "frame-src 'self'", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'"].join('; ');

/**
 * A card or a stored file shown as a document: no script at all (sandboxed, no script-src),
 * images only inline. allow-same-origin lets the app (same origin) size the card's frame.
 */
export const CARD_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; sandbox allow-same-origin; frame-ancestors 'self'";

/** Raw artifact bytes (images): even opened directly, an SVG's script never runs. */
export const RAW_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; sandbox";

export function baseHeaders(csp: string): Record<string, string> {
  return {
    'Content-Security-Policy': csp,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'X-Frame-Options': csp === CARD_CSP ? 'SAMEORIGIN' : 'DENY',
    'Cache-Control': 'no-store',
  };
}
