// Console sign-in: POST /api/session exchanges a token for an HttpOnly SameSite=Strict session cookie and a CSRF token; GET reads it back; DELETE signs out.
import { assertCsrf, assertSameOrigin, sessionCookie } from '../auth.js';
import { readJsonBody } from '../body.js';
import { HttpError, HttpErrorCode, sendJson } from '../http-error.js';
import type { RouteDeps } from '../route-deps.js';

export function registerSessionRoutes(deps: RouteDeps): void {
  const { router, auth } = deps;
  const secure = deps.publicUrl?.startsWith('https:') ?? false;

  router.add('POST', '/api/session', async (req, res) => {
    // Login CSRF: another site must not sign a browser in as someone else.
    assertSameOrigin(req, deps.publicUrl);
    const body = await readJsonBody(req, deps.bodyLimit);
    if (typeof body.token !== 'string' || body.token.trim() === '') {
      throw new HttpError(400, HttpErrorCode.badRequest, "body must be {\"token\":\"…\"} with your approver token");
    }
    const identity = auth.identityForToken(body.token.trim());
    if (identity === null) {
      deps.logger.warn({ address: req.socket.remoteAddress }, 'console sign-in with an unknown token');
      const message = auth.hasTokens
        ? 'that token is not valid; check it with whoever runs pgwarden'
        : 'no approver tokens are configured on this pgwarden; set approvals.api_tokens or PGWARDEN_API_TOKENS="identity=token"';
      throw new HttpError(401, HttpErrorCode.unauthorized, message, { 'WWW-Authenticate': 'Bearer realm="pgwarden"' });
    }
    const session = auth.createSession(identity);
    deps.logger.info({ by: identity }, 'console sign-in');
    sendJson(res, 200, { identity, csrf_token: session.csrfToken, expires_at: new Date(session.expiresAt).toISOString() }, { 'Set-Cookie': sessionCookie(session, secure) });
  });

  router.add('GET', '/api/session', (req, res) => {
    const principal = auth.require(req);
    sendJson(res, 200, {
      identity: principal.identity,
      csrf_token: principal.csrfToken ?? null,
      expires_at: principal.expiresAt === undefined ? null : new Date(principal.expiresAt).toISOString(),
    });
  });

  router.add('DELETE', '/api/session', (req, res) => {
    assertSameOrigin(req, deps.publicUrl);
    const principal = auth.authenticate(req);
    if (principal) assertCsrf(req, principal);
    res.setHeader('Set-Cookie', sessionCookie(null, secure));
    res.writeHead(204, { 'Cache-Control': 'no-store' });
    res.end();
  });
}
