// pgwarden on highly available Redis, for real: through Redis Sentinel (redis+sentinel://) and on a three-node Redis
// Cluster (redis+cluster://), two instances hold a statement on one and approve it through the other. No failover here:
// these check that the URL forms connect, the Lua script runs (on Cluster: its keys share the prefix's slot) and pub/sub
// carries decisions.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { decide, startTestApp, TOKENS, waitForPending, type TestApp } from '../../helpers/app.js';
import { pgUrl, urlFor } from '../../helpers/env.js';
import { ConfigError } from '../../../src/errors.js';
import { PrivateCluster, PrivateSentinel } from './redis-helpers.js';

let admin: pg.Client;
beforeAll(async () => {
  admin = new pg.Client(pgUrl());
  await admin.connect();
  await admin.query('DROP TABLE IF EXISTS ha_sentinel_t, ha_cluster_t');
});
afterAll(async () => {
  await admin.query('DROP TABLE IF EXISTS ha_sentinel_t, ha_cluster_t');
  await admin.end();
});

const tableExists = async (name: string) => (await admin.query('SELECT to_regclass($1) AS t', [name])).rows[0].t !== null;

async function holdOnAApproveOnB(a: TestApp, b: TestApp, table: string): Promise<string> {
  const c = new pg.Client(urlFor(a.port, { application: 'ha-test' }));
  c.on('notice', () => {});
  await c.connect();
  const pending = c.query(`CREATE TABLE ${table} (a int)`);
  const req = await waitForPending(b.api, (r) => r.sql.includes(table));
  expect(await tableExists(table)).toBe(false);
  const res = await decide(b.api, req.id, TOKENS['alice@example.com'], 'approve', 'ha smoke test');
  expect(res.status).toBe(200);
  await pending;
  expect(await tableExists(table)).toBe(true);
  await c.end();
  return req.id as string;
}

describe('through Redis Sentinel', () => {
  let sentinel: PrivateSentinel;
  const apps: TestApp[] = [];
  beforeAll(async () => {
    sentinel = await PrivateSentinel.start();
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    await sentinel.destroy();
  });

  it('finds the primary through the sentinel and holds, approves and runs a statement across two instances', async () => {
    const prefix = `pgw-sen-${randomBytes(4).toString('hex')}:`;
    apps.push(await startTestApp({ redis: sentinel.url, redisPrefix: prefix }), await startTestApp({ redis: sentinel.url, redisPrefix: prefix }));
    const [a, b] = apps as [TestApp, TestApp];
    const id = await holdOnAApproveOnB(a, b, 'ha_sentinel_t');
    // The record is on the primary the sentinel named.
    const primary = new Redis(sentinel.primaryUrl);
    try {
      expect(await primary.hget(`${prefix}req:${id}`, 'status')).toBe('approved');
    } finally {
      await primary.quit();
    }
  });
});

describe('on Redis Cluster', () => {
  let cluster: PrivateCluster;
  const apps: TestApp[] = [];
  beforeAll(async () => {
    cluster = await PrivateCluster.start();
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    await cluster.destroy();
  });

  it('holds, approves and runs a statement across two instances with a hash-tagged prefix', async () => {
    const prefix = `{pgw-cl-${randomBytes(4).toString('hex')}}:`;
    apps.push(await startTestApp({ redis: cluster.url, redisPrefix: prefix }), await startTestApp({ redis: cluster.url, redisPrefix: prefix }));
    const [a, b] = apps as [TestApp, TestApp];
    await holdOnAApproveOnB(a, b, 'ha_cluster_t');
  });

  it('refuses to start with a prefix that has no hash tag, naming the fix', async () => {
    await expect(startTestApp({ redis: cluster.url, redisPrefix: 'pgwarden:' })).rejects.toThrow(ConfigError);
    await expect(startTestApp({ redis: cluster.url, redisPrefix: 'pgwarden:' })).rejects.toThrow(/\{pgwarden\}:/);
  });
});
