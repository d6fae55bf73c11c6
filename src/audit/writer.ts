// createAuditLog: seals events into the hash chain and writes them through pino to a file (async, batched per tick), and to the optional Postgres sink.
import { hostname } from 'node:os';
import { fsync } from 'node:fs';
import { pino, type Logger } from 'pino';
import type { Metrics } from '../metrics.js';
import { redactUrlCredentials } from '../log.js';
import { redactSecrets } from '../sql/redact.js';
import { EMPTY_HEAD, HashChain, resumeHead, writeHeadFile, type ChainHead } from './chain.js';
import { canonicalRecord, redactLiterals as redactLiteralText, redactSqlSecrets, serializeRecord, type AuditEvent, type AuditLog, type AuditRecord } from './record.js';
import type { PostgresSink, PostgresSinkOptions } from './postgres-sink.js';

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
  /** fsync the file before `appendDurable` resolves (default false: the bytes are in the kernel, which survives a process crash). */
  fsync?: boolean;
  /** Random source for read sampling (tests pass a deterministic one). */
  random?: () => number;
}

export interface AuditWriter extends AuditLog {
  /** Whether this read should be audited (audit.reads: none | sample at read_sample_rate | all). */
  shouldAuditRead(): boolean;
  /** After an external rotation (rename): remember the head beside the file and reopen it; the next record continues the chain. */
  reopen(): Promise<void>;
  /** The chain head of the last record handed to the writer. */
  head(): ChainHead;
  /** Resolves when every record appended so far is written to the file (or rejects with the write error). */
  flush(): Promise<void>;
}

interface Queued {
  event: AuditEvent;
  ts: string;
  durable?: { resolve: () => void; reject: (err: Error) => void };
}

interface InFlight {
  /** Byte offset (in this writer's output) at which the record is fully written. */
  end: number;
  head: ChainHead;
  waiter?: { resolve: () => void; reject: (err: Error) => void };
}

/** pino writes `{,"k":…}` when the level key is formatted away; this restores `{"k":…}` so the line is exactly the canonical record. */
function stripLeadingComma(line: string): string {
  return line.startsWith('{,') ? `{${line.slice(2)}` : line;
}

/** Secrets out of SQL: from the parse tree (sql/redact.ts), then the regex as a second net for text that is not SQL. */
function stripSecrets(sql: string): string {
  return redactSqlSecrets(redactSecrets(sql));
}

/** The record body for an event: secrets stripped from SQL and reasons, literals redacted when configured. */
function recordBody(event: AuditEvent, ts: string, instance: string, redact: boolean): Omit<AuditRecord, 'seq' | 'prev' | 'hash'> {
  const { sql, normalized, reason, ...rest } = event;
  const body: Record<string, unknown> = { ...rest, ts, instance };
  if (redact) {
    const text = normalized ?? (sql === undefined ? undefined : redactLiteralText(sql));
    if (text !== undefined) body.normalized = stripSecrets(text);
  } else {
    if (sql !== undefined) body.sql = stripSecrets(sql);
    if (normalized !== undefined) body.normalized = stripSecrets(normalized);
  }
  if (reason !== undefined) body.reason = redactUrlCredentials(reason);
  return body as Omit<AuditRecord, 'seq' | 'prev' | 'hash'>;
}

function openDestination(file: string): Promise<ReturnType<typeof pino.destination>> {
  const dest = pino.destination({ dest: file, sync: false, mkdir: true, append: true });
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      dest.off('ready', onReady);
      reject(new Error(`audit.file ${file} cannot be opened for writing (${err.code ?? err.message}); fix the path or its permissions`));
    };
    const onReady = () => {
      dest.off('error', onError);
      resolve(dest);
    };
    dest.once('error', onError);
    dest.once('ready', onReady);
  });
}

export async function createAuditLog(options: AuditLogOptions): Promise<AuditWriter> {
  const { file, logger, metrics } = options;
  const instance = options.instance ?? `${hostname()}:${process.pid}`;
  const random = options.random ?? Math.random;
  const chain = new HashChain(file ? await resumeHead(file).catch((err: NodeJS.ErrnoException) => {
    throw new Error(`audit.file ${file} cannot be opened (${err.code ?? err.message}) to resume its hash chain; fix the path or its permissions`);
  }) : EMPTY_HEAD);
  // Loaded only when configured: the sink needs the `pg` driver, which installs without it need not carry.
  const sink: PostgresSink | null = options.postgres
    ? await (await import('./postgres-sink.js')).createPostgresSink({ ...options.postgres, instance, logger, ...(metrics ? { metrics } : {}) })
    : null;

  const dest = file ? await openDestination(file) : null;
  let expectedLine = '';
  let canonicalMismatches = 0;
  const out = dest
    ? pino(
        {
          base: null,
          timestamp: false,
          formatters: { level: () => ({}) },
          hooks: {
            // The line must be exactly the canonical record or `audit verify` would call it edited. pino
            // serialises our pre-ordered object identically; should a future pino differ, the canonical line wins.
            streamWrite: (s: string) => {
              const line = stripLeadingComma(s);
              if (line === expectedLine) return line;
              canonicalMismatches += 1;
              return expectedLine;
            },
          },
        },
        dest,
      )
    : null;

  let written = 0;
  let queuedBytes = 0;
  const inFlight: InFlight[] = [];
  let durableHead: ChainHead = chain.head;
  let fileError: Error | null = null;
  let headDirty = false;

  dest?.on('write', (n: number) => {
    written += n;
    fileError = null;
    while (inFlight.length && inFlight[0]!.end <= written) {
      const done = inFlight.shift()!;
      durableHead = done.head;
      headDirty = true;
      metrics?.auditRecords.inc({ sink: 'file' });
      done.waiter?.resolve();
    }
  });
  dest?.on('error', (err: NodeJS.ErrnoException) => {
    // sonic-boom keeps the unwritten bytes and retries them with the next write.
    if (!fileError) logger.error({ err: { code: err.code, message: err.message }, file }, 'audit: writing the audit file failed; records are kept in memory and retried');
    fileError = err;
    metrics?.auditFailures.inc({ sink: 'file' }, inFlight.length || 1);
    for (const item of inFlight) {
      item.waiter?.reject(err);
      delete item.waiter;
    }
  });

  // Remember the durable head beside the file every few seconds, so a restart after rotation continues the chain.
  const headTimer = file
    ? setInterval(() => {
        if (!headDirty) return;
        headDirty = false;
        writeHeadFile(file, durableHead).catch((err: unknown) => logger.warn({ err, file }, 'audit: could not write the chain head file'));
      }, 5000)
    : null;
  headTimer?.unref();

  let queue: Queued[] = [];
  let scheduled = false;
  let closed = false;

  function drain(): void {
    scheduled = false;
    const batch = queue;
    queue = [];
    for (const item of batch) {
      const record = chain.next(recordBody(item.event, item.ts, instance, options.redactLiterals));
      if (out && dest) {
        expectedLine = `${serializeRecord(record)}\n`;
        queuedBytes += Buffer.byteLength(expectedLine);
        const entry: InFlight = { end: queuedBytes, head: { seq: record.seq, hash: record.hash } };
        if (item.durable) {
          const { resolve, reject } = item.durable;
          entry.waiter = options.fsync ? { resolve: () => fsync((dest as unknown as { fd: number }).fd, (err) => (err ? reject(err) : resolve())), reject } : { resolve, reject };
        }
        inFlight.push(entry);
        out.info(canonicalRecord(record));
      }
      if (sink) {
        if (item.durable && !dest) sink.addDurable(record).then(item.durable.resolve, item.durable.reject);
        else sink.add(record);
      } else if (item.durable && !dest) {
        item.durable.resolve();
      }
    }
    if (canonicalMismatches > 0) {
      logger.warn({ count: canonicalMismatches }, 'audit: pino serialised records differently from the canonical form; the canonical line was written');
      canonicalMismatches = 0;
    }
  }

  function enqueue(item: Queued): void {
    if (closed) throw new Error('audit log is closed');
    queue.push(item);
    if (!scheduled) {
      scheduled = true;
      setImmediate(drain);
    }
  }

  function waitWritten(): Promise<void> {
    if (fileError) return Promise.reject(fileError);
    const last = inFlight[inFlight.length - 1];
    if (!last) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const prior = last.waiter;
      last.waiter = {
        resolve: () => {
          prior?.resolve();
          resolve();
        },
        reject: (err) => {
          prior?.reject(err);
          reject(err);
        },
      };
    });
  }

  return {
    append(event) {
      enqueue({ event, ts: new Date().toISOString() });
    },
    appendDurable(event) {
      return new Promise<void>((resolve, reject) => enqueue({ event, ts: new Date().toISOString(), durable: { resolve, reject } }));
    },
    shouldAuditRead() {
      if (options.reads === 'all') return true;
      if (options.reads === 'none') return false;
      return random() < options.readSampleRate;
    },
    head() {
      return chain.head;
    },
    async flush() {
      if (scheduled) drain();
      await waitWritten();
      await sink?.flush();
    },
    async reopen() {
      if (!file || !dest) return;
      if (scheduled) drain();
      await waitWritten();
      await writeHeadFile(file, durableHead);
      headDirty = false;
      dest.reopen();
    },
    async close() {
      if (closed) return;
      if (scheduled) drain();
      closed = true;
      if (headTimer) clearInterval(headTimer);
      try {
        await waitWritten();
      } finally {
        if (file && dest) {
          await writeHeadFile(file, durableHead).catch((err: unknown) => logger.warn({ err, file }, 'audit: could not write the chain head file'));
          await new Promise<void>((resolve) => {
            // A destination that keeps failing would never finish `end()`: give up on it, the error is already counted.
            if (fileError) {
              dest.destroy();
              resolve();
              return;
            }
            dest.once('close', () => resolve());
            dest.once('error', () => {
              dest.destroy();
              resolve();
            });
            dest.end();
          });
        }
        await sink?.close();
      }
    },
  };
}
