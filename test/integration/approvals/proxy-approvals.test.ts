// Approvals end to end through the proxy: two pgwarden instances on one Redis, real clients, real decisions over HTTP.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { randomBytes } from 'node:crypto';
import { decide, startTestApp, TOKENS, waitForPending, type TestApp } from '../../helpers/app.js';
import { pgUrl, redisUrl, urlFor } from '../../helpers/env.js';

let a: TestApp;
let b: TestApp;
let admin: pg.Client;
const prefix = `pgw-e2e-${randomBytes(4).toString('hex')}:`;

beforeAll(async () => {
  a = await startTestApp({ redis: redisUrl(), redisPrefix: prefix });
  b = await startTestApp({ redis: redisUrl(), redisPrefix: prefix });
  admin = new pg.Client(pgUrl());
  await admin.connect();
  await admin.query('DROP TABLE IF EXISTS appr_t1, appr_t2, appr_t3, appr_t4, expiring_t, appr_data');
  await admin.query('CREATE TABLE appr_data (id int)');
});
afterAll(async () => {
  await admin.end();
  await a.close();
  await b.close();
});

function client(app: TestApp, application = 'e2e-agent'): pg.Client {
  const c = new pg.Client(urlFor(app.port, { application }));
  c.on('notice', () => {});
  c.on('error', () => {});
  return c;
}

const tableExists = async (name: string) => (await admin.query('SELECT to_regclass($1) AS t', [name])).rows[0].t !== null;

describe('review through the proxy', () => {
  it('a statement held on instance A and approved through instance B completes on A', async () => {
    const c = client(a);
    const notices: string[] = [];
    c.on('notice', (n) => notices.push(n.message ?? ''));
    await c.connect();
    const pending = c.query('/* reason: nightly report needs a staging table */ CREATE TABLE appr_t1 (a int)');
    const req = await waitForPending(b.api, (r) => r.sql.includes('appr_t1'));
    expect(req.rule).toBe('ddl');
    expect(req.categories).toEqual(['ddl']);
    expect(req.actor).toMatchObject({ user: 'postgres', application: 'e2e-agent', address: '127.0.0.1' });
    expect(req.stated_reason).toBe('nightly report needs a staging table');
    expect(await tableExists('appr_t1')).toBe(false);
    const res = await decide(b.api, req.id, TOKENS['alice@example.com'], 'approve', 'looks fine');
    expect(res.status).toBe(200);
    await pending;
    expect(await tableExists('appr_t1')).toBe(true);
    expect(notices[0]).toMatch(new RegExp(`^pgwarden: waiting for approval of request ${req.id} \\(rule ddl\\)`));
    await c.end();
  });

  it('denied → 42501 carrying the approver and the reason; the session goes on', async () => {
    const c = client(a);
    await c.connect();
    const pending = c.query('CREATE TABLE appr_t2 (a int)').catch((e: pg.DatabaseError) => e);
    const req = await waitForPending(a.api, (r) => r.sql.includes('appr_t2'));
    const res = await decide(b.api, req.id, TOKENS['bob@example.com'], 'deny', 'use the migrations repo');
    expect(res.status).toBe(200);
    const err = (await pending) as pg.DatabaseError;
    expect(err.code).toBe('42501');
    expect(err.message).toContain('bob@example.com');
    expect(err.message).toContain('use the migrations repo');
    expect(err.message).toContain(req.id);
    expect((await c.query('SELECT 1 AS one')).rows[0].one).toBe(1);
    await c.end();
  });

  it('expired → 57014', async () => {
    const c = client(a);
    await c.connect();
    const err = (await c.query('CREATE TABLE expiring_t (a int)').catch((e: pg.DatabaseError) => e)) as pg.DatabaseError;
    expect(err.code).toBe('57014');
    expect(err.message).toMatch(/^pgwarden: request apr_\w+ \(rule "quick-expiry"\) expired/);
    expect(await tableExists('expiring_t')).toBe(false);
    await c.end();
  });

  it('self-approval → 403, a second decision → 409', async () => {
    const c = client(a);
    await c.connect();
    const pending = c.query('CREATE TABLE appr_t3 (a int)');
    const req = await waitForPending(a.api, (r) => r.sql.includes('appr_t3'));
    const self = await decide(a.api, req.id, TOKENS.postgres, 'approve', 'me myself');
    expect(self.status).toBe(403);
    const outsider = await decide(a.api, req.id, TOKENS['mallory@example.com'], 'approve', '');
    expect(outsider.status).toBe(403);
    expect((await decide(a.api, req.id, TOKENS['alice@example.com'], 'approve', '')).status).toBe(200);
    expect((await decide(b.api, req.id, TOKENS['bob@example.com'], 'deny', 'too late')).status).toBe(409);
    await pending;
    await c.end();
  });

  it('quorum 2 needs two distinct approvers', async () => {
    const c = client(a);
    await c.connect();
    await admin.query('DROP ROLE IF EXISTS appr_role');
    const pending = c.query('CREATE ROLE appr_role');
    const req = await waitForPending(a.api, (r) => r.sql.includes('appr_role'));
    expect(req.quorum).toBe(2);
    expect((await decide(a.api, req.id, TOKENS['alice@example.com'], 'approve', '')).status).toBe(200);
    expect((await decide(b.api, req.id, TOKENS['alice@example.com'], 'approve', '')).status).toBe(409);
    expect((await admin.query("SELECT 1 FROM pg_roles WHERE rolname = 'appr_role'")).rowCount).toBe(0);
    expect((await decide(b.api, req.id, TOKENS['carol@example.com'], 'approve', '')).status).toBe(200);
    await pending;
    expect((await admin.query("SELECT 1 FROM pg_roles WHERE rolname = 'appr_role'")).rowCount).toBe(1);
    await admin.query('DROP ROLE appr_role');
    await c.end();
  });

  it('a fingerprint-scoped approval lets later statements of the same shape pass without a new request', async () => {
    const c = client(a);
    await c.connect();
    const first = c.query('CREATE TABLE appr_t4 (a int)');
    const req = await waitForPending(a.api, (r) => r.sql.includes('appr_t4'));
    expect((await decide(a.api, req.id, TOKENS['alice@example.com'], 'approve', 'ok for the session', { scope: 'fingerprint' })).status).toBe(200);
    await first;
    // The same shape passes at once under the grant (a test timeout here means it was held again).
    await admin.query('DROP TABLE IF EXISTS appr_t4');
    await c.query('CREATE TABLE appr_t4 (a int)');
    expect(await tableExists('appr_t4')).toBe(true);
    await c.end();
  });

  it('client disconnect and client cancel mark the request withdrawn', async () => {
    const c = client(a);
    await c.connect();
    void c.query('CREATE TABLE appr_gone (a int)').catch(() => {});
    const req = await waitForPending(a.api, (r) => r.sql.includes('appr_gone'));
    (c as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
    let status = 'pending';
    for (let i = 0; i < 100 && status === 'pending'; i++) {
      await new Promise((r) => setTimeout(r, 50));
      status = ((await (await fetch(`${b.api}/api/approvals/${req.id}`, { headers: { authorization: `Bearer ${TOKENS['alice@example.com']}` } })).json()) as any).status;
    }
    expect(status).toBe('withdrawn');

    const d = client(a);
    await d.connect();
    const pending = d.query('CREATE TABLE appr_cancel (a int)').catch((e: pg.DatabaseError) => e);
    const req2 = await waitForPending(a.api, (r) => r.sql.includes('appr_cancel'));
    await (new pg.Client(urlFor(a.port)) as unknown as { cancel(c: pg.Client, q: unknown): Promise<void> }).cancel(d, (d as unknown as { activeQuery: unknown }).activeQuery);
    const err = (await pending) as pg.DatabaseError;
    expect(err.code).toBe('57014');
    const after: any = await (await fetch(`${a.api}/api/approvals/${req2.id}`, { headers: { authorization: `Bearer ${TOKENS['alice@example.com']}` } })).json();
    expect(after.status).toBe('withdrawn');
    await d.end();
  });

  it('200 statements held at once on one instance while other clients keep reading', async () => {
    const held = Array.from({ length: 200 }, () => client(a, 'e2e-many'));
    await Promise.all(held.map((c) => c.connect()));
    const results = held.map((c) => c.query('COPY appr_data TO STDOUT').then(() => 'done', (e: pg.DatabaseError) => e.code));
    let pendingCount = 0;
    for (let i = 0; i < 200 && pendingCount < 200; i++) {
      await new Promise((r) => setTimeout(r, 50));
      const body: any = await (await fetch(`${a.api}/api/approvals?status=pending&limit=500`, { headers: { authorization: `Bearer ${TOKENS['alice@example.com']}` } })).json();
      pendingCount = body.approvals.filter((r: any) => r.actor.application === 'e2e-many').length;
    }
    expect(pendingCount).toBe(200);
    const reader = client(a, 'e2e-reader');
    await reader.connect();
    for (let i = 0; i < 20; i++) expect((await reader.query('SELECT count(*)::int AS n FROM appr_data')).rows[0].n).toBe(0);
    await reader.end();
    const body: any = await (await fetch(`${a.api}/api/approvals?status=pending&limit=500`, { headers: { authorization: `Bearer ${TOKENS['alice@example.com']}` } })).json();
    await Promise.all(body.approvals.filter((r: any) => r.actor.application === 'e2e-many').map((r: any) => decide(b.api, r.id, TOKENS['bob@example.com'], 'deny', 'bulk')));
    const outcomes = await Promise.all(results);
    expect(outcomes.every((o) => o === '42501')).toBe(true);
    await Promise.all(held.map((c) => c.end()));
  });
});
