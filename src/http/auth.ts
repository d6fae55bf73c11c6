// Approver authentication: bearer tokens → identities (config approvals.api_tokens), signed console sessions, CSRF and same-origin checks.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Secret } from '../units.js';
import { HttpError, HttpErrorCode } from './http-error.js';

/** identity → token, as config gives it (`approvals.api_tokens`) or as a Map. */
export type TokenSource = ReadonlyMap<string, string | Secret> | Readonly<Record<string, string | Secret>>;

/** Who made a request and how they proved it. Sessions come from the console sign-in and need a CSRF header on writes. */
export interface Principal {
  readonly identity: string;
  readonly method: 'bearer' | 'session';
  /** Present for sessions: the value the X-CSRF-Token header must carry. */
  readonly csrfToken?: string;
  /** Present for sessions: when it ends (ms since epoch). */
  readonly expiresAt?: number;
}

export interface Session {
  readonly identity: string;
  readonly cookieValue: string;
  readonly csrfToken: string;
  readonly expiresAt: number;
}

export const SESSION_COOKIE = 'pgwarden_session';
export const CSRF_HEADER = 'x-csrf-token';
/** Console sessions last a working day; the token itself is the long-lived credential. */
export const DEFAULT_SESSION_TTL_MS = 12 * 60 * 60 * 1000;

interface Entry {
  readonly identity: string;
  readonly digest: Buffer;
  /** Session signing key derived from the token: every instance with the same tokens accepts the same sessions, and rotating a token ends its sessions. */
  readonly sessionKey: Buffer;
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest();
const b64url = (buf: Buffer | string) => Buffer.from(buf).toString('base64url');
const hmac = (key: Buffer, text: string) => createHmac('sha256', key).update(text, 'utf8').digest();

function safeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

export class ApproverAuth {
  readonly #entries: readonly Entry[];
  readonly #ttlMs: number;
  readonly #now: () => number;

  constructor(tokens: TokenSource, options: { sessionTtlMs?: number; now?: () => number } = {}) {
    const pairs = tokens instanceof Map ? [...tokens.entries()] : Object.entries(tokens as Record<string, string | Secret>);
    this.#entries = pairs
      .map(([identity, token]) => [identity, token instanceof Secret ? token.reveal() : String(token)] as const)
      .filter(([, token]) => token.length > 0)
      .map(([identity, token]) => ({ identity, digest: sha256(token), sessionKey: hmac(Buffer.from(token, 'utf8'), 'pgwarden-console-session-v1') }));
    this.#ttlMs = options.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS;
    this.#now = options.now ?? Date.now;
  }

  /** True when at least one token is configured (otherwise the API refuses everyone). */
  get hasTokens(): boolean {
    return this.#entries.length > 0;
  }

  /** The identity a token belongs to. Compares digests with timingSafeEqual and visits every entry, so timing says nothing about which matched. */
  identityForToken(token: string): string | null {
    const digest = sha256(token);
    let found: string | null = null;
    for (const entry of this.#entries) if (timingSafeEqual(digest, entry.digest) && found === null) found = entry.identity;
    return found;
  }

  /** A signed session cookie value for the console, plus its CSRF token. */
  createSession(identity: string): Session {
    const entry = this.#entries.find((e) => e.identity === identity);
    if (!entry) throw new Error(`no token configured for identity ${identity}`);
    const expiresAt = this.#now() + this.#ttlMs;
    const payload = b64url(JSON.stringify({ i: identity, e: expiresAt, n: randomBytes(16).toString('base64url') }));
    const cookieValue = `${payload}.${b64url(hmac(entry.sessionKey, payload))}`;
    const session = this.verifySession(cookieValue);
    if (!session) throw new Error('session just created does not verify');
    return session;
  }

  /** The session a cookie value proves, or null when unsigned, tampered, expired or its token was rotated. */
  verifySession(cookieValue: string): Session | null {
    const dot = cookieValue.indexOf('.');
    if (dot <= 0) return null;
    const payload = cookieValue.slice(0, dot);
    let claims: { i?: unknown; e?: unknown; n?: unknown };
    try {
      claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as typeof claims;
    } catch {
      return null;
    }
    if (typeof claims.i !== 'string' || typeof claims.e !== 'number' || typeof claims.n !== 'string') return null;
    const entry = this.#entries.find((e) => e.identity === claims.i);
    if (!entry) return null;
    if (!safeEqual(Buffer.from(cookieValue.slice(dot + 1)), Buffer.from(b64url(hmac(entry.sessionKey, payload))))) return null;
    if (claims.e <= this.#now()) return null;
    // Synchronizer-style CSRF token bound to this session's nonce; the page keeps it in memory and sends it as a header.
    const csrfToken = b64url(hmac(entry.sessionKey, `csrf:${claims.n}`));
    return { identity: claims.i, cookieValue, csrfToken, expiresAt: claims.e };
  }

  /** Bearer header first, then the console session cookie. Null when neither proves an identity. */
  authenticate(req: IncomingMessage): Principal | null {
    const header = req.headers.authorization;
    if (header !== undefined) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
      const identity = m ? this.identityForToken(m[1]!) : null;
      return identity === null ? null : { identity, method: 'bearer' };
    }
    const cookie = readCookie(req, SESSION_COOKIE);
    const session = cookie === null ? null : this.verifySession(cookie);
    return session ? { identity: session.identity, method: 'session', csrfToken: session.csrfToken, expiresAt: session.expiresAt } : null;
  }

  /** authenticate() or a 401 with WWW-Authenticate: Bearer. */
  require(req: IncomingMessage): Principal {
    const principal = this.authenticate(req);
    if (principal) return principal;
    const hasCredentials = req.headers.authorization !== undefined || readCookie(req, SESSION_COOKIE) !== null;
    const message = !this.hasTokens
      ? 'no approver tokens are configured; set approvals.api_tokens in the config or PGWARDEN_API_TOKENS="identity=token"'
      : hasCredentials
        ? 'the bearer token or console session is not valid (expired, rotated or mistyped)'
        : 'authentication required: send Authorization: Bearer <token>';
    throw new HttpError(401, HttpErrorCode.unauthorized, message, {
      'WWW-Authenticate': hasCredentials ? 'Bearer realm="pgwarden", error="invalid_token"' : 'Bearer realm="pgwarden"',
    });
  }
}

/** One cookie's value from the Cookie header. */
export function readCookie(req: IncomingMessage, name: string): string | null {
  const header = req.headers.cookie;
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

/**
 * Refuses (403) a browser request sent from another site: Sec-Fetch-Site must be same-origin/none when present,
 * and Origin must be this server's own origin (the Host it was reached by, or the configured public URL).
 * Non-browser clients (CLI, webhook receivers) send neither header and pass.
 */
export function assertSameOrigin(req: IncomingMessage, publicUrl?: string): void {
  const site = req.headers['sec-fetch-site'];
  if (typeof site === 'string' && site !== 'same-origin' && site !== 'none') {
    throw new HttpError(403, HttpErrorCode.csrf, `cross-site request refused (Sec-Fetch-Site: ${site}); decide from the pgwarden console or with a bearer token`);
  }
  const origin = req.headers.origin;
  if (origin === undefined) return;
  let host: string | null = null;
  try {
    host = origin === 'null' ? null : new URL(origin).host;
  } catch {
    host = null;
  }
  const publicHost = publicUrl ? new URL(publicUrl).host : null;
  if (host === null || (host !== req.headers.host && host !== publicHost)) {
    throw new HttpError(403, HttpErrorCode.csrf, `cross-origin request refused (Origin: ${origin}); decide from the pgwarden console or with a bearer token`);
  }
}

/** Session (cookie) writes must carry the CSRF token in X-CSRF-Token; bearer requests cannot be forged by a browser and need none. */
export function assertCsrf(req: IncomingMessage, principal: Principal): void {
  if (principal.method !== 'session') return;
  const sent = req.headers[CSRF_HEADER];
  if (typeof sent !== 'string' || !principal.csrfToken || !safeEqual(Buffer.from(sent), Buffer.from(principal.csrfToken))) {
    throw new HttpError(403, HttpErrorCode.csrf, 'missing or wrong X-CSRF-Token header: reload the console page and try again');
  }
}

/** Set-Cookie value for a session: HttpOnly (scripts never see it), SameSite=Strict (never sent on cross-site requests). */
export function sessionCookie(session: Session | null, secure: boolean): string {
  const attrs = ['Path=/', 'HttpOnly', 'SameSite=Strict', ...(secure ? ['Secure'] : [])];
  if (!session) return `${SESSION_COOKIE}=; Max-Age=0; ${attrs.join('; ')}`;
  const maxAge = Math.max(0, Math.floor((session.expiresAt - Date.now()) / 1000));
  return `${SESSION_COOKIE}=${session.cookieValue}; Max-Age=${maxAge}; ${attrs.join('; ')}`;
}
