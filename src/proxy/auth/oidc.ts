// OIDC tokens as passwords: validates a JWT against the issuer's keys (discovered from
// /.well-known/openid-configuration, cached by jose and refetched — at most once per cooldown — when a token names an
// unknown kid), checks iss/aud/exp/nbf with bounded clock skew, refuses `alg: none` and HMAC algorithms (an HMAC
// "signed" with the public key is a classic forgery), and reads identity, groups and owner from configurable claims.
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { ConfigError } from '../../errors.js';

/** Asymmetric JWS algorithms only: HS256/384/512 are never accepted, whatever a token's header says. */
export const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;

export interface OidcOptions {
  readonly issuer: string;
  /** The token's aud must contain one of these. */
  readonly audience: readonly string[];
  /** Skips discovery when set. */
  readonly jwksUri: string | null;
  readonly identityClaim: string;
  readonly groupsClaim: string | null;
  /** Claims that may name the agent's human owner, first present wins (e.g. owner, act.sub). */
  readonly ownerClaims: readonly string[];
  readonly clockSkewMs: number;
  readonly algorithms: readonly string[];
  /** Minimum time between two JWKS fetches caused by unknown kids. */
  readonly jwksCooldownMs: number;
  /** How long a fetched JWKS is trusted without refetching. */
  readonly jwksMaxAgeMs: number;
  readonly httpTimeoutMs: number;
}

export interface TokenIdentity {
  readonly identity: string;
  readonly groups: readonly string[];
  readonly owner: string | null;
  /** Seconds since the epoch. */
  readonly expiresAt: number | null;
}

export type TokenResult = { readonly ok: true; readonly token: TokenIdentity } | { readonly ok: false; readonly why: string };

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
/** After a failed discovery, new attempts wait this long (a down IdP must not turn every login into an HTTP call). */
const DISCOVERY_RETRY_MS = 5000;

function isLoopback(url: URL): boolean {
  return url.hostname === 'localhost' || url.hostname === '127.0.0.1' || url.hostname === '[::1]';
}

/** https, or http on a loopback address only (a local IdP or test stand-in): keys fetched in clear could be swapped. */
export function checkIdpUrl(text: string, what: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(`auth.oidc: ${what} '${text}' is not a URL`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url))) throw new ConfigError(`auth.oidc: ${what} must be an https:// URL (http:// only on localhost), got '${text}'`);
  return url;
}

/** A claim by path: an exact key first (kubernetes.io), else dotted steps (act.sub). */
export function claimAt(payload: unknown, path: string): unknown {
  if (payload === null || typeof payload !== 'object') return undefined;
  const obj = payload as Record<string, unknown>;
  if (Object.hasOwn(obj, path)) return obj[path];
  for (let i = path.indexOf('.'); i > 0; i = path.indexOf('.', i + 1)) {
    const head = path.slice(0, i);
    if (Object.hasOwn(obj, head)) {
      const found = claimAt(obj[head], path.slice(i + 1));
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

function asIdentity(value: unknown): string | null {
  return typeof value === 'string' && value.trim() !== '' && value.length <= 512 && !/[\u0000-\u001f]/.test(value) ? value : null;
}

export class OidcValidator {
  private jwks: ReturnType<typeof createRemoteJWKSet> | null = null;
  private discovering: Promise<void> | null = null;
  private lastFailureAt = 0;
  private lastFailure = '';

  constructor(
    private readonly options: OidcOptions,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {
    checkIdpUrl(options.issuer, 'issuer');
    if (options.jwksUri) this.jwks = this.keySet(checkIdpUrl(options.jwksUri, 'jwks_uri'));
    for (const alg of options.algorithms) if (!(ASYMMETRIC_ALGORITHMS as readonly string[]).includes(alg)) throw new ConfigError(`auth.oidc.algorithms: '${alg}' is not an asymmetric JWS algorithm (HMAC and none are never accepted)`);
  }

  /** Fetches discovery and keys ahead of the first login (errors are kept and retried on use). */
  async warmUp(): Promise<{ ok: boolean; error?: string }> {
    try {
      await this.ensureKeys();
      return { ok: true };
    } catch (err) {
      return { ok: false, error: (err as Error).message };
    }
  }

  async validate(token: string): Promise<TokenResult> {
    if (!JWT_SHAPE.test(token)) return { ok: false, why: 'not a compact JWS' };
    let keys: ReturnType<typeof createRemoteJWKSet>;
    try {
      keys = await this.ensureKeys();
    } catch (err) {
      return { ok: false, why: `issuer keys unavailable: ${(err as Error).message}` };
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer: this.options.issuer,
        audience: [...this.options.audience],
        algorithms: [...this.options.algorithms],
        clockTolerance: Math.round(this.options.clockSkewMs / 1000),
        requiredClaims: ['exp', 'iss', 'aud'],
      }));
    } catch (err) {
      return { ok: false, why: describeJoseError(err) };
    }
    const identity = asIdentity(claimAt(payload, this.options.identityClaim));
    if (!identity) return { ok: false, why: `claim ${this.options.identityClaim} is missing or not a name` };
    const rawGroups = this.options.groupsClaim ? claimAt(payload, this.options.groupsClaim) : undefined;
    const groups = (Array.isArray(rawGroups) ? rawGroups : typeof rawGroups === 'string' ? [rawGroups] : []).map(asIdentity).filter((g): g is string => g !== null);
    let owner: string | null = null;
    for (const claim of this.options.ownerClaims) {
      owner = asIdentity(claimAt(payload, claim));
      if (owner) break;
    }
    return { ok: true, token: { identity, groups, owner, expiresAt: typeof payload.exp === 'number' ? payload.exp : null } };
  }

  private keySet(url: URL): ReturnType<typeof createRemoteJWKSet> {
    return createRemoteJWKSet(url, { cooldownDuration: this.options.jwksCooldownMs, cacheMaxAge: this.options.jwksMaxAgeMs, timeoutDuration: this.options.httpTimeoutMs });
  }

  private async ensureKeys(): Promise<ReturnType<typeof createRemoteJWKSet>> {
    if (this.jwks) return this.jwks;
    if (!this.discovering) {
      if (Date.now() - this.lastFailureAt < DISCOVERY_RETRY_MS) throw new Error(`discovery failed recently: ${this.lastFailure}`);
      this.discovering = this.discover().then(
        (url) => {
          this.jwks = this.keySet(url);
          this.discovering = null;
        },
        (err: unknown) => {
          this.lastFailureAt = Date.now();
          this.lastFailure = (err as Error).message;
          this.discovering = null;
          throw err;
        },
      );
    }
    await this.discovering;
    return this.jwks!;
  }

  /** OpenID Connect Discovery 1.0 §4: the document's issuer must equal ours exactly, and names the jwks_uri. */
  private async discover(): Promise<URL> {
    const base = this.options.issuer.replace(/\/+$/, '');
    const url = `${base}/.well-known/openid-configuration`;
    const res = await this.fetchImpl(url, { signal: AbortSignal.timeout(this.options.httpTimeoutMs), redirect: 'error', headers: { accept: 'application/json' } });
    if (!res.ok) throw new Error(`GET ${url} answered ${res.status}`);
    const doc = (await res.json()) as { issuer?: unknown; jwks_uri?: unknown };
    if (doc.issuer !== this.options.issuer) throw new Error(`discovery document names issuer ${JSON.stringify(doc.issuer)}, expected ${JSON.stringify(this.options.issuer)}`);
    if (typeof doc.jwks_uri !== 'string') throw new Error('discovery document has no jwks_uri');
    return checkIdpUrl(doc.jwks_uri, 'jwks_uri (from discovery)');
  }
}

/** A log-friendly reason; jose's codes are stable (ERR_JWT_EXPIRED, ERR_JWKS_NO_MATCHING_KEY, …). */
function describeJoseError(err: unknown): string {
  if (err instanceof joseErrors.JWTClaimValidationFailed) return `${err.code}: claim ${err.claim} ${err.reason}`;
  if (err instanceof joseErrors.JOSEError) return `${err.code}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}
