// Approver authentication: token lookup, signed console sessions, CSRF and same-origin checks.
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { ApproverAuth, assertCsrf, assertSameOrigin, sessionCookie, SESSION_COOKIE } from '../../../src/http/auth.js';
import { HttpError } from '../../../src/http/http-error.js';
import { Secret } from '../../../src/units.js';

const req = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;
const statusOf = (fn: () => unknown): number | null => {
  try {
    fn();
    return null;
  } catch (err) {
    return err instanceof HttpError ? err.status : -1;
  }
};

describe('ApproverAuth', () => {
  const tokens = { 'alice@example.com': new Secret('tok-alice'), 'bob@example.com': 'tok-bob', empty: '' };

  it('maps a token to its identity from a config record or a Map', () => {
    const auth = new ApproverAuth(tokens);
    expect(auth.identityForToken('tok-alice')).toBe('alice@example.com');
    expect(auth.identityForToken('tok-bob')).toBe('bob@example.com');
    expect(auth.identityForToken('tok-carol')).toBeNull();
    expect(new ApproverAuth(new Map([['carol', 'tok-carol']])).identityForToken('tok-carol')).toBe('carol');
  });

  it('never accepts an empty token', () => {
    expect(new ApproverAuth(tokens).identityForToken('')).toBeNull();
    expect(new ApproverAuth({}).hasTokens).toBe(false);
  });

  it('authenticates a Bearer header, case-insensitively on the scheme, and refuses others with 401 + WWW-Authenticate', () => {
    const auth = new ApproverAuth(tokens);
    expect(auth.authenticate(req({ authorization: 'bearer tok-bob' }))).toEqual({ identity: 'bob@example.com', method: 'bearer' });
    expect(auth.authenticate(req({ authorization: 'Basic dG9rLWJvYg==' }))).toBeNull();
    try {
      auth.require(req({}));
      expect.unreachable();
    } catch (err) {
      expect((err as HttpError).status).toBe(401);
      expect((err as HttpError).headers['WWW-Authenticate']).toMatch(/^Bearer/);
    }
  });

  it('round-trips a signed session cookie and derives a per-session CSRF token', () => {
    const auth = new ApproverAuth(tokens);
    const s1 = auth.createSession('alice@example.com');
    const s2 = auth.createSession('alice@example.com');
    expect(auth.verifySession(s1.cookieValue)?.identity).toBe('alice@example.com');
    expect(s1.csrfToken).not.toBe(s2.csrfToken);
    const principal = auth.authenticate(req({ cookie: `other=1; ${SESSION_COOKIE}=${s1.cookieValue}` }));
    expect(principal).toEqual({ identity: 'alice@example.com', method: 'session', csrfToken: s1.csrfToken, expiresAt: s1.expiresAt });
  });

  it('rejects tampered, expired and rotated-token sessions', () => {
    let now = 1_000_000;
    const auth = new ApproverAuth(tokens, { sessionTtlMs: 60_000, now: () => now });
    const s = auth.createSession('alice@example.com');
    const [payload, sig] = s.cookieValue.split('.') as [string, string];
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), i: 'bob@example.com' })).toString('base64url');
    expect(auth.verifySession(`${forged}.${sig}`)).toBeNull();
    expect(auth.verifySession(`${payload}.${sig[0] === 'A' ? 'B' : 'A'}${sig.slice(1)}`)).toBeNull();
    expect(auth.verifySession('garbage')).toBeNull();
    const rotated = new ApproverAuth({ ...tokens, 'alice@example.com': 'tok-alice-2' }, { now: () => now });
    expect(rotated.verifySession(s.cookieValue)).toBeNull();
    // Another instance with the same tokens accepts it.
    expect(new ApproverAuth(tokens, { now: () => now }).verifySession(s.cookieValue)?.identity).toBe('alice@example.com');
    now += 60_001;
    expect(auth.verifySession(s.cookieValue)).toBeNull();
  });

  it('makes the session cookie HttpOnly and SameSite=Strict, Secure on https', () => {
    const auth = new ApproverAuth(tokens);
    const s = auth.createSession('bob@example.com');
    expect(sessionCookie(s, false)).toMatch(/^pgwarden_session=[^;]+; Max-Age=\d+; Path=\/; HttpOnly; SameSite=Strict$/);
    expect(sessionCookie(s, true)).toMatch(/; Secure$/);
    expect(sessionCookie(null, false)).toMatch(/^pgwarden_session=; Max-Age=0;/);
  });
});

describe('CSRF and same-origin checks', () => {
  it('requires the CSRF header for session principals only', () => {
    const session = { identity: 'a', method: 'session' as const, csrfToken: 'abc' };
    expect(statusOf(() => assertCsrf(req({}), session))).toBe(403);
    expect(statusOf(() => assertCsrf(req({ 'x-csrf-token': 'abd' }), session))).toBe(403);
    expect(statusOf(() => assertCsrf(req({ 'x-csrf-token': 'abc' }), session))).toBeNull();
    expect(statusOf(() => assertCsrf(req({}), { identity: 'a', method: 'bearer' }))).toBeNull();
  });

  it('accepts same-origin and header-less requests, refuses cross-site ones', () => {
    expect(statusOf(() => assertSameOrigin(req({ host: '127.0.0.1:7433' })))).toBeNull();
    expect(statusOf(() => assertSameOrigin(req({ host: '127.0.0.1:7433', origin: 'http://127.0.0.1:7433', 'sec-fetch-site': 'same-origin' })))).toBeNull();
    expect(statusOf(() => assertSameOrigin(req({ host: '10.0.0.5:7433', origin: 'https://pgwarden.example.com' }), 'https://pgwarden.example.com/'))).toBeNull();
    expect(statusOf(() => assertSameOrigin(req({ host: '127.0.0.1:7433', origin: 'http://evil.example' })))).toBe(403);
    expect(statusOf(() => assertSameOrigin(req({ host: '127.0.0.1:7433', origin: 'null' })))).toBe(403);
    expect(statusOf(() => assertSameOrigin(req({ host: '127.0.0.1:7433', 'sec-fetch-site': 'same-site' })))).toBe(403);
    expect(statusOf(() => assertSameOrigin(req({ host: '127.0.0.1:7433', 'sec-fetch-site': 'cross-site' })))).toBe(403);
  });
});
