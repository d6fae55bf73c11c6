// The records waiting for the audit file, in order: taken in batches from the head, consumed only once written.
import type { RecordBody } from './record-body.js';

export interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
}

export interface Pending {
  /** null: a flush() barrier, resolved when everything before it is written. */
  readonly body: RecordBody | null;
  readonly bytes: number;
  waiter?: Waiter;
  /** Counted in pgwarden_audit_failures_total already (each record once, however many retries). */
  failed?: boolean;
  /** A durable record whose write failed: its caller was told, so it is never written. */
  dropped?: boolean;
}

const MAX_BATCH_BYTES = 1024 * 1024;
const MAX_BATCH_RECORDS = 4096;

export class Backlog {
  #queue: Pending[] = [];
  #head = 0;
  /** Approximate bytes of the entries not yet written (dropped ones excluded). */
  bytes = 0;

  get length(): number {
    return this.#queue.length - this.#head;
  }

  push(p: Pending): void {
    this.#queue.push(p);
    this.bytes += p.bytes;
  }

  /** The next batch from the head: up to 1 MiB / 4,096 live entries; dropped entries are skipped (and consumed with it). */
  nextBatch(): { items: Pending[]; consumed: number; bytes: number } {
    const items: Pending[] = [];
    let bytes = 0;
    let i = this.#head;
    for (; i < this.#queue.length && items.length < MAX_BATCH_RECORDS && bytes < MAX_BATCH_BYTES; i++) {
      const p = this.#queue[i]!;
      if (p.dropped) continue;
      items.push(p);
      bytes += p.bytes;
    }
    return { items, consumed: i - this.#head, bytes };
  }

  /** The batch was written: remove its entries. */
  consume(n: number, bytes: number): void {
    this.#head += n;
    this.bytes -= bytes;
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
    } else if (this.#head > 4096 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
  }

  /** Marks an entry as never to be written (its caller was told); it no longer counts against the bound. */
  drop(p: Pending): void {
    p.dropped = true;
    this.bytes -= p.bytes;
  }

  /** The records still waiting (barriers and dropped entries excluded). */
  records(): Pending[] {
    return this.#queue.slice(this.#head).filter((p) => p.body !== null && !p.dropped);
  }
}
