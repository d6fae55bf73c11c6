// The Teams channel end to end over real HTTP: real Teams SDK, real approval service and memory store, fake Bot Connector and JWKS.
import { afterEach, describe, expect, it } from 'vitest';
import { TeamsVerb } from '../../../src/approvals/channels/teams/card.js';
import {
  AGENT_OWNER,
  ALICE,
  BOB,
  MALLORY,
  TEST_CHANNEL_ID,
  cardText,
  cardVerbs,
  invokeCard,
  startTeamsHarness,
  type TeamsHarness,
} from '../../fakes/teams-harness.js';

let h: TeamsHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function firstCard(harness: TeamsHarness) {
  return harness.connector.waitFor(() => harness.connector.messagesIn(TEST_CHANNEL_ID)[0]);
}

describe('Teams approvals', () => {
  it('posts a card to the configured channel when a statement needs review', async () => {
    h = await startTeamsHarness();
    h.connector.roster.set(ALICE.id, { id: ALICE.id, aadObjectId: ALICE.aadObjectId, name: 'Alice', userPrincipalName: 'alice@example.com' });
    h.connector.roster.set(BOB.id, { id: BOB.id, aadObjectId: BOB.aadObjectId, name: 'Bob', userPrincipalName: 'bob@example.com' });
    h.connector.roster.set(MALLORY.id, { id: MALLORY.id, aadObjectId: MALLORY.aadObjectId, name: 'Mallory', userPrincipalName: 'mallory@example.com' });
    const pending = await h.open();
    const message = await firstCard(h);
    const card = h.connector.cardOf(message);
    expect(card.version).toBe('1.5');
    const text = cardText(card);
    expect(text).toContain('DROP TABLE t');
    expect(text).toContain('agent_ci');
    expect(text).toContain('cleaning up the staging table');
    expect(text).toContain(pending.request.id);
    // The shared copy has no buttons; its refresh (own verb) lists the approvers so their clients fetch the approver view.
    expect(cardVerbs(card)).toEqual([TeamsVerb.refresh]);
    const refresh = card.refresh as { userIds: string[] };
    // Approvers resolved to their "29:" ids through the channel roster (Alice by object id, Bob by UPN); Mallory is no approver.
    expect([...refresh.userIds].sort()).toEqual([ALICE.id, BOB.id].sort());
    expect(refresh.userIds.some((id) => id.startsWith('8:orgid:'))).toBe(false);
    // The outbound call carried the token from the SDK's token option.
    const post = h.connector.calls.find((c) => c.method === 'POST' && c.conversationId === TEST_CHANNEL_ID);
    expect(post?.authorization).toMatch(/^Bearer ey/);
    // The copy is recorded in the store so any instance can update it.
    const key = `teams.cards.${pending.request.id}`;
    await expect.poll(async () => (await h!.store.kvList(key)).size).toBe(1);
    pending.withdraw('client_disconnect');
    await pending.outcome;
  });

  it('refresh gives an approver the buttons, reason box and scope choice, and never decides', async () => {
    h = await startTeamsHarness();
    const pending = await h.open();
    await firstCard(h);
    const res = await h.click(ALICE, TeamsVerb.refresh, pending.request.id, { reason: 'sneaky' });
    expect(res.status).toBe(200);
    const view = invokeCard(res.body);
    expect(cardVerbs(view).sort()).toEqual([TeamsVerb.approve, TeamsVerb.deny, TeamsVerb.refresh].sort());
    const json = JSON.stringify(view);
    expect(json).toContain('"Input.Text"');
    expect(json).toContain('"Input.ChoiceSet"');
    expect((await h.store.get(pending.request.id))?.status).toBe('pending');
    // A non-approver's refresh shows no buttons.
    const other = invokeCard((await h.click(MALLORY, TeamsVerb.refresh, pending.request.id)).body);
    expect(cardVerbs(other)).toEqual([TeamsVerb.refresh]);
    pending.withdraw('client_disconnect');
    await pending.outcome;
  });

  it('an Approve click approves the request, answers with the result card and updates every copy', async () => {
    h = await startTeamsHarness();
    const pending = await h.open();
    const message = await firstCard(h);
    const res = await h.click(ALICE, TeamsVerb.approve, pending.request.id, { reason: 'planned cleanup', scope: 'once' });
    expect(res.status).toBe(200);
    expect(cardText(invokeCard(res.body))).toContain('Approved by alice@example.com');
    expect(String(invokeCard(res.body).fallbackText)).toMatch(/^Approved by alice@example\.com at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/);
    const outcome = await pending.outcome;
    expect(outcome.status).toBe('approved');
    expect(outcome.request.decisions[0]).toMatchObject({ by: 'alice@example.com', via: 'teams', reason: 'planned cleanup' });
    const updated = await h.connector.waitFor(() => (message.history.length > 1 ? message : undefined));
    const text = cardText(h.connector.cardOf(updated));
    expect(text).toContain('Approved by alice@example.com');
    // Times are Adaptive Card date/time functions: each approver's Teams client shows them in their own locale and zone.
    expect(text).toMatch(/\{\{DATE\(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ, SHORT\)\}\} \{\{TIME\(/);
    expect(text).toContain('planned cleanup');
    expect(cardVerbs(h.connector.cardOf(updated))).toEqual([]);
  });

  it('a Deny click with a reason denies, and the agent sees the reason', async () => {
    h = await startTeamsHarness();
    h.connector.roster.set(BOB.id, { id: BOB.id, aadObjectId: BOB.aadObjectId, name: 'Bob', userPrincipalName: 'bob@example.com' });
    const pending = await h.open();
    const message = await firstCard(h);
    // Bob is mapped by UPN: the channel looks him up in the conversation roster.
    const res = await h.click(BOB, TeamsVerb.deny, pending.request.id, { reason: 'not during business hours' });
    expect(cardText(invokeCard(res.body))).toContain('Denied by bob@example.com');
    const outcome = await pending.outcome;
    expect(outcome).toMatchObject({ status: 'denied', by: 'bob@example.com', reason: 'not during business hours' });
    await h.connector.waitFor(() => cardText(h!.connector.cardOf(message)).includes('Denied by bob@example.com'));
  });

  it('updates the card when the request is decided elsewhere (console)', async () => {
    h = await startTeamsHarness();
    const pending = await h.open();
    const message = await firstCard(h);
    const result = await h.service.decide({ id: pending.request.id, by: 'bob@example.com', decision: 'approve', reason: 'ok from the console', via: 'console' });
    expect(result.ok).toBe(true);
    await pending.outcome;
    await h.connector.waitFor(() => cardText(h!.connector.cardOf(message)).includes('Approved by bob@example.com'));
    expect(cardText(h.connector.cardOf(message))).toContain('via console');
  });

  it('updates the card when the request expires', async () => {
    h = await startTeamsHarness();
    const pending = await h.open({ timeoutMs: 300 });
    const message = await firstCard(h);
    expect((await pending.outcome).status).toBe('expired');
    await h.connector.waitFor(() => cardText(h!.connector.cardOf(message)).includes('Expired — nobody decided in time'));
  });

  it('refuses unmapped users, non-approvers and self-approval with a card message', async () => {
    h = await startTeamsHarness();
    const pending = await h.open({ owner: 'owen@example.com', approvers: ['alice@example.com', 'owen@example.com'] });
    await firstCard(h);
    const stranger = { id: '29:stranger', aadObjectId: 'eeeeeeee-0000-4000-8000-000000000005', name: 'Stranger' };
    const unmapped = invokeCard((await h.click(stranger, TeamsVerb.approve, pending.request.id)).body);
    expect(cardText(unmapped)).toContain('not mapped to a pgwarden approver identity');
    const nonApprover = invokeCard((await h.click(MALLORY, TeamsVerb.approve, pending.request.id)).body);
    expect(cardText(nonApprover)).toContain('mallory@example.com is not an approver');
    const self = invokeCard((await h.click(AGENT_OWNER, TeamsVerb.approve, pending.request.id)).body);
    expect(cardText(self)).toContain('cannot approve this request');
    for (const card of [unmapped, nonApprover, self]) expect(cardVerbs(card)).toEqual([TeamsVerb.refresh]);
    expect((await h.store.get(pending.request.id))?.status).toBe('pending');
    pending.withdraw('client_disconnect');
    await pending.outcome;
  });

  it('rejects unauthenticated and wrongly signed activities with 401 when auth is on', async () => {
    h = await startTeamsHarness();
    const pending = await h.open();
    await firstCard(h);
    const id = pending.request.id;
    const cases: [string, string | null][] = [
      ['no token', null],
      ['garbage', 'not-a-jwt'],
      ['foreign key', await h.jwks.sign({ serviceUrl: h.connector.url, foreignKey: true })],
      ['wrong audience', await h.jwks.sign({ serviceUrl: h.connector.url, audience: 'someone-else' })],
      ['wrong issuer', await h.jwks.sign({ serviceUrl: h.connector.url, issuer: 'https://evil.example' })],
      ['expired', await h.jwks.sign({ serviceUrl: h.connector.url, expiresIn: -3600 })],
      ['other service url', await h.jwks.sign({ serviceUrl: 'https://smba.trafficmanager.net/evil/' })],
    ];
    for (const [name, token] of cases) {
      const res = await h.click(ALICE, TeamsVerb.approve, id, {}, { token });
      expect(res.status, name).toBe(401);
    }
    expect((await h.store.get(id))?.status).toBe('pending');
    // And a properly signed one passes.
    expect((await h.click(ALICE, TeamsVerb.approve, id)).status).toBe(200);
    expect((await pending.outcome).status).toBe('approved');
  });

  it('captures conversation references on install and uses them for personal chats', async () => {
    h = await startTeamsHarness({ teams: { conversation_id: undefined, personal_chats: true } });
    const install = await h.post({
      type: 'conversationUpdate',
      id: 'install-1',
      channelId: 'msteams',
      serviceUrl: h.connector.url,
      from: { id: ALICE.id, name: 'Alice', aadObjectId: ALICE.aadObjectId },
      recipient: { id: `28:app`, name: 'pgwarden' },
      conversation: { id: 'a:alice-personal', conversationType: 'personal', tenantId: '11111111-1111-4111-8111-111111111111' },
      membersAdded: [{ id: `28:app` }],
      channelData: { tenant: { id: '11111111-1111-4111-8111-111111111111' } },
    });
    expect(install.status).toBe(200);
    const refs = await h.store.kvList('teams.conversations');
    expect([...refs.keys()]).toContain('a:alice-personal');
    // A message in the personal chat gets an answer naming the approver identity.
    await h.post({
      type: 'message',
      id: 'msg-1',
      text: 'hello',
      channelId: 'msteams',
      serviceUrl: h.connector.url,
      from: { id: ALICE.id, name: 'Alice', aadObjectId: ALICE.aadObjectId },
      recipient: { id: '28:app', name: 'pgwarden' },
      conversation: { id: 'a:alice-personal', conversationType: 'personal', tenantId: '11111111-1111-4111-8111-111111111111' },
      channelData: { tenant: { id: '11111111-1111-4111-8111-111111111111' } },
    });
    const hello = await h.connector.waitFor(() => h!.connector.messagesIn('a:alice-personal')[0]);
    expect(String(hello.activity.text)).toContain('alice@example.com');
    const pending = await h.open();
    const message = await h.connector.waitFor(() => h!.connector.messagesIn('a:alice-personal').find((m) => m.activity.attachments));
    expect(cardText(h.connector.cardOf(message))).toContain('DROP TABLE t');
    // Alice's "29:" id is now known: it is in the refresh list as well.
    expect((h.connector.cardOf(message).refresh as { userIds: string[] }).userIds).toContain(ALICE.id);
    pending.withdraw('client_disconnect');
    await pending.outcome;
    await h.connector.waitFor(() => cardText(h!.connector.cardOf(message)).includes('Withdrawn'));
  });
});

describe('Teams approvals, edge cases', () => {
  it('with teams.auth false accepts unsigned activities (local development)', async () => {
    h = await startTeamsHarness({ teams: { auth: false } });
    const pending = await h.open();
    await firstCard(h);
    const res = await h.click(ALICE, TeamsVerb.approve, pending.request.id, {}, { token: null });
    expect(res.status).toBe(200);
    expect((await pending.outcome).status).toBe('approved');
  });

  it('ignores clicks and installs from another tenant', async () => {
    h = await startTeamsHarness();
    const pending = await h.open();
    await firstCard(h);
    const res = await h.post({
      type: 'invoke',
      name: 'adaptiveCard/action',
      id: 'foreign-1',
      channelId: 'msteams',
      serviceUrl: h.connector.url,
      from: { id: ALICE.id, aadObjectId: ALICE.aadObjectId },
      recipient: { id: '28:app' },
      conversation: { id: 'a:foreign', conversationType: 'personal', tenantId: '99999999-9999-4999-8999-999999999999' },
      channelData: { tenant: { id: '99999999-9999-4999-8999-999999999999' } },
      value: { action: { type: 'Action.Execute', verb: TeamsVerb.approve, data: { request_id: pending.request.id } } },
    });
    expect(res.status).toBe(200);
    expect((res.body as { type: string }).type).toBe('application/vnd.microsoft.activity.message');
    expect((await h.store.get(pending.request.id))?.status).toBe('pending');
    expect([...(await h.store.kvList('teams.conversations')).keys()]).not.toContain('a:foreign');
    pending.withdraw('client_disconnect');
    await pending.outcome;
  });

  it('counts a failed card post in pgwarden_channel_delivery_failures_total and does not throw', async () => {
    h = await startTeamsHarness();
    h.connector.failNext(1);
    const pending = await h.open();
    await expect.poll(async () => (await h!.metrics.channelDeliveryFailures.get()).values.find((v) => v.labels.channel === 'teams')?.value ?? 0).toBeGreaterThan(0);
    pending.withdraw('client_disconnect');
    await pending.outcome;
  });
});
