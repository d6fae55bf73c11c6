// A live /metrics scrape of a whole pgwarden, after real traffic (an allowed read, a denied statement, an approved
// DDL), passes `promtool check metrics`; process metrics have their conventional unprefixed names; and every closed
// label set is there at zero before anything happened, so increase()-based alerts see the first event.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import pg from 'pg';
import { startTestApp, decide, waitForPending, TOKENS, type TestApp } from '../../helpers/app.js';
import { LABEL_VALUES } from '../../../src/metrics.js';

const RULES = `
version: 1
defaults: { action: allow, on_unknown: review, review: { timeout: 1m, approvers: [dba] } }
groups: { dba: [alice@example.com] }
rules:
  - id: privileged
    match: { category: [privileged] }
    action: deny
  - id: ddl
    match: { category: [ddl] }
    action: review
`;

let app: TestApp;
let fresh: string;
const table = `pgw_scrape_${process.pid}`;

async function scrape(): Promise<string> {
  const res = await fetch(`${app.api}/metrics`);
  expect(res.status).toBe(200);
  return res.text();
}

beforeAll(async () => {
  app = await startTestApp({ rules: RULES });
  fresh = await scrape();
});
afterAll(async () => {
  await app?.close();
  const direct = new pg.Client({ connectionString: process.env.TEST_PG_URL });
  await direct.connect();
  await direct.query(`DROP TABLE IF EXISTS ${table}`);
  await direct.end();
});

describe('GET /metrics', () => {
  it('has every closed label set at zero before any traffic', () => {
    for (const outcome of LABEL_VALUES.outcome) expect(fresh).toContain(`pgwarden_approval_requests_total{outcome="${outcome}"} 0`);
    expect(fresh).toContain('pgwarden_rules_reloads_total{result="refused"} 0');
    expect(fresh).toContain('pgwarden_channel_delivery_failures_total{channel="teams"} 0');
    expect(fresh).toContain('pgwarden_statements_total{category="ddl",action="deny"} 0');
    expect(fresh).toContain('pgwarden_upstream_connect_errors_total{code="ECONNREFUSED"} 0');
    expect(fresh).toContain('pgwarden_audit_failures_total{sink="postgres"} 0');
    expect(fresh).toContain('pgwarden_client_disconnects_total{reason="shutdown"} 0');
    expect(fresh).toContain('pgwarden_teams_api_failures_total{status="429"} 0');
  });

  it('exports Node.js process metrics under their conventional names, not under a pgwarden_ prefix', () => {
    expect(fresh).toMatch(/^process_cpu_seconds_total \d/m);
    expect(fresh).toMatch(/^process_resident_memory_bytes \d/m);
    expect(fresh).toMatch(/^nodejs_heap_size_used_bytes \d/m);
    expect(fresh).toMatch(/^nodejs_eventloop_lag_p99_seconds \d/m);
    expect(fresh).not.toContain('pgwarden_process_');
  });

  it('passes `promtool check metrics` after real traffic', async () => {
    const url = new URL(process.env.TEST_PG_URL!);
    const client = new pg.Client({ host: '127.0.0.1', port: app.port, user: url.username || 'postgres', database: 'postgres', application_name: 'pgw-scrape' });
    client.on('error', () => undefined);
    await client.connect();
    try {
      await client.query('SELECT 1');
      await expect(client.query("SELECT pg_read_file('/etc/hostname')")).rejects.toMatchObject({ code: '42501' });
      const held = client.query(`CREATE TABLE ${table} (id int)`);
      const pending = await waitForPending(app.api, (r) => r.sql.includes(table));
      expect((await decide(app.api, pending.id, TOKENS['alice@example.com']!, 'approve', 'scrape test')).status).toBe(200);
      await held;
    } finally {
      await client.end();
    }
    const text = await scrape();
    expect(text).toContain('pgwarden_approval_requests_total{outcome="approved"} 1');
    expect(text).toMatch(/pgwarden_statements_total\{category="privileged",action="deny"\} 1/);
    const result = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 30_000 });
    if (result.error) throw new Error(`promtool could not run (${result.error.message}): apt-get install prometheus (.ci/run does)`);
    expect(`${result.stdout}${result.stderr}`).toBe('');
    expect(result.status).toBe(0);
  });
});
