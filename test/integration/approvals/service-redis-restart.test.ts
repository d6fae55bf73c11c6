// Redis restarted while a statement waits for approval: the decision still reaches the holding instance, and review fails closed meanwhile.
import { afterEach, describe, expect, it } from 'vitest';
import { ApprovalsUnavailable } from '../../../src/errors.js';
import { nullAuditLog } from '../../../src/audit/record.js';
import { silentLogger } from '../../../src/log.js';
import { createRedisStore, type RedisPendingStore } from '../../../src/approvals/redis-store.js';
import { createApprovalService, type ApprovalService } from '../../../src/approvals/service.js';
import { makeOpenInput } from '../../unit/approvals/fixtures.js';
import { PrivateRedis, uniquePrefix, until } from './redis-helpers.js';
import { TcpGate } from './tcp-gate.js';

describe('Redis restart while a request waits', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  function service(store: RedisPendingStore, instance: string): ApprovalService {
    const s = createApprovalService({ store, channels: [], audit: nullAuditLog, logger: silentLogger, instance, publicUrl: 'http://pgwarden.test', progressIntervalMs: 0 });
    cleanups.push(() => s.close());
    return s;
  }
  function store(url: string, keyPrefix: string): RedisPendingStore {
    const s = createRedisStore({ url, keyPrefix, reconnectDelayMs: () => 50 });
    cleanups.push(() => s.close());
    return s;
  }

  it('delivers a decision made while the holding instance was away, by re-reading after it reconnects', async () => {
    const redis = await PrivateRedis.start();
    cleanups.push(() => redis.destroy());
    // Instance A reaches Redis through a gate so the test decides when A gets back after the restart;
    // the restart itself is real (SIGTERM, new process, data from the append-only file).
    const gate = await TcpGate.start(redis.port);
    cleanups.push(() => gate.destroy());
    const keyPrefix = uniquePrefix();
    const storeA = store(gate.url, keyPrefix);
    expect(await storeA.ready(5000)).toBe(true);
    const a = service(storeA, 'inst-a');
    const pending = await a.open(makeOpenInput());

    gate.close();
    await redis.restart();
    await until(() => !storeA.isAvailable(), 'instance A to notice Redis is gone');

    // Fail closed while away: new reviews and reads are refused at once, nothing hangs.
    await expect(a.open(makeOpenInput())).rejects.toBeInstanceOf(ApprovalsUnavailable);
    await expect(storeA.get(pending.request.id)).rejects.toBeInstanceOf(ApprovalsUnavailable);

    // Instance B, connected to the restarted Redis, finds the request and approves it; A hears nothing (no subscription).
    const storeB = store(redis.url, keyPrefix);
    expect(await storeB.ready(5000)).toBe(true);
    const b = service(storeB, 'inst-b');
    expect(await b.decide({ id: pending.request.id, by: 'alice@example.com', decision: 'approve', reason: 'after restart', via: 'api' })).toMatchObject({ ok: true, settled: true });
    expect(storeA.isAvailable()).toBe(false);

    gate.reopen();
    const outcome = await pending.outcome;
    expect(outcome).toMatchObject({ status: 'approved', request: { decisions: [{ by: 'alice@example.com', reason: 'after restart' }] } });
  });

  it('delivers a decision made after the restart through the renewed subscription', async () => {
    const redis = await PrivateRedis.start();
    cleanups.push(() => redis.destroy());
    const keyPrefix = uniquePrefix();
    const storeA = store(redis.url, keyPrefix);
    expect(await storeA.ready(5000)).toBe(true);
    const a = service(storeA, 'inst-a');
    const pending = await a.open(makeOpenInput());
    let downs = 0;
    storeA.onAvailability((up) => void (up ? 0 : downs++));

    await redis.restart();
    await until(() => downs > 0 && storeA.isAvailable(), 'instance A to reconnect');
    const storeB = store(redis.url, keyPrefix);
    await storeB.ready(5000);
    const b = service(storeB, 'inst-b');
    await b.decide({ id: pending.request.id, by: 'bob@example.com', decision: 'deny', reason: 'not now' });
    expect(await pending.outcome).toMatchObject({ status: 'denied', by: 'bob@example.com', reason: 'not now' });
  });

  it('puts a request back when Redis lost it, so approvers can still decide', async () => {
    const redis = await PrivateRedis.start();
    cleanups.push(() => redis.destroy());
    const keyPrefix = uniquePrefix();
    const storeA = store(redis.url, keyPrefix);
    await storeA.ready(5000);
    const a = service(storeA, 'inst-a');
    const pending = await a.open(makeOpenInput());
    let downs = 0;
    storeA.onAvailability((up) => void (up ? 0 : downs++));
    // Simulates a Redis without persistence: the data is gone after the restart.
    const { Redis } = await import('ioredis');
    const raw = new Redis(redis.url);
    await raw.flushall();
    await raw.quit();
    await redis.restart();
    await until(() => downs > 0 && storeA.isAvailable(), 'instance A to reconnect');
    await until(async () => (await storeA.get(pending.request.id)) !== null, 'the request to be stored again');
    const storeB = store(redis.url, keyPrefix);
    await storeB.ready(5000);
    await service(storeB, 'inst-b').decide({ id: pending.request.id, by: 'alice@example.com', decision: 'approve', reason: '' });
    expect((await pending.outcome).status).toBe('approved');
  });
});
