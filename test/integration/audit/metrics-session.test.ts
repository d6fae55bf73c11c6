// A scripted session through a whole pgwarden (allowed read, denied grant, approved DDL): the metrics move as expected and the audit log verifies.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { startTestApp, decide, waitForPending, TOKENS, type TestApp } from '../../helpers/app.js';
import { verifyAuditFiles } from '../../../src/audit/verify.js';

const RULES = `
version: 1
defaults: { action: allow, on_unknown: review, review: { timeout: 1m, approvers: [dba] } }
groups: { dba: [alice@example.com] }
rules:
  - id: no-grants
    match: { category: [grant] }
    action: deny
  - id: ddl
    match: { category: [ddl] }
    action: review
`;

let app: TestApp;
let client: pg.Client;
let closed = false;
const table = `pgw_metrics_session_${process.pid}`;

beforeAll(async () => {
  app = await startTestApp({ rules: RULES });
  const url = new URL(process.env.TEST_PG_URL!);
  client = new pg.Client({ host: '127.0.0.1', port: app.port, user: url.username || 'postgres', database: url.pathname.slice(1) || 'postgres', application_name: 'pgw-metrics-session' });
  client.on('error', () => undefined);
  await client.connect();
});
afterAll(async () => {
  if (closed) return;
  await client?.end().catch(() => undefined);
  await app?.close();
});

async function metric(name: string): Promise<string> {
  return app.metrics.registry.getSingleMetricAsString(name);
}

describe('metrics through a scripted session', () => {
  it('count an allowed read, a denied grant and an approved DDL, and audit them in a verifiable chain', async () => {
    expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    await expect(client.query(`GRANT SELECT ON pg_class TO PUBLIC`)).rejects.toMatchObject({ code: '42501' });

    const held = client.query(`CREATE TABLE ${table} (id int)`);
    const request = await waitForPending(app.api, (r: { sql: string }) => r.sql.includes(table));
    expect(await metric('pgwarden_approvals_pending')).toMatch(/pgwarden_approvals_pending 1/);
    const res = await decide(app.api, request.id as string, TOKENS['alice@example.com'], 'approve', 'schema change for the session test');
    expect(res.status).toBe(200);
    await held;

    expect(await metric('pgwarden_statements_total')).toContain('pgwarden_statements_total{category="read",action="allow"}');
    expect(await metric('pgwarden_statements_total')).toContain('pgwarden_statements_total{category="grant",action="deny"} 1');
    expect(await metric('pgwarden_statements_total')).toContain('pgwarden_statements_total{category="ddl",action="review"} 1');
    expect(await metric('pgwarden_rule_hits_total')).toContain('pgwarden_rule_hits_total{rule="no-grants",action="deny"} 1');
    expect(await metric('pgwarden_approval_requests_total')).toContain('outcome="approved"} 1');
    expect(await metric('pgwarden_approvals_pending')).toMatch(/pgwarden_approvals_pending 0/);
    expect(await metric('pgwarden_approval_decision_seconds')).toMatch(/pgwarden_approval_decision_seconds_count\{outcome="approved"\} 1/);
    expect(await metric('pgwarden_client_connections_active')).toMatch(/pgwarden_client_connections_active 1/);

    const scrape = await (await fetch(`${app.api}/metrics`)).text();
    expect(scrape).toContain('pgwarden_statements_total{category="grant",action="deny"} 1');

    await client.end();
    const direct = new pg.Client({ connectionString: process.env.TEST_PG_URL }); // cleanup straight to PostgreSQL: DDL through pgwarden would wait for review
    await direct.connect();
    await direct.query(`DROP TABLE IF EXISTS ${table}`);
    await direct.end();
    await app.close();
    closed = true;
    const events = readFileSync(app.auditFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as { event: string }).event);
    expect(events).toEqual(expect.arrayContaining(['statement_denied', 'review_requested', 'approved']));
    expect(await verifyAuditFiles([app.auditFile])).toMatchObject({ ok: true });
    expect(await metric('pgwarden_audit_records_total')).toMatch(/sink="file"} [1-9]/);
  });
});
