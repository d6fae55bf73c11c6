// Shared set-up of the SQL-analysis security tests: pgwarden in-process with the SHIPPED default rules (rules/default.yaml)
// in front of the real PostgreSQL, approver groups pointed at test identities and review timeouts shortened so a held
// statement ends quickly. Statements go through the proxy as `postgres` (a superuser upstream): whatever pgwarden lets
// through really runs, so every test asserts the server-side effect, not a category.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { loadConfig } from '../../src/config.js';
import { startApp, type App } from '../../src/app.js';
import { captureLogs, type LogCapture } from '../helpers/log-capture.js';
import { APP_TOKENS } from '../helpers/secrets.js';
import { pgUrl, urlFor } from '../helpers/env.js';

const ROOT = resolve(import.meta.dirname, '../..');

/**
 * rules/default.yaml as shipped, with two test-only edits: approver groups name the test identities (alice and bob
 * approve ddl/exports, carol and bob grants) and every review times out after `timeout`.
 */
export function defaultRules(opts: { timeout?: string; prepend?: string } = {}): string {
  let text = readFileSync(resolve(ROOT, 'rules/default.yaml'), 'utf8');
  text = text.replace('dba: [dba@example.com]', 'dba: [alice@example.com, bob@example.com]');
  text = text.replace('security: [security@example.com]', 'security: [carol@example.com, bob@example.com]');
  text = text.replace('timeout: 5m', `timeout: ${opts.timeout ?? '2s'}`);
  if (!text.includes('alice@example.com') || !text.includes(`timeout: ${opts.timeout ?? '2s'}`)) throw new Error('rules/default.yaml changed shape: update the test harness');
  if (opts.prepend) text = text.replace(/^rules:\n/m, `rules:\n${opts.prepend}`);
  return text;
}

export interface SqlTestApp extends App {
  readonly port: number;
  readonly api: string;
  readonly auditFile: string;
  readonly logs: LogCapture;
}

export async function startSqlApp(opts: { rules?: string; redis?: string; redisPrefix?: string; overrides?: Record<string, unknown> } = {}): Promise<SqlTestApp> {
  const dir = mkdtempSync(join(tmpdir(), 'pgw-sql-sec-'));
  const rulesFile = join(dir, 'rules.yaml');
  writeFileSync(rulesFile, opts.rules ?? defaultRules());
  const auditFile = join(dir, 'audit.jsonl');
  const config = loadConfig(
    { upstream: pgUrl(), listen: '127.0.0.1:0', http: '127.0.0.1:0', rules: rulesFile, audit: auditFile, ...(opts.redis ? { redis: opts.redis } : {}) },
    {},
    {
      'approvals.api_tokens': { ...APP_TOKENS },
      'approvals.progress_interval': '1s',
      ...(opts.redisPrefix ? { redis_key_prefix: opts.redisPrefix } : {}),
      ...opts.overrides,
    },
  );
  const logs = captureLogs({ level: 'debug' });
  const app = await startApp({ config, logger: logs.logger });
  return Object.assign(app, { port: app.proxyAddress.port, api: `http://127.0.0.1:${app.httpAddress.port}`, auditFile, logs });
}

/** A client connected through pgwarden (as the upstream superuser `postgres`). */
export async function agent(app: SqlTestApp, application = 'pgw-sql-security'): Promise<pg.Client> {
  const c = new pg.Client(urlFor(app.port, { application }));
  c.on('error', () => {});
  await c.connect();
  return c;
}

/** A client connected to PostgreSQL directly: the observer of server-side effects. */
export async function direct(): Promise<pg.Client> {
  const c = new pg.Client(pgUrl());
  await c.connect();
  return c;
}

/** The SQLSTATE a statement failed with, or null when it ran. */
export async function sqlstateOf(client: pg.Client, sql: string, values?: unknown[]): Promise<string | null> {
  try {
    await client.query(sql, values);
    return null;
  } catch (err) {
    return (err as { code?: string }).code ?? 'no-sqlstate';
  }
}

/** pgwarden refused or held-then-expired the statement: 42501 (denied) or 57014 (review timed out). */
export const REFUSED = ['42501', '57014'];
