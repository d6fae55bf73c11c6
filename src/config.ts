// The whole pgwarden configuration: one zod schema with defaults and units. Sources merge
// file < PGWARDEN_* env < CLI flags; the result is validated once and deep-frozen.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError } from './errors.js';
import { Secret } from './units.js';
import { bytes, duration, secret } from './config/fields.js';
import { authSchema, checkIdentityConfig, identitiesSchema, tlsSchema } from './config/identity-schema.js';

export { AUTH_ROUTE_METHODS, CERT_IDENTITY_FIELDS } from './config/identity-schema.js';

/** Root of the installed package (holds rules/default.yaml). */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_RULES = resolve(PACKAGE_ROOT, 'rules/default.yaml');

const hostPort = z.string().regex(/^(\[[0-9a-fA-F:]+\]|[^:\s]+):\d{1,5}$/, 'expected HOST:PORT, e.g. 127.0.0.1:7432');
const slackChannelId = z.string().regex(/^[CGD][A-Z0-9]{2,}$/, 'expected a Slack channel id such as C0123456789 (names are not accepted: channels can be renamed; copy the id from the channel details)');
const SLACK_USER_ID = /^[UW][A-Z0-9]{2,}$/;
const postgresUrl = z.string().regex(/^postgres(ql)?:\/\//, 'expected a postgres:// URL');

export const configSchema = z
  .object({
    listen: hostPort.default('127.0.0.1:7432'),
    upstream: postgresUrl.default('postgres://127.0.0.1:5432'),
    rules: z.string().default(DEFAULT_RULES),
    /** redis://, rediss://, redis+sentinel://h:26379[,h…]/MASTER or redis+cluster://h:6379[,h…] (approvals/redis-connect.ts). */
    redis: z
      .string()
      .regex(/^rediss?(\+(sentinel|cluster))?:\/\//, 'expected a redis://, redis+sentinel:// or redis+cluster:// URL')
      .nullable()
      .default(null),
    /** Prefix of every Redis key and channel: instances that share approvals use the same one. */
    redis_key_prefix: z.string().min(1).default('pgwarden:'),
    http: hostPort.default('127.0.0.1:7433'),
    /** Name of this instance in approval records and logs (defaults to hostname:pid). */
    instance: z.string().optional(),
    /** On SIGTERM/SIGINT, how long running statements may finish before they are cancelled upstream. */
    shutdown_grace: duration('30s'),
    limits: z
      .object({
        max_client_connections: z.number().int().positive().default(1000),
        /** Connections still in their handshake count against this smaller limit, so silent sockets cannot lock clients out. */
        max_preauth_connections: z.number().int().positive().default(100),
        startup_timeout: duration('10s'),
        max_message_size: bytes('256MiB'),
        /**
         * Query/Parse statement texts longer than this are refused (54000) before they are decoded or parsed: a 1 MiB
         * text already costs ~0.2 s of parser time, during which no other client is served. Bind values and COPY data
         * may still be as large as max_message_size.
         */
        max_statement_size: bytes('1MiB'),
        /** Before authentication completes, messages are small (PostgreSQL allows 10,000 bytes for the startup packet). */
        max_startup_message_size: bytes('10000'),
        /** A result with more rows than this is an export: LIMIT above it classifies as export, and the row budget watches results. */
        max_rows: z.number().int().positive().default(10_000),
        row_budget: z.boolean().default(true),
      })
      .prefault({}),
    parse_cache: z
      .object({
        max_entries: z.number().int().nonnegative().default(10_000),
        /** Memory the parse and shape caches may hold (texts and facts, estimated); 0 disables them. */
        max_bytes: bytes('64MiB'),
      })
      .prefault({}),
    approvals: z
      .object({
        /** Base URL approvers open (the console); shown in notices and cards. Defaults to http://<http>. */
        public_url: z.string().url().optional(),
        progress_interval: duration('30s'),
        /** identity → bearer token for the HTTP API, the CLI and the console. Also PGWARDEN_API_TOKENS="identity=token,…". */
        api_tokens: z.record(z.string(), secret).default({}),
        /** Statement texts in approval records (store, API, console, cards) are cut to this many bytes, with a SHA-256 of the whole. */
        max_stored_sql: bytes('64KiB'),
        /** How long settled requests (and idempotency keys) stay readable. */
        retention: duration('24h'),
        /** How often each instance refreshes its heartbeat in Redis and looks for requests of lost instances. */
        heartbeat_interval: duration('2s'),
        /** An instance whose heartbeat is older than this is lost: its held requests are withdrawn (instance_lost). */
        instance_timeout: duration('10s'),
      })
      .prefault({})
      .refine((a) => a.instance_timeout >= 2 * a.heartbeat_interval, {
        message: 'approvals.instance_timeout must be at least twice approvals.heartbeat_interval, or one late heartbeat would declare a live instance lost',
        path: ['instance_timeout'],
      }),
    /** Per identity (the Postgres user name in passthrough mode): owner, groups, SCRAM verifier, upstream role. See docs/identity.md. */
    identities: identitiesSchema,
    /** TLS for the client leg (serve --tls-cert/--tls-key). */
    tls: tlsSchema,
    /** Authentication per database route, upstream credentials and abuse limits. */
    auth: authSchema,
    webhook: z
      .object({
        urls: z.array(z.string().url()).default([]),
        /** Standard Webhooks signing secret (whsec_… base64, or any string). */
        secret: secret.optional(),
        max_attempts: z.number().int().positive().default(5),
        timeout: duration('5s'),
      })
      .prefault({}),
    teams: z
      .object({
        enabled: z.boolean().default(false),
        app_id: z.string().default(''),
        /** How the bot gets its outbound tokens (docs/teams.md): a client secret, the app's own managed identity, or a managed identity the app registration trusts (federated). */
        credential: z.enum(['client_secret', 'managed_identity', 'federated']).default('client_secret'),
        app_password: secret.optional(),
        /** credential federated: the managed identity the app registration's federated credential trusts: `system` or a user-assigned identity's client id. */
        federated_identity: z.string().optional(),
        /** Required when enabled: single-tenant bots request tokens in their own tenant. */
        tenant_id: z.string().optional(),
        /** Channel or chat conversation id cards are posted to. */
        conversation_id: z.string().optional(),
        service_url: z.string().url().optional(),
        /** Send each approver a personal chat card as well (needs their conversation references). */
        personal_chats: z.boolean().default(false),
        /** Azure AD object id or UPN → approver identity. */
        identities: z.record(z.string(), z.string()).default({}),
        /** Verify inbound Bot Framework JWTs. Turn off only for local development. */
        auth: z.boolean().default(true),
        /** Microsoft cloud the bot is registered in: public, gcc, usgov (GCC High), usgovdod, china (sets login, token issuer, JWKS endpoints and the default service URL). */
        cloud: z.enum(['public', 'gcc', 'usgov', 'usgovdod', 'china']).default('public'),
        /** How long a UPN learnt from the conversation roster is trusted before it is looked up again (a renamed or removed user stops matching). */
        lookup_ttl: duration('1h'),
      })
      .prefault({}),
    slack: z
      .object({
        enabled: z.boolean().default(false),
        /** Bot User OAuth Token (xoxb-…). Also PGWARDEN_SLACK_BOT_TOKEN. */
        bot_token: secret.optional(),
        /** The app's signing secret: every interaction request is verified with it. Also PGWARDEN_SLACK_SIGNING_SECRET. */
        signing_secret: secret.optional(),
        /** Where messages go: a channel id (every request), or { id, rules, groups } (requests of those rules or approver groups). */
        channels: z.array(z.union([slackChannelId, z.object({ id: slackChannelId, rules: z.array(z.string()).default([]), groups: z.array(z.string()).default([]) }).strict()])).default([]),
        /** Also send each approver of a request a direct message. */
        dm_approvers: z.boolean().default(false),
        /** Slack user id → approver identity. An unmapped user is never an approver (unless email_lookup maps them). */
        identities: z
          .record(z.string(), z.string().trim().min(1))
          .superRefine((map, ctx) => {
            for (const key of Object.keys(map)) {
              if (!SLACK_USER_ID.test(key)) ctx.addIssue({ code: 'custom', path: [key], message: `'${key}' is not a Slack user id such as U0123456789 (profile → ⋮ → Copy member ID)` });
            }
          })
          .default({}),
        /** Map unmapped users by their confirmed Slack profile email (users.info; needs the users:read.email scope). */
        email_lookup: z.boolean().default(false),
      })
      .prefault({}),
    audit: z
      .object({
        file: z.string().nullable().default(null),
        /** Refuse statements that need an audit record when it cannot be written. */
        required: z.boolean().default(false),
        /** Store normalized statement text (literals replaced) instead of the text as sent. */
        redact_literals: z.boolean().default(false),
        reads: z.enum(['none', 'sample', 'all']).default('none'),
        read_sample_rate: z.number().min(0).max(1).default(0.01),
        /**
         * When records reach the disk. every_record: fdatasync per batch (group commit) and an allowed statement
         * runs only once its record is on disk; interval: written at once, fdatasynced every `interval`.
         * Default: every_record with audit.required, interval otherwise.
         */
        flush: z
          .object({
            mode: z.enum(['every_record', 'interval']).optional(),
            interval: duration('200ms'),
          })
          .prefault({}),
        /** Records kept in memory while the audit file fails (disk full); past this they are dropped and counted. */
        max_backlog: bytes('64MiB'),
        /** Longest statement text stored in a record; longer texts are cut and carry the SHA-256 and length of the whole. */
        max_sql_length: bytes('64KiB'),
        /** Denials of one statement shape by one actor: `burst` per `window` are recorded one by one, the rest counted into a summary. */
        denied_flood: z
          .object({
            burst: z.number().int().nonnegative().default(10),
            window: duration('10s'),
          })
          .prefault({}),
        postgres: z
          .object({
            url: postgresUrl,
            table: z.string().default('pgwarden_audit'),
            batch_size: z.number().int().positive().default(200),
            flush_interval: duration('1s'),
            spool_dir: z.string().default('.pgwarden-audit-spool'),
          })
          .nullable()
          .default(null),
      })
      .prefault({}),
    log: z
      .object({
        level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
        pretty: z.boolean().optional(),
      })
      .prefault({}),
  })
  .strict()
  .superRefine(checkIdentityConfig);

export type Config = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;

/** Flags as commander gives them (camelCase, all optional). */
export interface ConfigFlags {
  config?: string;
  listen?: string;
  upstream?: string;
  rules?: string;
  redis?: string;
  http?: string;
  audit?: string;
  tlsCert?: string;
  tlsKey?: string;
}

/** The env vars each flag can also come from (DESIGN contract: every flag also as PGWARDEN_*). */
export const FLAG_ENV: Record<keyof ConfigFlags, string> = {
  config: 'PGWARDEN_CONFIG',
  listen: 'PGWARDEN_LISTEN',
  upstream: 'PGWARDEN_UPSTREAM',
  rules: 'PGWARDEN_RULES',
  redis: 'PGWARDEN_REDIS',
  http: 'PGWARDEN_HTTP',
  audit: 'PGWARDEN_AUDIT',
  tlsCert: 'PGWARDEN_TLS_CERT',
  tlsKey: 'PGWARDEN_TLS_KEY',
};

/** Extra env vars beyond the flags. */
export const EXTRA_ENV = {
  PGWARDEN_API_TOKENS: 'identity=token pairs, comma separated, for the HTTP API and console',
  PGWARDEN_LOG_LEVEL: 'log level (trace … silent)',
  PGWARDEN_PUBLIC_URL: 'base URL approvers open, shown in notices and cards',
  PGWARDEN_WEBHOOK_SECRET: 'Standard Webhooks signing secret',
  PGWARDEN_TEAMS_APP_ID: 'Microsoft Teams bot app id',
  PGWARDEN_TEAMS_APP_PASSWORD: 'Microsoft Teams bot client secret',
  PGWARDEN_TEAMS_TENANT_ID: 'Microsoft Entra tenant id',
  PGWARDEN_SLACK_BOT_TOKEN: 'Slack bot token (xoxb-…)',
  PGWARDEN_SLACK_SIGNING_SECRET: 'Slack app signing secret',
  PGWARDEN_SLACK_ENABLED: 'true/false: turn the Slack channel on or off',
  PGWARDEN_SLACK_CHANNELS: 'Slack channel ids approval messages go to, comma separated',
  PGWARDEN_TEAMS_ENABLED: 'true/false: turn the Teams channel on or off',
  PGWARDEN_TEAMS_CREDENTIAL: 'client_secret, managed_identity or federated',
  PGWARDEN_TEAMS_CONVERSATION_ID: 'the Teams channel or chat approval cards go to',
} as const;

function parseTokens(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq <= 0 || eq === pair.length - 1) throw new ConfigError(`PGWARDEN_API_TOKENS: expected identity=token pairs separated by commas, got an entry without '=' (entry ${Object.keys(out).length + 1})`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

/** true/false (also 1/0, yes/no, on/off) from an environment variable; anything else is left for the schema to reject. */
function envBoolean(value: string): boolean | string {
  if (/^(true|1|yes|on)$/i.test(value)) return true;
  if (/^(false|0|no|off)$/i.test(value)) return false;
  return value;
}

function setIn(obj: Record<string, unknown>, path: string[], value: unknown): void {
  let cur = obj;
  for (const key of path.slice(0, -1)) {
    if (typeof cur[key] !== 'object' || cur[key] === null) cur[key] = {};
    cur = cur[key] as Record<string, unknown>;
  }
  cur[path[path.length - 1]!] = value;
}

/** Reads the YAML config file (if any), overlays env and flags, validates, freezes. Throws ConfigError naming key, value and fix. */
export function loadConfig(flags: ConfigFlags = {}, env: NodeJS.ProcessEnv = process.env, overrides: Record<string, unknown> = {}): Config {
  const file = flags.config ?? env[FLAG_ENV.config];
  let raw: Record<string, unknown> = {};
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(`${file}: cannot read config file (${(err as NodeJS.ErrnoException).code ?? String(err)}); check the --config path`);
    }
    try {
      raw = (parseYaml(text) as Record<string, unknown> | null) ?? {};
    } catch (err) {
      const e = err as { linePos?: { line: number; col: number }[]; message: string };
      const pos = e.linePos?.[0];
      throw new ConfigError(`${file}:${pos ? `${pos.line}:${pos.col}` : '1:1'}: invalid YAML: ${e.message.split('\n')[0]}`);
    }
    if (typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(`${file}: the config file must be a YAML mapping of keys to values`);
  }
  for (const [flag, envName] of Object.entries(FLAG_ENV) as [keyof ConfigFlags, string][]) {
    if (flag === 'config') continue;
    const value = flags[flag] ?? env[envName];
    if (value === undefined || value === '') continue;
    if (flag === 'audit') setIn(raw, ['audit', 'file'], value);
    else if (flag === 'tlsCert') setIn(raw, ['tls', 'cert'], value);
    else if (flag === 'tlsKey') setIn(raw, ['tls', 'key'], value);
    else raw[flag] = value;
  }
  if (env.PGWARDEN_API_TOKENS) {
    const tokens = parseTokens(env.PGWARDEN_API_TOKENS);
    setIn(raw, ['approvals', 'api_tokens'], { ...((raw.approvals as { api_tokens?: object } | undefined)?.api_tokens ?? {}), ...tokens });
  }
  if (env.PGWARDEN_LOG_LEVEL) setIn(raw, ['log', 'level'], env.PGWARDEN_LOG_LEVEL);
  if (env.PGWARDEN_PUBLIC_URL) setIn(raw, ['approvals', 'public_url'], env.PGWARDEN_PUBLIC_URL);
  if (env.PGWARDEN_WEBHOOK_SECRET) setIn(raw, ['webhook', 'secret'], env.PGWARDEN_WEBHOOK_SECRET);
  if (env.PGWARDEN_TEAMS_APP_ID) setIn(raw, ['teams', 'app_id'], env.PGWARDEN_TEAMS_APP_ID);
  if (env.PGWARDEN_TEAMS_APP_PASSWORD) setIn(raw, ['teams', 'app_password'], env.PGWARDEN_TEAMS_APP_PASSWORD);
  if (env.PGWARDEN_TEAMS_TENANT_ID) setIn(raw, ['teams', 'tenant_id'], env.PGWARDEN_TEAMS_TENANT_ID);
  if (env.PGWARDEN_SLACK_BOT_TOKEN) setIn(raw, ['slack', 'bot_token'], env.PGWARDEN_SLACK_BOT_TOKEN);
  if (env.PGWARDEN_SLACK_SIGNING_SECRET) setIn(raw, ['slack', 'signing_secret'], env.PGWARDEN_SLACK_SIGNING_SECRET);
  if (env.PGWARDEN_TEAMS_ENABLED) setIn(raw, ['teams', 'enabled'], envBoolean(env.PGWARDEN_TEAMS_ENABLED));
  if (env.PGWARDEN_SLACK_ENABLED) setIn(raw, ['slack', 'enabled'], envBoolean(env.PGWARDEN_SLACK_ENABLED));
  if (env.PGWARDEN_SLACK_CHANNELS) setIn(raw, ['slack', 'channels'], env.PGWARDEN_SLACK_CHANNELS.split(',').map((c) => c.trim()).filter(Boolean));
  if (env.PGWARDEN_TEAMS_CREDENTIAL) setIn(raw, ['teams', 'credential'], env.PGWARDEN_TEAMS_CREDENTIAL);
  if (env.PGWARDEN_TEAMS_CONVERSATION_ID) setIn(raw, ['teams', 'conversation_id'], env.PGWARDEN_TEAMS_CONVERSATION_ID);
  for (const [key, value] of Object.entries(overrides)) setIn(raw, key.split('.'), value);

  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const key = issue.path.join('.') || '(root)';
      const value = issue.path.reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k as string] : undefined), raw);
      const shown = /password|secret|token|scram/i.test(key) ? '[redacted]' : JSON.stringify(value);
      return `${key}: ${issue.message}${value === undefined ? '' : ` (got ${shown})`}`;
    });
    throw new ConfigError(`invalid configuration${file ? ` in ${file}` : ''}:\n  ${lines.join('\n  ')}`);
  }
  return deepFreeze(result.data);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !(value instanceof Secret) && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** "host:port" → { host, port }, accepting [::1]:port. */
export function splitHostPort(text: string): { host: string; port: number } {
  const idx = text.lastIndexOf(':');
  const host = text.slice(0, idx).replace(/^\[|\]$/g, '');
  return { host, port: Number(text.slice(idx + 1)) };
}

/** Upstream URL → host and port (credentials in the URL are ignored for passthrough and never logged). */
export function upstreamTarget(url: string): { host: string; port: number; display: string } {
  const u = new URL(url);
  const host = decodeURIComponent(u.hostname.replace(/^\[|\]$/g, '')) || '127.0.0.1';
  const port = u.port ? Number(u.port) : 5432;
  return { host, port, display: `${host.includes(':') ? `[${host}]` : host}:${port}` };
}
