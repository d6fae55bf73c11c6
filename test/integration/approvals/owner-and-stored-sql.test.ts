// Through the whole app on real PostgreSQL and Redis: the agent's owner (config identities.<user>.owner) is refused as
// an approver like the agent itself; a large held statement is stored and listed capped, with the whole text's hash,
// and still runs whole once approved.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createHash, randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { decide, startTestApp, TOKENS, waitForPending, type TestApp } from '../../helpers/app.js';
import { pgUrl, redisUrl, urlFor } from '../../helpers/env.js';

let app: TestApp;
let admin: pg.Client;
let raw: Redis;
const prefix = `pgw-own-${randomBytes(4).toString('hex')}:`;

beforeAll(async () => {
  app = await startTestApp({
    redis: redisUrl(),
    redisPrefix: prefix,
    overrides: { identities: { postgres: { owner: ' Alice@Example.com ' } }, 'approvals.retention': '1h', 'limits.max_statement_size': '4MiB' },
  });
  admin = new pg.Client(pgUrl());
  await admin.connect();
  await admin.query('DROP TABLE IF EXISTS owner_t1, owner_t2, big_sql_t');
  raw = new Redis(redisUrl());
});
afterAll(async () => {
  await admin.query('DROP TABLE IF EXISTS owner_t1, owner_t2, big_sql_t');
  await admin.end();
  await raw.quit();
  await app.close();
});

function client(): pg.Client {
  const c = new pg.Client(urlFor(app.port, { application: 'owner-test' }));
  c.on('notice', () => {});
  c.on('error', () => {});
  return c;
}
const tableExists = async (name: string) => (await admin.query('SELECT to_regclass($1) AS t', [name])).rows[0].t !== null;

describe("the agent's owner", () => {
  it('is refused with 403 self_approval (approve and deny); another approver’s approval runs the statement', async () => {
    const c = client();
    await c.connect();
    const pending = c.query('CREATE TABLE owner_t1 (a int)');
    const req = await waitForPending(app.api, (r) => r.sql.includes('owner_t1'));
    expect(req.actor).toMatchObject({ user: 'postgres', owner: 'Alice@Example.com' });
    for (const decision of ['approve', 'deny'] as const) {
      const res = await decide(app.api, req.id, TOKENS['alice@example.com'], decision, 'my own agent');
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('self_approval');
    }
    expect(await tableExists('owner_t1')).toBe(false);
    const ok = await decide(app.api, req.id, TOKENS['bob@example.com'], 'approve', 'reviewed');
    expect(ok.status).toBe(200);
    await pending;
    expect(await tableExists('owner_t1')).toBe(true);
    await c.end();
  });
});

describe('a large held statement', () => {
  it('is stored and listed cut to 64 KiB with its length and SHA-256, lives as long as the request, and runs whole', async () => {
    const payload = 'x'.repeat(1024 * 1024);
    const sql = `CREATE TABLE big_sql_t AS SELECT '${payload}'::text AS v`;
    const c = client();
    await c.connect();
    const pending = c.query(sql);
    const req = await waitForPending(app.api, (r) => r.sql.startsWith('CREATE TABLE big_sql_t'));
    expect(req.sql_truncated).toBe(true);
    expect(req.sql_length).toBe(Buffer.byteLength(sql));
    expect(req.sql_sha256).toBe(createHash('sha256').update(sql).digest('hex'));
    expect(Buffer.byteLength(req.sql)).toBeLessThanOrEqual(64 * 1024);
    expect(sql.startsWith(req.sql)).toBe(true);
    expect(Buffer.byteLength(req.normalized)).toBeLessThanOrEqual(64 * 1024);

    // The list answer carries the capped text, not the megabyte.
    const list = await fetch(`${app.api}/api/approvals?status=pending`, { headers: { authorization: `Bearer ${TOKENS['bob@example.com']}` } });
    expect(Buffer.byteLength(await list.text())).toBeLessThan(200 * 1024);

    // In Redis: the record holds the capped text; its TTL is the request's timeout (5m) plus the retention (1h).
    const key = `${prefix}req:${req.id}`;
    expect(await raw.hstrlen(key, 'base')).toBeLessThan(160 * 1024);
    const ttl = await raw.pttl(key);
    expect(ttl).toBeGreaterThan(3_600_000 + 4 * 60_000);
    expect(ttl).toBeLessThanOrEqual(3_600_000 + 5 * 60_000);

    const ok = await decide(app.api, req.id, TOKENS['bob@example.com'], 'approve', 'seen the hash');
    expect(ok.status).toBe(200);
    await pending;
    // The server ran the whole text, not the stored cut.
    expect((await admin.query('SELECT length(v) AS n FROM big_sql_t')).rows[0].n).toBe(payload.length);
    const settledTtl = await raw.pttl(key);
    expect(settledTtl).toBeGreaterThan(3_500_000);
    expect(settledTtl).toBeLessThanOrEqual(3_600_000);
    await c.end();
  });
});
