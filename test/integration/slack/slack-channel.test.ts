// The Slack channel end to end against the fake Web API: posting, the modal, decisions through the shared path, refusals told privately, every copy updated on every outcome.
import { afterEach, describe, expect, it } from 'vitest';
import { decide } from '../../helpers/app.js';
import { TOKENS } from '../../helpers/app.js';
import { blocksText, buttonsOf } from '../../fakes/slack-interactions.js';
import { APPROVALS_CHANNEL, S_ALICE, S_BOB, S_MALLORY, S_OWEN, SECURITY_CHANNEL, startSlackHarness, startSlackWorkspace, type SlackHarness } from '../../fakes/slack-harness.js';

let h: SlackHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const textOf = (blocks: readonly Record<string, unknown>[]) => blocksText(blocks).replace(/\u200b/g, '');

describe('posting', () => {
  it('posts the request with its whole context and Approve / Deny to the configured channel', async () => {
    h = await startSlackHarness();
    const pending = await h.open({ sql: "DROP TABLE t /* reason: cleanup */", owner: 'owen@example.com' });
    const message = await h.message(pending.request.id);
    const text = textOf(message.blocks);
    expect(text).toContain('Approval needed: ddl on app');
    expect(text).toContain('DROP TABLE t /* reason: cleanup */');
    for (const expected of ['agent_ci', 'claude-agent', '10.0.0.7', 'owen@example.com', 'ddl', 'public.t', 'cleaning up the staging table', 'category ddl matched rule ddl', '0 of 1']) {
      expect(text).toContain(expected);
    }
    const consoleButton = message.blocks.flatMap((b) => (b.type === 'actions' ? (b.elements as { action_id: string; url?: string }[]) : [])).find((e) => e.action_id === 'pgwarden_console');
    expect(consoleButton?.url).toBe(`http://pgwarden.test/#/approvals/${pending.request.id}`);
    expect(buttonsOf(message.blocks)).toEqual(['pgwarden_approve', 'pgwarden_deny', 'pgwarden_console']);
    pending.withdraw('client_disconnect');
    await pending.outcome;
  });

  it('routes by rule and approver group: an entry with filters takes only matching requests', async () => {
    h = await startSlackHarness({ slack: { channels: [APPROVALS_CHANNEL, { id: SECURITY_CHANNEL, rules: ['grants'] }] } });
    const ddl = await h.open();
    await h.message(ddl.request.id, APPROVALS_CHANNEL);
    // The ddl request's rule is "ddl" and its group "dba": the security channel does not take it.
    await h.api.waitFor(() => h!.api.callsOf('chat.postMessage').length >= 1);
    expect(h.api.messagesIn(SECURITY_CHANNEL)).toHaveLength(0);
    ddl.withdraw('client_disconnect');
    await ddl.outcome;
    await h.close();

    h = await startSlackHarness({ slack: { channels: [{ id: SECURITY_CHANNEL, groups: ['dba'] }] } });
    const again = await h.open();
    await h.message(again.request.id, SECURITY_CHANNEL);
    again.withdraw('client_disconnect');
    await again.outcome;
  });

  it('sends each approver a direct message, opening each DM once and keeping at most three calls in flight', async () => {
    // Ten approvers: without a limit all ten conversations.open calls would be in flight at once.
    const approvers = Array.from({ length: 10 }, (_, i) => ({ id: `U0DM${String(i).padStart(5, '0')}`, email: `dm${i}@example.com` }));
    const api = await startSlackWorkspace();
    for (const a of approvers) api.users.set(a.id, { id: a.id, is_email_confirmed: true, profile: { email: a.email } });
    h = await startSlackHarness({ api, slack: { channels: [], dm_approvers: true, identities: Object.fromEntries(approvers.map((a) => [a.id, a.email])) } });
    h.api.latencyMs = 30;
    const emails = approvers.map((a) => a.email);
    const first = await h.open({ approvers: emails });
    for (const a of approvers) await h.message(first.request.id, `D${a.id.slice(1)}`);
    const second = await h.open({ approvers: emails });
    for (const a of approvers) await h.message(second.request.id, `D${a.id.slice(1)}`);
    // Ten DMs for two requests: conversations.open once per user, its channel remembered in the store.
    expect(h.api.callsOf('conversations.open')).toHaveLength(10);
    expect(h.api.callsOf('chat.postMessage')).toHaveLength(20);
    expect(h.api.maxInFlight).toBeGreaterThan(1);
    expect(h.api.maxInFlight).toBeLessThanOrEqual(3);
    for (const p of [first, second]) p.withdraw('client_disconnect');
    await Promise.all([first.outcome, second.outcome]);
    await h.close();
    h = undefined;
    await api.close();
  });

  it('never sends a DM to a user who is not mapped', async () => {
    h = await startSlackHarness({ slack: { channels: [], dm_approvers: true } });
    const pending = await h.open({ approvers: ['alice@example.com', 'mallory@example.com'] });
    await h.message(pending.request.id, `D${S_ALICE.id.slice(1)}`);
    expect(h.api.callsOf('conversations.open').map((c) => c.params.users)).toEqual([S_ALICE.id]);
    expect(h.api.callsOf('users.lookupByEmail')).toHaveLength(0);
    pending.withdraw('client_disconnect');
    await pending.outcome;
  });

  it("does not send the agent's owner a DM about their own agent's request", async () => {
    h = await startSlackHarness({ slack: { channels: [], dm_approvers: true } });
    const pending = await h.open({ approvers: ['alice@example.com', 'owen@example.com'], owner: 'owen@example.com' });
    await h.message(pending.request.id, `D${S_ALICE.id.slice(1)}`);
    expect(h.api.callsOf('conversations.open').map((c) => c.params.users)).toEqual([S_ALICE.id]);
    pending.withdraw('client_disconnect');
    await pending.outcome;
  });
});

describe('deciding in Slack', () => {
  it('Approve opens a modal with an optional reason and the scope choice; submitting approves through the shared path', async () => {
    h = await startSlackHarness();
    const pending = await h.open();
    const clicked = await h.click(S_ALICE, 'pgwarden_approve', pending.request.id);
    expect(clicked).toEqual({ status: 200, body: undefined });
    const modal = await h.modalFor(S_ALICE);
    const inputs = (modal.view.blocks as { type: string; block_id?: string; optional?: boolean }[]).filter((b) => b.type === 'input');
    expect(inputs.map((b) => [b.block_id, b.optional])).toEqual([
      ['reason', true],
      ['scope', false],
    ]);
    expect(await h.submit(S_ALICE, modal, { reason: 'looks fine', scope: 'once' })).toEqual({ status: 200, body: undefined });
    const outcome = await pending.outcome;
    expect(outcome.status).toBe('approved');
    expect(outcome.request.decisions).toMatchObject([{ by: 'alice@example.com', decision: 'approve', reason: 'looks fine', via: 'slack' }]);
    // The copy turns into the outcome: no more Approve / Deny, the approver and reason shown.
    const message = await h.message(pending.request.id);
    await h.api.waitFor(() => message.history.length >= 2);
    expect(textOf(message.blocks)).toContain('Approved by alice@example.com');
    expect(textOf(message.blocks)).toContain('looks fine');
    expect(buttonsOf(message.blocks)).toEqual(['pgwarden_console']);
  });

  it('acknowledges a click before doing its work: the answer does not wait for a slow Slack', async () => {
    h = await startSlackHarness();
    const pending = await h.open();
    await h.message(pending.request.id);
    h.api.latencyMs = 1500;
    const clicked = await h.click(S_ALICE, 'pgwarden_approve', pending.request.id);
    expect(clicked.status).toBe(200);
    // The modal is still being opened (or not even asked for) when Slack already has its answer.
    expect(h.api.callsOf('views.open').every((c) => !c.answered)).toBe(true);
    await h.api.waitFor(() => h!.api.callsOf('views.open').find((c) => c.answered));
    pending.withdraw('client_disconnect');
  });

  it('Deny requires a reason: the modal says so and nothing is recorded; with one, the agent gets it', async () => {
    h = await startSlackHarness();
    const pending = await h.open();
    await h.click(S_BOB, 'pgwarden_deny', pending.request.id);
    const modal = await h.modalFor(S_BOB);
    expect((modal.view.blocks as { block_id?: string; optional?: boolean }[]).find((b) => b.block_id === 'reason')?.optional).toBe(false);
    const empty = await h.submit(S_BOB, modal, { reason: '   ' });
    expect(empty).toEqual({ status: 200, body: { response_action: 'errors', errors: { reason: expect.stringContaining('needs a reason') } } });
    expect((await h.store.get(pending.request.id))?.status).toBe('pending');
    await h.submit(S_BOB, modal, { reason: 'use the migrations repo' });
    const outcome = await pending.outcome;
    expect(outcome).toMatchObject({ status: 'denied', by: 'bob@example.com', reason: 'use the migrations repo' });
  });

  it('refuses self-approval with an ephemeral message that says why, opens no modal, and leaves the request pending', async () => {
    h = await startSlackHarness();
    const pending = await h.open({ approvers: ['alice@example.com', 'owen@example.com'], owner: 'owen@example.com' });
    await h.click(S_OWEN, 'pgwarden_approve', pending.request.id);
    const note = await h.api.waitFor(() => h!.api.ephemeralsFor(S_OWEN.id)[0]);
    expect(note.channel).toBe(APPROVALS_CHANNEL);
    expect(note.text).toMatch(/you cannot decide request .*requester or the owner/);
    expect(h.api.callsOf('views.open')).toHaveLength(0);
    expect((await h.store.get(pending.request.id))?.status).toBe('pending');
    pending.withdraw('client_disconnect');
    await pending.outcome;
  });

  it('refuses an unmapped user and a user who is not an approver of the rule, privately and with the reason', async () => {
    h = await startSlackHarness();
    const pending = await h.open({ approvers: ['alice@example.com'] });
    await h.click(S_MALLORY, 'pgwarden_approve', pending.request.id);
    const unmapped = await h.api.waitFor(() => h!.api.ephemeralsFor(S_MALLORY.id)[0]);
    expect(unmapped.text).toContain('not mapped to a pgwarden approver identity');
    await h.click(S_BOB, 'pgwarden_approve', pending.request.id);
    const notApprover = await h.api.waitFor(() => h!.api.ephemeralsFor(S_BOB.id)[0]);
    expect(notApprover.text).toContain('bob@example.com is not an approver for rule ddl');
    expect(h.api.callsOf('views.open')).toHaveLength(0);
    expect((await h.store.get(pending.request.id))?.decisions).toEqual([]);
    pending.withdraw('client_disconnect');
    await pending.outcome;
  });

  it('tells an approver whose modal was submitted after someone else decided that it was already decided', async () => {
    h = await startSlackHarness();
    const pending = await h.open();
    await h.click(S_ALICE, 'pgwarden_approve', pending.request.id);
    const modal = await h.modalFor(S_ALICE);
    expect((await decide(h.baseUrl, pending.request.id, TOKENS['bob@example.com'], 'deny', 'not today')).status).toBe(200);
    await pending.outcome;
    await h.submit(S_ALICE, modal, { reason: 'fine by me' });
    const note = await h.api.waitFor(() => h!.api.ephemeralsFor(S_ALICE.id)[0]);
    expect(note.text).toContain('is already denied');
    expect((await h.store.get(pending.request.id))?.decisions).toHaveLength(1);
  });

  it('with a quorum of two, the first approval is acknowledged privately and shown on the message; the second settles it', async () => {
    h = await startSlackHarness();
    const pending = await h.open({ quorum: 2 });
    await h.decide(S_ALICE, 'approve', pending.request.id, { reason: 'ok' });
    const ack = await h.api.waitFor(() => h!.api.ephemeralsFor(S_ALICE.id)[0]);
    expect(ack.text).toContain('waiting for 1 more approval');
    const message = await h.message(pending.request.id);
    await h.api.waitFor(() => textOf(message.blocks).includes('1 of 2'));
    expect(buttonsOf(message.blocks)).toContain('pgwarden_approve');
    await h.decide(S_BOB, 'approve', pending.request.id);
    expect((await pending.outcome).status).toBe('approved');
    await h.api.waitFor(() => textOf(message.blocks).includes('Approved by alice@example.com, bob@example.com'));
  });
});

describe('every copy updated on every outcome', () => {
  it('a decision through the API updates the channel copy and every DM copy', async () => {
    h = await startSlackHarness({ slack: { dm_approvers: true } });
    const pending = await h.open();
    const copies = [await h.message(pending.request.id), await h.message(pending.request.id, `D${S_ALICE.id.slice(1)}`), await h.message(pending.request.id, `D${S_BOB.id.slice(1)}`)];
    expect((await decide(h.baseUrl, pending.request.id, TOKENS['alice@example.com'], 'approve', 'ship it')).status).toBe(200);
    await pending.outcome;
    for (const copy of copies) await h.api.waitFor(() => textOf(copy.blocks).includes('Approved by alice@example.com'));
    expect(h.api.callsOf('chat.update').map((c) => c.params.channel).sort()).toEqual(copies.map((c) => c.channel).sort());
  });

  it('expiry and withdrawal replace the buttons with the outcome', async () => {
    h = await startSlackHarness();
    const expiring = await h.open({ timeoutMs: 200 });
    const withdrawn = await h.open();
    const a = await h.message(expiring.request.id);
    const b = await h.message(withdrawn.request.id);
    withdrawn.withdraw('client_cancel');
    expect((await expiring.outcome).status).toBe('expired');
    await h.api.waitFor(() => textOf(a.blocks).includes('Expired: nobody decided in time'));
    await h.api.waitFor(() => textOf(b.blocks).includes('Withdrawn (client_cancel)'));
    expect(buttonsOf(a.blocks)).toEqual(['pgwarden_console']);
    expect(buttonsOf(b.blocks)).toEqual(['pgwarden_console']);
  });
});
