// A whole pgwarden (startApp) for the identity tests: TLS for clients from the test CA, any upstream (the regular test
// server or the TLS-only cluster), identity config, and log capture to assert on what the operator sees.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../src/config.js';
import { startApp, type App } from '../../../src/app.js';
import { captureLogs, type LogCapture } from '../../helpers/log-capture.js';
import { APP_TOKENS } from '../../helpers/secrets.js';
import { pgUrl } from '../../helpers/env.js';
import { pgwardenCert, type Pki } from './pki.js';

export const ALLOW_ALL_RULES = `
version: 1
defaults: { action: allow, on_unknown: review, review: { timeout: 5m, approvers: [dba] } }
groups: { dba: [alice@example.com, bob@example.com] }
rules:
  - id: ddl
    match: { category: [ddl] }
    action: review
    approvers: [dba]
`;

export interface IdentityApp extends App {
  readonly port: number;
  readonly api: string;
  readonly logs: LogCapture;
  readonly auditFile: string;
}

export async function startIdentityApp(opts: { pki: Pki; upstream?: string; tls?: boolean; rules?: string; config?: Record<string, unknown>; certName?: string }): Promise<IdentityApp> {
  const dir = mkdtempSync(join(tmpdir(), 'pgw-identity-'));
  const rulesFile = join(dir, 'rules.yaml');
  writeFileSync(rulesFile, opts.rules ?? ALLOW_ALL_RULES);
  const auditFile = join(dir, 'audit.jsonl');
  const cert = pgwardenCert(opts.pki, opts.certName);
  const tlsFlags = opts.tls === false ? {} : { tlsCert: cert.cert, tlsKey: cert.key };
  const config = loadConfig(
    { upstream: opts.upstream ?? pgUrl(), listen: '127.0.0.1:0', http: '127.0.0.1:0', rules: rulesFile, audit: auditFile, ...tlsFlags },
    {},
    { 'approvals.api_tokens': { ...APP_TOKENS }, 'approvals.progress_interval': '1s', ...opts.config },
  );
  const logs = captureLogs({ level: 'debug' });
  const app = await startApp({ config, logger: logs.logger });
  return Object.assign(app, { port: app.proxyAddress.port, api: `http://127.0.0.1:${app.httpAddress.port}`, logs, auditFile });
}
