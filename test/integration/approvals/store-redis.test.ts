// The PendingStore contract against real Redis, plus what only a shared store has: events across instances.
import { afterEach, describe, expect, it } from 'vitest';
import { createRedisStore, type RedisPendingStore } from '../../../src/approvals/redis-store.js';
import { storeContract } from '../../unit/approvals/store-contract.js';
import { T0, makeRequest, nextEvent } from '../../unit/approvals/fixtures.js';
import { redisUrl, uniquePrefix } from './redis-helpers.js';

storeContract('redis', async () => {
  let t = T0;
  const store = createRedisStore({ url: redisUrl(), keyPrefix: uniquePrefix(), now: () => t, retentionMs: 10 * 60_000 });
  if (!(await store.ready(5000))) throw new Error('Redis not reachable at TEST_REDIS_URL');
  return { store, advance: (ms) => void (t += ms) };
});

describe('Redis store shared by two instances', () => {
  const stores: RedisPendingStore[] = [];
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
  });
  async function pair(): Promise<[RedisPendingStore, RedisPendingStore]> {
    const keyPrefix = uniquePrefix();
    const a = createRedisStore({ url: redisUrl(), keyPrefix });
    const b = createRedisStore({ url: redisUrl(), keyPrefix });
    stores.push(a, b);
    expect(await a.ready(5000)).toBe(true);
    expect(await b.ready(5000)).toBe(true);
    return [a, b];
  }

  it('delivers each instance the events of the other, with the full request', async () => {
    const [a, b] = await pair();
    const req = makeRequest({ createdAt: new Date().toISOString(), expiresAt: new Date(Date.now() + 60_000).toISOString() });
    const created = nextEvent(b.subscribe, (e) => e.type === 'created' && e.request.id === req.id, 'created on b');
    await a.create(req);
    expect((await created).request).toEqual(req);
    const decided = nextEvent(a.subscribe, (e) => e.type === 'updated' && e.request.status === 'approved', 'approved on a');
    expect(await b.decide({ id: req.id, by: 'alice@example.com', decision: 'approve', reason: 'via b' })).toMatchObject({ ok: true, settled: true });
    expect((await decided).request).toMatchObject({ id: req.id, status: 'approved', decisions: [{ by: 'alice@example.com', reason: 'via b' }] });
    expect(await a.get(req.id)).toMatchObject({ status: 'approved' });
  });

  it('keeps instances with other key prefixes apart', async () => {
    const [a] = await pair();
    const other = createRedisStore({ url: redisUrl(), keyPrefix: uniquePrefix() });
    stores.push(other);
    await other.ready(5000);
    const req = makeRequest({ expiresAt: new Date(Date.now() + 60_000).toISOString() });
    await a.create(req);
    expect(await other.get(req.id)).toBeNull();
  });

  it('resolves a race between expiry on one instance and approval on the other with exactly one winner', async () => {
    const [a, b] = await pair();
    for (let i = 0; i < 20; i++) {
      const req = makeRequest({ expiresAt: new Date(Date.now() + 60_000).toISOString() });
      await a.create(req);
      const [expired, decided] = await Promise.all([a.expire(req.id), b.decide({ id: req.id, by: 'bob@example.com', decision: 'approve', reason: '' })]);
      const final = await a.get(req.id);
      expect(['expired', 'approved']).toContain(final?.status);
      expect(expired?.status).toBe(final?.status);
      expect(decided.ok).toBe(final?.status === 'approved');
    }
  });
});
