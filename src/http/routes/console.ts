// GET / (the approvals console) and its two static files, with a strict Content-Security-Policy: same-origin scripts, styles and connections only.
import type { ServerResponse } from 'node:http';
import { CONSOLE_HTML } from '../console/page.js';
import { CONSOLE_CSS } from '../console/styles.js';
import { CONSOLE_JS } from '../console/script.js';
import type { RouteDeps } from '../route-deps.js';

/** No inline script or style, no third-party origins, no framing (clickjacking an Approve button), forms only to ourselves. */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

function sendStatic(res: ServerResponse, type: string, body: string): void {
  res.writeHead(200, {
    'Content-Type': `${type}; charset=utf-8`,
    'Content-Length': Buffer.byteLength(body),
    'Content-Security-Policy': CONSOLE_CSP,
    'X-Frame-Options': 'DENY',
    'Cache-Control': 'no-cache',
  });
  res.end(body);
}

export function registerConsoleRoutes(deps: RouteDeps): void {
  deps.router.add('GET', '/', (_req, res) => sendStatic(res, 'text/html', CONSOLE_HTML));
  deps.router.add('GET', '/console/app.css', (_req, res) => sendStatic(res, 'text/css', CONSOLE_CSS));
  deps.router.add('GET', '/console/app.js', (_req, res) => sendStatic(res, 'text/javascript', CONSOLE_JS));
}
