// Statement texts kept in approval records are capped: the store, the API, the console and cards carry at most
// `approvals.max_stored_sql` bytes, with the whole text's SHA-256 and length so an approver can tell what was cut.
import { createHash } from 'node:crypto';

/** Default cap of a stored statement text (and of its normalized form): 64 KiB. */
export const DEFAULT_MAX_STORED_SQL = 64 * 1024;

export interface StoredText {
  /** The text, cut to at most `max` UTF-8 bytes at a character boundary. */
  readonly text: string;
  readonly truncated: boolean;
  /** UTF-8 bytes of the whole text. */
  readonly length: number;
  /** SHA-256 (hex) of the whole text's UTF-8 bytes. */
  readonly sha256: string;
}

/** The longest prefix of `text` that fits in `max` UTF-8 bytes, never splitting a character (or a surrogate pair). */
export function cutToBytes(text: string, max: number): string {
  if (text.length <= max / 3 || Buffer.byteLength(text, 'utf8') <= max) return text;
  const bytes = Buffer.from(text, 'utf8');
  let end = Math.max(0, max);
  // Back up over UTF-8 continuation bytes (10xxxxxx) so the cut falls before a character's first byte.
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString('utf8');
}

export function storedText(text: string, max: number): StoredText {
  const buf = Buffer.from(text, 'utf8');
  const sha256 = createHash('sha256').update(buf).digest('hex');
  if (buf.length <= max) return { text, truncated: false, length: buf.length, sha256 };
  return { text: cutToBytes(text, max), truncated: true, length: buf.length, sha256 };
}

type TextFields = { readonly sql: string; readonly sqlTruncated?: boolean; readonly sqlLength?: number; readonly sqlSha256?: string };

/** Length and hash of the whole text a request was opened for (records from older versions hold it whole). */
export function wholeText(request: TextFields): { truncated: boolean; length: number; sha256: string } {
  if (request.sqlSha256 !== undefined && request.sqlLength !== undefined) {
    return { truncated: request.sqlTruncated === true, length: request.sqlLength, sha256: request.sqlSha256 };
  }
  const whole = storedText(request.sql, Infinity);
  return { truncated: false, length: whole.length, sha256: whole.sha256 };
}

/** "… (N more bytes, sha256 …)": shown after a cut statement in cards (the console builds the same from the API). Empty when nothing was cut. */
export function truncationNote(request: TextFields): string {
  // Checked first: hashing a whole text for every card render of an uncut statement would be wasted work.
  if (request.sqlTruncated !== true) return '';
  const whole = wholeText(request);
  if (!whole.truncated) return '';
  return `… (${whole.length - Buffer.byteLength(request.sql, 'utf8')} more bytes, sha256 ${whole.sha256})`;
}
