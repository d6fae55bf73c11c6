// Composition of the identity features from the Config: the upstream target with its TLS (libpq parameters of
// --upstream), the client-leg TLS context, the identity directory, the OIDC validator, the failure backoff and the
// authenticator, plus their reload on SIGHUP and on file changes. app.ts calls startIdentity once.
import type { Logger } from 'pino';
import type { Config } from './config.js';
import type { Metrics } from './metrics.js';
import { createAuthenticator } from './proxy/auth/authenticate.js';
import { IdentityDirectory } from './proxy/auth/identities.js';
import { OidcValidator } from './proxy/auth/oidc.js';
import { AuthThrottle } from './proxy/auth/throttle.js';
import type { ProxyIdentity } from './proxy/listener.js';
import { ServerTls } from './proxy/tls/server-tls.js';
import { parseUpstreamUrl, type UpstreamTarget } from './proxy/upstream-tls.js';

export interface IdentityRuntime {
  readonly upstream: UpstreamTarget;
  readonly proxy: ProxyIdentity;
  /** Re-reads every certificate, key and CA of both legs (SIGHUP). Files that fail keep the old ones in force. */
  reload(): void;
  close(): void;
}

export function startIdentity(config: Config, logger: Logger, metrics: Metrics, env: NodeJS.ProcessEnv = process.env): IdentityRuntime {
  const upstream = parseUpstreamUrl(config.upstream);
  const upstreamTls = upstream.tls!;
  if (upstreamTls.usesTls) upstreamTls.load();
  const onUpstreamReload = (result: { ok: boolean; error?: string }) => {
    metrics.tlsReloads.inc({ leg: 'upstream', result: result.ok ? 'ok' : 'refused' });
    if (result.ok) logger.info({ upstream: upstream.display }, 'upstream TLS files reloaded');
    else logger.error({ upstream: upstream.display, error: result.error }, 'upstream TLS files refused; the previous ones stay in force');
  };
  if (upstreamTls.usesTls) upstreamTls.watch(onUpstreamReload);

  const serverTls = config.tls.cert && config.tls.key ? new ServerTls({ certFile: config.tls.cert, keyFile: config.tls.key, clientCaFile: config.tls.client_ca, minVersion: config.tls.min_version }) : null;
  const onClientReload = (result: { ok: boolean; error?: string; fingerprint: string }) => {
    metrics.tlsReloads.inc({ leg: 'client', result: result.ok ? 'ok' : 'refused' });
    if (result.ok) logger.info({ fingerprint: result.fingerprint }, 'TLS certificate reloaded; new connections use it, open ones keep theirs');
    else logger.error({ error: result.error, fingerprint: result.fingerprint }, 'new TLS certificate refused; the previous one stays in force');
  };
  serverTls?.watch(onClientReload);

  const directory = new IdentityDirectory({
    identities: config.identities,
    groups: config.auth.groups,
    defaultUpstream: config.auth.upstream,
    maxConnectionsPerIdentity: config.auth.max_connections_per_identity,
    env,
  });
  const o = config.auth.oidc;
  const oidc = o
    ? new OidcValidator({
        issuer: o.issuer,
        audience: o.audience,
        jwksUri: o.jwks_uri ?? null,
        identityClaim: o.identity_claim,
        groupsClaim: o.groups_claim,
        ownerClaims: o.owner_claims,
        clockSkewMs: o.clock_skew,
        algorithms: o.algorithms,
        jwksCooldownMs: o.jwks_cooldown,
        jwksMaxAgeMs: o.jwks_max_age,
        httpTimeoutMs: o.http_timeout,
      })
    : null;
  // Keys are fetched ahead of the first login; an IdP that is down now is retried on use.
  void oidc?.warmUp().then((r) => {
    if (!r.ok) logger.warn({ issuer: o!.issuer, error: r.error }, 'OIDC issuer keys could not be fetched yet; token logins fail until they can');
  });
  const routes = config.auth.databases;
  const routeOf = (database: string) => (Object.hasOwn(routes, database) ? routes[database]! : config.auth.method);
  const terminated = config.auth.method !== 'passthrough' || Object.values(routes).some((m) => m !== 'passthrough');
  const authenticator = terminated
    ? createAuthenticator({
        directory,
        oidc,
        throttle: new AuthThrottle({ baseDelayMs: config.auth.failure_delay, maxDelayMs: config.auth.failure_delay_max, windowMs: config.auth.failure_window }),
        certFields: config.tls.client_identity_from,
        matchUser: config.auth.match_user,
        logger,
        metrics,
      })
    : null;
  if (config.tls.required && !serverTls) logger.warn('tls.required is on without a certificate');
  return {
    upstream,
    proxy: {
      serverTls,
      tlsRequired: config.tls.required,
      routeOf,
      authenticator,
      maxPreAuthBytes: config.auth.max_pre_auth_bytes,
      authTimeoutMs: Math.min(config.auth.timeout, config.limits.startup_timeout),
      facts: directory,
    },
    reload() {
      if (serverTls) onClientReload(serverTls.reload());
      if (upstreamTls.usesTls) onUpstreamReload(upstreamTls.reload());
    },
    close() {
      serverTls?.close();
      upstreamTls.close();
    },
  };
}
