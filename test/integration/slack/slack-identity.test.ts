// Who a Slack user is to pgwarden: explicitly mapped, or (only when slack.email_lookup is on) the confirmed email of a full member of the bot's own workspace. Anyone else is never an approver.
import { afterEach, describe, expect, it } from 'vitest';
import type { FakeSlackUser } from '../../fakes/slack-api.js';
import type { SlackTestUser } from '../../fakes/slack-interactions.js';
import { S_ALICE, startSlackHarness, startSlackWorkspace, type SlackHarness } from '../../fakes/slack-harness.js';

let h: SlackHarness | undefined;
afterEach(async () => {
  const api = h?.api;
  await h?.close();
  await api?.close();
  h = undefined;
});

const CAROL: SlackTestUser = { id: 'U0CAROL05', name: 'carol', email: 'carol@example.com' };

/** A harness whose workspace has Carol, unmapped, with this profile; Carol is an approver of every request opened. */
async function withCarol(profile: Partial<FakeSlackUser>, slack: Record<string, unknown> = { email_lookup: true }): Promise<SlackHarness> {
  const api = await startSlackWorkspace();
  api.users.set(CAROL.id, { id: CAROL.id, name: 'carol', is_email_confirmed: true, profile: { email: CAROL.email }, ...profile });
  return startSlackHarness({ api, slack });
}

/** Carol clicks Approve on a new request: the modal opens (she counts) or she is told why not. */
async function carolClicks(): Promise<{ counted: boolean; note?: string }> {
  const pending = await h!.open({ approvers: ['alice@example.com', 'carol@example.com'] });
  await h!.click(CAROL, 'pgwarden_approve', pending.request.id);
  const outcome = await h!.api.waitFor(() => (h!.api.views.some((v) => v.user === CAROL.id) ? { counted: true } : h!.api.ephemeralsFor(CAROL.id)[0] ? { counted: false, note: h!.api.ephemeralsFor(CAROL.id)[0]!.text } : null));
  pending.withdraw('client_disconnect');
  await pending.outcome;
  return outcome;
}

describe('Slack identities', () => {
  it('maps a user by the confirmed email of their profile when email_lookup is on, asking users.info once', async () => {
    h = await withCarol({});
    const pending = await h.open({ approvers: ['alice@example.com', 'carol@example.com'] });
    expect((await h.decide(CAROL, 'approve', pending.request.id, { reason: 'ok' })).status).toBe(200);
    const outcome = await pending.outcome;
    expect(outcome.status).toBe('approved');
    expect(outcome.request.decisions).toMatchObject([{ by: 'carol@example.com', via: 'slack' }]);
    // The click and the submission both resolved Carol; Slack was asked once (the answer is cached in the store).
    expect(await carolClicks()).toEqual({ counted: true });
    expect(h.api.callsOf('users.info')).toHaveLength(1);
  });

  it('never maps by email when email_lookup is off', async () => {
    h = await withCarol({}, {});
    const result = await carolClicks();
    expect(result.counted).toBe(false);
    expect(result.note).toContain('not mapped to a pgwarden approver identity');
    expect(h.api.callsOf('users.info')).toHaveLength(0);
  });

  it.each([
    ['an unconfirmed email', { is_email_confirmed: false }, 'not confirmed'],
    ['a guest account', { is_restricted: true }, 'guest accounts are not mapped by email'],
    ['a single-channel guest', { is_ultra_restricted: true }, 'guest accounts are not mapped by email'],
    ['an account of another workspace', { team_id: 'T0OTHERORG' }, 'another Slack workspace'],
    ['a deactivated account', { deleted: true }, 'deactivated'],
    ['a bot', { is_bot: true }, 'bots and apps are never approvers'],
    ['a profile without a visible email (no users:read.email scope)', { profile: {} }, 'users:read.email'],
  ])('refuses %s, saying why', async (_what, profile, why) => {
    h = await withCarol(profile);
    const result = await carolClicks();
    expect(result.counted).toBe(false);
    expect(result.note).toContain(why);
    expect(h.api.views).toHaveLength(0);
  });

  it('does not hand an identity that slack.identities gives to one user to another user whose profile claims the same email', async () => {
    h = await withCarol({ profile: { email: 'alice@example.com' } });
    const pending = await h.open();
    await h.click(CAROL, 'pgwarden_approve', pending.request.id);
    const note = await h.api.waitFor(() => h!.api.ephemeralsFor(CAROL.id)[0]);
    expect(note.text).toContain('belongs to another Slack account');
    // Alice herself still counts.
    await h.click(S_ALICE, 'pgwarden_approve', pending.request.id);
    await h.modalFor(S_ALICE);
    pending.withdraw('client_disconnect');
  });

  it('finds approvers for direct messages by confirmed email, and skips an unconfirmed one', async () => {
    const api = await startSlackWorkspace();
    api.users.set(CAROL.id, { id: CAROL.id, is_email_confirmed: true, profile: { email: CAROL.email } });
    api.users.set('U0DAVE006', { id: 'U0DAVE006', is_email_confirmed: false, profile: { email: 'dave@example.com' } });
    h = await startSlackHarness({ api, slack: { channels: [], dm_approvers: true, email_lookup: true } });
    const pending = await h.open({ approvers: ['carol@example.com', 'dave@example.com', 'nobody@example.com'] });
    await h.message(pending.request.id, 'D0CAROL05');
    await new Promise((r) => setTimeout(r, 100));
    expect(h.api.callsOf('conversations.open').map((c) => c.params.users)).toEqual([CAROL.id]);
    pending.withdraw('client_disconnect');
  });
});
