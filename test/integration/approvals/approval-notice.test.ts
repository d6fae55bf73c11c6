// An approved statement tells the agent who approved it and why: a NoticeResponse before the statement's result, as
// the console and the Teams card promise ("Reason (shown to the agent …)").
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startTestApp, decide, waitForPending, TOKENS, type TestApp } from '../../helpers/app.js';
import { psql } from '../../helpers/cli.js';
import { urlFor } from '../../helpers/env.js';

let app: TestApp;
const tables = [`pgw_notice_a_${process.pid}`, `pgw_notice_b_${process.pid}`];

beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  await app?.close();
  const direct = new pg.Client({ connectionString: process.env.TEST_PG_URL });
  await direct.connect();
  for (const t of tables) await direct.query(`DROP TABLE IF EXISTS ${t}`);
  await direct.end();
});

describe('the approval reason reaches the agent', () => {
  it('sends NOTICE "approved by X: reason" before the statement completes (node-postgres)', async () => {
    const url = new URL(process.env.TEST_PG_URL!);
    const client = new pg.Client({ host: '127.0.0.1', port: app.port, user: url.username || 'postgres', database: 'postgres', application_name: 'pgw-notice' });
    const events: string[] = [];
    client.on('notice', (n) => events.push(`notice: ${n.message}`));
    await client.connect();
    try {
      const held = client.query(`CREATE TABLE ${tables[0]} (id int)`).then((r) => events.push(`result: ${r.command}`));
      const pending = await waitForPending(app.api, (r) => r.sql.includes(tables[0]!));
      expect((await decide(app.api, pending.id, TOKENS['alice@example.com']!, 'approve', 'schema change for ticket OPS-7')).status).toBe(200);
      await held;
    } finally {
      await client.end();
    }
    const approved = events.findIndex((e) => e.startsWith('notice: pgwarden: request') && e.includes('approved by alice@example.com: schema change for ticket OPS-7'));
    expect(approved, events.join('\n')).toBeGreaterThanOrEqual(0);
    expect(approved).toBeLessThan(events.indexOf('result: CREATE'));
  });

  it('says when the approval covers same-shape statements for a while (psql)', async () => {
    const run = psql(urlFor(app.port), `CREATE TABLE ${tables[1]} (id int);\n`);
    const pending = await waitForPending(app.api, (r) => r.sql.includes(tables[1]!));
    expect((await decide(app.api, pending.id, TOKENS['alice@example.com']!, 'approve', '', { scope: 'fingerprint' })).status).toBe(200);
    const out = await run;
    expect(out.stderr).toMatch(new RegExp(`NOTICE:  pgwarden: request ${pending.id} approved by alice@example\\.com \\(statements of the same shape from this actor pass for 10m\\)`));
    expect(out.code).toBe(0);
  });
});
