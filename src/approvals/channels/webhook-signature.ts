// Standard Webhooks signing and verification (https://www.standardwebhooks.com): HMAC-SHA256 over "id.timestamp.body".
import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The key bytes: a `whsec_<base64>` secret (the Standard Webhooks form) is the base64-decoded part;
 * any other string is used as its UTF-8 bytes.
 */
export function webhookSecretBytes(secret: string): Buffer {
  return secret.startsWith('whsec_') ? Buffer.from(secret.slice('whsec_'.length), 'base64') : Buffer.from(secret, 'utf8');
}

/** The `webhook-signature` header value: `v1,<base64 HMAC-SHA256 of "${id}.${timestamp}.${body}">`. */
export function signWebhook(secret: string, id: string, timestamp: number, body: string): string {
  const mac = createHmac('sha256', webhookSecretBytes(secret)).update(`${id}.${timestamp}.${body}`).digest('base64');
  return `v1,${mac}`;
}

export interface WebhookHeaders {
  readonly 'webhook-id'?: string | undefined;
  readonly 'webhook-timestamp'?: string | undefined;
  readonly 'webhook-signature'?: string | undefined;
}

/**
 * What a receiver does: recompute the signature, compare in constant time against each space-separated
 * `v1,` entry, and refuse timestamps more than `toleranceSeconds` away (replay protection).
 */
export function verifyWebhook(secret: string, headers: WebhookHeaders, body: string, options: { nowSeconds?: number; toleranceSeconds?: number } = {}): boolean {
  const id = headers['webhook-id'];
  const timestamp = Number(headers['webhook-timestamp']);
  const signatures = headers['webhook-signature'];
  if (!id || !Number.isInteger(timestamp) || !signatures) return false;
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - timestamp) > (options.toleranceSeconds ?? 300)) return false;
  const expected = Buffer.from(signWebhook(secret, id, timestamp, body).slice(3), 'base64');
  return signatures.split(' ').some((entry) => {
    const [version, mac] = entry.split(',', 2);
    if (version !== 'v1' || !mac) return false;
    const given = Buffer.from(mac, 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}
