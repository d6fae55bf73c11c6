// A local stand-in for an OpenID Connect identity provider: the discovery document at
// /.well-known/openid-configuration and a JWKS endpoint, in the real REST shapes, over HTTP on 127.0.0.1. Tokens are
// signed with jose, as a real IdP would sign them; helpers forge the bad ones (alg none, HMAC with the public key,
// unknown kid, tampered payload) that pgwarden must refuse.
import { createHmac, createPublicKey, type KeyObject } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload } from 'jose';

export interface SignOptions {
  readonly kid?: string;
  /** Seconds from now (negative = already expired). Default 300. */
  readonly expiresIn?: number;
  readonly notBefore?: number;
  readonly audience?: string | string[];
  readonly issuer?: string;
  /** Omit exp entirely. */
  readonly noExp?: boolean;
}

export interface FakeOidc {
  readonly issuer: string;
  readonly jwksUri: string;
  /** Requests served, by path. */
  readonly requests: { discovery: number; jwks: number };
  /** Signs with the current published key (RS256). */
  sign(claims: JWTPayload, options?: SignOptions): Promise<string>;
  /** Signs with a key the JWKS does not (yet) publish, under kid `kid`. */
  signUnpublished(claims: JWTPayload, kid: string, options?: SignOptions): Promise<string>;
  /** Publishes the unpublished key `kid` (what a real IdP does when it rotates keys). */
  publish(kid: string): void;
  /** `alg: none`, no signature. */
  unsigned(claims: JWTPayload): string;
  /** HS256 "signed" with the bytes of the published public key (the classic RS256→HS256 confusion). */
  hmacWithPublicKey(claims: JWTPayload): string;
  close(): Promise<void>;
}

interface Key {
  readonly kid: string;
  readonly privateKey: CryptoKey | KeyObject;
  readonly jwk: JWK;
  readonly publicPem: string;
}

async function newKey(kid: string): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  const publicPem = createPublicKey({ key: jwk as JWK & { kty: 'RSA' }, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString();
  return { kid, privateKey, jwk, publicPem };
}

const b64url = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

export async function startFakeOidc(options: { audience: string }): Promise<FakeOidc> {
  const published: Key[] = [await newKey('key-1')];
  const unpublished = new Map<string, Key>();
  const requests = { discovery: 0, jwks: 0 };
  let issuer = '';
  const server = http.createServer((req, res) => {
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'max-age=300' });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'GET' && req.url === '/.well-known/openid-configuration') {
      requests.discovery++;
      return json(200, {
        issuer,
        jwks_uri: `${issuer}/protocol/openid-connect/certs`,
        authorization_endpoint: `${issuer}/protocol/openid-connect/auth`,
        token_endpoint: `${issuer}/protocol/openid-connect/token`,
        response_types_supported: ['code', 'id_token'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
      });
    }
    if (req.method === 'GET' && req.url === '/protocol/openid-connect/certs') {
      requests.jwks++;
      return json(200, { keys: published.map((k) => k.jwk) });
    }
    json(404, { error: 'not_found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const signWith = (key: Key, claims: JWTPayload, o: SignOptions = {}) => {
    const now = Math.floor(Date.now() / 1000);
    let jwt = new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: o.kid ?? key.kid, typ: 'JWT' })
      .setIssuer(o.issuer ?? issuer)
      .setAudience(o.audience ?? options.audience)
      .setIssuedAt(now);
    if (!o.noExp) jwt = jwt.setExpirationTime(now + (o.expiresIn ?? 300));
    if (o.notBefore !== undefined) jwt = jwt.setNotBefore(now + o.notBefore);
    return jwt.sign(key.privateKey);
  };
  const standardClaims = (claims: JWTPayload) => {
    const now = Math.floor(Date.now() / 1000);
    return { iss: issuer, aud: options.audience, iat: now, exp: now + 300, ...claims };
  };

  return {
    get issuer() {
      return issuer;
    },
    get jwksUri() {
      return `${issuer}/protocol/openid-connect/certs`;
    },
    requests,
    sign: (claims, o) => signWith(published[published.length - 1]!, claims, o),
    async signUnpublished(claims, kid, o) {
      if (!unpublished.has(kid)) unpublished.set(kid, await newKey(kid));
      return signWith(unpublished.get(kid)!, claims, o);
    },
    publish(kid) {
      const key = unpublished.get(kid);
      if (!key) throw new Error(`no unpublished key ${kid}`);
      unpublished.delete(kid);
      published.push(key);
    },
    unsigned: (claims) => `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(standardClaims(claims))}.`,
    hmacWithPublicKey(claims) {
      const key = published[0]!;
      const input = `${b64url({ alg: 'HS256', typ: 'JWT', kid: key.kid })}.${b64url(standardClaims(claims))}`;
      return `${input}.${createHmac('sha256', key.publicPem).update(input).digest('base64url')}`;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
