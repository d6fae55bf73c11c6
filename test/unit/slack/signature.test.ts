// Slack's v0 request signature: the documented example verifies, the 5-minute window holds at its edges both ways, and anything else is refused.
import { describe, expect, it } from 'vitest';
import { signRequest, verifySlackSignature } from '../../../src/approvals/channels/slack/signature.js';

// The worked example from Slack's "Verifying requests from Slack" page.
const DOC_SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const DOC_TIMESTAMP = '1531420618';
const DOC_BODY =
  'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
const DOC_SIGNATURE = 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503';
const at = (seconds: number) => (Number(DOC_TIMESTAMP) + seconds) * 1000;
const headers = (timestamp: string, signature: string) => ({ 'x-slack-request-timestamp': timestamp, 'x-slack-signature': signature });

describe('verifySlackSignature', () => {
  it("computes and accepts the signature of Slack's documented example", () => {
    expect(signRequest(DOC_SECRET, DOC_TIMESTAMP, DOC_BODY)).toBe(DOC_SIGNATURE);
    expect(verifySlackSignature(DOC_SECRET, headers(DOC_TIMESTAMP, DOC_SIGNATURE), Buffer.from(DOC_BODY), at(0))).toEqual({ ok: true, signature: DOC_SIGNATURE });
  });

  it('accepts a timestamp up to 300 seconds away in either direction and refuses 301', () => {
    const check = (offset: number) => verifySlackSignature(DOC_SECRET, headers(DOC_TIMESTAMP, DOC_SIGNATURE), Buffer.from(DOC_BODY), at(offset));
    expect(check(300).ok).toBe(true);
    expect(check(-300).ok).toBe(true);
    expect(check(301)).toEqual({ ok: false, reason: 'stale_timestamp' });
    expect(check(-301)).toEqual({ ok: false, reason: 'stale_timestamp' });
  });

  it('refuses another body, another secret, a truncated or re-cased signature, a non-numeric timestamp and missing headers', () => {
    const body = Buffer.from(DOC_BODY);
    const verify = (h: Record<string, string>, b = body, secret = DOC_SECRET) => verifySlackSignature(secret, h, b, at(0));
    expect(verify(headers(DOC_TIMESTAMP, DOC_SIGNATURE), Buffer.from(`${DOC_BODY}&x=1`))).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verify(headers(DOC_TIMESTAMP, DOC_SIGNATURE), body, 'another-secret')).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verify(headers(DOC_TIMESTAMP, DOC_SIGNATURE.slice(0, -2)))).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verify(headers(DOC_TIMESTAMP, DOC_SIGNATURE.toUpperCase()))).toEqual({ ok: false, reason: 'bad_signature' });
    // The timestamp is part of what is signed: changing it (to slip into the window) breaks the signature.
    expect(verifySlackSignature(DOC_SECRET, headers(String(Number(DOC_TIMESTAMP) + 1), DOC_SIGNATURE), body, at(0))).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verify(headers('1531420618.5', DOC_SIGNATURE))).toEqual({ ok: false, reason: 'stale_timestamp' });
    expect(verify({ 'x-slack-signature': DOC_SIGNATURE })).toEqual({ ok: false, reason: 'missing_headers' });
    expect(verify({ 'x-slack-request-timestamp': DOC_TIMESTAMP })).toEqual({ ok: false, reason: 'missing_headers' });
  });
});
