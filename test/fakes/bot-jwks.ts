// A local stand-in for the Bot Framework's OpenID metadata and signing keys, and a signer for Bot Framework-style tokens.
import { createServer, type Server } from 'node:http';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { PUBLIC, withOverrides, type CloudEnvironment } from '@microsoft/teams.api';

/** The issuer of real Bot Framework connector tokens (the SDK compares it exactly with cloud.tokenIssuer). */
export const BOT_FRAMEWORK_ISSUER = 'https://api.botframework.com';

export interface SignOptions {
  /** The activity's serviceUrl, carried as the `serviceurl` claim. */
  readonly serviceUrl: string;
  /** Defaults to the app id the server was started for. */
  readonly audience?: string;
  readonly issuer?: string;
  /** Seconds until expiry; negative for an already-expired token. */
  readonly expiresIn?: number;
  /** Sign with a key the JWKS does not publish (same kid): a forged token. */
  readonly foreignKey?: boolean;
  readonly extraClaims?: Record<string, unknown>;
}

export interface BotJwks {
  /** Base URL of this server. */
  readonly url: string;
  /** A cloud whose openIdMetadataUrl (and so the JWKS the SDK fetches) is this server. */
  readonly cloud: CloudEnvironment;
  /** A signed inbound token, as the Bot Connector service sends with every activity. */
  sign(options: SignOptions): Promise<string>;
  /** An outbound token for the SDK's `token` option (the fake connector checks it is there). */
  outboundToken(): Promise<string>;
  /** How many times the JWKS was fetched. */
  readonly keyFetches: number;
  close(): Promise<void>;
}

export async function startBotJwks(appId: string): Promise<BotJwks> {
  const kid = 'pgwarden-test-key';
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  const { privateKey: foreignKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, use: 'sig', alg: 'RS256', endorsements: ['msteams'] } as JWK;
  let keyFetches = 0;
  let base = '';

  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/v1/.well-known/openidconfiguration') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(
        JSON.stringify({
          issuer: BOT_FRAMEWORK_ISSUER,
          authorization_endpoint: `${base}/v1/authorize`,
          jwks_uri: `${base}/v1/.well-known/keys`,
          id_token_signing_alg_values_supported: ['RS256'],
          token_endpoint_auth_methods_supported: ['private_key_jwt'],
        }),
      );
      return;
    }
    if (path === '/v1/.well-known/keys') {
      keyFetches++;
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ keys: [jwk] }));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  if (!addr || typeof addr !== 'object') throw new Error('bot-jwks: no address');
  base = `http://127.0.0.1:${addr.port}`;

  async function signWith(key: CryptoKey, claims: Record<string, unknown>, options: { audience: string; issuer: string; expiresIn: number }) {
    const nowSec = Math.floor(Date.now() / 1000);
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
      .setIssuer(options.issuer)
      .setAudience(options.audience)
      .setIssuedAt(nowSec - 10)
      .setNotBefore(nowSec - 10)
      .setExpirationTime(nowSec + options.expiresIn)
      .sign(key);
  }

  return {
    url: base,
    cloud: withOverrides(PUBLIC, { openIdMetadataUrl: `${base}/v1/.well-known/openidconfiguration` }),
    get keyFetches() {
      return keyFetches;
    },
    sign(options) {
      return signWith(options.foreignKey ? foreignKey : privateKey, { serviceurl: options.serviceUrl, ...options.extraClaims }, {
        audience: options.audience ?? appId,
        issuer: options.issuer ?? BOT_FRAMEWORK_ISSUER,
        expiresIn: options.expiresIn ?? 3600,
      });
    },
    outboundToken() {
      return signWith(privateKey, { appid: appId, ver: '1.0' }, { audience: 'https://api.botframework.com', issuer: 'https://sts.windows.net/test-tenant/', expiresIn: 3600 });
    },
    close() {
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
