// Starts a whole pgwarden (startApp) in-process on port 0 in front of the test PostgreSQL, with rules written to a temp file.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.js';
import { startApp, type App, type AppOptions } from '../../src/app.js';
import { captureLogs } from './log-capture.js';
import { APP_TOKENS } from './secrets.js';
import { pgUrl } from './env.js';

export const TEST_RULES = `
version: 1
defaults: { action: allow, on_unknown: review, review: { timeout: 5m, approvers: [dba] } }
groups:
  dba: [alice@example.com, bob@example.com, postgres]
  security: [alice@example.com, bob@example.com, carol@example.com]
rules:
  - id: privileged
    match: { category: [privileged] }
    action: deny
    message: privileged operations are not allowed
  - id: quick-expiry
    match: { tables: [expiring_*] }
    action: review
    timeout: 1s
  - id: grants
    match: { category: [grant] }
    action: review
    approvers: [security]
    quorum: 2
  - id: ddl
    match: { category: [ddl] }
    action: review
    approvers: [dba]
    scope: { allow: [once, fingerprint], ttl: 10m }
  - id: exports
    match: { category: [export] }
    action: review
`;

export const TOKENS = APP_TOKENS;

export interface TestApp extends App {
  readonly port: number;
  readonly api: string;
  auditFile: string;
}

export async function startTestApp(opts: { rules?: string; redis?: string; redisPrefix?: string; overrides?: Record<string, unknown>; teams?: AppOptions['teams'] } = {}): Promise<TestApp> {
  const dir = mkdtempSync(join(tmpdir(), 'pgw-app-'));
  const rulesFile = join(dir, 'rules.yaml');
  writeFileSync(rulesFile, opts.rules ?? TEST_RULES);
  const auditFile = join(dir, 'audit.jsonl');
  const config = loadConfig(
    { upstream: pgUrl(), listen: '127.0.0.1:0', http: '127.0.0.1:0', rules: rulesFile, audit: auditFile, ...(opts.redis ? { redis: opts.redis } : {}) },
    {},
    {
      'approvals.api_tokens': { ...TOKENS },
      'approvals.progress_interval': '1s',
      ...(opts.redisPrefix ? { redis_key_prefix: opts.redisPrefix } : {}),
      ...opts.overrides,
    },
  );
  // Debug-level logs of every whole-app test go to the suite-wide secret check (log-secrets-setup.ts).
  const app = await startApp({ config, logger: captureLogs({ level: 'debug' }).logger, ...(opts.teams ? { teams: opts.teams } : {}) });
  return Object.assign(app, { port: app.proxyAddress.port, api: `http://127.0.0.1:${app.httpAddress.port}`, auditFile });
}

/** POST a decision through the HTTP API. */
export async function decide(api: string, id: string, token: string, decision: 'approve' | 'deny', reason = '', extra: Record<string, unknown> = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(`${api}/api/approvals/${id}/decision`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ decision, reason, ...extra }),
  });
  return { status: res.status, body: await res.json() };
}

/** Waits for a pending request (optionally matching `sql`) to appear in the API. */
export async function waitForPending(api: string, match: (r: any) => boolean = () => true, timeoutMs = 10_000): Promise<any> {
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    const res = await fetch(`${api}/api/approvals?status=pending`, { headers: { authorization: `Bearer ${TOKENS['alice@example.com']}` } });
    const body = (await res.json()) as { approvals: any[] };
    const found = body.approvals.find(match);
    if (found) return found;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('no pending request appeared');
}
