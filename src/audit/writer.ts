// createAuditLog: queues events, seals them into the hash chain only as they are written (so a failed write never
// leaves a hole or a record that lies), appends them to the file in batches (group commit), retries on a timer
// with a byte-bounded backlog, and copies written records to the optional Postgres sink.
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.js';
import { EMPTY_HEAD, HashChain, resumeHead, writeHeadFile, type ChainHead } from './chain.js';
import { createDeniedFlood, type DeniedFloodOptions } from './deny-flood.js';
import { AuditFile, type TornTail } from './file-appender.js';
import type { AuditEvent, AuditLog, AuditRecord } from './record.js';
import { bytesOf, recordBody } from './record-body.js';
import { Backlog, type Pending, type Waiter } from './backlog.js';
import type { PostgresSink, PostgresSinkOptions } from './postgres-sink.js';

/**
 * every_record: each batch is fdatasynced before the appendDurable calls in it resolve (group commit).
 * interval: batches are written as soon as the previous one is done and fdatasynced every `intervalMs`.
 */
export interface FlushPolicy {
  readonly mode: 'every_record' | 'interval';
  readonly intervalMs: number;
}

export interface AuditLogOptions {
  /** JSON-lines file; null writes no file (records still go to the Postgres sink when configured). */
  file: string | null;
  /** Store `normalized` (literals replaced) instead of `sql`. */
  redactLiterals: boolean;
  reads: 'none' | 'sample' | 'all';
  readSampleRate: number;
  postgres: PostgresSinkOptions | null;
  metrics?: Metrics;
  logger: Logger;
  /** Name in every record; defaults to hostname:pid. */
  instance?: string;
  /** Default { mode: 'interval', intervalMs: 200 }. */
  flush?: FlushPolicy;
  /** Shorthand for flush.mode every_record (kept for callers of the first version). */
  fsync?: boolean;
  /** Bytes of records waiting for the file while it fails; past this, records are dropped and counted. Default 64 MiB. */
  maxBacklogBytes?: number;
  /** Longest `sql` / `normalized` text stored; longer ones are cut and carry the SHA-256 and length of the whole. Default 64 KiB. */
  maxSqlBytes?: number;
  /** Default { burst: 10, windowMs: 10_000 }; burst 0 records every denial. */
  deniedFlood?: DeniedFloodOptions;
  /** Delays between write retries while the file fails (tests shorten them). Default 250 ms doubling to 2 s. */
  retry?: { minMs: number; maxMs: number };
  /** Random source for read sampling (tests pass a deterministic one). */
  random?: () => number;
}

export interface AuditWriter extends AuditLog {
  /** Whether this read should be audited (audit.reads: none | sample at read_sample_rate | all). */
  shouldAuditRead(): boolean;
  /** After an external rotation (rename): remember the head beside the file and reopen it; the next record continues the chain. */
  reopen(): Promise<void>;
  /** The chain head of the last record sealed (written, or handed to the sink when there is no file). */
  head(): ChainHead;
  /** Resolves once every record appended so far is written (fdatasynced with every_record); rejects while the file fails. */
  flush(): Promise<void>;
  /** Records (and their approximate bytes) waiting in memory for the file. */
  backlog(): { records: number; bytes: number };
}

function errorCode(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? (err as Error).message ?? String(err);
}

export async function createAuditLog(options: AuditLogOptions): Promise<AuditWriter> {
  const { logger, metrics } = options;
  const path = options.file;
  const instance = options.instance ?? `${hostname()}:${process.pid}`;
  const random = options.random ?? Math.random;
  const flushPolicy: FlushPolicy = options.flush ?? (options.fsync ? { mode: 'every_record', intervalMs: 200 } : { mode: 'interval', intervalMs: 200 });
  const syncEachBatch = flushPolicy.mode === 'every_record';
  const maxBacklog = options.maxBacklogBytes ?? 64 * 1024 * 1024;
  const maxSqlBytes = options.maxSqlBytes ?? 64 * 1024;
  const retry = options.retry ?? { minMs: 250, maxMs: 2000 };
  const flood = createDeniedFlood(options.deniedFlood ?? { burst: 10, windowMs: 10_000 });

  let file: AuditFile | null = null;
  let torn: TornTail | null = null;
  if (path) {
    try {
      ({ file, torn } = await AuditFile.open(path));
    } catch (err) {
      throw new Error(`audit.file ${path} cannot be opened for writing (${errorCode(err)}); fix the path or its permissions`);
    }
  }
  const chain = new HashChain(
    path
      ? await resumeHead(path).catch((err: unknown) => {
          throw new Error(`audit.file ${path} cannot be opened (${errorCode(err)}) to resume its hash chain; fix the path or its permissions`);
        })
      : EMPTY_HEAD,
  );
  // Loaded only when configured: the sink needs the `pg` driver, which installs without it need not carry.
  const sink: PostgresSink | null = options.postgres
    ? await (await import('./postgres-sink.js')).createPostgresSink({ ...options.postgres, instance, logger, ...(metrics ? { metrics } : {}) })
    : null;

  const backlog = new Backlog();
  let pumping: Promise<void> | null = null;
  let scheduled = false;
  let paused = false;
  let closed = false;
  let retryTimer: NodeJS.Timeout | null = null;
  let backoff = retry.minMs;
  /** The last write failed: durable appends fail at once instead of waiting for the retry timer. */
  let failing = false;
  let lastError: Error | null = null;
  /** An outage is logged once when it starts and once when it ends. */
  let outage: { since: string; failedRecords: number } | null = null;
  let lost: { count: number; firstAt: string; lastAt: string } | null = null;
  let unsynced = false;
  let lastSyncAt = Date.now();
  let durableHead: ChainHead = chain.head;
  let headDirty = false;
  let headFileFailing = false;

  const live = () => backlog.length;
  const gauge = () => metrics?.auditBacklogBytes.set(backlog.bytes);

  function push(p: Pending): void {
    backlog.push(p);
    if (!scheduled && !paused) {
      scheduled = true;
      setImmediate(kick);
    }
  }

  function kick(): void {
    scheduled = false;
    if (pumping || paused || retryTimer || !file) return;
    pumping = pump().finally(() => {
      pumping = null;
      // Records that arrived while the last step ran (an fdatasync, a marker-only batch) still need a writer.
      if (live() > 0 && !failing && !retryTimer && !paused) kick();
    });
  }

  async function pump(): Promise<void> {
    while (file && !paused) {
      const { items, consumed, bytes } = backlog.nextBatch();
      if (consumed === 0) {
        failing = false; // nothing left to prove the file wrong: the next durable append tries for real
        if (unsynced && !syncEachBatch) await syncNow();
        return;
      }
      const start = chain.head;
      const sealed: AuditRecord[] = [];
      let text = '';
      for (const p of items) {
        if (!p.body) continue;
        const { record, line } = chain.seal(p.body);
        sealed.push(record);
        text += `${line}\n`;
      }
      try {
        if (text) await file.append(Buffer.from(text, 'utf8'), syncEachBatch);
      } catch (err) {
        chain.reset(start);
        onWriteFailed(items, err as Error);
        return;
      }
      backlog.consume(consumed, bytes);
      onWritten(items, sealed);
      // Under a steady stream the queue never empties: fsync on the way, at most `interval` apart.
      if (unsynced && Date.now() - lastSyncAt >= flushPolicy.intervalMs) await syncNow();
    }
  }

  function onWritten(items: Pending[], sealed: AuditRecord[]): void {
    gauge();
    if (sealed.length > 0) {
      const last = sealed[sealed.length - 1]!;
      durableHead = { seq: last.seq, hash: last.hash };
      headDirty = true;
      unsynced = !syncEachBatch;
      metrics?.auditRecords.inc({ sink: 'file' }, sealed.length);
      for (const record of sealed) sink?.add(record);
    }
    for (const p of items) p.waiter?.resolve();
    failing = false;
    backoff = retry.minMs;
    if (outage) {
      logger.info({ file: path, since: outage.since, failed_records: outage.failedRecords }, 'audit: the audit file accepts writes again; the records kept in memory are written');
      outage = null;
    }
    if (lost && backlog.bytes < maxBacklog / 2) {
      // The gap is part of the log: how many records were dropped, and when.
      const { count, firstAt, lastAt } = lost;
      lost = null;
      enqueue({ event: 'records_lost', count, first_at: firstAt, last_at: lastAt, reason: `the audit file failed and the backlog passed audit.max_backlog (${maxBacklog} bytes)` });
    }
  }

  function onWriteFailed(items: Pending[], err: Error): void {
    failing = true;
    lastError = err;
    let firstFailures = 0;
    for (const p of items) {
      if (p.body && !p.failed) {
        p.failed = true;
        firstFailures += 1;
      }
      if (p.waiter) {
        // Its caller learns now and records what really happened; this record is never written later.
        p.waiter.reject(err);
        backlog.drop(p);
      }
    }
    metrics?.auditFailures.inc({ sink: 'file' }, firstFailures);
    gauge();
    if (!outage) {
      outage = { since: new Date().toISOString(), failedRecords: 0 };
      logger.error(
        { err: { code: (err as NodeJS.ErrnoException).code, message: err.message }, file: path, backlog_records: live(), backlog_bytes: backlog.bytes },
        'audit: writing the audit file failed; records wait in memory (up to audit.max_backlog) and are retried on a timer',
      );
    }
    outage.failedRecords += firstFailures;
    if (!closed) {
      retryTimer = setTimeout(() => {
        retryTimer = null;
        kick();
      }, backoff);
      retryTimer.unref();
      backoff = Math.min(backoff * 2, retry.maxMs);
    }
  }

  async function syncNow(): Promise<void> {
    unsynced = false;
    lastSyncAt = Date.now();
    try {
      await file?.sync();
    } catch (err) {
      logger.error({ err: { code: errorCode(err) }, file: path }, 'audit: fdatasync of the audit file failed');
    }
  }

  function enqueue(event: AuditEvent, waiter?: Waiter): void {
    const body = recordBody(event, new Date().toISOString(), instance, options.redactLiterals, maxSqlBytes);
    if (!file) {
      // No file: seal now and hand the record to the sink (or nowhere).
      const record = chain.next(body);
      if (waiter && sink) sink.addDurable(record).then(waiter.resolve, waiter.reject);
      else {
        sink?.add(record);
        waiter?.resolve();
      }
      return;
    }
    const bytes = bytesOf(body);
    if (backlog.bytes + bytes > maxBacklog) {
      drop(body.ts);
      waiter?.reject(Object.assign(new Error(`the audit backlog is full (audit.max_backlog ${maxBacklog} bytes)`), { code: lastError ? errorCode(lastError) : 'EBACKLOG' }));
      return;
    }
    const pending: Pending = waiter ? { body, bytes, waiter } : { body, bytes };
    if (failing) {
      // The file is failing: this record cannot be written now either. Counted once, here, not at each retry.
      pending.failed = true;
      metrics?.auditFailures.inc({ sink: 'file' });
      if (outage) outage.failedRecords += 1;
    }
    push(pending);
  }

  function drop(ts: string): void {
    if (!lost) {
      lost = { count: 0, firstAt: ts, lastAt: ts };
      logger.error({ file: path, max_backlog: maxBacklog }, 'audit: the audit backlog is full; further records are dropped and counted until the file accepts writes');
    }
    lost.count += 1;
    lost.lastAt = ts;
    metrics?.auditLost.inc({ sink: 'file', reason: 'backlog_full' });
  }

  function failFast(): Error {
    return Object.assign(new Error(`the audit file is failing (${lastError ? errorCode(lastError) : 'unknown'}); records are retried on a timer`), { code: lastError ? errorCode(lastError) : 'EIO' });
  }

  if (torn) {
    logger.warn({ file: path, fragment_sha256: torn.sha256, fragment_bytes: torn.bytes, side_file: torn.sideFile }, 'audit: the last line of the audit file was cut short (crash or full disk); it was set aside and the chain continues from the last whole record');
    enqueue({ event: 'recovered_torn_tail', fragment_sha256: torn.sha256, fragment_bytes: torn.bytes, side_file: torn.sideFile });
  }

  // Remember the durable head beside the file every few seconds, so a restart after rotation continues the chain.
  const headTimer = path
    ? setInterval(() => {
        if (!headDirty) return;
        headDirty = false;
        writeHeadFile(path, durableHead).then(
          () => (headFileFailing = false),
          (err: unknown) => {
            if (!headFileFailing) logger.warn({ err: { code: errorCode(err) }, file: path }, 'audit: could not write the chain head file');
            headFileFailing = true;
            headDirty = true;
          },
        );
      }, 5000)
    : null;
  headTimer?.unref();
  const syncTimer =
    file && !syncEachBatch
      ? setInterval(() => {
          if (unsynced && !pumping && !retryTimer) {
            pumping = syncNow().finally(() => {
              pumping = null;
              if (live() > 0) kick();
            });
          }
        }, flushPolicy.intervalMs)
      : null;
  syncTimer?.unref();
  const floodTimer = setInterval(() => {
    for (const summary of flood.due(Date.now())) enqueue(summary);
  }, 1000);
  floodTimer.unref();

  async function settle(): Promise<void> {
    while (pumping) await pumping;
  }

  return {
    append(event, hints) {
      if (closed) throw new Error('audit log is closed');
      if (event.event === 'statement_denied' && !flood.admit(event, hints?.shape, new Date().toISOString())) return;
      enqueue(event);
    },
    appendDurable(event) {
      if (closed) return Promise.reject(new Error('audit log is closed'));
      if (file && failing) {
        metrics?.auditFailures.inc({ sink: 'file' });
        if (outage) outage.failedRecords += 1;
        return Promise.reject(failFast());
      }
      return new Promise<void>((resolve, reject) => enqueue(event, { resolve, reject }));
    },
    shouldAuditRead() {
      if (options.reads === 'all') return true;
      if (options.reads === 'none') return false;
      return random() < options.readSampleRate;
    },
    head() {
      return chain.head;
    },
    backlog() {
      return { records: backlog.records().length, bytes: backlog.bytes };
    },
    async flush() {
      if (file) {
        if (failing) throw failFast();
        await new Promise<void>((resolve, reject) => push({ body: null, bytes: 0, waiter: { resolve, reject } }));
      }
      await sink?.flush();
    },
    async reopen() {
      if (!path || !file) return;
      paused = true;
      try {
        await settle();
        await writeHeadFile(path, durableHead);
        headDirty = false;
        const next = await AuditFile.open(path);
        await file.close().catch(() => undefined);
        file = next.file;
        if (next.torn) enqueue({ event: 'recovered_torn_tail', fragment_sha256: next.torn.sha256, fragment_bytes: next.torn.bytes, side_file: next.torn.sideFile });
      } finally {
        paused = false;
        if (live() > 0) kick();
      }
    },
    async close() {
      if (closed) return;
      for (const summary of flood.due(Date.now(), true)) enqueue(summary);
      closed = true;
      clearInterval(floodTimer);
      if (headTimer) clearInterval(headTimer);
      if (syncTimer) clearInterval(syncTimer);
      if (file && path) {
        // One last attempt, at once, whatever the retry timer said.
        if (retryTimer) clearTimeout(retryTimer);
        retryTimer = null;
        await settle();
        kick();
        await settle();
        if (unsynced) await syncNow();
        const left = backlog.records();
        if (left.length > 0 || lost) {
          metrics?.auditLost.inc({ sink: 'file', reason: 'shutdown' }, left.length);
          logger.error(
            { file: path, lost_at_shutdown: left.length, lost_backlog_full: lost?.count ?? 0, err: lastError ? { code: errorCode(lastError) } : undefined },
            `audit: ${left.length} record(s) could not be written to ${path} at shutdown and are lost${lost ? `, besides ${lost.count} dropped earlier when the backlog was full` : ''}`,
          );
          for (const p of left) p.waiter?.reject(lastError ?? new Error('audit log closed'));
        }
        await writeHeadFile(path, durableHead).catch((err: unknown) => logger.warn({ err: { code: errorCode(err) }, file: path }, 'audit: could not write the chain head file'));
        await file.close().catch(() => undefined);
      }
      await sink?.close();
    },
  };
}
