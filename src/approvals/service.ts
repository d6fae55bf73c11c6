// The approval service: opens requests for held statements, notifies channels, and settles each outcome exactly once.
import type { Logger } from 'pino';
import { ApprovalsUnavailable } from '../errors.js';
import type { AuditEvent, AuditLog } from '../audit/record.js';
import type { Metrics } from '../metrics.js';
import type { ApprovalChannel } from './channels/channel.js';
import type { ApprovalRequest } from './request.js';
import type { ApprovalGateway, ApprovalOutcome, GrantMatch, OpenApprovalInput, PendingApproval } from './service-types.js';
import type { ApprovalStatus } from './request.js';
import type { DecideInput, DecideResult, PendingStore, StoreEvent } from './store.js';
import { buildRequest, textFingerprint } from './build-request.js';
import { finalize, grantedScope } from './decision-rules.js';
import { actorKey, grantCovers, grantFromRequest } from './grants.js';
import { newGrantId, newRequestId } from './ids.js';
import { progressNotice, waitingNotice } from './notice.js';

export interface ApprovalServiceDeps {
  readonly store: PendingStore;
  readonly channels: readonly ApprovalChannel[];
  readonly audit: AuditLog;
  readonly metrics?: Metrics;
  readonly logger: Logger;
  /** This pgwarden instance's name: requests it holds carry it, and only it updates channels for them. */
  readonly instance: string;
  /** Base URL approvers open (the console). */
  readonly publicUrl: string;
  readonly progressIntervalMs: number;
  /** Cap of stored statement texts in bytes (config approvals.max_stored_sql; default 64 KiB). */
  readonly maxStoredSql?: number;
  /** How often to look for requests whose holding instance is gone (default 2 s; 0 = never, for tests). */
  readonly sweepIntervalMs?: number;
  readonly now?: () => number;
  readonly idFactory?: () => string;
}

export interface ApprovalService extends ApprovalGateway {
  /** The store, for the HTTP layer's list/get/subscribe. */
  readonly store: PendingStore;
  /** Applies one approver's vote (any instance may call it) and audits it. Rejects with ApprovalsUnavailable when the store is down. */
  decide(input: DecideInput): Promise<DecideResult>;
  /** One request as approvers see it; a pending one that is due (expired, or its holder gone) is settled first. */
  get(id: string): Promise<ApprovalRequest | null>;
  /** The list approvers see, settling due requests first as get() does. */
  list(filter?: { status?: ApprovalStatus; limit?: number }): Promise<ApprovalRequest[]>;
  /** Withdraws (and records) requests whose holding instance is gone; returns how many this call withdrew. */
  sweep(): Promise<number>;
  /** Withdraws requests still held here (reason `shutdown`), closes channels. Does not close the store (others share it). */
  close(): Promise<void>;
}

/** setTimeout overflows past 2^31-1 ms (~24.8 days) and would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

interface Waiter {
  request: ApprovalRequest;
  readonly connectionId: string;
  settled: boolean;
  resolve(outcome: ApprovalOutcome): void;
  readonly progress: Set<(notice: string) => void>;
  expiryTimer?: NodeJS.Timeout;
  progressTimer?: NodeJS.Timeout;
}

export function createApprovalService(deps: ApprovalServiceDeps): ApprovalService {
  const { store, audit, metrics, logger } = deps;
  const now = deps.now ?? Date.now;
  const idFactory = deps.idFactory ?? newRequestId;
  const waiters = new Map<string, Waiter>();
  const inflight = new Set<Promise<void>>();
  let closed = false;

  const unsubscribe = store.subscribe((event: StoreEvent) => {
    const waiter = waiters.get(event.request.id);
    if (waiter) onRecord(waiter, event.request);
  });

  // Pub/sub messages sent while the store was unreachable are lost: re-read every request we hold once it is back.
  store.onAvailability((up) => {
    if (up) for (const waiter of waiters.values()) void reread(waiter);
  });

  async function reread(waiter: Waiter): Promise<void> {
    try {
      const record = await store.get(waiter.request.id);
      if (record) onRecord(waiter, record);
      // The store lost it (e.g. Redis restarted without persistence): put it back so approvers can still see and decide it.
      else if (!waiter.settled) await store.create(waiter.request);
    } catch (err) {
      logger.warn({ err, request_id: waiter.request.id }, 'approvals: re-reading a held request failed; will retry on the next reconnect');
    }
  }

  function track(p: Promise<void>): void {
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
  }

  function notify(kind: 'requested' | 'updated', request: ApprovalRequest): void {
    for (const channel of deps.channels) {
      track(
        Promise.resolve()
          .then(() => channel[kind](request))
          .catch((err: unknown) => {
            metrics?.channelDeliveryFailures.inc({ channel: channel.name });
            logger.warn({ err, channel: channel.name, request_id: request.id, kind }, 'approvals: channel delivery failed');
          }),
      );
    }
  }

  function baseAudit(request: ApprovalRequest): Omit<AuditEvent, 'event'> {
    return {
      request_id: request.id,
      rule: request.rule,
      actor: request.actor,
      database: request.database,
      sql: request.sql,
      normalized: request.normalized,
      categories: request.categories,
    };
  }

  function onRecord(waiter: Waiter, record: ApprovalRequest): void {
    if (waiter.settled) return;
    if (record.status === 'pending') {
      // A vote below quorum: show it to approvers once (re-reads after reconnects repeat records we already saw).
      if (record.decisions.length > waiter.request.decisions.length) {
        waiter.request = record;
        notify('updated', record);
      }
      return;
    }
    void settle(waiter, record);
  }

  async function settle(waiter: Waiter, record: ApprovalRequest): Promise<void> {
    if (waiter.settled) return;
    waiter.settled = true;
    waiter.request = record;
    clearTimeout(waiter.expiryTimer);
    clearInterval(waiter.progressTimer);
    waiters.delete(record.id);
    const status = record.status as Exclude<ApprovalRequest['status'], 'pending'>;
    metrics?.approvalsPending.dec();
    metrics?.approvalRequests.inc({ outcome: status });
    metrics?.approvalDecisionSeconds.observe({ outcome: status }, Math.max(0, now() - Date.parse(record.createdAt)) / 1000);

    let outcome: ApprovalOutcome;
    if (status === 'approved') {
      const approvedBy = record.decisions.filter((d) => d.decision === 'approve').map((d) => d.by);
      let grantId: string | undefined;
      if (grantedScope(record) === 'fingerprint' && record.fingerprint !== '' && record.grantTtlMs > 0) {
        const grant = grantFromRequest(record, newGrantId(), now());
        try {
          await store.putGrant(grant);
          grantId = grant.id;
        } catch (err) {
          // The statement still runs (it was approved); only the reuse of the approval is lost.
          logger.warn({ err, request_id: record.id }, 'approvals: storing the fingerprint grant failed; the approval counts once');
        }
      }
      audit.append({ event: 'approved', ...baseAudit(record), approvers: approvedBy, ...(grantId ? { grant_id: grantId } : {}) });
      outcome = { status: 'approved', request: record };
    } else if (status === 'denied') {
      const deny = record.decisions.find((d) => d.decision === 'deny');
      const by = deny?.by ?? 'unknown';
      const reason = deny?.reason ?? '';
      audit.append({ event: 'denied', ...baseAudit(record), by, reason, ...(deny?.via ? { via: deny.via } : {}) });
      outcome = { status: 'denied', request: record, by, reason };
    } else if (status === 'expired') {
      audit.append({ event: 'expired', ...baseAudit(record) });
      outcome = { status: 'expired', request: record };
    } else {
      audit.append({ event: 'withdrawn', ...baseAudit(record), reason: record.withdrawnReason ?? 'withdrawn', connection_id: waiter.connectionId });
      outcome = { status: 'withdrawn', request: record };
    }
    // Only the holding instance updates channels, so each card/message changes exactly once (a request withdrawn as
    // instance_lost was announced by the instance that found its holder gone).
    if (record.instance === deps.instance && record.withdrawnReason !== 'instance_lost') notify('updated', record);
    waiter.resolve(outcome);
  }

  function onExpiryTimer(waiter: Waiter): void {
    if (waiter.settled) return;
    const id = waiter.request.id;
    // First-wins against a racing decision: the store returns whichever final state it holds.
    store
      .expire(id)
      .then((record) => onRecord(waiter, record && record.status !== 'pending' ? record : finalize(waiter.request, 'expired', new Date(now()).toISOString())))
      .catch((err: unknown) => {
        // Fail closed: the statement does not run; the store record will age out by its TTL.
        logger.warn({ err, request_id: id }, 'approvals: could not mark the request expired in the store; expiring it locally');
        void settle(waiter, finalize(waiter.request, 'expired', new Date(now()).toISOString()));
      });
  }

  /**
   * A request withdrawn because its holder is gone: nobody waits for it, so whoever withdrew it (atomically, exactly one
   * instance) records the outcome and tells the channels.
   */
  function recordLost(record: ApprovalRequest): void {
    logger.warn({ request_id: record.id, instance: record.instance }, 'approvals: request withdrawn; the pgwarden instance holding its client is gone');
    metrics?.approvalRequests.inc({ outcome: 'withdrawn' });
    audit.append({ event: 'withdrawn', ...baseAudit(record), reason: 'instance_lost' });
    notify('updated', record);
  }

  /** Settles what is due among records an approver is about to see: holder gone → withdrawn; past expiry → expired. */
  async function settleDue(records: ApprovalRequest[]): Promise<ApprovalRequest[]> {
    const pending = records.filter((r) => r.status === 'pending');
    if (pending.length === 0) return records;
    const changed = new Map<string, ApprovalRequest>();
    for (const lost of await store.reapLost(pending.map((r) => r.id))) {
      recordLost(lost);
      changed.set(lost.id, lost);
    }
    for (const r of pending) {
      if (changed.has(r.id) || now() < Date.parse(r.expiresAt)) continue;
      // The holder is alive (it was not reaped): it records the expiry when the store's event reaches it.
      const after = await store.expire(r.id);
      if (after) changed.set(r.id, after);
    }
    return records.map((r) => changed.get(r.id) ?? r);
  }

  async function sweep(): Promise<number> {
    if (closed || !store.isAvailable()) return 0;
    const lost = await store.reapLost();
    for (const record of lost) recordLost(record);
    return lost.length;
  }
  const sweepTimer = (deps.sweepIntervalMs ?? 2000) > 0 ? setInterval(() => {
    sweep().catch((err: unknown) => logger.warn({ err }, 'approvals: sweeping requests of lost instances failed; will retry'));
  }, deps.sweepIntervalMs ?? 2000) : null;
  sweepTimer?.unref();

  function assertAvailable(): void {
    if (!store.isAvailable()) throw new ApprovalsUnavailable('the approval store is not reachable');
  }

  function asUnavailable(err: unknown, what: string): never {
    if (err instanceof ApprovalsUnavailable) throw err;
    throw new ApprovalsUnavailable(what, { cause: err });
  }

  return {
    store,

    async findGrant(input: OpenApprovalInput): Promise<GrantMatch | null> {
      assertAvailable();
      const fingerprint = textFingerprint(input);
      if (fingerprint === '') return null;
      let grant;
      try {
        grant = await store.findGrant(fingerprint, actorKey(input.actor), input.database);
      } catch (err) {
        asUnavailable(err, 'looking up approval grants failed');
      }
      if (!grant) return null;
      // Re-checked on every use: the same shape may now match another rule or carry other categories.
      if (!grantCovers(grant, input.verdict.rule, input.facts.categories)) return null;
      metrics?.grantsUsed.inc();
      audit.append({
        event: 'grant_used',
        grant_id: grant.id,
        request_id: grant.requestId,
        approvers: grant.approvedBy,
        actor: input.actor,
        database: input.database,
        sql: input.sql,
        categories: input.facts.categories,
        rule: input.verdict.rule,
        connection_id: input.connectionId,
      });
      return { grantId: grant.id, requestId: grant.requestId, approvedBy: grant.approvedBy };
    },

    async open(input: OpenApprovalInput): Promise<PendingApproval> {
      if (closed) throw new ApprovalsUnavailable('pgwarden is shutting down');
      assertAvailable();
      const request = buildRequest(input, {
        id: idFactory(),
        instance: deps.instance,
        nowMs: now(),
        ...(deps.maxStoredSql !== undefined ? { maxStoredSql: deps.maxStoredSql } : {}),
      });
      let resolve!: (o: ApprovalOutcome) => void;
      const outcome = new Promise<ApprovalOutcome>((r) => (resolve = r));
      const waiter: Waiter = { request, connectionId: input.connectionId, settled: false, resolve, progress: new Set() };
      // Registered before create so that no event about this request can arrive unheard.
      waiters.set(request.id, waiter);
      try {
        await store.create(request);
      } catch (err) {
        waiters.delete(request.id);
        asUnavailable(err, 'storing the approval request failed');
      }
      metrics?.approvalsPending.inc();
      audit.append({ event: 'review_requested', ...baseAudit(request), approvers: request.approvers, connection_id: input.connectionId });
      notify('requested', request);

      waiter.expiryTimer = setTimeout(() => onExpiryTimer(waiter), Math.min(MAX_TIMER_MS, Math.max(0, Date.parse(request.expiresAt) - now())));
      if (deps.progressIntervalMs > 0) {
        waiter.progressTimer = setInterval(() => {
          if (waiter.settled) return;
          const approvals = waiter.request.decisions.filter((d) => d.decision === 'approve').length;
          const text = progressNotice(waiter.request, now(), approvals);
          for (const listener of waiter.progress) listener(text);
        }, deps.progressIntervalMs);
      }

      return {
        request,
        notice: waitingNotice(request, deps.publicUrl, now()),
        outcome,
        onProgress(listener) {
          waiter.progress.add(listener);
        },
        withdraw(reason) {
          if (waiter.settled) return;
          store
            .withdraw(request.id, reason)
            .then((record) => onRecord(waiter, record && record.status !== 'pending' ? record : finalize(waiter.request, 'withdrawn', new Date(now()).toISOString(), reason)))
            .catch((err: unknown) => {
              logger.warn({ err, request_id: request.id }, 'approvals: could not mark the request withdrawn in the store; withdrawing it locally');
              void settle(waiter, finalize(waiter.request, 'withdrawn', new Date(now()).toISOString(), reason));
            });
        },
      };
    },

    async decide(input: DecideInput): Promise<DecideResult> {
      assertAvailable();
      let result: DecideResult;
      try {
        result = await store.decide(input);
      } catch (err) {
        asUnavailable(err, 'recording the decision failed');
      }
      if (result.ok && result.replayed !== true) {
        audit.append({
          event: 'vote',
          ...baseAudit(result.request),
          by: input.by,
          decision: input.decision,
          reason: input.reason,
          ...(input.via ? { via: input.via } : {}),
        });
      }
      if (!result.ok && result.finalized && result.request) recordLost(result.request);
      return result;
    },

    async get(id) {
      const record = await store.get(id);
      return record ? ((await settleDue([record]))[0] ?? null) : null;
    },

    async list(filter) {
      return settleDue(await store.list(filter));
    },

    sweep,

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      if (sweepTimer) clearInterval(sweepTimer);
      for (const waiter of [...waiters.values()]) {
        const fallback = finalize(waiter.request, 'withdrawn', new Date(now()).toISOString(), 'shutdown');
        let record: ApprovalRequest | null = null;
        try {
          record = await store.withdraw(waiter.request.id, 'shutdown');
        } catch {
          // Store down while shutting down: the record ages out by its TTL.
        }
        await settle(waiter, record && record.status !== 'pending' ? record : fallback);
      }
      unsubscribe();
      await Promise.allSettled(deps.channels.map((c) => c.close?.()));
      await Promise.allSettled([...inflight]);
    },
  };
}
