// The approval service over the memory store: notices, outcomes, channel updates by the holding instance, grants, audit.
import { afterEach, describe, expect, it } from 'vitest';
import { ApprovalsUnavailable } from '../../../src/errors.js';
import type { AuditEvent, AuditLog } from '../../../src/audit/record.js';
import { createMetrics } from '../../../src/metrics.js';
import { silentLogger } from '../../../src/log.js';
import type { ApprovalChannel } from '../../../src/approvals/channels/channel.js';
import type { ApprovalRequest } from '../../../src/approvals/request.js';
import type { PendingStore } from '../../../src/approvals/store.js';
import { createMemoryStore } from '../../../src/approvals/memory-store.js';
import { createApprovalService, type ApprovalService } from '../../../src/approvals/service.js';
import { makeOpenInput } from './fixtures.js';

function recordingAudit(): AuditLog & { events: AuditEvent[] } {
  const events: AuditEvent[] = [];
  return { events, append: (e) => void events.push(e), appendDurable: async (e) => void events.push(e), close: async () => {} };
}

function recordingChannel(name = 'rec', fail = false): ApprovalChannel & { requestedIds: string[]; updates: ApprovalRequest[] } {
  const requestedIds: string[] = [];
  const updates: ApprovalRequest[] = [];
  return {
    name,
    requestedIds,
    updates,
    async requested(r) {
      requestedIds.push(r.id);
      if (fail) throw new Error('delivery refused');
    },
    async updated(r) {
      updates.push(r);
      if (fail) throw new Error('delivery refused');
    },
  };
}

const services: ApprovalService[] = [];
afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.close()));
});

function makeService(store: PendingStore, extra: Partial<Parameters<typeof createApprovalService>[0]> = {}) {
  const audit = recordingAudit();
  const channel = recordingChannel();
  const metrics = createMetrics({ processMetrics: false });
  const service = createApprovalService({
    store,
    channels: [channel],
    audit,
    metrics,
    logger: silentLogger,
    instance: 'inst-a',
    publicUrl: 'https://pgwarden.example.com/',
    progressIntervalMs: 0,
    ...extra,
  });
  services.push(service);
  return { service, audit, channel, metrics };
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('approval service', () => {
  it('opens a request with a notice naming id, rule, URL and expiry, and notifies channels', async () => {
    const store = createMemoryStore();
    const { service, audit, channel, metrics } = makeService(store, { idFactory: () => 'apr_test000001' });
    const pending = await service.open(makeOpenInput());
    expect(pending.notice).toBe('pgwarden: waiting for approval of request apr_test000001 (rule ddl); approve at https://pgwarden.example.com/#/approvals/apr_test000001; expires in 5m');
    expect(await store.get('apr_test000001')).toMatchObject({ status: 'pending', fingerprint: 'fp_create_x', instance: 'inst-a', tables: ['x'] });
    await until(() => channel.requestedIds.length === 1, 'channel notified');
    expect(audit.events.map((e) => e.event)).toEqual(['review_requested']);
    expect((await metrics.approvalsPending.get()).values[0]?.value).toBe(1);
  });

  it('settles approved when an approver decides, audits vote and outcome, and updates channels once', async () => {
    const { service, audit, channel, metrics } = makeService(createMemoryStore());
    const pending = await service.open(makeOpenInput());
    const res = await service.decide({ id: pending.request.id, by: 'alice@example.com', decision: 'approve', reason: 'ok', via: 'api' });
    expect(res).toMatchObject({ ok: true, settled: true });
    const outcome = await pending.outcome;
    expect(outcome.status).toBe('approved');
    await until(() => channel.updates.length === 1, 'channel updated');
    expect(channel.updates[0]?.status).toBe('approved');
    // vote (deciding instance) and approved (holding instance) can be written in either order.
    expect(audit.events.map((e) => e.event).sort()).toEqual(['approved', 'review_requested', 'vote']);
    const approved = audit.events.find((e) => e.event === 'approved');
    expect(approved).toMatchObject({ request_id: pending.request.id, approvers: ['alice@example.com'] });
    expect(approved?.grant_id).toBeUndefined();
    const counted = (await metrics.approvalRequests.get()).values.find((v) => v.labels.outcome === 'approved');
    expect(counted?.value).toBe(1);
    expect((await metrics.approvalsPending.get()).values[0]?.value).toBe(0);
  });

  it('settles denied with the approver and reason', async () => {
    const { service } = makeService(createMemoryStore());
    const pending = await service.open(makeOpenInput());
    await service.decide({ id: pending.request.id, by: 'bob@example.com', decision: 'deny', reason: 'not on a Friday' });
    expect(await pending.outcome).toMatchObject({ status: 'denied', by: 'bob@example.com', reason: 'not on a Friday' });
  });

  it('expires a request nobody decided and marks it expired in the store', async () => {
    const store = createMemoryStore();
    const { service, audit } = makeService(store);
    const pending = await service.open(makeOpenInput({ timeoutMs: 30 }));
    expect((await pending.outcome).status).toBe('expired');
    expect((await store.get(pending.request.id))?.status).toBe('expired');
    expect(audit.events.at(-1)?.event).toBe('expired');
  });

  it('withdraws on client cancel and approvers see the reason', async () => {
    const store = createMemoryStore();
    const { service, channel } = makeService(store);
    const pending = await service.open(makeOpenInput());
    pending.withdraw('client_cancel');
    expect((await pending.outcome).status).toBe('withdrawn');
    expect(await store.get(pending.request.id)).toMatchObject({ status: 'withdrawn', withdrawnReason: 'client_cancel' });
    await until(() => channel.updates.some((u) => u.status === 'withdrawn'), 'channel shows withdrawn');
  });

  it('sends progress notices while waiting', async () => {
    const { service } = makeService(createMemoryStore(), { progressIntervalMs: 10 });
    const pending = await service.open(makeOpenInput());
    const notice = await new Promise<string>((resolve) => pending.onProgress(resolve));
    expect(notice).toMatch(new RegExp(`^pgwarden: still waiting for approval of request ${pending.request.id} \\((5m|4m59s) left\\)$`));
    pending.withdraw('client_disconnect');
    await pending.outcome;
  });

  it('counts a failing channel without failing the request', async () => {
    const audit = recordingAudit();
    const broken = recordingChannel('webhook', true);
    const metrics = createMetrics({ processMetrics: false });
    const service = createApprovalService({ store: createMemoryStore(), channels: [broken], audit, metrics, logger: silentLogger, instance: 'a', publicUrl: 'http://x', progressIntervalMs: 0 });
    services.push(service);
    const pending = await service.open(makeOpenInput());
    await until(() => broken.requestedIds.length === 1, 'delivery attempted');
    await new Promise((r) => setTimeout(r, 10));
    expect((await metrics.channelDeliveryFailures.get()).values.find((v) => v.labels.channel === 'webhook')?.value).toBe(1);
    pending.withdraw('client_cancel');
    expect((await pending.outcome).status).toBe('withdrawn');
  });

  it('creates a fingerprint grant that lets the same shape from the same actor pass, and audits its use', async () => {
    const { service, audit, metrics } = makeService(createMemoryStore());
    const input = makeOpenInput();
    expect(await service.findGrant(input)).toBeNull();
    const pending = await service.open(input);
    await service.decide({ id: pending.request.id, by: 'alice@example.com', decision: 'approve', reason: 'all day', scope: 'fingerprint' });
    await pending.outcome;
    const approved = audit.events.find((e) => e.event === 'approved');
    expect(approved?.grant_id).toMatch(/^grt_/);
    const match = await service.findGrant(makeOpenInput({}, { connectionId: 'c2', actor: { user: 'agent_bob', application: 'claude', address: '10.9.9.9' } }));
    expect(match).toEqual({ grantId: approved?.grant_id, requestId: pending.request.id, approvedBy: ['alice@example.com'] });
    expect(audit.events.at(-1)).toMatchObject({ event: 'grant_used', grant_id: approved?.grant_id, connection_id: 'c2' });
    expect((await metrics.grantsUsed.get()).values[0]?.value).toBe(1);
    // Another application, another database: no grant.
    expect(await service.findGrant(makeOpenInput({}, { actor: { user: 'agent_bob', application: 'psql', address: '10.0.0.7' } }))).toBeNull();
    expect(await service.findGrant(makeOpenInput({}, { database: 'other' }))).toBeNull();
  });

  it('only the holding instance updates channels when another instance decides', async () => {
    const store = createMemoryStore();
    const a = makeService(store, { instance: 'inst-a' });
    const b = makeService(store, { instance: 'inst-b' });
    const pending = await a.service.open(makeOpenInput({ quorum: 2 }));
    await b.service.decide({ id: pending.request.id, by: 'alice@example.com', decision: 'approve', reason: '', via: 'console' });
    await until(() => a.channel.updates.length === 1, 'vote shown');
    await b.service.decide({ id: pending.request.id, by: 'bob@example.com', decision: 'approve', reason: '' });
    expect((await pending.outcome).status).toBe('approved');
    await until(() => a.channel.updates.length === 2, 'outcome shown');
    expect(b.channel.updates).toHaveLength(0);
    expect(b.audit.events.filter((e) => e.event === 'vote')).toHaveLength(2);
    expect(a.audit.events.filter((e) => e.event === 'approved')).toHaveLength(1);
  });

  it('does not audit a replayed idempotent decision twice', async () => {
    const { service, audit } = makeService(createMemoryStore());
    const pending = await service.open(makeOpenInput());
    const input = { id: pending.request.id, by: 'alice@example.com', decision: 'approve' as const, reason: '', idempotencyKey: 'abc' };
    await service.decide(input);
    expect(await service.decide(input)).toMatchObject({ ok: true, replayed: true });
    expect(audit.events.filter((e) => e.event === 'vote')).toHaveLength(1);
  });

  it('rejects open and findGrant with ApprovalsUnavailable when the store is down', async () => {
    const real = createMemoryStore();
    const down: PendingStore = { ...real, isAvailable: () => false };
    const { service } = makeService(down);
    await expect(service.open(makeOpenInput())).rejects.toBeInstanceOf(ApprovalsUnavailable);
    await expect(service.findGrant(makeOpenInput())).rejects.toBeInstanceOf(ApprovalsUnavailable);
  });

  it('settles a due request before get() and list() show it, and the holder records the expiry', async () => {
    let t = Date.now();
    const store = createMemoryStore({ now: () => t });
    const { service, audit } = makeService(store, { now: () => t, sweepIntervalMs: 0 });
    const pending = await service.open(makeOpenInput({ timeoutMs: 60_000 }));
    expect((await service.get(pending.request.id))?.status).toBe('pending');
    // The clock jumps past the expiry before the holder's timer fires (a suspended laptop, a clock step).
    t += 120_000;
    expect((await service.get(pending.request.id))?.status).toBe('expired');
    expect((await pending.outcome).status).toBe('expired');
    expect((await service.list()).find((r) => r.id === pending.request.id)?.status).toBe('expired');
    expect(audit.events.map((e) => e.event)).toEqual(['review_requested', 'expired']);
  });

  it('caps the stored statement text at maxStoredSql with the whole text’s length and hash', async () => {
    const store = createMemoryStore();
    const { service } = makeService(store, { maxStoredSql: 16 });
    const sql = "CREATE TABLE x (a int DEFAULT 'ééééééé')";
    const pending = await service.open(makeOpenInput({}, { sql }));
    const stored = await store.get(pending.request.id);
    expect(stored).toMatchObject({ sql: 'CREATE TABLE x (', sqlTruncated: true, sqlLength: Buffer.byteLength(sql) });
    expect(stored?.sqlSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(Buffer.byteLength(stored!.normalized)).toBeLessThanOrEqual(16);
    pending.withdraw('client_cancel');
  });

  it('withdraws requests still held when closed', async () => {
    const store = createMemoryStore();
    const { service } = makeService(store);
    const pending = await service.open(makeOpenInput());
    await service.close();
    expect(await pending.outcome).toMatchObject({ status: 'withdrawn', request: { withdrawnReason: 'shutdown' } });
  });
});
