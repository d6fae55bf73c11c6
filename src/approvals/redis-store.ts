// Redis PendingStore shared by several pgwarden instances: TTL'd records, pending/recent indexes, one Lua script for every change, pub/sub events, re-read after reconnect.
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { ApprovalsUnavailable } from '../errors.js';
import type { Metrics } from '../metrics.js';
import type { ApprovalRequest } from './request.js';
import { delimited, sha, toRequest, type ScriptReply } from './redis-wire.js';
import type { DecideError, DecideInput, DecideResult, Grant, PendingStore, StoreEvent } from './store.js';
import { DEFAULT_RETENTION_MS } from './decision-rules.js';
import { normalizeIdentity, requesterIdentities } from './identity.js';
import { compareForList } from './list-order.js';
import { APPROVALS_LUA } from './lua-scripts.js';

export interface RedisStoreOptions {
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
  /** Decided requests kept in the recent index (default 1000). */
  readonly recentMax?: number;
}

export interface RedisPendingStore extends PendingStore {
  /** Resolves true once connected and subscribed, false after `timeoutMs` (default: connect timeout). */
  ready(timeoutMs?: number): Promise<boolean>;
}

const DECIDE_ERRORS: ReadonlySet<string> = new Set<DecideError>(['not_found', 'self_approval', 'not_approver', 'already_decided', 'duplicate_vote']);

/** Pending requests whose holder vanished are expired by whoever lists them, after this grace. */
const ORPHAN_GRACE_MS = 30_000;

export function createRedisStore(options: RedisStoreOptions): RedisPendingStore {
  const prefix = options.keyPrefix ?? 'pgwarden:';
  const now = options.now ?? Date.now;
  const retentionMs = options.retentionMs ?? DEFAULT_RETENTION_MS;
  const recentMax = options.recentMax ?? 1000;
  const connectTimeout = options.connectTimeoutMs ?? 2000;
  const log = options.logger;
  const channel = `${prefix}events`;
  const keys = {
    record: (id: string) => `${prefix}req:${id}`,
    pending: `${prefix}pending`,
    recent: `${prefix}recent`,
    idem: (id: string, key: string) => `${prefix}idem:${id}:${sha(key)}`,
    grant: (fingerprint: string, actorKey: string, database: string) => `${prefix}grant:${sha(JSON.stringify([fingerprint, actorKey, database]))}`,
    kv: (namespace: string) => `${prefix}kv:${namespace}`,
  };
  const retryStrategy = (times: number) => options.reconnectDelayMs?.(times) ?? Math.min(50 * 2 ** Math.min(times, 6), 2000);

  // Commands fail at once while disconnected (no offline queue, no retries): the proxy must never hang on Redis.
  const cmd = new Redis(options.url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: options.commandTimeoutMs ?? 2000,
    connectTimeout,
    retryStrategy,
    lazyConnect: false,
  });
  // The subscriber re-subscribes itself on every 'ready' so it knows when the subscription is live again.
  const sub = new Redis(options.url, { autoResubscribe: false, connectTimeout, retryStrategy, maxRetriesPerRequest: null });

  const listeners = new Set<(event: StoreEvent) => void>();
  const availabilityListeners = new Set<(up: boolean) => void>();
  /** Ids created through this store and not yet seen final: what this process waits on. */
  const watched = new Set<string>();
  let cmdReady = false;
  let subscribed = false;
  let available = false;
  let hadOutage = false;
  let everReady = false;
  let closed = false;
  let readyWaiters: Array<() => void> = [];

  options.metrics?.redisUp.set(0);
  if (options.onAvailabilityChange) availabilityListeners.add(options.onAvailabilityChange);

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

  function updateAvailability(): void {
    const up = cmdReady && subscribed && !closed;
    if (up === available) return;
    available = up;
    options.metrics?.redisUp.set(up ? 1 : 0);
    if (up) {
      everReady = true;
      for (const w of readyWaiters) w();
      readyWaiters = [];
    } else {
      hadOutage = true;
    }
    log?.[up ? 'info' : 'warn']({ redis_up: up }, up ? 'approvals: Redis reachable' : 'approvals: Redis unreachable; statements that need review are refused');
    for (const listener of availabilityListeners) {
      try {
        listener(up);
      } catch (err) {
        log?.error({ err }, 'approvals: an availability listener threw');
      }
    }
    if (up && hadOutage) void rereadWatched();
  }

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

  let lastErrorLog = 0;
  const onError = (err: Error) => {
    // ioredis emits an error per failed reconnect attempt; log at most one per 10 s.
    if (now() - lastErrorLog > 10_000) {
      lastErrorLog = now();
      log?.warn({ err: { message: err.message, code: (err as { code?: string }).code } }, 'approvals: Redis connection error');
    }
  };
  cmd.on('error', onError);
  sub.on('error', onError);
  cmd.on('ready', () => {
    cmdReady = true;
    updateAvailability();
    // The subscriber may have stayed connected while commands were cut off; re-read anyway.
    if (available && hadOutage) void rereadWatched();
  });
  cmd.on('close', () => {
    cmdReady = false;
    updateAvailability();
  });
  sub.on('ready', () => {
    sub.subscribe(channel).then(
      () => {
        subscribed = true;
        updateAvailability();
        if (available && hadOutage) void rereadWatched();
      },
      (err: unknown) => log?.warn({ err }, 'approvals: subscribing to Redis events failed; will retry on reconnect'),
    );
  });
  sub.on('close', () => {
    if (subscribed) hadOutage = true;
    subscribed = false;
    updateAvailability();
  });
  sub.on('message', (ch: string, message: string) => {
    if (ch !== channel) return;
    try {
      const parsed = JSON.parse(message) as { type: StoreEvent['type']; record: unknown };
      emitLocal({ type: parsed.type, request: toRequest(JSON.stringify(parsed.record)) });
    } catch (err) {
      log?.error({ err }, 'approvals: unreadable event on the Redis channel');
    }
  });

  function ready(timeoutMs = connectTimeout): Promise<boolean> {
    if (available) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        readyWaiters = readyWaiters.filter((w) => w !== done);
        resolve(false);
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve(available);
      };
      readyWaiters.push(done);
    });
  }

  /** Runs a command against a live connection or fails fast with ApprovalsUnavailable. */
  async function run<T>(what: string, fn: () => Promise<T>): Promise<T> {
    if (closed) throw new ApprovalsUnavailable('the approval store is closed');
    // Right after startup, wait (briefly) for the first connection instead of failing the first statement.
    if (!cmdReady && !everReady && !(await ready())) throw new ApprovalsUnavailable(`Redis is not reachable (${what})`);
    if (!cmdReady) throw new ApprovalsUnavailable(`Redis is not reachable (${what})`);
    try {
      return await fn();
    } catch (err) {
      if (err instanceof ApprovalsUnavailable) throw err;
      // A Lua error is a bug, not an outage, but the caller's answer is the same: refuse, fail closed.
      throw new ApprovalsUnavailable(`Redis ${what} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }

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
    ready,

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
        ];
        const isNew = !watched.has(request.id);
        watched.add(request.id);
        let code: string;
        try {
          [code] = await script([keys.record(request.id), keys.pending], args);
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
        if (filter.status === undefined || filter.status === 'pending') {
          const pending = await getMany(await cmd.zrange(keys.pending, 0, '-1'), keys.pending);
          for (const r of pending) {
            // Its holding instance is gone (nobody expired it): expire it now, first-wins as always.
            if (r.status === 'pending' && now() > Date.parse(r.expiresAt) + ORPHAN_GRACE_MS) out.push((await finalize(r.id, 'expired', '')) ?? r);
            else out.push(r);
          }
        }
        if (filter.status !== 'pending') out.push(...(await getMany(await cmd.zrevrange(keys.recent, 0, recentMax - 1), keys.recent)));
        const seen = new Set<string>();
        return out
          .filter((r) => (filter.status === undefined || r.status === filter.status) && !seen.has(r.id) && seen.add(r.id))
          .sort(compareForList)
          .slice(0, limit);
      }),

    decide: (input: DecideInput) =>
      run('decide', async (): Promise<DecideResult> => {
        const args = [
          'decide',
          input.by.trim(),
          normalizeIdentity(input.by),
          input.decision,
          input.reason,
          input.scope ?? '',
          input.via ?? '',
          input.idempotencyKey ?? '',
        ];
        const [code, settled, replayed, record] = await script([keys.record(input.id), keys.pending, keys.recent, keys.idem(input.id, input.idempotencyKey ?? '')], args);
        const request = record === '' ? null : toRequest(record);
        if (code === 'ok') return { ok: true, request: request!, settled: settled === '1', ...(replayed === '1' ? { replayed: true } : {}) };
        if (!DECIDE_ERRORS.has(code)) throw new Error(`unexpected reply from the decision script: ${code}`);
        return { ok: false, error: code as DecideError, request };
      }),

    expire: (id) => run('expire', () => finalize(id, 'expired', '')),
    withdraw: (id, reason) => run('withdraw', () => finalize(id, 'withdrawn', reason)),

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

    isAvailable: () => available,

    onAvailability(listener) {
      availabilityListeners.add(listener);
    },

    async close() {
      if (closed) return;
      closed = true;
      listeners.clear();
      updateAvailability();
      availabilityListeners.clear();
      for (const w of readyWaiters) w();
      readyWaiters = [];
      await Promise.allSettled([cmd.quit(), sub.quit()]);
      cmd.disconnect();
      sub.disconnect();
    },
  };
}
