// Redis PendingStore shared by several pgwarden instances: TTL'd records, pending/recent indexes, one Lua script for
// every change, pub/sub events, re-read after reconnect, and a heartbeat per instance so that requests whose holder
// died are withdrawn (instance_lost) instead of waiting forever.
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.js';
import type { ApprovalRequest } from './request.js';
import { delimited, sha, toRequest, type ScriptReply } from './redis-wire.js';
import type { DecideError, DecideInput, DecideResult, Grant, PendingStore, StoreEvent } from './store.js';
import { DEFAULT_RETENTION_MS, decisionBodyHash } from './decision-rules.js';
import { normalizeIdentity, requesterIdentities } from './identity.js';
import { randomBase32 } from './ids.js';
import { compareForList } from './list-order.js';
import { APPROVALS_LUA } from './lua-scripts.js';
import { parseRedisUrl } from './redis-connect.js';
import { createRedisLink } from './redis-link.js';

export interface RedisStoreOptions {
  /** redis://, rediss://, redis+sentinel:// or redis+cluster:// (see redis-connect.ts). */
  readonly url: string;
  /** Prefix of every key and of the event channel (default `pgwarden:`). For Redis Cluster use a hash tag, e.g. `{pgwarden}:`. */
  readonly keyPrefix?: string;
  readonly logger?: Logger;
  readonly metrics?: Metrics;
  readonly onAvailabilityChange?: (up: boolean) => void;
  readonly now?: () => number;
  /** How long final records and idempotency keys stay readable (default 24 h). */
  readonly retentionMs?: number;
  /** A command slower than this fails with ApprovalsUnavailable instead of holding the proxy (default 2 s). */
  readonly commandTimeoutMs?: number;
  readonly connectTimeoutMs?: number;
  /** Delay before reconnect attempt `n` (default 50 ms doubling to 2 s). */
  readonly reconnectDelayMs?: (attempt: number) => number;
  /** Decided requests kept (default 1000): older ones leave the recent index and are deleted. */
  readonly recentMax?: number;
  /** This instance's name (config `instance`; default hostname:pid). Its heartbeat key is `<prefix>live:<name>/<boot id>`. */
  readonly instance?: string;
  /** How often the heartbeat is refreshed (default 2 s). */
  readonly heartbeatIntervalMs?: number;
  /** A holder whose heartbeat is older than this is lost (default 10 s): its pending requests are withdrawn. */
  readonly instanceTimeoutMs?: number;
}

export interface RedisPendingStore extends PendingStore {
  /** Resolves true once connected and subscribed, false after `timeoutMs` (default: connect timeout). */
  ready(timeoutMs?: number): Promise<boolean>;
  /** `<instance>/<boot id>`: names this process (not just its instance name, which a restart reuses) in records. */
  readonly holder: string;
}

const DECIDE_ERRORS: ReadonlySet<string> = new Set<DecideError>(['not_found', 'self_approval', 'not_approver', 'already_decided', 'duplicate_vote', 'idempotency_mismatch', 'instance_lost']);

export function createRedisStore(options: RedisStoreOptions): RedisPendingStore {
  const prefix = options.keyPrefix ?? 'pgwarden:';
  const now = options.now ?? Date.now;
  const retentionMs = options.retentionMs ?? DEFAULT_RETENTION_MS;
  const recentMax = options.recentMax ?? 1000;
  const instance = options.instance ?? `${hostname()}:${process.pid}`;
  const heartbeatMs = options.heartbeatIntervalMs ?? 2000;
  const instanceTimeoutMs = options.instanceTimeoutMs ?? 10_000;
  // A restarted process reuses its instance name but not its boot id, so its predecessor's requests are seen as lost.
  const holder = `${instance}/${randomBase32(8)}`;
  const log = options.logger;
  const channel = `${prefix}events`;
  const keys = {
    record: (id: string) => `${prefix}req:${id}`,
    pending: `${prefix}pending`,
    recent: `${prefix}recent`,
    idem: (id: string, approver: string, key: string) => `${prefix}idem:${id}:${sha(`${approver}\n${key}`)}`,
    live: (who: string) => `${prefix}live:${who}`,
    grant: (fingerprint: string, actorKey: string, database: string) => `${prefix}grant:${sha(JSON.stringify([fingerprint, actorKey, database]))}`,
    kv: (namespace: string) => `${prefix}kv:${namespace}`,
  };

  const listeners = new Set<(event: StoreEvent) => void>();
  /** Ids created through this store and not yet seen final: what this process waits on. */
  const watched = new Set<string>();
  let closed = false;

  function emitLocal(event: StoreEvent): void {
    if (event.request.status !== 'pending') watched.delete(event.request.id);
    for (const listener of listeners) {
      try {
        listener(event);
      } catch (err) {
        log?.error({ err }, 'approvals: a store event listener threw');
      }
    }
  }

  const link = createRedisLink({
    target: parseRedisUrl(options.url),
    channel,
    logger: log,
    metrics: options.metrics,
    now,
    commandTimeoutMs: options.commandTimeoutMs ?? 2000,
    connectTimeoutMs: options.connectTimeoutMs ?? 2000,
    reconnectDelayMs: options.reconnectDelayMs,
    onMessage(message) {
      try {
        const parsed = JSON.parse(message) as { type: StoreEvent['type']; record: unknown };
        emitLocal({ type: parsed.type, request: toRequest(JSON.stringify(parsed.record)) });
      } catch (err) {
        log?.error({ err }, 'approvals: unreadable event on the Redis channel');
      }
    },
    onRecovered() {
      void beat();
      void rereadWatched();
    },
  });
  const { cmd, run } = link;
  if (options.onAvailabilityChange) link.onAvailability(options.onAvailabilityChange);
  link.onAvailability((up) => {
    if (up) void beat();
  });

  /** Pub/sub drops messages sent while we were away: re-read every request we wait on and replay it as an event. */
  async function rereadWatched(): Promise<void> {
    for (const id of [...watched]) {
      try {
        const request = await getRecord(id);
        if (request) emitLocal({ type: 'updated', request });
      } catch (err) {
        log?.warn({ err, request_id: id }, 'approvals: re-read after reconnect failed');
      }
    }
  }

  let lastBeatError = 0;
  /** Refreshes this process's heartbeat and trims the recent index (deleting the records it drops). */
  async function beat(): Promise<void> {
    if (closed || !link.isAvailable()) return;
    try {
      await cmd.set(keys.live(holder), instance, 'PX', instanceTimeoutMs);
      const n = await cmd.zcard(keys.recent);
      if (n > recentMax) {
        const drop = await cmd.zrange(keys.recent, 0, String(n - recentMax - 1));
        if (drop.length > 0) {
          await cmd.del(...drop.map(keys.record));
          await cmd.zrem(keys.recent, ...drop);
        }
      }
    } catch (err) {
      if (now() - lastBeatError > 10_000) {
        lastBeatError = now();
        log?.warn({ err: { message: (err as Error).message } }, 'approvals: refreshing the instance heartbeat failed');
      }
    }
  }
  const heartbeat = setInterval(() => void beat(), heartbeatMs);
  heartbeat.unref();

  function script(keyList: string[], args: Array<string | number>): Promise<ScriptReply> {
    const t = now();
    const head = [channel, t, new Date(t).toISOString(), retentionMs, recentMax];
    return (cmd as unknown as { pgwardenApprovals(n: number, ...a: Array<string | number>): Promise<ScriptReply> }).pgwardenApprovals(
      keyList.length,
      ...keyList,
      args[0]!,
      ...head,
      ...args.slice(1),
    );
  }
  cmd.defineCommand('pgwardenApprovals', { lua: APPROVALS_LUA });

  async function getRecord(id: string): Promise<ApprovalRequest | null> {
    const [base, status, decisions, decidedAt, withdrawn] = await cmd.hmget(keys.record(id), 'base', 'status', 'decisions', 'decided_at', 'withdrawn_reason');
    if (base == null) return null;
    return toRequest(
      `{"base":${base},"status":${JSON.stringify(status)},"decisions":${decisions ?? '[]'},"decided_at":${JSON.stringify(decidedAt ?? '')},"withdrawn_reason":${JSON.stringify(withdrawn ?? '')}}`,
    );
  }

  async function getMany(ids: string[], index: string): Promise<ApprovalRequest[]> {
    if (ids.length === 0) return [];
    const out: ApprovalRequest[] = [];
    const missing: string[] = [];
    const records = await Promise.all(ids.map((id) => getRecord(id)));
    records.forEach((r, i) => (r ? out.push(r) : missing.push(ids[i]!)));
    // Index entries whose record aged out by TTL.
    if (missing.length > 0) await cmd.zrem(index, ...missing);
    return out;
  }

  async function finalize(id: string, status: 'expired' | 'withdrawn', reason: string): Promise<ApprovalRequest | null> {
    const [code, , , record] = await script([keys.record(id), keys.pending, keys.recent], ['finalize', status, reason]);
    if (code === 'not_found') return null;
    const request = toRequest(record);
    if (request.status !== 'pending') watched.delete(id);
    return request;
  }

  return {
    holder,
    ready: (timeoutMs) => link.ready(timeoutMs),

    create: (request) =>
      run('create', async () => {
        const base = JSON.stringify(request);
        const args = [
          'create',
          request.id,
          base,
          delimited(requesterIdentities(request.actor)),
          delimited(request.approvers.map(normalizeIdentity)),
          Math.max(1, request.quorum),
          delimited(request.scopes),
          Date.parse(request.expiresAt),
          holder,
          instanceTimeoutMs,
          instance,
        ];
        const isNew = !watched.has(request.id);
        watched.add(request.id);
        let code: string;
        try {
          [code] = await script([keys.record(request.id), keys.pending, keys.live(holder)], args);
        } catch (err) {
          if (isNew) watched.delete(request.id);
          throw err;
        }
        if (code === 'exists') {
          if (isNew) watched.delete(request.id);
          throw new Error(`approval request ${request.id} already exists`);
        }
      }),

    get: (id) => run('read', () => getRecord(id)),

    list: (filter = {}) =>
      run('list', async () => {
        const limit = filter.limit ?? 100;
        const out: ApprovalRequest[] = [];
        if (filter.status === undefined || filter.status === 'pending') out.push(...(await getMany(await cmd.zrange(keys.pending, 0, '-1'), keys.pending)));
        if (filter.status !== 'pending') out.push(...(await getMany(await cmd.zrevrange(keys.recent, 0, recentMax - 1), keys.recent)));
        const seen = new Set<string>();
        return out
          .filter((r) => (filter.status === undefined || r.status === filter.status) && !seen.has(r.id) && seen.add(r.id))
          .sort(compareForList)
          .slice(0, limit);
      }),

    decide: (input: DecideInput) =>
      run('decide', async (): Promise<DecideResult> => {
        const by = normalizeIdentity(input.by);
        // The holder is read first so its heartbeat key can be declared to the script (Cluster routes by declared keys).
        const recordHolder = (await cmd.hget(keys.record(input.id), 'holder')) ?? '';
        const args = ['decide', input.by.trim(), by, input.decision, input.reason, input.scope ?? '', input.via ?? '', input.idempotencyKey ?? '', decisionBodyHash(input), recordHolder];
        const [code, flag, replayed, record] = await script(
          [keys.record(input.id), keys.pending, keys.recent, keys.idem(input.id, by, input.idempotencyKey ?? ''), keys.live(recordHolder)],
          args,
        );
        const request = record === '' ? null : toRequest(record);
        if (code === 'ok') return { ok: true, request: request!, settled: flag === '1', ...(replayed === '1' ? { replayed: true } : {}) };
        if (!DECIDE_ERRORS.has(code)) throw new Error(`unexpected reply from the decision script: ${code}`);
        return { ok: false, error: code as DecideError, request, ...(flag === '1' ? { finalized: true } : {}) };
      }),

    expire: (id) => run('expire', () => finalize(id, 'expired', '')),
    withdraw: (id, reason) => run('withdraw', () => finalize(id, 'withdrawn', reason)),

    reapLost: (ids) =>
      run('sweep', async () => {
        // Just after (re)connecting, the other instances may not have refreshed their heartbeats yet (after a Redis
        // restart every heartbeat key may be gone): the periodic sweep gives them one timeout's grace. A question about
        // given requests (an approver reading them) is answered at once, as a decision is: failing closed.
        if (ids === undefined && now() - link.availableSince() < instanceTimeoutMs) return [];
        const list = ids ?? (await cmd.zrange(keys.pending, 0, '-1'));
        if (list.length === 0) return [];
        const holders = await Promise.all(list.map((id) => cmd.hget(keys.record(id), 'holder')));
        const distinct = [...new Set(holders.filter((h): h is string => !!h))];
        const alive = new Map(await Promise.all(distinct.map(async (h) => [h, (await cmd.exists(keys.live(h))) === 1] as const)));
        const out: ApprovalRequest[] = [];
        for (let i = 0; i < list.length; i++) {
          const h = holders[i];
          if (!h || alive.get(h) !== false) continue;
          const [code, flag, , record] = await script([keys.record(list[i]!), keys.pending, keys.recent, keys.live(h)], ['reap', h]);
          if (code === 'ok' && flag === '1') out.push(toRequest(record));
        }
        return out;
      }),

    subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },

    putGrant: (grant: Grant) =>
      run('grant write', async () => {
        const ttl = Date.parse(grant.expiresAt) - now();
        if (ttl <= 0) return;
        await cmd.set(keys.grant(grant.fingerprint, grant.actorKey, grant.database), JSON.stringify(grant), 'PX', ttl);
      }),

    findGrant: (fingerprint, actorKey, database) =>
      run('grant lookup', async () => {
        const json = await cmd.get(keys.grant(fingerprint, actorKey, database));
        if (json === null) return null;
        const grant = JSON.parse(json) as Grant;
        return now() >= Date.parse(grant.expiresAt) ? null : grant;
      }),

    // kv entries carry their own expiry (Redis 7.0 has no per-field TTL); expired ones are filtered and pruned on read.
    kvSet: (namespace, key, value, ttlMs) =>
      run('kv write', async () => {
        await cmd.hset(keys.kv(namespace), key, JSON.stringify({ v: value, u: ttlMs === undefined ? null : now() + ttlMs }));
      }),

    kvGet: (namespace, key) =>
      run('kv read', async () => {
        const json = await cmd.hget(keys.kv(namespace), key);
        if (json === null) return null;
        const entry = JSON.parse(json) as { v: string; u: number | null };
        return entry.u !== null && now() >= entry.u ? null : entry.v;
      }),

    kvList: (namespace) =>
      run('kv list', async () => {
        const all = await cmd.hgetall(keys.kv(namespace));
        const out = new Map<string, string>();
        const stale: string[] = [];
        for (const [k, json] of Object.entries(all)) {
          const entry = JSON.parse(json) as { v: string; u: number | null };
          if (entry.u !== null && now() >= entry.u) stale.push(k);
          else out.set(k, entry.v);
        }
        if (stale.length > 0) await cmd.hdel(keys.kv(namespace), ...stale);
        return out;
      }),

    isAvailable: () => link.isAvailable(),

    onAvailability(listener) {
      link.onAvailability(listener);
    },

    async close() {
      if (closed) return;
      closed = true;
      clearInterval(heartbeat);
      listeners.clear();
      // A clean stop: whatever this process still held is nobody's now, so let the other instances see that at once.
      if (link.isAvailable()) await cmd.del(keys.live(holder)).catch(() => undefined);
      await link.close();
    },
  };
}
