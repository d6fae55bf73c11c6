// The approval service when the instance holding a request is gone: the request is withdrawn as instance_lost within
// a sweep, recorded once (by the instance that found it), announced to channels; a decision on it is refused; reading a
// due request settles it first.
import { afterEach, describe, expect, it } from 'vitest';
import type { AuditEvent, AuditLog } from '../../../src/audit/record.js';
import { silentLogger } from '../../../src/log.js';
import type { ApprovalChannel } from '../../../src/approvals/channels/channel.js';
import type { ApprovalRequest } from '../../../src/approvals/request.js';
import { createRedisStore, type RedisPendingStore } from '../../../src/approvals/redis-store.js';
import { createApprovalService, type ApprovalService } from '../../../src/approvals/service.js';
import { makeOpenInput } from '../../unit/approvals/fixtures.js';
import { redisUrl, uniquePrefix, until } from './redis-helpers.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function instance(name: string, keyPrefix: string, sweepIntervalMs = 0) {
  const store: RedisPendingStore = createRedisStore({ url: redisUrl(), keyPrefix, instance: name, heartbeatIntervalMs: 50, instanceTimeoutMs: 300 });
  cleanups.push(() => store.close());
  expect(await store.ready(5000)).toBe(true);
  const events: AuditEvent[] = [];
  const audit: AuditLog = { append: (e) => void events.push(e), appendDurable: async (e) => void events.push(e), close: async () => {} };
  const updates: ApprovalRequest[] = [];
  const channel: ApprovalChannel = { name: 'rec', requested: async () => {}, updated: async (r) => void updates.push(r) };
  const service: ApprovalService = createApprovalService({ store, channels: [channel], audit, logger: silentLogger, instance: name, publicUrl: 'http://pgwarden.test', progressIntervalMs: 0, sweepIntervalMs });
  cleanups.push(() => service.close());
  return { store, service, events, updates };
}

/** The holder's process vanishes: its heartbeat goes (closing the store deletes it at once), nothing withdraws its requests. */
async function crash(holder: { store: RedisPendingStore }): Promise<void> {
  await holder.store.close();
}

const pastGrace = () => new Promise((r) => setTimeout(r, 350));

describe('approval service: requests whose holder is gone', () => {
  it('the sweep of a live instance withdraws them (instance_lost), records each once and updates the channels', async () => {
    const prefix = uniquePrefix();
    const a = await instance('inst-a', prefix);
    const b = await instance('inst-b', prefix, 50);
    const c = await instance('inst-c', prefix, 50);
    const held = [await a.service.open(makeOpenInput()), await a.service.open(makeOpenInput())];
    await crash(a);
    const ids = held.map((p) => p.request.id);
    await until(async () => (await Promise.all(ids.map((id) => b.store.get(id)))).every((r) => r?.status === 'withdrawn'), 'both withdrawn', 5000);
    await until(() => [...b.events, ...c.events].filter((e) => e.event === 'withdrawn').length === 2, 'two audit records', 2000);
    const withdrawn = [...b.events, ...c.events].filter((e) => e.event === 'withdrawn');
    expect(withdrawn.map((e) => e.request_id).sort()).toEqual([...ids].sort());
    expect(withdrawn.every((e) => e.reason === 'instance_lost')).toBe(true);
    for (const id of ids) {
      const record = await b.store.get(id);
      expect(record).toMatchObject({ status: 'withdrawn', withdrawnReason: 'instance_lost', instance: 'inst-a' });
    }
    const announced = [...b.updates, ...c.updates].filter((u) => u.status === 'withdrawn');
    expect(announced.map((u) => u.id).sort()).toEqual([...ids].sort());
  });

  it('a decision on one answers instance_lost, and the deciding instance records the withdrawal', async () => {
    const prefix = uniquePrefix();
    const a = await instance('inst-a', prefix);
    const b = await instance('inst-b', prefix);
    const pending = await a.service.open(makeOpenInput());
    await crash(a);
    const result = await b.service.decide({ id: pending.request.id, by: 'alice@example.com', decision: 'approve', reason: 'ok' });
    expect(result).toMatchObject({ ok: false, error: 'instance_lost', request: { status: 'withdrawn', withdrawnReason: 'instance_lost' } });
    expect(b.events.map((e) => [e.event, e.reason])).toEqual([['withdrawn', 'instance_lost']]);
    expect(b.updates.map((u) => u.status)).toEqual(['withdrawn']);
    // Nobody voted: no vote record, nothing approved.
    expect(await b.service.decide({ id: pending.request.id, by: 'bob@example.com', decision: 'approve', reason: '' })).toMatchObject({ ok: false, error: 'instance_lost' });
    expect(b.events).toHaveLength(1);
  });

  it('reading a request or the list settles it first when its holder is gone', async () => {
    const prefix = uniquePrefix();
    const a = await instance('inst-a', prefix);
    const b = await instance('inst-b', prefix);
    const one = await a.service.open(makeOpenInput());
    const two = await a.service.open(makeOpenInput());
    await crash(a);
    await pastGrace();
    expect(await b.service.get(one.request.id)).toMatchObject({ status: 'withdrawn', withdrawnReason: 'instance_lost' });
    const list = await b.service.list({ status: undefined });
    expect(list.find((r) => r.id === two.request.id)).toMatchObject({ status: 'withdrawn', withdrawnReason: 'instance_lost' });
    expect(b.events.filter((e) => e.event === 'withdrawn').map((e) => e.request_id).sort()).toEqual([one.request.id, two.request.id].sort());
  });

  it('reading a due request of a live holder expires it, and the holder records the expiry', async () => {
    const prefix = uniquePrefix();
    const a = await instance('inst-a', prefix);
    const b = await instance('inst-b', prefix);
    // The holder's own timer is far away (a clock that runs behind), so only the reader can find it due.
    const pending = await a.service.open(makeOpenInput({ timeoutMs: 60_000 }));
    const late = createApprovalService({
      store: b.store,
      channels: [],
      audit: { append: () => {}, appendDurable: async () => {}, close: async () => {} },
      logger: silentLogger,
      instance: 'inst-b2',
      publicUrl: 'http://pgwarden.test',
      progressIntervalMs: 0,
      sweepIntervalMs: 0,
      now: () => Date.now() + 120_000,
    });
    cleanups.push(() => late.close());
    expect(await late.get(pending.request.id)).toMatchObject({ status: 'expired' });
    expect((await pending.outcome).status).toBe('expired');
    expect(a.events.map((e) => e.event)).toEqual(['review_requested', 'expired']);
  });

  it('a live holder that kept its heartbeat is never reaped, and its request still runs when approved', async () => {
    const prefix = uniquePrefix();
    const a = await instance('inst-a', prefix);
    const b = await instance('inst-b', prefix, 50);
    const pending = await a.service.open(makeOpenInput());
    await new Promise((r) => setTimeout(r, 700));
    expect((await b.store.get(pending.request.id))?.status).toBe('pending');
    await b.service.decide({ id: pending.request.id, by: 'alice@example.com', decision: 'approve', reason: '' });
    expect((await pending.outcome).status).toBe('approved');
  });
});
