// In-memory PendingStore for a single pgwarden instance (the embedded default), with the same semantics as redis-store.ts.
import type { ApprovalRequest } from './request.js';
import type { DecideInput, DecideResult, Grant, PendingStore, StoreEvent } from './store.js';
import { DEFAULT_RETENTION_MS, applyDecision, decisionBodyHash, finalize } from './decision-rules.js';
import { normalizeIdentity } from './identity.js';
import { compareForList } from './list-order.js';

export interface MemoryStoreOptions {
  readonly now?: () => number;
  /** How long final records stay listable (default 24 h). */
  readonly retentionMs?: number;
  /** Final records kept at most (default 1000, like the Redis store's recent index); the oldest decided go first. */
  readonly recentMax?: number;
}

export function createMemoryStore(options: MemoryStoreOptions = {}): PendingStore {
  const now = options.now ?? Date.now;
  const retentionMs = options.retentionMs ?? DEFAULT_RETENTION_MS;
  const recentMax = options.recentMax ?? 1000;
  const records = new Map<string, ApprovalRequest>();
  /** `${id}\n${approver}\n${key}` → settled flag and body hash of the first successful decision with that key. */
  const idempotency = new Map<string, { settled: boolean; body: string; until: number }>();
  const grants = new Map<string, Grant>();
  const kv = new Map<string, Map<string, { value: string; until: number }>>();
  const listeners = new Set<(event: StoreEvent) => void>();
  let closed = false;

  function emit(event: StoreEvent): void {
    // Delivered on a later microtask, as Redis pub/sub delivers after the command returns: callers must not rely on order.
    queueMicrotask(() => {
      for (const listener of listeners) {
        try {
          listener(event);
        } catch {
          // A failing listener must not stop the others.
        }
      }
    });
  }

  function put(request: ApprovalRequest, type: StoreEvent['type']): ApprovalRequest {
    const frozen = Object.freeze({ ...request, decisions: Object.freeze([...request.decisions]) });
    records.set(frozen.id, frozen);
    emit({ type, request: frozen });
    return frozen;
  }

  /** Drops records past their retention, the way Redis TTLs do. */
  function prune(): void {
    const t = now();
    for (const [id, r] of records) {
      const end = r.decidedAt !== null ? Date.parse(r.decidedAt) : Date.parse(r.expiresAt);
      if (t > end + retentionMs) records.delete(id);
    }
    const final = [...records.values()].filter((r) => r.status !== 'pending');
    if (final.length > recentMax) {
      final.sort((a, b) => Date.parse(a.decidedAt!) - Date.parse(b.decidedAt!));
      for (const r of final.slice(0, final.length - recentMax)) records.delete(r.id);
    }
    for (const [k, v] of idempotency) if (t > v.until) idempotency.delete(k);
    for (const [k, g] of grants) if (t >= Date.parse(g.expiresAt)) grants.delete(k);
  }

  function settleIfFinal(id: string, status: 'expired' | 'withdrawn', reason?: string): ApprovalRequest | null {
    const current = records.get(id);
    if (!current) return null;
    if (current.status !== 'pending') return current;
    return put(finalize(current, status, new Date(now()).toISOString(), reason), 'updated');
  }

  return {
    async create(request) {
      if (closed) throw new Error('memory store is closed');
      prune();
      if (records.has(request.id)) throw new Error(`approval request ${request.id} already exists`);
      put(request, 'created');
    },
    async get(id) {
      return records.get(id) ?? null;
    },
    async list(filter = {}) {
      prune();
      const limit = filter.limit ?? 100;
      const all = [...records.values()].filter((r) => filter.status === undefined || r.status === filter.status);
      return all.sort(compareForList).slice(0, limit);
    },
    async decide(input: DecideInput): Promise<DecideResult> {
      const current = records.get(input.id);
      if (!current) return { ok: false, error: 'not_found', request: null };
      const idemKey = input.idempotencyKey ? `${input.id}\n${normalizeIdentity(input.by)}\n${input.idempotencyKey}` : null;
      const seen = idemKey ? idempotency.get(idemKey) : undefined;
      const body = decisionBodyHash(input);
      if (seen && seen.body !== body) return { ok: false, error: 'idempotency_mismatch', request: current };
      if (seen) return { ok: true, request: current, settled: seen.settled, replayed: true };
      const step = applyDecision(current, input, now());
      if (step.kind === 'error') {
        if (step.changed) return { ok: false, error: step.error, request: put(step.changed, 'updated') };
        return { ok: false, error: step.error, request: step.request };
      }
      const stored = put(step.request, 'updated');
      if (idemKey) idempotency.set(idemKey, { settled: step.settled, body, until: now() + retentionMs });
      return { ok: true, request: stored, settled: step.settled };
    },
    async expire(id) {
      return settleIfFinal(id, 'expired');
    },
    async withdraw(id, reason) {
      return settleIfFinal(id, 'withdrawn', reason);
    },
    async reapLost() {
      // Every request here is held by this very process: none can have lost its holder.
      return [];
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    async putGrant(grant) {
      grants.set(grantKey(grant.fingerprint, grant.actorKey, grant.database), Object.freeze({ ...grant }));
    },
    async findGrant(fingerprint, actorKey, database) {
      const grant = grants.get(grantKey(fingerprint, actorKey, database));
      if (!grant) return null;
      if (now() >= Date.parse(grant.expiresAt)) {
        grants.delete(grantKey(fingerprint, actorKey, database));
        return null;
      }
      return grant;
    },
    async kvSet(namespace, key, value, ttlMs) {
      let space = kv.get(namespace);
      if (!space) kv.set(namespace, (space = new Map()));
      space.set(key, { value, until: ttlMs !== undefined ? now() + ttlMs : Infinity });
    },
    async kvGet(namespace, key) {
      const entry = kv.get(namespace)?.get(key);
      if (!entry) return null;
      if (now() >= entry.until) {
        kv.get(namespace)?.delete(key);
        return null;
      }
      return entry.value;
    },
    async kvList(namespace) {
      const out = new Map<string, string>();
      const space = kv.get(namespace);
      if (!space) return out;
      const t = now();
      for (const [k, e] of space) {
        if (t >= e.until) space.delete(k);
        else out.set(k, e.value);
      }
      return out;
    },
    isAvailable: () => true,
    onAvailability() {
      // Memory never becomes unavailable.
    },
    async close() {
      closed = true;
      listeners.clear();
    },
  };
}

function grantKey(fingerprint: string, actorKey: string, database: string): string {
  return JSON.stringify([fingerprint, actorKey, database]);
}

