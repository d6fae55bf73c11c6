// Standard Webhooks signatures: the specification's own example vector, secrets without the whsec_ prefix, and what verification refuses.
import { describe, expect, it } from 'vitest';
import { signWebhook, verifyWebhook, webhookSecretBytes } from '../../../src/approvals/channels/webhook-signature.js';

// From the Standard Webhooks reference libraries' tests.
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const ID = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
const TS = 1614265330;
const BODY = '{"test": 2432232314}';

describe('webhook signatures', () => {
  it('matches the Standard Webhooks example signature', () => {
    expect(signWebhook(SECRET, ID, TS, BODY)).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('uses the raw bytes of a secret without the whsec_ prefix', () => {
    expect(webhookSecretBytes('plain secret').toString('utf8')).toBe('plain secret');
    expect(webhookSecretBytes('whsec_aGVsbG8=').toString('utf8')).toBe('hello');
  });

  it('verifies a good signature among several and refuses tampering, other secrets and stale timestamps', () => {
    const headers = { 'webhook-id': ID, 'webhook-timestamp': String(TS), 'webhook-signature': `v1,bm9wZQ== ${signWebhook(SECRET, ID, TS, BODY)}` };
    expect(verifyWebhook(SECRET, headers, BODY, { nowSeconds: TS + 10 })).toBe(true);
    expect(verifyWebhook(SECRET, headers, `${BODY} `, { nowSeconds: TS })).toBe(false);
    expect(verifyWebhook('whsec_b3RoZXI=', headers, BODY, { nowSeconds: TS })).toBe(false);
    expect(verifyWebhook(SECRET, headers, BODY, { nowSeconds: TS + 301 })).toBe(false);
    expect(verifyWebhook(SECRET, { ...headers, 'webhook-id': 'msg_other' }, BODY, { nowSeconds: TS })).toBe(false);
    expect(verifyWebhook(SECRET, { 'webhook-id': ID }, BODY, { nowSeconds: TS })).toBe(false);
  });
});
