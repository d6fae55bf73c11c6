// The hash chain: each record carries the previous record's hash and its own SHA-256; the head resumes from the last record on disk.
import { createHash } from 'node:crypto';
import { open, readFile, rename, writeFile } from 'node:fs/promises';
import { serializeRecord, type AuditRecord } from './record.js';

/** `prev` of the very first record of a chain. */
export const GENESIS_HASH = '0'.repeat(64);

/** Where the chain stands: the last record's seq and hash (seq 0 and GENESIS_HASH before any record). */
export interface ChainHead {
  readonly seq: number;
  readonly hash: string;
}

export const EMPTY_HEAD: ChainHead = { seq: 0, hash: GENESIS_HASH };

/** SHA-256 hex over the canonical text of the record without its `hash` field. */
export function hashRecord(record: Omit<AuditRecord, 'hash'> | Record<string, unknown>): string {
  const { hash: _ignored, ...body } = record as Record<string, unknown>;
  return createHash('sha256').update(serializeRecord(body)).digest('hex');
}

/** Links records one after another. Not thread-safe by design: one writer per chain (one per instance and file). */
export class HashChain {
  #seq: number;
  #hash: string;

  constructor(head: ChainHead = EMPTY_HEAD) {
    this.#seq = head.seq;
    this.#hash = head.hash;
  }

  get head(): ChainHead {
    return { seq: this.#seq, hash: this.#hash };
  }

  /** Seals a record body: adds seq and prev, computes hash, and advances the head. */
  next(body: Omit<AuditRecord, 'seq' | 'prev' | 'hash'>): AuditRecord {
    return this.seal(body).record;
  }

  /**
   * Seals a record and also returns its line (canonical text, no newline). `hash` is the last canonical key, so
   * the line is the hashed text with the hash spliced in before the closing brace: one serialisation, not two.
   */
  seal(body: Omit<AuditRecord, 'seq' | 'prev' | 'hash'>): { record: AuditRecord; line: string } {
    const unsealed = { ...body, seq: this.#seq + 1, prev: this.#hash };
    const text = serializeRecord(unsealed);
    const hash = createHash('sha256').update(text).digest('hex');
    this.#seq += 1;
    this.#hash = hash;
    return { record: { ...unsealed, hash } as AuditRecord, line: `${text.slice(0, -1)},"hash":"${hash}"}` };
  }

  /** Moves the head back (records sealed after `head` were not written and will be sealed again). */
  reset(head: ChainHead): void {
    this.#seq = head.seq;
    this.#hash = head.hash;
  }
}

const TAIL_CHUNK = 64 * 1024;

/**
 * The last complete record of an audit file, or null when the file is missing or empty. Reads
 * backwards from the end in chunks, so resuming after a restart costs the same for a 1 KB or a 10 GB file.
 * A torn last line is skipped; the writer sets such a fragment aside before it resumes (file-appender.ts), so
 * this matters only for files opened read-only.
 */
export async function readLastRecord(file: string): Promise<AuditRecord | null> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    const { size } = await handle.stat();
    let end = size;
    let tail = Buffer.alloc(0);
    while (end > 0) {
      const start = Math.max(0, end - TAIL_CHUNK);
      const chunk = Buffer.alloc(end - start);
      await handle.read(chunk, 0, chunk.length, start);
      tail = Buffer.concat([chunk, tail]);
      end = start;
      const lines = tail.toString('utf8').split('\n');
      // lines[0] may be partial unless we reached the start of the file.
      for (let i = lines.length - 1; i >= (end === 0 ? 0 : 1); i--) {
        const record = parseRecordLine(lines[i]!);
        if (record) return record;
      }
    }
    return null;
  } finally {
    await handle.close();
  }
}

function parseRecordLine(line: string): AuditRecord | null {
  if (!line.trim()) return null;
  try {
    const value = JSON.parse(line) as Partial<AuditRecord>;
    if (typeof value.seq === 'number' && typeof value.hash === 'string' && /^[0-9a-f]{64}$/.test(value.hash)) return value as AuditRecord;
  } catch {
    // torn or foreign line
  }
  return null;
}

/** Sidecar that remembers the head across rotation: `<file>.head`. */
export function headFileOf(file: string): string {
  return `${file}.head`;
}

/** Writes the sidecar atomically (temp file + rename) so a crash leaves the old or the new head, never half of one. */
export async function writeHeadFile(file: string, head: ChainHead): Promise<void> {
  const target = headFileOf(file);
  const tmp = `${target}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify({ seq: head.seq, hash: head.hash })}\n`);
  await rename(tmp, target);
}

async function readHeadFile(file: string): Promise<ChainHead | null> {
  try {
    const value = JSON.parse(await readFile(headFileOf(file), 'utf8')) as Partial<ChainHead>;
    if (typeof value.seq === 'number' && typeof value.hash === 'string' && /^[0-9a-f]{64}$/.test(value.hash)) return { seq: value.seq, hash: value.hash };
  } catch {
    // missing or unreadable: fall through
  }
  return null;
}

/**
 * Where to resume: the last record of the file if it has one (authoritative), else the sidecar head
 * left when the previous file was rotated away, else a new chain. The later of the two wins, so a
 * stale sidecar can never roll the chain back.
 */
export async function resumeHead(file: string): Promise<ChainHead> {
  const last = await readLastRecord(file);
  const side = await readHeadFile(file);
  const fromFile = last ? { seq: last.seq, hash: last.hash } : null;
  if (fromFile && (!side || fromFile.seq >= side.seq)) return fromFile;
  return side ?? EMPTY_HEAD;
}
