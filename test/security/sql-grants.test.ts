// Finding 7: a "same shape" grant for one export covered a statement of the same libpg-query fingerprint that switches
// role. Through pgwarden with the default rules (exports may be approved by fingerprint for 30 minutes): after a grant
// for query_to_xml('SELECT count(*) FROM …'), a query_to_xml whose query sets the role, or reads another table, is held
// again and never runs; the granted shape itself does pass (so the grant works at all).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { decide, waitForPending } from '../helpers/app.js';
import { APP_TOKENS } from '../helpers/secrets.js';
import { agent, direct, sqlstateOf, startSqlApp, type SqlTestApp } from './sql-harness.js';

let app: SqlTestApp;
let admin: pg.Client;

beforeAll(async () => {
  app = await startSqlApp();
  admin = await direct();
  await admin.query(`DROP TABLE IF EXISTS pgw_sec_orders, pgw_sec_customers;
    CREATE TABLE pgw_sec_orders (id int); INSERT INTO pgw_sec_orders SELECT generate_series(1, 5);
    CREATE TABLE pgw_sec_customers (id int, ssn text); INSERT INTO pgw_sec_customers VALUES (1, '078-05-1120');
    DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pgw_victim') THEN CREATE ROLE pgw_victim; END IF; END $$`);
});

afterAll(async () => {
  await admin.query('DROP TABLE IF EXISTS pgw_sec_orders, pgw_sec_customers');
  await admin.end();
  await app.close();
});

const counted = (flag: boolean) => `SELECT query_to_xml('SELECT count(*) FROM pgw_sec_orders', ${flag}, false, '') AS x`;

describe('fingerprint grants through the proxy', () => {
  it('a grant covers its own shape, and neither a role switch nor another query of the same fingerprint', async () => {
    const c = await agent(app);
    const first = c.query(counted(true));
    const pending = await waitForPending(app.api, (r) => r.sql === counted(true));
    expect(pending.rule).toBe('exports');
    expect((await decide(app.api, pending.id, APP_TOKENS['alice@example.com'], 'approve', 'monthly report', { scope: 'fingerprint' })).status).toBe(200);
    expect((await first).rows[0].x).toContain('<count>5</count>');

    // Same shape, another constant: the grant lets it through without a new request.
    expect((await c.query(counted(false))).rows[0].x).toContain('5');
    const all = (await (await fetch(`${app.api}/api/approvals`, { headers: { authorization: `Bearer ${APP_TOKENS['alice@example.com']}` } })).json()) as { approvals: { sql: string }[] };
    expect(all.approvals.filter((r) => r.sql === counted(false))).toEqual([]);

    // Same libpg-query fingerprint, but the nested query switches role: another rule (grants), held, expires.
    const roleSwitch = "SELECT query_to_xml('SELECT set_config(''role'',''pgw_victim'',false)', true, false, '') AS x";
    expect(await sqlstateOf(c, roleSwitch)).toBe('57014');
    expect((await c.query('SELECT current_user AS u')).rows[0].u).toBe('postgres');

    // Same rule and categories (export), same libpg-query fingerprint, another nested query: held, no rows.
    let rows: unknown[] | null = null;
    const code = await c
      .query("SELECT query_to_xml('SELECT ssn FROM pgw_sec_customers', true, false, '') AS x")
      .then((r) => ((rows = r.rows), null), (e: { code: string }) => e.code);
    expect(code).toBe('57014');
    expect(rows).toBeNull();
    await c.end();
  });
});
