// The PendingStore contract: the same cases run against the memory store (unit) and the Redis store (integration).
import { afterEach, describe, expect, it } from 'vitest';
import type { PendingStore, StoreEvent } from '../../../src/approvals/store.js';
import { T0, makeRequest, nextEvent } from './fixtures.js';

export interface StoreHarness {
  readonly store: PendingStore;
  /** Moves this harness's clock forward (both stores take `now`). */
  advance(ms: number): void;
}

export function storeContract(name: string, make: () => Promise<StoreHarness>): void {
  describe(`PendingStore contract: ${name}`, () => {
    const open: PendingStore[] = [];
    async function harness(): Promise<StoreHarness> {
      const h = await make();
      open.push(h.store);
      return h;
    }
    afterEach(async () => {
      await Promise.all(open.splice(0).map((s) => s.close()));
    });

    it('stores a request and reads it back unchanged, listed as pending', async () => {
      const { store } = await harness();
      const req = makeRequest({ approvers: [], decisions: [], tables: [] });
      await store.create(req);
      expect(await store.get(req.id)).toEqual(req);
      expect((await store.list({ status: 'pending' })).map((r) => r.id)).toContain(req.id);
      expect(await store.get('apr_missing0000')).toBeNull();
    });

    it('refuses to create the same id twice', async () => {
      const { store } = await harness();
      const req = makeRequest();
      await store.create(req);
      await expect(store.create(req)).rejects.toThrow(/exists/);
    });

    it('lets the first valid decision win and answers later ones already_decided', async () => {
      const { store } = await harness();
      const req = makeRequest();
      await store.create(req);
      const first = await store.decide({ id: req.id, by: 'alice@example.com', decision: 'approve', reason: 'ok', via: 'api' });
      expect(first).toMatchObject({ ok: true, settled: true, request: { status: 'approved' } });
      const second = await store.decide({ id: req.id, by: 'bob@example.com', decision: 'deny', reason: 'no' });
      expect(second).toMatchObject({ ok: false, error: 'already_decided', request: { status: 'approved' } });
      const stored = await store.get(req.id);
      expect(stored?.decisions).toEqual([{ by: 'alice@example.com', decision: 'approve', reason: 'ok', at: new Date(T0).toISOString(), scope: 'once', via: 'api' }]);
      expect(stored?.decidedAt).toBe(new Date(T0).toISOString());
      expect((await store.list({ status: 'pending' })).map((r) => r.id)).not.toContain(req.id);
      expect((await store.list({ status: 'approved' })).map((r) => r.id)).toContain(req.id);
    });

    it('lets only one of many concurrent decisions win', async () => {
      const { store } = await harness();
      const req = makeRequest();
      await store.create(req);
      const results = await Promise.all(
        ['alice@example.com', 'bob@example.com', 'dave@example.com'].map((by, i) =>
          store.decide({ id: req.id, by, decision: i % 2 ? 'deny' : 'approve', reason: by }),
        ),
      );
      expect(results.filter((r) => r.ok)).toHaveLength(1);
      expect(results.filter((r) => !r.ok && r.error === 'already_decided')).toHaveLength(2);
    });

    it('refuses self-approval by the requesting user or its owner, case-insensitively, even when listed as approver', async () => {
      const { store } = await harness();
      const req = makeRequest({ approvers: ['agent_bob', 'carol@example.com', 'alice@example.com'] });
      await store.create(req);
      expect(await store.decide({ id: req.id, by: 'AGENT_Bob', decision: 'approve', reason: '' })).toMatchObject({ ok: false, error: 'self_approval' });
      expect(await store.decide({ id: req.id, by: ' carol@EXAMPLE.com', decision: 'approve', reason: '' })).toMatchObject({ ok: false, error: 'self_approval' });
      expect((await store.get(req.id))?.status).toBe('pending');
    });

    it("refuses the agent's owner exactly like the requester: approve or deny, any case or surrounding space", async () => {
      const { store } = await harness();
      const req = makeRequest({ actor: { user: 'agent_bob', application: 'claude', address: '10.0.0.7', owner: ' Carol@Example.com ' }, approvers: ['carol@example.com', 'alice@example.com'] });
      await store.create(req);
      for (const by of ['carol@example.com', 'CAROL@EXAMPLE.COM', '\tcarol@example.com  ']) {
        for (const decision of ['approve', 'deny'] as const) {
          expect(await store.decide({ id: req.id, by, decision, reason: '' })).toMatchObject({ ok: false, error: 'self_approval', request: { status: 'pending', decisions: [] } });
        }
      }
      expect(await store.decide({ id: req.id, by: 'alice@example.com', decision: 'approve', reason: '' })).toMatchObject({ ok: true, settled: true });
    });

    it('keys idempotency per approver: another approver sending the same key is a new decision, not a replay', async () => {
      const { store } = await harness();
      const req = makeRequest({ quorum: 2 });
      await store.create(req);
      const key = 'delivery-7';
      expect(await store.decide({ id: req.id, by: 'alice@example.com', decision: 'approve', reason: 'fine', idempotencyKey: key })).toMatchObject({ ok: true, settled: false });
      const bob = await store.decide({ id: req.id, by: 'bob@example.com', decision: 'deny', reason: 'no', idempotencyKey: key });
      expect(bob).toMatchObject({ ok: true, settled: true, request: { status: 'denied' } });
      expect(bob.ok && bob.replayed).toBeFalsy();
      expect((await store.get(req.id))?.decisions.map((d) => [d.by, d.decision])).toEqual([
        ['alice@example.com', 'approve'],
        ['bob@example.com', 'deny'],
      ]);
      // The same approver under another spelling of their identity is still the same approver.
      expect(await store.decide({ id: req.id, by: ' Alice@Example.com', decision: 'approve', reason: 'fine', idempotencyKey: key })).toMatchObject({ ok: true, replayed: true });
    });

    it('refuses an idempotency key reused by the same approver with another decision, reason or scope', async () => {
      const { store } = await harness();
      const req = makeRequest({ quorum: 2 });
      await store.create(req);
      const first = { id: req.id, by: 'alice@example.com', decision: 'approve' as const, reason: 'ok', scope: 'once' as const, idempotencyKey: 'k' };
      await store.decide(first);
      expect(await store.decide({ ...first, decision: 'deny' })).toMatchObject({ ok: false, error: 'idempotency_mismatch' });
      expect(await store.decide({ ...first, reason: 'changed my mind' })).toMatchObject({ ok: false, error: 'idempotency_mismatch' });
      expect(await store.decide({ ...first, scope: 'fingerprint' })).toMatchObject({ ok: false, error: 'idempotency_mismatch' });
      expect(await store.decide(first)).toMatchObject({ ok: true, replayed: true, settled: false });
      expect((await store.get(req.id))?.decisions).toHaveLength(1);
      // The key is the same approver's on another request too: keys are per request.
      const other = makeRequest();
      await store.create(other);
      expect(await store.decide({ ...first, id: other.id, decision: 'deny' })).toMatchObject({ ok: true, settled: true, request: { status: 'denied' } });
    });

    it('keeps the capped text fields of a request as created', async () => {
      const { store } = await harness();
      const req = makeRequest({ sql: 'SELECT 1', sqlTruncated: true, sqlLength: 70_000, sqlSha256: 'ab'.repeat(32) });
      await store.create(req);
      expect(await store.get(req.id)).toMatchObject({ sqlTruncated: true, sqlLength: 70_000, sqlSha256: 'ab'.repeat(32) });
    });

    it('refuses identities outside the approver list, and accepts anyone but the requester when the list is empty', async () => {
      const { store } = await harness();
      const listed = makeRequest({ approvers: ['alice@example.com'] });
      await store.create(listed);
      expect(await store.decide({ id: listed.id, by: 'mallory@example.com', decision: 'approve', reason: '' })).toMatchObject({ ok: false, error: 'not_approver' });
      expect(await store.decide({ id: listed.id, by: 'Alice@Example.com', decision: 'approve', reason: '' })).toMatchObject({ ok: true, settled: true });
      const open = makeRequest({ approvers: [] });
      await store.create(open);
      expect(await store.decide({ id: open.id, by: 'agent_bob', decision: 'approve', reason: '' })).toMatchObject({ ok: false, error: 'self_approval' });
      expect(await store.decide({ id: open.id, by: 'mallory@example.com', decision: 'approve', reason: '' })).toMatchObject({ ok: true, settled: true });
    });

    it('needs quorum distinct approvers and refuses a duplicate vote', async () => {
      const { store } = await harness();
      const req = makeRequest({ quorum: 2 });
      await store.create(req);
      expect(await store.decide({ id: req.id, by: 'alice@example.com', decision: 'approve', reason: 'one' })).toMatchObject({ ok: true, settled: false, request: { status: 'pending' } });
      expect(await store.decide({ id: req.id, by: 'ALICE@example.com', decision: 'approve', reason: 'again' })).toMatchObject({ ok: false, error: 'duplicate_vote' });
      const done = await store.decide({ id: req.id, by: 'bob@example.com', decision: 'approve', reason: 'two' });
      expect(done).toMatchObject({ ok: true, settled: true, request: { status: 'approved' } });
      expect(done.request?.decisions.map((d) => d.by)).toEqual(['alice@example.com', 'bob@example.com']);
    });

    it('settles as denied on any deny, even after approvals below quorum', async () => {
      const { store } = await harness();
      const req = makeRequest({ quorum: 3 });
      await store.create(req);
      await store.decide({ id: req.id, by: 'alice@example.com', decision: 'approve', reason: '' });
      const res = await store.decide({ id: req.id, by: 'bob@example.com', decision: 'deny', reason: 'drops prod data' });
      expect(res).toMatchObject({ ok: true, settled: true, request: { status: 'denied' } });
      expect(res.request?.decisions[1]).toMatchObject({ by: 'bob@example.com', decision: 'deny', reason: 'drops prod data' });
      expect(res.request?.decisions[1]?.scope).toBeUndefined();
    });

    it('returns the first result for a repeated idempotency key instead of an error', async () => {
      const { store } = await harness();
      const req = makeRequest({ quorum: 2 });
      await store.create(req);
      const input = { id: req.id, by: 'alice@example.com', decision: 'approve' as const, reason: 'ok', idempotencyKey: 'k-1' };
      const first = await store.decide(input);
      const again = await store.decide(input);
      expect(first).toMatchObject({ ok: true, settled: false });
      expect(again).toMatchObject({ ok: true, settled: false, replayed: true });
      expect((await store.get(req.id))?.decisions).toHaveLength(1);
      // Without the key the same vote is a duplicate.
      expect(await store.decide({ ...input, idempotencyKey: undefined })).toMatchObject({ ok: false, error: 'duplicate_vote' });
      const settling = await store.decide({ ...input, by: 'bob@example.com', idempotencyKey: 'k-2' });
      expect(await store.decide({ ...input, by: 'bob@example.com', idempotencyKey: 'k-2' })).toMatchObject({ ok: true, settled: settling.ok && settling.settled, replayed: true });
    });

    it('answers not_found for an unknown id', async () => {
      const { store } = await harness();
      expect(await store.decide({ id: 'apr_nosuchreq0', by: 'alice@example.com', decision: 'approve', reason: '' })).toEqual({ ok: false, error: 'not_found', request: null });
    });

    it('expires a pending request once, and a decision after the expiry time finds it expired', async () => {
      const h = await harness();
      const { store } = h;
      const a = makeRequest();
      await store.create(a);
      expect(await store.expire(a.id)).toMatchObject({ status: 'expired' });
      expect(await store.decide({ id: a.id, by: 'alice@example.com', decision: 'approve', reason: '' })).toMatchObject({ ok: false, error: 'already_decided', request: { status: 'expired' } });
      const b = makeRequest();
      await store.create(b);
      h.advance(300_000);
      expect(await store.decide({ id: b.id, by: 'alice@example.com', decision: 'approve', reason: '' })).toMatchObject({ ok: false, error: 'already_decided', request: { status: 'expired' } });
      expect((await store.get(b.id))?.status).toBe('expired');
    });

    it('expire and withdraw leave an already final request as it is', async () => {
      const { store } = await harness();
      const req = makeRequest();
      await store.create(req);
      await store.decide({ id: req.id, by: 'alice@example.com', decision: 'deny', reason: 'no' });
      expect(await store.expire(req.id)).toMatchObject({ status: 'denied' });
      expect(await store.withdraw(req.id, 'client_cancel')).toMatchObject({ status: 'denied' });
      expect(await store.expire('apr_nosuchreq0')).toBeNull();
    });

    it('withdraws a pending request with its reason and refuses decisions afterwards', async () => {
      const { store } = await harness();
      const req = makeRequest();
      await store.create(req);
      expect(await store.withdraw(req.id, 'client_disconnect')).toMatchObject({ status: 'withdrawn', withdrawnReason: 'client_disconnect' });
      expect(await store.decide({ id: req.id, by: 'alice@example.com', decision: 'approve', reason: '' })).toMatchObject({ ok: false, error: 'already_decided' });
    });

    it('records fingerprint scope only where the request allows it', async () => {
      const { store } = await harness();
      const allowed = makeRequest();
      const onceOnly = makeRequest({ scopes: ['once'] });
      await store.create(allowed);
      await store.create(onceOnly);
      const a = await store.decide({ id: allowed.id, by: 'alice@example.com', decision: 'approve', reason: '', scope: 'fingerprint' });
      const b = await store.decide({ id: onceOnly.id, by: 'alice@example.com', decision: 'approve', reason: '', scope: 'fingerprint' });
      expect(a.request?.decisions[0]?.scope).toBe('fingerprint');
      expect(b.request?.decisions[0]?.scope).toBe('once');
    });

    it('publishes created and updated events with the full request', async () => {
      const { store } = await harness();
      const events: StoreEvent[] = [];
      const off = store.subscribe((e) => events.push(e));
      const req = makeRequest();
      const updated = nextEvent(store.subscribe, (e) => e.request.id === req.id && e.type === 'updated', 'updated event');
      await store.create(req);
      await store.decide({ id: req.id, by: 'alice@example.com', decision: 'approve', reason: 'fine' });
      const ev = await updated;
      expect(ev.request).toMatchObject({ id: req.id, status: 'approved', sql: req.sql, actor: req.actor, approvers: req.approvers });
      expect(events.find((e) => e.type === 'created' && e.request.id === req.id)?.request).toEqual(req);
      off();
    });

    it('finds a grant until its expiry', async () => {
      const h = await harness();
      const grant = { id: 'grt_1', requestId: 'apr_1', fingerprint: 'fp1', actorKey: 'agent_bob|claude', database: 'app', approvedBy: ['alice@example.com'], expiresAt: new Date(T0 + 60_000).toISOString() };
      await h.store.putGrant(grant);
      expect(await h.store.findGrant('fp1', 'agent_bob|claude', 'app')).toEqual(grant);
      expect(await h.store.findGrant('fp1', 'agent_bob|other', 'app')).toBeNull();
      expect(await h.store.findGrant('fp1', 'agent_bob|claude', 'other')).toBeNull();
      h.advance(60_000);
      expect(await h.store.findGrant('fp1', 'agent_bob|claude', 'app')).toBeNull();
    });

    it('keeps a small key-value space with optional TTL', async () => {
      const h = await harness();
      await h.store.kvSet('teams', 'a', '1');
      await h.store.kvSet('teams', 'b', '2', 1000);
      expect(await h.store.kvGet('teams', 'a')).toBe('1');
      expect(Object.fromEntries(await h.store.kvList('teams'))).toEqual({ a: '1', b: '2' });
      h.advance(1000);
      expect(await h.store.kvGet('teams', 'b')).toBeNull();
      expect(Object.fromEntries(await h.store.kvList('teams'))).toEqual({ a: '1' });
      expect(await h.store.kvGet('other', 'a')).toBeNull();
    });

    it('lists pending oldest first, then decided newest first, honouring the limit', async () => {
      const h = await harness();
      const p1 = makeRequest({ createdAt: new Date(T0 - 2000).toISOString() });
      const p2 = makeRequest({ createdAt: new Date(T0 - 1000).toISOString() });
      const d1 = makeRequest();
      await h.store.create(p2);
      await h.store.create(p1);
      await h.store.create(d1);
      await h.store.decide({ id: d1.id, by: 'alice@example.com', decision: 'approve', reason: '' });
      const ids = (await h.store.list()).map((r) => r.id);
      expect(ids.slice(0, 3)).toEqual([p1.id, p2.id, d1.id]);
      expect(await h.store.list({ limit: 1 })).toHaveLength(1);
      expect(h.store.isAvailable()).toBe(true);
    });
  });
}
