// Slack failing in production ways: 429 with Retry-After is waited out and retried, 5xx is retried, a failure that stays is counted and logged, and the request lives on in the console and other channels.
import { afterEach, describe, expect, it } from 'vitest';
import type { ApprovalChannel } from '../../../src/approvals/channels/channel.js';
import type { ApprovalRequest } from '../../../src/approvals/request.js';
import { decide, TOKENS } from '../../helpers/app.js';
import { blocksText } from '../../fakes/slack-interactions.js';
import { FAST_RETRY, S_ALICE, startSlackHarness, type SlackHarness } from '../../fakes/slack-harness.js';

let h: SlackHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function counter(metric: 'channelRetries' | 'channelDeliveryFailures', labels: Record<string, string>): Promise<number> {
  const values = (await h!.metrics[metric].get()).values;
  return values.find((v) => Object.entries(labels).every(([k, val]) => (v.labels as Record<string, unknown>)[k] === val))?.value ?? 0;
}

describe('Slack delivery under failure', () => {
  it('waits out a 429 for its Retry-After, then posts; the retry is counted, not the failure', async () => {
    h = await startSlackHarness();
    h.api.inject('chat.postMessage', { status: 429, retryAfter: 1 });
    const pending = await h.open();
    await h.message(pending.request.id);
    const [limited, posted] = h.api.callsOf('chat.postMessage');
    expect(limited!.status).toBe(429);
    expect(posted!.status).toBe(200);
    // Retry-After: 1 means one second; the SDK may add its backoff on top, never less.
    expect(posted!.at - limited!.at).toBeGreaterThanOrEqual(950);
    expect(await counter('channelRetries', { channel: 'slack', reason: 'rate_limited' })).toBe(1);
    expect(await counter('channelDeliveryFailures', { channel: 'slack' })).toBe(0);
    pending.withdraw('client_disconnect');
  });

  it('retries 5xx answers to chat.update until one succeeds', async () => {
    h = await startSlackHarness();
    const pending = await h.open();
    const message = await h.message(pending.request.id);
    h.api.inject('chat.update', { status: 500 }, { status: 503 });
    expect((await decide(h.baseUrl, pending.request.id, TOKENS['alice@example.com'], 'approve', 'ok')).status).toBe(200);
    await pending.outcome;
    await h.api.waitFor(() => blocksText(message.blocks).includes('Approved by alice@example.com'));
    expect(h.api.callsOf('chat.update').map((c) => c.status)).toEqual([500, 503, 200]);
    expect(await counter('channelRetries', { channel: 'slack', reason: 'server_error' })).toBe(2);
    expect(await counter('channelDeliveryFailures', { channel: 'slack' })).toBe(0);
  });

  it('does not retry a Slack error that another attempt cannot fix (channel_not_found), or an HTTP 400', async () => {
    h = await startSlackHarness();
    h.api.inject('chat.postMessage', { error: 'channel_not_found' });
    const first = await h.open();
    await expect.poll(() => counter('channelDeliveryFailures', { channel: 'slack' })).toBe(1);
    h.api.inject('chat.postMessage', { status: 400 });
    const second = await h.open();
    await expect.poll(() => counter('channelDeliveryFailures', { channel: 'slack' })).toBe(2);
    expect(h.api.callsOf('chat.postMessage')).toHaveLength(2);
    for (const p of [first, second]) p.withdraw('client_disconnect');
  });

  it('a post that keeps failing is counted and logged, and the request still reaches the console, the API and other channels', async () => {
    const seen: ApprovalRequest[] = [];
    const recorder: ApprovalChannel = { name: 'recorder', requested: async (r) => void seen.push(r), updated: async () => undefined };
    h = await startSlackHarness({ channels: [recorder] });
    h.api.inject('chat.postMessage', ...Array.from({ length: (FAST_RETRY.retries ?? 0) + 1 }, () => ({ status: 502 })));
    const pending = await h.open();
    await expect.poll(() => counter('channelDeliveryFailures', { channel: 'slack' })).toBe(1);
    expect(h.api.callsOf('chat.postMessage')).toHaveLength((FAST_RETRY.retries ?? 0) + 1);
    const logged = h.logs.records().find((r) => r.msg === 'slack: posting the approval message failed; the console and other channels still have the request');
    expect(logged).toMatchObject({ level: 'error', request_id: pending.request.id, err: 'http_502' });
    expect(seen.map((r) => r.id)).toEqual([pending.request.id]);
    // The API (what the console and CLI use) lists it and decides it.
    const list = await fetch(`${h.baseUrl}/api/approvals?status=pending`, { headers: { authorization: `Bearer ${TOKENS['alice@example.com']}` } });
    expect(((await list.json()) as { approvals: { id: string }[] }).approvals.map((a) => a.id)).toContain(pending.request.id);
    expect((await decide(h.baseUrl, pending.request.id, TOKENS['bob@example.com'], 'approve', 'via console')).status).toBe(200);
    expect((await pending.outcome).status).toBe('approved');
  });

  it('a rate-limited views.open does not sleep past the 3-second trigger: the approver is told to use the console', async () => {
    h = await startSlackHarness();
    const pending = await h.open();
    h.api.inject('views.open', { status: 429, retryAfter: 10 });
    await h.click(S_ALICE, 'pgwarden_approve', pending.request.id);
    const note = await h.api.waitFor(() => h!.api.ephemeralsFor(S_ALICE.id)[0], 3000);
    expect(note.text).toContain('the form could not be opened (ratelimited)');
    expect(note.text).toContain(`http://pgwarden.test/#/approvals/${pending.request.id}`);
    pending.withdraw('client_disconnect');
  });

  it('shutting down while Slack asks to wait a minute does not wait for it', { timeout: 15_000 }, async () => {
    h = await startSlackHarness();
    h.api.inject('chat.postMessage', { status: 429, retryAfter: 60 });
    const pending = await h.open();
    await h.api.waitFor(() => h!.api.callsOf('chat.postMessage').length === 1);
    await h.close();
    h = undefined;
    expect((await pending.outcome).status).toBe('withdrawn');
  });
});
