// Streams the records of audit files (JSON lines, plain or .gz) to a callback, oldest file first — for replay and suggestions.
//
// Not a verifier: lines are parsed, not checked against the chain (that is `audit verify`). An audit *extract* (e.g.
// `SELECT record FROM pgwarden_audit …` from the Postgres sink) has no chain to check, and is read the same way.
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { AuditReadError } from './verify.js';

export interface RecordPosition {
  readonly file: string;
  /** 1-based line number in the (uncompressed) file. */
  readonly line: number;
}

export interface ScanOptions {
  /** Only records whose `ts` is at or after this time (records without a parseable `ts` are skipped too). */
  readonly since?: Date;
  /** Only records whose `ts` is before this time. */
  readonly until?: Date;
  /** Called for a line that is not a JSON object (torn or foreign); the scan goes on. */
  onMalformed?(where: RecordPosition): void;
}

export interface ScanSummary {
  readonly files: number;
  /** Lines that were records, whether or not inside the time window. */
  readonly records: number;
  readonly malformed: number;
  /** Records outside the since/until window. */
  readonly skipped: number;
}

type Visit = (record: Record<string, unknown>, where: RecordPosition) => void;

function inWindow(record: Record<string, unknown>, since: number, until: number): boolean {
  if (since === -Infinity && until === Infinity) return true;
  const ts = typeof record.ts === 'string' ? Date.parse(record.ts) : Number.NaN;
  return ts >= since && ts < until;
}

/**
 * Calls `visit` for every record of `files` (in the order given) inside the time window. The callback runs
 * synchronously per chunk, so a caller on a server's event loop gives the loop back between chunks (64 KiB).
 * Throws AuditReadError when a file cannot be read.
 */
export async function scanAuditFiles(files: readonly string[], visit: Visit, options: ScanOptions = {}): Promise<ScanSummary> {
  const since = options.since?.getTime() ?? -Infinity;
  const until = options.until?.getTime() ?? Infinity;
  let records = 0;
  let malformed = 0;
  let skipped = 0;
  const handle = (text: string, where: RecordPosition): void => {
    if (text.length === 0 || text === '\r') return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      value = null;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      malformed += 1;
      options.onMalformed?.(where);
      return;
    }
    records += 1;
    const record = value as Record<string, unknown>;
    if (!inWindow(record, since, until)) {
      skipped += 1;
      return;
    }
    visit(record, where);
  };

  for (const file of files) {
    const raw = createReadStream(file);
    const stream = /\.gz$/i.test(file) ? raw.pipe(createGunzip()) : raw;
    let pending: Buffer = Buffer.alloc(0);
    let line = 0;
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
        let start = 0;
        for (let nl = pending.indexOf(10, start); nl !== -1; nl = pending.indexOf(10, start)) {
          line += 1;
          handle(pending.toString('utf8', start, nl), { file, line });
          start = nl + 1;
        }
        pending = pending.subarray(start);
      }
    } catch (err) {
      throw new AuditReadError(file, (err as NodeJS.ErrnoException).code ?? (err instanceof Error ? err.message : String(err)));
    } finally {
      raw.destroy();
    }
    if (pending.length > 0) handle(pending.toString('utf8'), { file, line: line + 1 });
  }
  return { files: files.length, records, malformed, skipped };
}
