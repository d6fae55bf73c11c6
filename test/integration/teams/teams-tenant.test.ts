// Teams in a real tenant, against the local Bot Connector with the real Teams SDK on our side: throttling (429 with
// Retry-After) and 412/502/504 retried, calls serialised per conversation, failures counted by status; approvers
// resolved to "29:" ids through the roster; UPN lookups without the e-mail fallback and with a TTL; the conversation
// id logged and shown when the bot is installed; a 4,000-table DROP's card under the size limit; credential errors at start.
import { afterEach, describe, expect, it } from 'vitest';
import { TeamsVerb } from '../../../src/approvals/channels/teams/card.js';
import { captureLogs } from '../../helpers/log-capture.js';
import { run } from '../../helpers/cli.js';
import { ALICE, BOB, TEST_CHANNEL_ID, TEST_TENANT_ID, cardText, invokeCard, startTeamsHarness, type TeamsHarness } from '../../fakes/teams-harness.js';
import { resolve } from 'node:path';

let h: TeamsHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const teamsFailures = async (harness: TeamsHarness) =>
  Object.fromEntries((await harness.metrics.teamsApiFailures.get()).values.filter((v) => v.value > 0).map((v) => [String(v.labels.status), v.value]));
const deliveryFailures = async (harness: TeamsHarness) => (await harness.metrics.channelDeliveryFailures.get()).values.find((v) => v.labels.channel === 'teams')?.value ?? 0;
const posts = (harness: TeamsHarness) => harness.connector.calls.filter((c) => c.method === 'POST' && c.conversationId === TEST_CHANNEL_ID);

describe('Teams delivery under throttling and gateway errors', () => {
  it('waits out a 429 with Retry-After, then posts the card once', async () => {
    h = await startTeamsHarness();
    h.connector.respondNext({ method: 'POST', status: 429, headers: { 'Retry-After': '1' } });
    const pending = await h.open();
    const message = await h.connector.waitFor(() => h!.connector.messagesIn(TEST_CHANNEL_ID)[0], 15_000);
    expect(cardText(h.connector.cardOf(message))).toContain('DROP TABLE t');
    const [first, second] = posts(h).map((c) => h!.connector.arrivals[h!.connector.calls.indexOf(c)]!);
    expect(second! - first!).toBeGreaterThanOrEqual(1000);
    expect(h.connector.messagesIn(TEST_CHANNEL_ID)).toHaveLength(1);
    expect(await teamsFailures(h)).toEqual({ '429': 1 });
    expect(await deliveryFailures(h)).toBe(0);
    pending.withdraw('client_disconnect');
    await pending.outcome;
  });

  it('retries 412, 502 and 504 with backoff and counts each failure by status', async () => {
    h = await startTeamsHarness();
    h.connector.respondNext({ method: 'POST', status: 412 }, { method: 'POST', status: 502 }, { method: 'POST', status: 504 });
    const pending = await h.open();
    await h.connector.waitFor(() => h!.connector.messagesIn(TEST_CHANNEL_ID)[0]);
    expect(posts(h)).toHaveLength(4);
    expect(await teamsFailures(h)).toEqual({ '412': 1, '502': 1, '504': 1 });
    expect(await deliveryFailures(h)).toBe(0);
    pending.withdraw('client_disconnect');
    await pending.outcome;
  });

  it('does not retry a 403: one attempt, counted as a failed delivery', async () => {
    h = await startTeamsHarness();
    h.connector.respondNext({ method: 'POST', status: 403 });
    const pending = await h.open();
    await expect.poll(() => deliveryFailures(h!)).toBe(1);
    expect(posts(h)).toHaveLength(1);
    expect(h.connector.messagesIn(TEST_CHANNEL_ID)).toHaveLength(0);
    expect(await teamsFailures(h)).toEqual({ '403': 1 });
    pending.withdraw('client_disconnect');
    await pending.outcome;
  });

  it('retries a card update after a 502, so the result reaches the channel', async () => {
    h = await startTeamsHarness();
    const pending = await h.open();
    const message = await h.connector.waitFor(() => h!.connector.messagesIn(TEST_CHANNEL_ID)[0]);
    h.connector.respondNext({ method: 'PUT', status: 502 });
    pending.withdraw('client_disconnect');
    await pending.outcome;
    await h.connector.waitFor(() => cardText(h!.connector.cardOf(message)).includes('Withdrawn'));
    expect(await teamsFailures(h)).toEqual({ '502': 1 });
  });

  it('never has two calls in flight for one conversation', async () => {
    h = await startTeamsHarness();
    h.connector.delayMs = 60;
    const opened = await Promise.all([h.open({ sql: 'DROP TABLE a' }), h.open({ sql: 'DROP TABLE b' }), h.open({ sql: 'DROP TABLE c' })]);
    await h.connector.waitFor(() => h!.connector.messagesIn(TEST_CHANNEL_ID).length === 3 || null, 15_000);
    expect(h.connector.maxInFlight.get(TEST_CHANNEL_ID)).toBe(1);
    h.connector.delayMs = 0;
    for (const p of opened) p.withdraw('client_disconnect');
    await Promise.all(opened.map((p) => p.outcome));
  });
});

describe('Teams identities', () => {
  it('lists at most 60 approvers (resolved through the roster, no duplicates) in refresh.userIds and tells the rest about Refresh card', async () => {
    const users = Array.from({ length: 70 }, (_, i) => ({ id: `29:approver-${i}`, aad: `aaaaaaaa-0000-4000-8000-${String(i).padStart(12, '0')}`, identity: `approver${i}@example.com` }));
    h = await startTeamsHarness({ teams: { identities: Object.fromEntries(users.map((u) => [u.aad, u.identity])) } });
    for (const u of users) h.connector.roster.set(u.id, { id: u.id, aadObjectId: u.aad, name: u.identity });
    const pending = await h.open({ approvers: users.map((u) => u.identity) });
    const message = await h.connector.waitFor(() => h!.connector.messagesIn(TEST_CHANNEL_ID)[0]);
    const card = h.connector.cardOf(message) as { refresh: { userIds: string[] } };
    expect(card.refresh.userIds).toHaveLength(60);
    expect(new Set(card.refresh.userIds).size).toBe(60);
    expect(card.refresh.userIds.every((id) => id.startsWith('29:approver-'))).toBe(true);
    expect(cardText(card)).toContain('More than 60 approvers');
    pending.withdraw('client_disconnect');
    await pending.outcome;
  });

  it('maps a clicker by the UPN the roster states, never by e-mail, and looks it up again after lookup_ttl', async () => {
    h = await startTeamsHarness({ teams: { lookup_ttl: '300ms' } });
    // Bob is mapped by UPN (bob@example.com). His roster entry first has only that address as e-mail.
    h.connector.roster.set(BOB.id, { id: BOB.id, aadObjectId: BOB.aadObjectId, name: 'Bob', email: 'bob@example.com', userPrincipalName: 'robert@example.com' });
    const pending = await h.open();
    await h.connector.waitFor(() => h!.connector.messagesIn(TEST_CHANNEL_ID)[0]);
    const refused = invokeCard((await h.click(BOB, TeamsVerb.approve, pending.request.id)).body);
    expect(cardText(refused)).toContain('is not mapped to a pgwarden approver identity');
    expect((await h.store.get(pending.request.id))?.status).toBe('pending');
    // The directory is fixed; within the TTL the cached UPN still applies.
    h.connector.roster.set(BOB.id, { id: BOB.id, aadObjectId: BOB.aadObjectId, name: 'Bob', userPrincipalName: 'bob@example.com' });
    const stillCached = invokeCard((await h.click(BOB, TeamsVerb.approve, pending.request.id)).body);
    expect(cardText(stillCached)).toContain('is not mapped');
    await new Promise((r) => setTimeout(r, 400));
    const res = await h.click(BOB, TeamsVerb.approve, pending.request.id, { reason: 'ok' });
    expect(cardText(invokeCard(res.body))).toContain('Approved by bob@example.com');
    expect((await pending.outcome).status).toBe('approved');
  });
});

describe('Teams set-up', () => {
  it('logs the conversation id and shows it to approvers at /api/teams/conversations when the bot is added to a channel', async () => {
    const logs = captureLogs({ level: 'info' });
    h = await startTeamsHarness({ logger: logs.logger, tokens: { 'alice@example.com': 'alice-token-for-teams-setup' } });
    const install = await h.post({
      type: 'conversationUpdate',
      id: 'install-2',
      channelId: 'msteams',
      serviceUrl: h.connector.url,
      from: { id: ALICE.id, name: 'Alice', aadObjectId: ALICE.aadObjectId },
      recipient: { id: '28:app', name: 'pgwarden' },
      conversation: { id: '19:new-channel@thread.tacv2', conversationType: 'channel', tenantId: TEST_TENANT_ID, isGroup: true },
      membersAdded: [{ id: '28:app' }],
      channelData: { tenant: { id: TEST_TENANT_ID }, team: { id: '19:team@thread.tacv2', name: 'Data Platform' }, channel: { id: '19:new-channel@thread.tacv2', name: 'db-approvals' } },
    });
    expect(install.status).toBe(200);
    const warn = logs.records().find((r) => r.conversation_id === '19:new-channel@thread.tacv2' && r.level === 'warn');
    expect(String(warn?.msg)).toContain('set teams.conversation_id (PGWARDEN_TEAMS_CONVERSATION_ID) to "19:new-channel@thread.tacv2"');
    expect(warn?.where).toBe('Data Platform › db-approvals');

    expect((await fetch(`${h.baseUrl}/api/teams/conversations`)).status).toBe(401);
    const res = await fetch(`${h.baseUrl}/api/teams/conversations`, { headers: { authorization: 'Bearer alice-token-for-teams-setup' } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { configured_conversation_id: string; conversations: { conversation_id: string; team_name?: string; channel_name?: string; configured: boolean }[] };
    expect(body.configured_conversation_id).toBe(TEST_CHANNEL_ID);
    expect(body.conversations).toContainEqual(expect.objectContaining({ conversation_id: '19:new-channel@thread.tacv2', team_name: 'Data Platform', channel_name: 'db-approvals', configured: false }));
  });

  it('warns at start when Teams is enabled with nowhere to post', async () => {
    const logs = captureLogs({ level: 'info' });
    h = await startTeamsHarness({ logger: logs.logger, teams: { conversation_id: undefined, personal_chats: false } });
    expect(logs.records().some((r) => r.level === 'warn' && String(r.msg).includes('teams is enabled but has nowhere to post approval cards'))).toBe(true);
  });

  it("posts a DROP of 4,000 tables as an activity under Teams' size limit", async () => {
    h = await startTeamsHarness();
    const tables = Array.from({ length: 4000 }, (_, i) => `public.archive_table_${i}`);
    const sql = `DROP TABLE ${tables.join(', ')}`;
    const pending = await h.open({ sql, tables });
    await h.connector.waitFor(() => h!.connector.messagesIn(TEST_CHANNEL_ID)[0]);
    const body = JSON.stringify(posts(h)[0]!.body);
    expect(Buffer.byteLength(body, 'utf8')).toBeLessThan(28 * 1024);
    expect(body.length * 2).toBeLessThan(80 * 1024);
    expect(cardText(h.connector.cardOf(h.connector.messagesIn(TEST_CHANNEL_ID)[0]!))).toMatch(/and 3,?\d{3} more, see console/);
    pending.withdraw('client_disconnect');
    await pending.outcome;
  });

  it('`pgwarden serve` refuses to start with an incomplete Teams credential, naming the key (exit 2)', async () => {
    const cli = resolve(import.meta.dirname, '../../../dist/cli.js');
    const env = { PGWARDEN_TEAMS_ENABLED: 'true', PGWARDEN_TEAMS_APP_ID: '4f1c2a5e-0000-4000-8000-00000000b07a', PGWARDEN_LOG_LEVEL: 'silent' };
    const args = [cli, 'serve', '--listen', '127.0.0.1:0', '--http', '127.0.0.1:0'];
    const noTenant = await run(process.execPath, args, { env: { ...env, PGWARDEN_TEAMS_APP_PASSWORD: 'x' } });
    expect(noTenant.code).toBe(2);
    expect(noTenant.stderr).toContain('teams.tenant_id is required');
    const noSecret = await run(process.execPath, args, { env: { ...env, PGWARDEN_TEAMS_TENANT_ID: TEST_TENANT_ID } });
    expect(noSecret.code).toBe(2);
    expect(noSecret.stderr).toContain('teams.credential is client_secret but teams.app_password is empty');
    const federated = await run(process.execPath, args, { env: { ...env, PGWARDEN_TEAMS_TENANT_ID: TEST_TENANT_ID, PGWARDEN_TEAMS_CREDENTIAL: 'federated' } });
    expect(federated.code).toBe(2);
    expect(federated.stderr).toContain('teams.federated_identity is empty');
  });
});
