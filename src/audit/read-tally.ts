// Counts the reads that audit.reads (none | sample) leaves out of the log and records how many, so that a replay of the
// log can say how much traffic it could not see (`reads_unrecorded` records; docs/audit.md).
import type { AuditLog } from './record.js';

/** How often a non-zero count is written (and once more on close). */
export const READ_TALLY_INTERVAL_MS = 60_000;

export interface ReadTally {
  /** The writer's decision for this read; a `false` is counted. */
  shouldAuditRead(): boolean;
  /** Writes the count so far (if any) as one `reads_unrecorded` record. */
  flush(): void;
  /** Flushes and stops the timer. */
  close(): void;
}

export function createReadTally(audit: AuditLog & { shouldAuditRead(): boolean }, options: { intervalMs?: number; now?: () => Date } = {}): ReadTally {
  const now = options.now ?? (() => new Date());
  let count = 0;
  let firstAt: string | null = null;
  let lastAt: string | null = null;
  let closed = false;

  const flush = (): void => {
    if (count === 0 || firstAt === null || lastAt === null) return;
    // append() never blocks the data path; a lost tally (audit down) only makes replay's count low, not wrong in kind.
    audit.append({ event: 'reads_unrecorded', count, first_at: firstAt, last_at: lastAt });
    count = 0;
    firstAt = null;
    lastAt = null;
  };
  const timer = setInterval(flush, options.intervalMs ?? READ_TALLY_INTERVAL_MS);
  timer.unref();

  return {
    shouldAuditRead() {
      if (audit.shouldAuditRead()) return true;
      if (!closed) {
        lastAt = now().toISOString();
        if (count === 0) firstAt = lastAt;
        count += 1;
      }
      return false;
    },
    flush,
    close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      flush();
    },
  };
}
