// Instance heartbeats in the Redis store: requests whose holder is gone are withdrawn (instance_lost) exactly once,
// a decision on one answers instance_lost, live holders are left alone, and settled records are bounded.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { createRedisStore, type RedisPendingStore, type RedisStoreOptions } from '../../../src/approvals/redis-store.js';
import { makeRequest } from '../../unit/approvals/fixtures.js';
import { redisUrl, uniquePrefix, until } from './redis-helpers.js';

const stores: RedisPendingStore[] = [];
const raw = new Redis(redisUrl());
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
});
afterAll(async () => {
  await raw.quit();
});

async function open(keyPrefix: string, extra: Partial<RedisStoreOptions> = {}): Promise<RedisPendingStore> {
  const store = createRedisStore({ url: redisUrl(), keyPrefix, heartbeatIntervalMs: 50, instanceTimeoutMs: 300, ...extra });
  stores.push(store);
  expect(await store.ready(5000)).toBe(true);
  return store;
}

function pendingRequest() {
  return makeRequest({ createdAt: new Date().toISOString(), expiresAt: new Date(Date.now() + 60_000).toISOString() });
}

/** What a kill -9 leaves behind: the records, but no heartbeat (closing also deletes the heartbeat key at once). */
async function die(store: RedisPendingStore): Promise<void> {
  await store.close();
}

/** Sweeping waits one instance timeout after connecting (others may not have re-announced themselves yet). */
const pastGrace = () => new Promise((r) => setTimeout(r, 350));

describe('Redis store: instances and their held requests', () => {
  it('answers a decision on a request whose holder died with instance_lost, withdrawing it once', async () => {
    const prefix = uniquePrefix();
    const a = await open(prefix, { instance: 'pgw-a' });
    const b = await open(prefix, { instance: 'pgw-b' });
    const req = pendingRequest();
    await a.create(req);
    await die(a);
    const first = await b.decide({ id: req.id, by: 'alice@example.com', decision: 'approve', reason: 'fine' });
    expect(first).toMatchObject({ ok: false, error: 'instance_lost', finalized: true, request: { status: 'withdrawn', withdrawnReason: 'instance_lost', decisions: [] } });
    const again = await b.decide({ id: req.id, by: 'bob@example.com', decision: 'deny', reason: '' });
    expect(again).toMatchObject({ ok: false, error: 'instance_lost', request: { status: 'withdrawn' } });
    expect(again.ok === false && again.finalized).toBeFalsy();
    expect(await b.get(req.id)).toMatchObject({ status: 'withdrawn', withdrawnReason: 'instance_lost' });
    expect((await b.list({ status: 'pending' })).map((r) => r.id)).not.toContain(req.id);
  });

  it('lets a live holder’s requests be decided and never reaps them', async () => {
    const prefix = uniquePrefix();
    const a = await open(prefix);
    const b = await open(prefix);
    const req = pendingRequest();
    await a.create(req);
    await pastGrace();
    expect(await b.reapLost()).toEqual([]);
    expect(await b.decide({ id: req.id, by: 'alice@example.com', decision: 'approve', reason: '' })).toMatchObject({ ok: true, settled: true });
  });

  it('gives each request of a dead holder to exactly one of several racing sweepers', async () => {
    const prefix = uniquePrefix();
    const a = await open(prefix);
    const sweepers = [await open(prefix), await open(prefix), await open(prefix)];
    const reqs = Array.from({ length: 12 }, pendingRequest);
    for (const r of reqs) await a.create(r);
    await die(a);
    await pastGrace();
    const results = await Promise.all(sweepers.map((s) => s.reapLost()));
    const ids = results.flat().map((r) => r.id);
    expect(ids.sort()).toEqual(reqs.map((r) => r.id).sort());
    expect(results.flat().every((r) => r.status === 'withdrawn' && r.withdrawnReason === 'instance_lost')).toBe(true);
    expect(await sweepers[0]!.reapLost()).toEqual([]);
  });

  it('treats a restarted instance with the same name as a new holder: its predecessor’s requests are lost', async () => {
    const prefix = uniquePrefix();
    const before = await open(prefix, { instance: 'pgwarden-0' });
    const req = pendingRequest();
    await before.create(req);
    await die(before);
    const after = await open(prefix, { instance: 'pgwarden-0' });
    expect(after.holder).not.toBe(before.holder);
    await pastGrace();
    expect((await after.reapLost()).map((r) => r.id)).toEqual([req.id]);
  });

  it('does not judge anyone lost right after connecting, when heartbeats may not be back yet', async () => {
    const prefix = uniquePrefix();
    const a = await open(prefix);
    const req = pendingRequest();
    await a.create(req);
    await die(a);
    const fresh = await open(prefix, { instanceTimeoutMs: 60_000, heartbeatIntervalMs: 1000 });
    expect(await fresh.reapLost()).toEqual([]);
    expect((await fresh.get(req.id))?.status).toBe('pending');
  });

  it('a holder whose heartbeat stops (not closed) is found lost once its heartbeat key expires', async () => {
    const prefix = uniquePrefix();
    const a = await open(prefix, { heartbeatIntervalMs: 60_000, instanceTimeoutMs: 300 });
    const b = await open(prefix);
    const req = pendingRequest();
    await a.create(req);
    expect(await raw.pttl(`${prefix}live:${a.holder}`)).toBeGreaterThan(0);
    await until(async () => (await raw.exists(`${prefix}live:${a.holder}`)) === 0, 'the heartbeat key to expire', 5000);
    await pastGrace();
    expect((await b.reapLost()).map((r) => r.id)).toEqual([req.id]);
  });
});

describe('Redis store: record lifetimes', () => {
  it('keeps a pending record until its expiry plus retention, and a settled one for the retention', async () => {
    const prefix = uniquePrefix();
    const store = await open(prefix, { retentionMs: 3_600_000 });
    const req = pendingRequest();
    await store.create(req);
    const pendingTtl = await raw.pttl(`${prefix}req:${req.id}`);
    expect(pendingTtl).toBeGreaterThan(3_600_000 + 55_000);
    expect(pendingTtl).toBeLessThanOrEqual(3_600_000 + 60_000);
    await store.decide({ id: req.id, by: 'alice@example.com', decision: 'approve', reason: '' });
    const settledTtl = await raw.pttl(`${prefix}req:${req.id}`);
    expect(settledTtl).toBeGreaterThan(3_590_000);
    expect(settledTtl).toBeLessThanOrEqual(3_600_000);
  });

  it('deletes settled records beyond recentMax, oldest first, not only their index entries', async () => {
    const prefix = uniquePrefix();
    const store = await open(prefix, { recentMax: 3 });
    const reqs = Array.from({ length: 5 }, pendingRequest);
    for (const r of reqs) {
      await store.create(r);
      await store.decide({ id: r.id, by: 'alice@example.com', decision: 'deny', reason: '' });
      await new Promise((res) => setTimeout(res, 5));
    }
    await until(async () => (await raw.zcard(`${prefix}recent`)) === 3, 'the recent index to be trimmed', 5000);
    expect(await raw.exists(`${prefix}req:${reqs[0]!.id}`, `${prefix}req:${reqs[1]!.id}`)).toBe(0);
    expect(await raw.exists(...reqs.slice(2).map((r) => `${prefix}req:${r.id}`))).toBe(3);
  });
});
