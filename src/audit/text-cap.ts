// Caps statement texts stored in audit records: a long text keeps its first bytes plus the SHA-256 and length of the whole.
import { createHash } from 'node:crypto';

export interface CappedText {
  /** The text as stored: whole, or its first `maxBytes` bytes of UTF-8 (cut at a character boundary). */
  readonly text: string;
  /** Set only when the text was cut: SHA-256 (hex) of the whole text's UTF-8 bytes, and their number. */
  readonly sha256?: string;
  readonly bytes?: number;
}

/**
 * A padded statement (megabytes of comment or literal) must not put megabytes into the audit log, yet the record
 * must still identify the text exactly: the hash lets anyone holding the statement prove it is the one recorded.
 * Texts are JS strings (UTF-16); a string of at most maxBytes/3 code units cannot exceed maxBytes of UTF-8, so
 * the common case costs no encoding at all.
 */
export function capText(text: string, maxBytes: number): CappedText {
  if (text.length * 3 <= maxBytes) return { text };
  const utf8 = Buffer.from(text, 'utf8');
  if (utf8.length <= maxBytes) return { text };
  let end = maxBytes;
  // Step back over UTF-8 continuation bytes (10xxxxxx) so no character is split.
  while (end > 0 && (utf8[end]! & 0xc0) === 0x80) end -= 1;
  return {
    text: utf8.toString('utf8', 0, end),
    sha256: createHash('sha256').update(utf8).digest('hex'),
    bytes: utf8.length,
  };
}
