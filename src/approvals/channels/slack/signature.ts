// Slack request signing (v0): HMAC-SHA256 of "v0:{timestamp}:{raw body}" with the app's signing secret, timestamps within 5 minutes either way, compared in constant time.
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Slack's documented replay window: a request whose timestamp is further from now, in either direction, is refused. */
export const SIGNATURE_WINDOW_SECONDS = 5 * 60;

export type SignatureFailure = 'missing_headers' | 'stale_timestamp' | 'bad_signature';

export type SignatureCheck = { readonly ok: true; readonly signature: string } | { readonly ok: false; readonly reason: SignatureFailure };

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The v0 signature of `rawBody` sent at `timestamp` (seconds), as Slack computes it. */
export function signRequest(secret: string, timestamp: string, rawBody: Buffer | string): string {
  const mac = createHmac('sha256', secret);
  mac.update(`v0:${timestamp}:`);
  mac.update(rawBody);
  return `v0=${mac.digest('hex')}`;
}

/**
 * Verifies X-Slack-Signature over the raw bytes Slack sent (before any parsing: re-encoding a parsed body
 * changes it). `nowMs` is injectable so the window can be tested at its edges.
 */
export function verifySlackSignature(
  secret: string,
  headers: Record<string, string | string[] | undefined>,
  rawBody: Buffer,
  nowMs: number = Date.now(),
): SignatureCheck {
  const timestamp = header(headers, 'x-slack-request-timestamp');
  const signature = header(headers, 'x-slack-signature');
  if (!timestamp || !signature) return { ok: false, reason: 'missing_headers' };
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: 'stale_timestamp' };
  if (Math.abs(Math.floor(nowMs / 1000) - Number(timestamp)) > SIGNATURE_WINDOW_SECONDS) return { ok: false, reason: 'stale_timestamp' };
  const expected = Buffer.from(signRequest(secret, timestamp, rawBody), 'utf8');
  const given = Buffer.from(signature, 'utf8');
  // timingSafeEqual needs equal lengths; comparing against itself keeps the time the same on a length mismatch.
  const equal = given.length === expected.length ? timingSafeEqual(given, expected) : (timingSafeEqual(expected, expected), false);
  return equal ? { ok: true, signature } : { ok: false, reason: 'bad_signature' };
}
