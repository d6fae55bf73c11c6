// Identifiers for approval requests, grants and webhook messages: short, unguessable, URL-safe.
import { randomBytes } from 'node:crypto';

// RFC 4648 base32 alphabet, lowercased: no padding, no characters that need URL escaping.
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

/** `length` base32 characters from the CSPRNG (5 bits each; rejection-free because 256 % 32 === 0). */
export function randomBase32(length: number): string {
  const bytes = randomBytes(length);
  let out = '';
  for (const b of bytes) out += ALPHABET[b & 31];
  return out;
}

/** `apr_` + 10 base32 characters (50 bits): unguessable enough for a link that still needs a token to act on. */
export function newRequestId(): string {
  return `apr_${randomBase32(10)}`;
}

export function newGrantId(): string {
  return `grt_${randomBase32(16)}`;
}

/** Standard Webhooks message id: the same across retries of one delivery so receivers can de-duplicate. */
export function newWebhookMessageId(): string {
  return `msg_${randomBase32(20)}`;
}
