// The whole pgwarden configuration: one zod schema with defaults and units. Sources merge
// file < PGWARDEN_* env < CLI flags; the result is validated once and deep-frozen.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError } from './errors.js';
import { parseBytes, parseDuration, Secret } from './units.js';

/** Root of the installed package (holds rules/default.yaml). */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_RULES = resolve(PACKAGE_ROOT, 'rules/default.yaml');

const duration = (fallback: string) =>
  z
    .union([z.string(), z.number()])
    .default(fallback)
    .transform((v, ctx) => {
      const ms = parseDuration(v);
      if (ms === null) {
        ctx.addIssue({ code: 'custom', message: `'${v}' is not a duration; write e.g. 250ms, 30s, 5m, 1h` });
        return z.NEVER;
      }
      return ms;
    });

const bytes = (fallback: string) =>
  z
    .union([z.string(), z.number()])
    .default(fallback)
    .transform((v, ctx) => {
      const n = parseBytes(v);
      if (n === null) {
        ctx.addIssue({ code: 'custom', message: `'${v}' is not a size; write e.g. 64KiB, 16MiB` });
        return z.NEVER;
      }
      return n;
    });

const hostPort = z.string().regex(/^(\[[0-9a-fA-F:]+\]|[^:\s]+):\d{1,5}$/, 'expected HOST:PORT, e.g. 127.0.0.1:7432');
const secret = z.union([z.string(), z.instanceof(Secret)]).transform((v) => (v instanceof Secret ? v : new Secret(v)));
const postgresUrl = z.string().regex(/^postgres(ql)?:\/\//, 'expected a postgres:// URL');

export const configSchema = z
  .object({
    listen: hostPort.default('127.0.0.1:7432'),
    upstream: postgresUrl.default('postgres://127.0.0.1:5432'),
    rules: z.string().default(DEFAULT_RULES),
    redis: z.string().regex(/^rediss?:\/\//, 'expected a redis:// URL').nullable().default(null),
    /** Prefix of every Redis key and channel: instances that share approvals use the same one. */
    redis_key_prefix: z.string().min(1).default('pgwarden:'),
    http: hostPort.default('127.0.0.1:7433'),
    /** Name of this instance in approval records and logs (defaults to hostname:pid). */
    instance: z.string().optional(),
    limits: z
      .object({
        max_client_connections: z.number().int().positive().default(1000),
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
    parse_cache: z.object({ max_entries: z.number().int().nonnegative().default(10_000) }).prefault({}),
    approvals: z
      .object({
        /** Base URL approvers open (the console); shown in notices and cards. Defaults to http://<http>. */
        public_url: z.string().url().optional(),
        progress_interval: duration('30s'),
        /** identity → bearer token for the HTTP API, the CLI and the console. Also PGWARDEN_API_TOKENS="identity=token,…". */
        api_tokens: z.record(z.string(), secret).default({}),
      })
      .prefault({}),
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
        app_password: secret.optional(),
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
        /** Microsoft cloud the bot is registered in: public, usgov, usgovdod, china (sets login, token issuer and JWKS endpoints). */
        cloud: z.enum(['public', 'usgov', 'usgovdod', 'china']).default('public'),
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
  .strict();

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
  for (const [key, value] of Object.entries(overrides)) setIn(raw, key.split('.'), value);

  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const key = issue.path.join('.') || '(root)';
      const value = issue.path.reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k as string] : undefined), raw);
      const shown = /password|secret|token/i.test(key) ? '[redacted]' : JSON.stringify(value);
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
