// Optional Postgres sink: batched inserts on its own pg connection; when the database fails, records go to an on-disk spool and are retried with backoff until written — none lost, none duplicated (the record hash is the primary key).
import { appendFile, mkdir, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.js';
import { upstreamTarget } from '../config.js';
import { serializeRecord, type AuditRecord } from './record.js';

export interface PostgresSinkOptions {
  url: string;
  /** Table name, optionally schema-qualified; created when missing. */
  table: string;
  batch_size: number;
  /** Milliseconds between batch inserts. */
  flush_interval: number;
  /** Directory for records the database did not take yet. One spool_dir per pgwarden instance. */
  spool_dir: string;
}

export interface PostgresSink {
  /** Queue a record; never blocks and never throws. */
  add(record: AuditRecord): void;
  /** Queue a record and resolve once it is in the table or in the on-disk spool. */
  addDurable(record: AuditRecord): Promise<void>;
  /** Insert (or spool) everything queued now. */
  flush(): Promise<void>;
  /** True when nothing is queued and the spool is empty: every record so far is in the table. */
  isSettled(): boolean;
  close(): Promise<void>;
}

interface Entry {
  record: AuditRecord;
  waiter?: { resolve: () => void; reject: (err: Error) => void };
}

const SPOOL = 'spool.jsonl';
const REPLAY_SUFFIX = '.replay.jsonl';
const MAX_BACKOFF_MS = 30_000;
/** Rows per INSERT are capped so 7 parameters per row stay below PostgreSQL's 65,535 bind parameters. */
const MAX_ROWS_PER_INSERT = 5000;

function quoteTable(table: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/.test(table)) {
    throw new Error(`audit.postgres.table '${table}' is not a plain identifier; use letters, digits and _ (optionally schema.table)`);
  }
  return table
    .split('.')
    .map((part) => `"${part}"`)
    .join('.');
}

export async function createPostgresSink(options: PostgresSinkOptions & { instance: string; logger: Logger; metrics?: Metrics }): Promise<PostgresSink> {
  const { logger, metrics } = options;
  const table = quoteTable(options.table);
  const target = upstreamTarget(options.url).display; // host:port only: the URL may hold a password
  const batchSize = Math.min(Math.max(1, options.batch_size), MAX_ROWS_PER_INSERT);
  const spoolPath = join(options.spool_dir, SPOOL);
  await mkdir(options.spool_dir, { recursive: true });

  let queue: Entry[] = [];
  let client: pg.Client | null = null;
  let tableReady = false;
  let busy: Promise<void> | null = null;
  let spooling = (await spoolFiles()).length > 0; // leftovers from a previous run are replayed first
  let backoff = 250;
  let retryTimer: NodeJS.Timeout | null = null;
  let closed = false;
  let spoolLock: Promise<unknown> = Promise.resolve();
  let loggedDown = false;

  /** Records waiting in the spool (counted from this run's spooling and each replayed file). */
  let spoolCount = 0;
  function updateSpoolGauge(delta: number | 'zero'): void {
    spoolCount = delta === 'zero' ? 0 : Math.max(0, spoolCount + delta);
    metrics?.auditSpooled.set(spoolCount);
  }

  async function spoolFiles(): Promise<string[]> {
    const names = await readdir(options.spool_dir).catch(() => [] as string[]);
    const replays = names.filter((n) => n.endsWith(REPLAY_SUFFIX)).sort();
    return [...replays, ...(names.includes(SPOOL) ? [SPOOL] : [])];
  }

  /** Serialises every spool file operation, so a rename never races an append. */
  function withSpool<T>(fn: () => Promise<T>): Promise<T> {
    const next = spoolLock.then(fn, fn);
    spoolLock = next.catch(() => undefined);
    return next;
  }

  async function connect(): Promise<pg.Client> {
    if (client) return client;
    const c = new pg.Client({ connectionString: options.url, connectionTimeoutMillis: 5000, statement_timeout: 15_000, application_name: 'pgwarden-audit' });
    // A server restart surfaces as an 'error' event on an idle client: drop it and reconnect on the next attempt.
    c.on('error', () => {
      if (client === c) client = null;
      tableReady = false;
    });
    try {
      await c.connect();
    } catch (err) {
      c.end().catch(() => undefined);
      throw err;
    }
    client = c;
    return c;
  }

  function dropClient(): void {
    const c = client;
    client = null;
    tableReady = false;
    c?.end().catch(() => undefined);
  }

  async function insert(records: readonly AuditRecord[]): Promise<void> {
    const c = await connect();
    if (!tableReady) {
      await c.query(
        `CREATE TABLE IF NOT EXISTS ${table} (hash text PRIMARY KEY, seq bigint NOT NULL, ts timestamptz NOT NULL, instance text NOT NULL, event text NOT NULL, prev text NOT NULL, record jsonb NOT NULL, inserted_at timestamptz NOT NULL DEFAULT now())`,
      );
      tableReady = true;
    }
    for (let i = 0; i < records.length; i += batchSize) {
      const chunk = records.slice(i, i + batchSize);
      const values: unknown[] = [];
      const rows = chunk.map((r, j) => {
        values.push(r.hash, r.seq, r.ts, r.instance, r.event, r.prev, serializeRecord(r));
        const b = j * 7;
        return `($${b + 1}, $${b + 2}, $${b + 3}, $${b + 4}, $${b + 5}, $${b + 6}, $${b + 7}::jsonb)`;
      });
      // ON CONFLICT: a batch retried after an unknown outcome (connection lost mid-COMMIT) is inserted once.
      await c.query(`INSERT INTO ${table} (hash, seq, ts, instance, event, prev, record) VALUES ${rows.join(', ')} ON CONFLICT (hash) DO NOTHING`, values);
    }
  }

  function onDown(err: unknown): void {
    dropClient();
    if (!loggedDown) {
      loggedDown = true;
      logger.error({ err: { message: (err as Error).message, code: (err as { code?: string }).code }, target }, 'audit: the Postgres audit sink is failing; records are spooled to disk and retried');
    }
  }

  async function spool(entries: Entry[]): Promise<void> {
    await withSpool(async () => {
      await appendFile(spoolPath, entries.map((e) => `${serializeRecord(e.record)}\n`).join(''));
      // A replay may have emptied the spool and cleared `spooling` while this append waited for the lock: these
      // records must still be replayed, or they would sit in the file until the next start.
      spooling = true;
    });
    metrics?.auditFailures.inc({ sink: 'postgres' }, entries.length);
    updateSpoolGauge(entries.length);
    scheduleRetry();
  }

  /** Sends the queue to the table, or to the spool when the database is down or the spool is not yet replayed (order and memory stay bounded). */
  async function pump(): Promise<void> {
    while (queue.length > 0) {
      const batch = queue.slice(0, batchSize);
      if (!spooling) {
        try {
          await insert(batch.map((e) => e.record));
          queue = queue.slice(batch.length);
          metrics?.auditRecords.inc({ sink: 'postgres' }, batch.length);
          for (const e of batch) e.waiter?.resolve();
          continue;
        } catch (err) {
          onDown(err);
          spooling = true;
          scheduleRetry();
        }
      }
      try {
        await spool(batch);
        queue = queue.slice(batch.length);
        for (const e of batch) e.waiter?.resolve();
      } catch (err) {
        // Disk and database both failing: keep the records in memory and try again later.
        logger.error({ err: { message: (err as Error).message }, spool_dir: options.spool_dir }, 'audit: cannot write the audit spool; records kept in memory');
        for (const e of batch) {
          e.waiter?.reject(err as Error);
          delete e.waiter;
        }
        scheduleRetry();
        return;
      }
    }
  }

  function kick(): Promise<void> {
    if (busy) return busy;
    busy = pump().finally(() => {
      busy = null;
    });
    return busy;
  }

  /** Replays spool files oldest first; a file is deleted only after every line of it is in the table. */
  async function replay(): Promise<void> {
    for (;;) {
      const files = await withSpool(async () => {
        const existing = await spoolFiles();
        if (existing.includes(SPOOL)) {
          // New records keep appending to a fresh spool.jsonl while this one is replayed.
          await rename(spoolPath, join(options.spool_dir, `${Date.now().toString().padStart(15, '0')}-${process.pid}${REPLAY_SUFFIX}`));
          return spoolFiles();
        }
        if (existing.length === 0) spooling = false;
        return existing;
      });
      if (files.length === 0) break;
      for (const name of files) {
        const path = join(options.spool_dir, name);
        const lines = (await readFile(path, 'utf8')).split('\n').filter((l) => l.trim() !== '');
        const records: AuditRecord[] = [];
        for (const line of lines) {
          try {
            records.push(JSON.parse(line) as AuditRecord);
          } catch {
            logger.warn({ file: path }, 'audit: skipping a torn line in the audit spool (written during a crash)');
          }
        }
        await insert(records);
        metrics?.auditRecords.inc({ sink: 'postgres' }, records.length);
        await unlink(path);
        updateSpoolGauge(-records.length);
      }
    }
    updateSpoolGauge('zero');
  }

  function scheduleRetry(): void {
    if (retryTimer || closed) return;
    retryTimer = setTimeout(() => {
      retryTimer = null;
      void (async () => {
        try {
          await (busy ?? Promise.resolve());
          await replay();
          backoff = 250;
          if (loggedDown) logger.info({ target }, 'audit: the Postgres audit sink recovered; spooled records written');
          loggedDown = false;
          await kick();
        } catch (err) {
          onDown(err);
          backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
          scheduleRetry();
        }
      })();
    }, backoff);
    retryTimer.unref();
  }

  const flushTimer = setInterval(() => void kick(), Math.max(10, options.flush_interval));
  flushTimer.unref();
  if (spooling) {
    backoff = 0;
    scheduleRetry();
    backoff = 250;
  }

  return {
    add(record) {
      if (closed) return;
      queue.push({ record });
      if (queue.length >= batchSize) void kick();
    },
    addDurable(record) {
      if (closed) return Promise.reject(new Error('audit Postgres sink is closed'));
      return new Promise((resolve, reject) => {
        queue.push({ record, waiter: { resolve, reject } });
        void kick();
      });
    },
    async flush() {
      await kick();
    },
    isSettled() {
      return queue.length === 0 && !spooling && busy === null;
    },
    async close() {
      closed = true;
      clearInterval(flushTimer);
      if (retryTimer) clearTimeout(retryTimer);
      retryTimer = null;
      await (busy ?? Promise.resolve());
      await pump(); // into the table, or into the spool for the next start
      await spoolLock;
      dropClient();
    },
  };
}
