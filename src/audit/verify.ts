// Checks audit files as one hash chain, in the order given, and reports the first broken record (backs `pgwarden audit verify`).
import { createReadStream } from 'node:fs';
import { GENESIS_HASH, hashRecord } from './chain.js';
import { serializeRecord } from './record.js';

export type VerifyResult =
  | {
      ok: true;
      records: number;
      /** seq of the first record checked (1 when the files start the chain; more when they continue an earlier, rotated file). */
      first_seq?: number;
      last_seq?: number;
      /** Hash of the last record: keep it as the anchor for the next verification. */
      last_hash?: string;
      /** Torn last lines pgwarden set aside at start (recovered_torn_tail records): where, and the fragment's hash. */
      torn_tails?: TornTailNote[];
      /** Records the writer could not keep (records_lost records: the backlog passed audit.max_backlog). */
      records_lost?: number;
    }
  | { ok: false; file: string; line: number; seq?: number; reason: string };

export interface TornTailNote {
  readonly seq: number;
  readonly fragment_sha256: string;
  readonly fragment_bytes: number;
  readonly side_file: string | null;
}

export interface VerifyOptions {
  /**
   * A record hash known from elsewhere (a previous `verify`, the Postgres sink, a ticket). The chain
   * must contain it: this is what catches records deleted from the END, which a chain alone cannot.
   */
  anchor?: string;
}

/** A file that cannot be read at all (missing, permissions): a usage problem, not a broken chain. */
export class AuditReadError extends Error {
  constructor(
    readonly file: string,
    readonly code: string,
  ) {
    super(`${file}: cannot read the audit file (${code})`);
    this.name = 'AuditReadError';
  }
}

const HEX64 = /^[0-9a-f]{64}$/;

interface State {
  seq: number | null;
  hash: string | null;
  records: number;
  firstSeq: number | null;
  anchorSeen: boolean;
  tornTails: TornTailNote[];
  recordsLost: number;
}

type Broken = { reason: string; seq?: number };

function checkLine(line: string, state: State, anchor: string | undefined): Broken | null {
  if (line === '') return { reason: 'blank line inside the log (lines were edited or removed)' };
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return { reason: 'not a valid JSON record (edited or cut)' };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return { reason: 'not a JSON object' };
  const seq = value.seq;
  if (typeof seq !== 'number' || !Number.isInteger(seq) || seq < 1) return { reason: 'missing or invalid seq' };
  const { prev, hash } = value;
  if (typeof prev !== 'string' || !HEX64.test(prev)) return { seq, reason: 'missing or invalid prev hash' };
  if (typeof hash !== 'string' || !HEX64.test(hash)) return { seq, reason: 'missing or invalid hash' };
  if (serializeRecord(value) !== line) return { seq, reason: 'record is not in canonical form (the line was edited)' };
  if (hashRecord(value) !== hash) return { seq, reason: "hash does not match the record's content (the record was edited)" };
  if (state.seq === null) {
    if (seq === 1 && prev !== GENESIS_HASH) return { seq, reason: 'the first record of a chain must have prev 000…0' };
  } else {
    const expected = state.seq + 1;
    if (seq > expected) return { seq, reason: `${seq - expected} record(s) missing before this one (expected seq ${expected})` };
    if (seq < expected) return { seq, reason: `out of order: seq ${seq} after seq ${state.seq} (records reordered or duplicated)` };
    if (prev !== state.hash) return { seq, reason: "prev does not match the previous record's hash (a record was replaced or the chain was restarted)" };
  }
  state.seq = seq;
  state.hash = hash;
  state.records += 1;
  state.firstSeq ??= seq;
  if (anchor !== undefined && hash === anchor) state.anchorSeen = true;
  if (value.event === 'recovered_torn_tail') {
    state.tornTails.push({
      seq,
      fragment_sha256: String(value.fragment_sha256),
      fragment_bytes: Number(value.fragment_bytes),
      side_file: typeof value.side_file === 'string' ? value.side_file : null,
    });
  } else if (value.event === 'records_lost' && typeof value.count === 'number') {
    state.recordsLost += value.count;
  }
  return null;
}

/** Feeds a file's lines to `checkLine`. A last line without '\n' is a truncated record. */
async function verifyFile(file: string, state: State, anchor: string | undefined): Promise<{ line: number; broken: Broken } | null> {
  const stream = createReadStream(file);
  let pending: Buffer = Buffer.alloc(0);
  let lineNo = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      let start = 0;
      for (let nl = pending.indexOf(10, start); nl !== -1; nl = pending.indexOf(10, start)) {
        lineNo += 1;
        const broken = checkLine(pending.toString('utf8', start, nl), state, anchor);
        if (broken) return { line: lineNo, broken };
        start = nl + 1;
      }
      pending = pending.subarray(start);
    }
  } catch (err) {
    throw new AuditReadError(file, (err as NodeJS.ErrnoException).code ?? String(err));
  } finally {
    stream.destroy();
  }
  if (pending.length > 0) {
    lineNo += 1;
    return { line: lineNo, broken: { reason: 'truncated record: the last line has no newline (the file was cut, or the writer stopped mid-record)' } };
  }
  return null;
}

/**
 * Verifies `files` as one chain, in the order given (oldest first: `audit.jsonl.2 audit.jsonl.1 audit.jsonl`).
 * Detects edited, deleted, inserted, reordered and truncated records. Records deleted from the very end
 * leave a shorter but valid chain: pass `anchor` (a hash recorded earlier) to catch that.
 * Throws AuditReadError when a file cannot be read.
 */
export async function verifyAuditFiles(files: string[], options: VerifyOptions = {}): Promise<VerifyResult> {
  const anchor = options.anchor?.toLowerCase();
  const state: State = { seq: null, hash: null, records: 0, firstSeq: null, anchorSeen: false, tornTails: [], recordsLost: 0 };
  for (const file of files) {
    const failure = await verifyFile(file, state, anchor);
    if (failure) return { ok: false, file, line: failure.line, ...(failure.broken.seq === undefined ? {} : { seq: failure.broken.seq }), reason: failure.broken.reason };
  }
  if (anchor !== undefined && !state.anchorSeen) {
    return {
      ok: false,
      file: files[files.length - 1] ?? '',
      line: 0,
      reason: `anchor ${anchor} is not in the chain: records were removed from the end (or the anchor belongs to other files)`,
    };
  }
  return {
    ok: true,
    records: state.records,
    ...(state.firstSeq === null ? {} : { first_seq: state.firstSeq, last_seq: state.seq!, last_hash: state.hash! }),
    ...(state.tornTails.length > 0 ? { torn_tails: state.tornTails } : {}),
    ...(state.recordsLost > 0 ? { records_lost: state.recordsLost } : {}),
  };
}
