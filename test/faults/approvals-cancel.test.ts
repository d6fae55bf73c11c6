// Cancel routing between real pgwarden processes behind a (simulated) TCP load balancer: a CancelRequest sent to the
// wrong instance is forwarded through Redis to the one holding the connection; once that instance is killed, a cancel
// for its keys goes nowhere and the receiving instance keeps serving.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { pgUrl, redisUrl, urlFor } from '../helpers/env.js';
import { until } from '../integration/approvals/redis-helpers.js';
import { WardenProcess } from './approvals-process.js';

let admin: pg.Client;
let a: WardenProcess;
let b: WardenProcess;
const prefix = `pgw-fcancel-${randomBytes(4).toString('hex')}:`;

beforeAll(async () => {
  admin = new pg.Client(pgUrl());
  await admin.connect();
  a = await WardenProcess.start({ instance: 'pgw-a', redis: redisUrl(), redisPrefix: prefix });
  b = await WardenProcess.start({ instance: 'pgw-b', redis: redisUrl(), redisPrefix: prefix });
});
afterAll(async () => {
  await a.stop();
  await b.stop();
  await admin.end();
});

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
const sleeping = async (application: string) =>
  (await admin.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'SELECT pg_sleep%' AND state = 'active'", [application])).rows[0].n as number;

describe('cancel routing between pgwarden processes', () => {
  it('cancels a pg_sleep on A through B, then drops a cancel for A’s keys once A is killed while B keeps serving', async () => {
    const c = new pg.Client(urlFor(a.port, { application: 'fault-cancel' })) as KeyedClient;
    c.on('error', () => {});
    await c.connect();
    const running = c.query('SELECT pg_sleep(30)').catch((e: pg.DatabaseError) => e);
    await until(async () => (await sleeping('fault-cancel')) === 1, 'pg_sleep running upstream');
    await sendCancel(b.port, c.processID, c.secretKey);
    const err = (await running) as pg.DatabaseError;
    expect(err.code).toBe('57014');
    await until(async () => (await sleeping('fault-cancel')) === 0, 'the backend to leave pg_sleep');

    const keys = { pid: c.processID, secret: c.secretKey };
    await a.kill9();
    await sendCancel(b.port, keys.pid, keys.secret);
    const viaB = new pg.Client(urlFor(b.port, { application: 'fault-cancel-b' }));
    await viaB.connect();
    expect((await viaB.query('SELECT 41 + 1 AS n')).rows[0].n).toBe(42);
    await viaB.end();
    expect(b.logs()).not.toMatch(/"level":"(error|fatal)"/);
  });
});
