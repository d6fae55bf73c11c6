// POST /api/slack/actions accepts only requests Slack signed (v0 HMAC-SHA256 over the raw body, within 5 minutes either way), each once; everything else is refused before any effect.
import { afterEach, describe, expect, it } from 'vitest';
import { blockActionsPayload, postSigned, signInteraction, viewSubmissionPayload } from '../../fakes/slack-interactions.js';
import { S_ALICE, SLACK_SECRET, startSlackHarness, type SlackHarness } from '../../fakes/slack-harness.js';

let h: SlackHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const nowSeconds = () => Math.floor(Date.now() / 1000);

async function rejected(reason: string): Promise<number> {
  const metric = await h!.metrics.channelInboundRejected.get();
  return metric.values.find((v) => v.labels.channel === 'slack' && v.labels.reason === reason)?.value ?? 0;
}

/** A fresh Approve click by Alice on the message of a new pending request. */
async function aliceClick() {
  const pending = await h!.open();
  const message = await h!.message(pending.request.id);
  return { pending, payload: blockActionsPayload(h!.api, S_ALICE, message, 'pgwarden_approve') };
}

/** Nothing happened on the server side: no modal opened, no decision stored. */
async function expectNoEffect(requestId: string) {
  // Give background work (if any were wrongly started) time to reach the fake.
  await new Promise((r) => setTimeout(r, 100));
  expect(h!.api.callsOf('views.open')).toHaveLength(0);
  expect((await h!.store.get(requestId))?.decisions).toEqual([]);
}

describe('Slack request signatures', () => {
  it('accepts a correctly signed click and opens the modal', async () => {
    h = await startSlackHarness();
    const { pending, payload } = await aliceClick();
    expect(await postSigned(h.baseUrl, signInteraction(payload, SLACK_SECRET))).toEqual({ status: 200, body: undefined });
    await h.modalFor(S_ALICE);
    pending.withdraw('client_disconnect');
  });

  it('refuses a request signed with another secret, one whose body was changed after signing, and one without signature headers', async () => {
    h = await startSlackHarness();
    const { pending, payload } = await aliceClick();
    const wrongKey = await postSigned(h.baseUrl, signInteraction(payload, 'not-the-signing-secret'));
    expect(wrongKey).toMatchObject({ status: 401, body: { error: { code: 'bad_signature' } } });

    const signed = signInteraction(payload, SLACK_SECRET);
    const tampered = { ...signed, body: signed.body.replace('pgwarden_approve', 'pgwarden_deny') };
    expect(tampered.body).not.toBe(signed.body);
    expect((await postSigned(h.baseUrl, tampered)).status).toBe(401);

    const unsigned = { body: signed.body, headers: { 'Content-Type': 'application/x-www-form-urlencoded' } };
    expect(await postSigned(h.baseUrl, unsigned)).toMatchObject({ status: 401, body: { error: { code: 'bad_signature', message: expect.stringContaining('missing') } } });

    const otherScheme = { ...signed, headers: { ...signed.headers, 'X-Slack-Signature': signed.headers['X-Slack-Signature']!.replace('v0=', 'v1=') } };
    expect((await postSigned(h.baseUrl, otherScheme)).status).toBe(401);
    expect(await rejected('bad_signature')).toBe(4);
    await expectNoEffect(pending.request.id);
    pending.withdraw('client_disconnect');
  });

  it('refuses timestamps more than 5 minutes in the past or the future, and accepts them just inside', async () => {
    h = await startSlackHarness();
    const { pending, payload } = await aliceClick();
    for (const offset of [-301, 301, -86_400]) {
      const res = await postSigned(h.baseUrl, signInteraction(payload, SLACK_SECRET, nowSeconds() + offset));
      expect(res, `offset ${offset}s`).toMatchObject({ status: 401, body: { error: { code: 'stale_timestamp' } } });
    }
    expect(await rejected('stale_timestamp')).toBe(3);
    await expectNoEffect(pending.request.id);
    const early = await postSigned(h.baseUrl, signInteraction(payload, SLACK_SECRET, nowSeconds() - 290));
    expect(early.status).toBe(200);
    const late = await postSigned(h.baseUrl, signInteraction(blockActionsPayload(h.api, S_ALICE, await h.message(pending.request.id), 'pgwarden_approve'), SLACK_SECRET, nowSeconds() + 290));
    expect(late.status).toBe(200);
    pending.withdraw('client_disconnect');
  });

  it('refuses a replayed request: the same signed submission posted twice records one decision', async () => {
    h = await startSlackHarness();
    const pending = await h.open({ quorum: 2 });
    await h.click(S_ALICE, 'pgwarden_approve', pending.request.id);
    const modal = await h.modalFor(S_ALICE);
    const signed = signInteraction(viewSubmissionPayload(h.api, S_ALICE, modal, { reason: 'ok' }), SLACK_SECRET);
    expect((await postSigned(h.baseUrl, signed)).status).toBe(200);
    expect(await postSigned(h.baseUrl, signed)).toMatchObject({ status: 401, body: { error: { code: 'replayed' } } });
    await h.api.waitFor(() => h!.api.ephemeralsFor(S_ALICE.id)[0]);
    expect((await h.store.get(pending.request.id))?.decisions).toHaveLength(1);
    expect(await rejected('replayed')).toBe(1);
    pending.withdraw('client_disconnect');
  });

  it('refuses a signed request from another workspace and a signed body without a payload', async () => {
    h = await startSlackHarness();
    await h.api.waitFor(() => h!.api.callsOf('auth.test').length > 0 && h!.api.callsOf('auth.test')[0]!.status === 200);
    const { pending, payload } = await aliceClick();
    const foreign = { ...payload, team: { id: 'T0SOMEONEELSE', domain: 'elsewhere' } };
    expect(await postSigned(h.baseUrl, signInteraction(foreign, SLACK_SECRET))).toMatchObject({ status: 403, body: { error: { code: 'foreign_workspace' } } });
    const body = 'command=%2Fpgwarden&text=approve';
    const ts = String(nowSeconds());
    const { createHmac } = await import('node:crypto');
    const sig = `v0=${createHmac('sha256', SLACK_SECRET).update(`v0:${ts}:${body}`).digest('hex')}`;
    const noPayload = await postSigned(h.baseUrl, { body, headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Slack-Request-Timestamp': ts, 'X-Slack-Signature': sig } });
    expect(noPayload).toMatchObject({ status: 400, body: { error: { code: 'malformed' } } });
    await expectNoEffect(pending.request.id);
    pending.withdraw('client_disconnect');
  });

  it('answers 415 to a JSON body and 413 to a body over 1 MiB, without reading it as an interaction', async () => {
    h = await startSlackHarness();
    const json = await fetch(`${h.baseUrl}/api/slack/actions`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
    expect(json.status).toBe(415);
    const big = await fetch(`${h.baseUrl}/api/slack/actions`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: `payload=${'x'.repeat(1024 * 1024 + 1)}` });
    expect(big.status).toBe(413);
  });
});
