// The body of a record before it is sealed into the chain: secrets stripped, literals redacted when configured,
// long texts capped (with the SHA-256 and length of the whole).
import { redactUrlCredentials } from '../log.js';
import { redactLiterals as redactLiteralText, redactSqlSecrets, type AuditEvent, type AuditRecord } from './record.js';
import { capText } from './text-cap.js';
import { redactSecrets } from '../sql/redact.js';

export type RecordBody = Omit<AuditRecord, 'seq' | 'prev' | 'hash'>;

/** JSON keys, chain fields and small values of a record, beyond its texts. */
const RECORD_OVERHEAD = 400;

export function recordBody(event: AuditEvent, ts: string, instance: string, redact: boolean, maxSqlBytes: number): RecordBody {
  const { sql, normalized, reason, ...rest } = event;
  const body: Record<string, unknown> = { ...rest, ts, instance };
  const put = (key: 'sql' | 'normalized', text: string) => {
    // Secrets out of SQL from the parse tree (sql/redact.ts), then the regex as a second net for text that is not SQL.
    const capped = capText(redactSqlSecrets(redactSecrets(text)), maxSqlBytes);
    body[key] = capped.text;
    if (capped.sha256 !== undefined) {
      body[`${key}_sha256`] = capped.sha256;
      body[`${key}_bytes`] = capped.bytes;
    }
  };
  if (redact) {
    const text = normalized ?? (sql === undefined ? undefined : redactLiteralText(sql));
    if (text !== undefined) put('normalized', text);
  } else {
    if (sql !== undefined) put('sql', sql);
    if (normalized !== undefined) put('normalized', normalized);
  }
  if (reason !== undefined) body.reason = capText(redactUrlCredentials(reason), maxSqlBytes).text;
  return body as RecordBody;
}

/** Approximate size of a record in the backlog: its texts (capped already) plus a fixed overhead. */
export function bytesOf(body: RecordBody): number {
  const b = body as { sql?: string; normalized?: string; reason?: string };
  return RECORD_OVERHEAD + (b.sql?.length ?? 0) + (b.normalized?.length ?? 0) + (b.reason?.length ?? 0);
}
