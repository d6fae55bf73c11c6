// The decision API over the shared Redis store: two pgwarden HTTP servers on one Redis (TEST_REDIS_URL), a decision through B seen by A.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisStore, type RedisPendingStore } from '../../../src/approvals/redis-store.js';
import { pendingRequest, startServer, TOKENS, type TestServer } from './fixtures.js';

const REDIS_URL = process.env.TEST_REDIS_URL;
if (!REDIS_URL) throw new Error('TEST_REDIS_URL is not set: run eval "$(scripts/test-services.sh | sed \'s/^/export /\')" first');

// A key prefix per run keeps this file's records apart from other tests sharing the Redis.
const prefix = `pgw-http-test-${randomBytes(4).toString('hex')}:`;
let storeA: RedisPendingStore;
let storeB: RedisPendingStore;
let a: TestServer;
let b: TestServer;

beforeAll(async () => {
  storeA = createRedisStore({ url: REDIS_URL, keyPrefix: prefix });
  storeB = createRedisStore({ url: REDIS_URL, keyPrefix: prefix });
  expect(await storeA.ready(5000)).toBe(true);
  expect(await storeB.ready(5000)).toBe(true);
  a = await startServer({ store: storeA });
  b = await startServer({ store: storeB });
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await storeA?.close();
  await storeB?.close();
  // Leave nothing behind in the shared test Redis.
  const redis = new Redis(REDIS_URL);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  await redis.quit();
});

function decide(srv: TestServer, id: string, who: keyof typeof TOKENS, body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${srv.url}/api/approvals/${id}/decision`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${TOKENS[who]}`, ...headers },
    body: JSON.stringify(body),
  });
}

describe('approvals API on the Redis store', () => {
  it('lists on instance B a request created on instance A, decides it through B, and A sees the decision', async () => {
    const req = pendingRequest();
    await storeA.create(req);
    const list = await fetch(`${b.url}/api/approvals?status=pending`, { headers: { Authorization: `Bearer ${TOKENS['bob@example.com']}` } });
    expect(list.status).toBe(200);
    const body = (await list.json()) as { approvals: { id: string; actor: unknown }[] };
    expect(body.approvals.find((x) => x.id === req.id)?.actor).toEqual({ user: 'agent_reporting', application: 'claude-code', address: '10.20.4.17', owner: null, identity: 'agent_reporting', groups: [], auth: 'passthrough' });

    const res = await decide(b, req.id, 'bob@example.com', { decision: 'approve', reason: 'looks fine' });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { status: string }).status).toBe('approved');
    expect((await storeA.get(req.id))?.status).toBe('approved');
    const read = await fetch(`${a.url}/api/approvals/${req.id}`, { headers: { Authorization: `Bearer ${TOKENS['alice@example.com']}` } });
    expect(((await read.json()) as { decisions: { by: string }[] }).decisions.map((d) => d.by)).toEqual(['bob@example.com']);
  });

  it('answers 409 to a second decision made on the other instance', async () => {
    const req = pendingRequest();
    await storeA.create(req);
    expect((await decide(a, req.id, 'alice@example.com', { decision: 'deny', reason: 'no exports on Fridays' })).status).toBe(200);
    const second = await decide(b, req.id, 'bob@example.com', { decision: 'approve' });
    expect(second.status).toBe(409);
    expect(((await second.json()) as { error: { code: string } }).error.code).toBe('already_decided');
  });

  it('refuses self-approval (403) and keeps the request pending', async () => {
    const req = pendingRequest({ approvers: [] });
    await storeA.create(req);
    const res = await decide(b, req.id, 'agent_reporting', { decision: 'approve' });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('self_approval');
    expect((await storeB.get(req.id))?.status).toBe('pending');
  });

  it('repeats the first result for a repeated Idempotency-Key across instances', async () => {
    const req = pendingRequest({ quorum: 2 });
    await storeA.create(req);
    const key = { 'Idempotency-Key': `hook-${randomBytes(4).toString('hex')}` };
    const first = await decide(a, req.id, 'alice@example.com', { decision: 'approve', via: 'webhook' }, key);
    expect(first.status).toBe(200);
    const again = await decide(b, req.id, 'alice@example.com', { decision: 'approve', via: 'webhook' }, key);
    expect(again.status).toBe(200);
    const body = (await again.json()) as { status: string; decisions: unknown[] };
    expect(body.status).toBe('pending');
    expect(body.decisions).toHaveLength(1);
    const noKey = await decide(b, req.id, 'alice@example.com', { decision: 'approve' });
    expect(noKey.status).toBe(409);
    expect(((await noKey.json()) as { error: { code: string } }).error.code).toBe('duplicate_vote');
  });

  it('404s an unknown id', async () => {
    const res = await decide(b, 'apr_nosuchthing', 'alice@example.com', { decision: 'approve' });
    expect(res.status).toBe(404);
  });
});
