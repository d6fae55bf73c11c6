// The approval service on real Redis with two instances: held on A, decided through B; expiry and withdrawal recorded for everyone.
import { afterEach, describe, expect, it } from 'vitest';
import type { AuditEvent, AuditLog } from '../../../src/audit/record.js';
import { silentLogger } from '../../../src/log.js';
import type { ApprovalChannel } from '../../../src/approvals/channels/channel.js';
import type { ApprovalRequest } from '../../../src/approvals/request.js';
import { createRedisStore, type RedisPendingStore } from '../../../src/approvals/redis-store.js';
import { createApprovalService, type ApprovalService } from '../../../src/approvals/service.js';
import { makeOpenInput } from '../../unit/approvals/fixtures.js';
import { redisUrl, uniquePrefix, until } from './redis-helpers.js';

describe('approval service on Redis, two instances', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function instance(name: string, keyPrefix: string) {
    const store: RedisPendingStore = createRedisStore({ url: redisUrl(), keyPrefix });
    cleanups.push(() => store.close());
    expect(await store.ready(5000)).toBe(true);
    const events: AuditEvent[] = [];
    const audit: AuditLog = { append: (e) => void events.push(e), appendDurable: async (e) => void events.push(e), close: async () => {} };
    const updates: ApprovalRequest[] = [];
    const channel: ApprovalChannel = { name: 'rec', requested: async () => {}, updated: async (r) => void updates.push(r) };
    const service: ApprovalService = createApprovalService({ store, channels: [channel], audit, logger: silentLogger, instance: name, publicUrl: 'http://pgwarden.test', progressIntervalMs: 0 });
    cleanups.push(() => service.close());
    return { store, service, events, updates };
  }

  it('completes on A when approved through B, with quorum 2 of distinct approvers', async () => {
    const prefix = uniquePrefix();
    const a = await instance('inst-a', prefix);
    const b = await instance('inst-b', prefix);
    const pending = await a.service.open(makeOpenInput({ quorum: 2 }));
    expect(await b.service.decide({ id: pending.request.id, by: 'alice@example.com', decision: 'approve', reason: '' })).toMatchObject({ ok: true, settled: false });
    expect(await b.service.decide({ id: pending.request.id, by: 'alice@example.com', decision: 'approve', reason: '' })).toMatchObject({ ok: false, error: 'duplicate_vote' });
    expect(await b.service.decide({ id: pending.request.id, by: 'agent_bob', decision: 'approve', reason: '' })).toMatchObject({ ok: false, error: 'self_approval' });
    await b.service.decide({ id: pending.request.id, by: 'bob@example.com', decision: 'approve', reason: '', scope: 'fingerprint' });
    expect((await pending.outcome).status).toBe('approved');
    await until(() => a.updates.some((u) => u.status === 'approved'), 'A updates its channels');
    expect(b.updates).toHaveLength(0);
    expect(await b.service.decide({ id: pending.request.id, by: 'bob@example.com', decision: 'deny', reason: '' })).toMatchObject({ ok: false, error: 'already_decided' });
    // alice chose once, bob fingerprint: the approval is not reusable.
    expect(await b.service.findGrant(makeOpenInput())).toBeNull();
  });

  it('lets a fingerprint approval made on B pass the same shape on B later', async () => {
    const prefix = uniquePrefix();
    const a = await instance('inst-a', prefix);
    const b = await instance('inst-b', prefix);
    const pending = await a.service.open(makeOpenInput());
    await b.service.decide({ id: pending.request.id, by: 'alice@example.com', decision: 'approve', reason: '', scope: 'fingerprint' });
    await pending.outcome;
    await until(async () => (await b.service.findGrant(makeOpenInput())) !== null, 'grant visible on B');
    expect(b.events.some((e) => e.event === 'grant_used')).toBe(true);
  });

  it('expires on the holding instance and B sees it expired', async () => {
    const prefix = uniquePrefix();
    const a = await instance('inst-a', prefix);
    const b = await instance('inst-b', prefix);
    const pending = await a.service.open(makeOpenInput({ timeoutMs: 50 }));
    expect((await pending.outcome).status).toBe('expired');
    expect(await b.store.get(pending.request.id)).toMatchObject({ status: 'expired' });
    expect(await b.service.decide({ id: pending.request.id, by: 'alice@example.com', decision: 'approve', reason: '' })).toMatchObject({ ok: false, error: 'already_decided' });
    expect(a.events.map((e) => e.event)).toEqual(['review_requested', 'expired']);
  });

  it('records a withdrawal that approvers on B see', async () => {
    const prefix = uniquePrefix();
    const a = await instance('inst-a', prefix);
    const b = await instance('inst-b', prefix);
    const pending = await a.service.open(makeOpenInput());
    const seen = new Promise<ApprovalRequest>((resolve) => b.store.subscribe((e) => e.request.status === 'withdrawn' && resolve(e.request)));
    pending.withdraw('client_disconnect');
    expect((await pending.outcome).status).toBe('withdrawn');
    expect(await seen).toMatchObject({ id: pending.request.id, withdrawnReason: 'client_disconnect' });
    expect((await b.store.list({ status: 'withdrawn' })).map((r) => r.id)).toContain(pending.request.id);
  });
});
