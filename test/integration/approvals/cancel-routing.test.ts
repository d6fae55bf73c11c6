// CancelRequests behind a load balancer: two pgwarden instances share one Redis; a cancel sent to instance B for a
// connection held by instance A reaches A through Redis and acts there (server-side cancel, or held request withdrawn).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { startTestApp, TOKENS, waitForPending, type TestApp } from '../../helpers/app.js';
import { pgUrl, redisUrl, urlFor } from '../../helpers/env.js';
import { nodeOfPid } from '../../../src/proxy/cancel-keys.js';
import { until } from './redis-helpers.js';

let a: TestApp;
let b: TestApp;
let admin: pg.Client;
const prefix = `pgw-cancel-${randomBytes(4).toString('hex')}:`;

beforeAll(async () => {
  a = await startTestApp({ redis: redisUrl(), redisPrefix: prefix });
  b = await startTestApp({ redis: redisUrl(), redisPrefix: prefix });
  admin = new pg.Client(pgUrl());
  await admin.connect();
  await admin.query('DROP TABLE IF EXISTS cancel_held_t, cancel_wrong_t');
});
afterAll(async () => {
  await admin.query('DROP TABLE IF EXISTS cancel_held_t, cancel_wrong_t');
  await admin.end();
  await a.close();
  await b.close();
});

/** A CancelRequest (protocol §55.2.9) on a fresh connection, as libpq sends it. */
function sendCancel(port: number, pid: number, secret: number): Promise<void> {
  const packet = Buffer.alloc(16);
  packet.writeInt32BE(16, 0);
  packet.writeInt32BE(80877102, 4);
  packet.writeInt32BE(pid, 8);
  packet.writeInt32BE(secret, 12);
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.end(packet));
    socket.on('close', () => resolve());
    socket.on('error', reject);
  });
}

type KeyedClient = pg.Client & { processID: number; secretKey: number };

async function connectTo(app: TestApp, application: string): Promise<KeyedClient> {
  const c = new pg.Client(urlFor(app.port, { application })) as KeyedClient;
  c.on('notice', () => {});
  c.on('error', () => {});
  await c.connect();
  return c;
}

const sleeping = async (application: string) =>
  (await admin.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'SELECT pg_sleep%' AND state = 'active'", [application])).rows[0].n as number;

describe('cancel keys routed between instances', () => {
  it('gives each instance its own node id in the pids it hands out', async () => {
    const ca = await connectTo(a, 'cancel-nodes');
    const cb = await connectTo(b, 'cancel-nodes');
    expect(nodeOfPid(ca.processID)).toBeGreaterThan(0);
    expect(nodeOfPid(ca.processID)).not.toBe(nodeOfPid(cb.processID));
    await ca.end();
    await cb.end();
  });

  it('a cancel sent to B for a pg_sleep running through A cancels it on the server (57014)', async () => {
    const c = await connectTo(a, 'cancel-running');
    const running = c.query('SELECT pg_sleep(30)').catch((e: pg.DatabaseError) => e);
    await until(async () => (await sleeping('cancel-running')) === 1, 'pg_sleep to be running upstream');
    await sendCancel(b.port, c.processID, c.secretKey);
    const err = (await running) as pg.DatabaseError;
    expect(err).toBeInstanceOf(Error);
    expect(err.code).toBe('57014');
    expect(err.message).toBe('canceling statement due to user request');
    await until(async () => (await sleeping('cancel-running')) === 0, 'the backend to leave pg_sleep');
    expect((await c.query('SELECT 1 AS one')).rows[0].one).toBe(1);
    await c.end();
  });

  it('a cancel sent to B for a statement held on A withdraws its request (client_cancel) and nothing runs', async () => {
    const c = await connectTo(a, 'cancel-held');
    const held = c.query('CREATE TABLE cancel_held_t (a int)').catch((e: pg.DatabaseError) => e);
    const req = await waitForPending(a.api, (r) => r.sql.includes('cancel_held_t'));
    await sendCancel(b.port, c.processID, c.secretKey);
    const err = (await held) as pg.DatabaseError;
    expect(err.code).toBe('57014');
    expect(err.message).toContain(req.id);
    const after = await fetch(`${b.api}/api/approvals/${req.id}`, { headers: { authorization: `Bearer ${TOKENS['alice@example.com']}` } });
    expect(await after.json()).toMatchObject({ status: 'withdrawn', withdrawn_reason: 'client_cancel' });
    expect((await admin.query("SELECT to_regclass('cancel_held_t') AS t")).rows[0].t).toBeNull();
    await c.end();
  });

  it('a cancel with the right pid but a wrong secret, sent to either instance, does nothing', async () => {
    const c = await connectTo(a, 'cancel-wrong');
    const running = c.query('SELECT pg_sleep(1.5) AS slept');
    await until(async () => (await sleeping('cancel-wrong')) === 1, 'pg_sleep to be running upstream');
    await sendCancel(b.port, c.processID, c.secretKey ^ 0x5a5a);
    await sendCancel(a.port, c.processID, c.secretKey + 1);
    const result = await running;
    expect(result.rows).toEqual([{ slept: '' }]);
    await c.end();
  });
});
