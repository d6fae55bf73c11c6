// The identity part of the config schema: `identities`, `tls` (client leg) and `auth` (routes, OIDC, upstream
// credentials, abuse limits), and the checks that span them. docs/identity.md explains every key.
import { z } from 'zod';
import { Secret } from '../units.js';
import { bytes, duration } from './fields.js';

/** Authentication per database route: relayed to the upstream, or terminated by pgwarden (identity.md). */
export const AUTH_ROUTE_METHODS = ['passthrough', 'scram', 'oidc', 'cert'] as const;
/** Certificate fields a client certificate's identity is read from, first present wins. */
export const CERT_IDENTITY_FIELDS = ['san_uri', 'san_email', 'san_dns', 'subject_cn'] as const;
/** The role pgwarden logs in as upstream for an identity. The password comes from the environment or a file, never from config. */
const upstreamCredential = z
  .object({
    user: z.string().min(1),
    password_env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name').optional(),
    password_file: z.string().min(1).optional(),
    password: z.never({ error: 'upstream passwords are never written in config: use password_env (an environment variable) or password_file (e.g. a mounted Kubernetes secret)' }).optional(),
  })
  .strict()
  .refine((c) => !(c.password_env && c.password_file), { message: 'set password_env or password_file, not both' });
const scramVerifier = z
  .string()
  .regex(/^SCRAM-SHA-256\$\d+:[A-Za-z0-9+/]+={0,2}\$[A-Za-z0-9+/]+={0,2}:[A-Za-z0-9+/]+={0,2}$/, 'expected a verifier printed by `pgwarden passwd NAME` (SCRAM-SHA-256$4096:…)')
  .transform((v) => new Secret(v));

export const identitiesSchema = z
  .record(
    z.string().min(1),
    z
      .object({
        /** The agent's human owner, who may never approve its requests. */
        owner: z.string().trim().min(1).optional(),
        groups: z.array(z.string().min(1)).optional(),
        /** SCRAM-SHA-256 verifier from `pgwarden passwd NAME` (routes with auth scram). */
        scram: scramVerifier.optional(),
        upstream: upstreamCredential.optional(),
        max_connections: z.number().int().positive().optional(),
      })
      .strict(),
  )
  .default({});

export const tlsSchema = z
  .object({
    /** PEM certificate chain and key for the client leg (serve --tls-cert/--tls-key). */
    cert: z.string().min(1).nullable().default(null),
    key: z.string().min(1).nullable().default(null),
    /** Refuse plaintext connections with FATAL 28000. */
    required: z.boolean().default(false),
    min_version: z.enum(['TLSv1.2', 'TLSv1.3']).default('TLSv1.2'),
    /** CA bundle of client certificates: clients are asked for one (routes with auth cert require it). */
    client_ca: z.string().min(1).nullable().default(null),
    client_identity_from: z.array(z.enum(CERT_IDENTITY_FIELDS)).min(1).default([...CERT_IDENTITY_FIELDS]),
  })
  .prefault({})
  .refine((t) => (t.cert === null) === (t.key === null), { message: 'tls.cert and tls.key go together (--tls-cert and --tls-key)', path: ['cert'] })
  .refine((t) => !t.required || t.cert !== null, { message: 'tls.required needs tls.cert and tls.key', path: ['required'] })
  .refine((t) => t.client_ca === null || t.cert !== null, { message: 'tls.client_ca needs tls.cert and tls.key', path: ['client_ca'] });

export const authSchema = z
  .object({
    /** The method for databases not listed in auth.databases. */
    method: z.enum(AUTH_ROUTE_METHODS).default('passthrough'),
    /** Database name → method (routes). */
    databases: z.record(z.string().min(1), z.enum(AUTH_ROUTE_METHODS)).default({}),
    /** OIDC and certificate identities must equal the user name the client sends. */
    match_user: z.boolean().default(true),
    /** Upstream role for authenticated identities with no mapping of their own or of a group. */
    upstream: upstreamCredential.optional(),
    /** Group → upstream role; the first group (in this order) an identity has decides. */
    groups: z.record(z.string().min(1), z.object({ upstream: upstreamCredential }).strict()).default({}),
    oidc: z
      .object({
        issuer: z.string().url(),
        audience: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).transform((v) => (Array.isArray(v) ? v : [v])),
        jwks_uri: z.string().url().optional(),
        identity_claim: z.string().min(1).default('sub'),
        groups_claim: z.string().min(1).nullable().default('groups'),
        owner_claims: z.array(z.string().min(1)).default(['owner', 'act.sub']),
        clock_skew: duration('30s').refine((ms) => ms <= 300_000, 'clock_skew is at most 5m'),
        algorithms: z.array(z.string()).min(1).default(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA']),
        jwks_cooldown: duration('30s'),
        jwks_max_age: duration('10m'),
        http_timeout: duration('5s'),
      })
      .strict()
      .optional(),
    /** Open connections per identity (0 = no limit); identities.<name>.max_connections overrides. */
    max_connections_per_identity: z.number().int().nonnegative().default(0),
    /** Failed authentications slow answers down: base delay, doubled per recent failure of the address or name, up to the max. */
    failure_delay: duration('250ms'),
    failure_delay_max: duration('5s'),
    failure_window: duration('15m'),
    /** Bytes a client may send before it is authenticated (startup, TLS records excluded, password or token). */
    max_pre_auth_bytes: bytes('64KiB'),
    /** Time from connect until pgwarden has authenticated the client. */
    timeout: duration('10s'),
  })
  .prefault({});

/** Checks across keys: what a route's method needs elsewhere in the config. */
export function checkIdentityConfig(c: { readonly auth: z.output<typeof authSchema>; readonly tls: z.output<typeof tlsSchema> }, ctx: z.RefinementCtx): void {
  const methods = new Set([c.auth.method, ...Object.values(c.auth.databases)]);
  if (methods.has('oidc') && !c.auth.oidc) ctx.addIssue({ code: 'custom', path: ['auth', 'oidc'], message: 'a route uses auth oidc: set auth.oidc.issuer and auth.oidc.audience' });
  if (methods.has('oidc') && !c.tls.cert) ctx.addIssue({ code: 'custom', path: ['tls', 'cert'], message: 'a route uses auth oidc: tokens are accepted only over TLS, so set tls.cert and tls.key' });
  if (methods.has('cert') && !c.tls.client_ca) ctx.addIssue({ code: 'custom', path: ['tls', 'client_ca'], message: 'a route uses auth cert: set tls.client_ca to the CA that signs client certificates' });
}
