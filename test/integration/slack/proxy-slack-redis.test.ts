// Issue "Approvals in Slack", Done when: two pgwarden instances share the real Redis; psql's statement is held on one, an approver's click in Slack reaches the other, and the statement runs (or fails with the reason) on the real PostgreSQL; Slack, Teams and the console show the same outcome.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { decide, TOKENS, type TestApp } from '../../helpers/app.js';
import { pgUrl } from '../../helpers/env.js';
import { startBotJwks, type BotJwks } from '../../fakes/bot-jwks.js';
import { startFakeBotConnector, type FakeBotConnector } from '../../fakes/bot-connector.js';
import { ALICE, BOB, TEST_APP_ID, TEST_CHANNEL_ID, TEST_TENANT_ID, cardActionActivity, cardText, postActivity, teamsSeams } from '../../fakes/teams-harness.js';
import type { FakeSlackApi, StoredSlackMessage } from '../../fakes/slack-api.js';
import { blockActionsPayload, blocksText, buttonsOf, postSigned, signInteraction, viewSubmissionPayload, type ModalInputs, type SlackTestUser } from '../../fakes/slack-interactions.js';
import { APPROVALS_CHANNEL, S_ALICE, S_BOB, S_POSTGRES, SLACK_SECRET, startSlackApp, startSlackWorkspace } from '../../fakes/slack-harness.js';
import { redisUrl, uniquePrefix } from '../approvals/redis-helpers.js';

const schemaPrefix = `slack_e2e_${randomBytes(4).toString('hex')}`;
let admin: pg.Client;
let schemaSeq = 0;
let slack: FakeSlackApi | undefined;
let jwks: BotJwks | undefined;
let connector: FakeBotConnector | undefined;
const apps: TestApp[] = [];

beforeAll(async () => {
  admin = new pg.Client(pgUrl());
  await admin.connect();
});
afterAll(async () => {
  for (let i = 1; i <= schemaSeq; i++) await admin.query(`DROP SCHEMA IF EXISTS ${schemaPrefix}_${i} CASCADE`);
  await admin.end();
});
afterEach(async () => {
  for (const a of apps.splice(0)) await a.close();
  await slack?.close();
  await connector?.close();
  await jwks?.close();
  slack = undefined;
  connector = undefined;
  jwks = undefined;
});

/** Instance A (holds the client) and instance B (receives Slack's requests), sharing one Redis, Slack and Teams both on. */
async function twoInstances(): Promise<{ a: TestApp; b: TestApp }> {
  slack = await startSlackWorkspace();
  jwks = await startBotJwks(TEST_APP_ID);
  connector = await startFakeBotConnector();
  const prefix = uniquePrefix();
  const overrides = {
    'teams.enabled': true,
    'teams.app_id': TEST_APP_ID,
    'teams.tenant_id': TEST_TENANT_ID,
    'teams.conversation_id': TEST_CHANNEL_ID,
    'teams.identities': { [ALICE.aadObjectId]: 'alice@example.com', [BOB.aadObjectId]: 'bob@example.com' },
    'slack.dm_approvers': true,
  };
  const teams = teamsSeams(jwks, connector);
  for (const instance of ['slack-a', 'slack-b']) {
    apps.push(await startSlackApp(slack, { redis: redisUrl(), redisPrefix: prefix, overrides: { ...overrides, instance }, teams }));
  }
  return { a: apps[0]!, b: apps[1]! };
}

async function freshTable(): Promise<string> {
  const schema = `${schemaPrefix}_${++schemaSeq}`;
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.query(`CREATE TABLE ${schema}.t (id int)`);
  return schema;
}

const tableExists = async (schema: string) => (await admin.query('SELECT to_regclass($1) AS t', [`${schema}.t`])).rows[0].t !== null;

/** The real psql through the proxy at `port`, with `search_path` set to `schema`. */
function psql(port: number, schema: string, sql: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('psql', ['-X', '-v', 'ON_ERROR_STOP=1', '-v', 'VERBOSITY=verbose', `postgres://postgres@127.0.0.1:${port}/postgres`, '-c', sql], {
      env: { ...process.env, PGOPTIONS: `-c search_path=${schema}`, PGAPPNAME: 'claude-agent', PGCONNECT_TIMEOUT: '10' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The Slack message posted for the held statement, and the request id on its Approve button. */
async function messageFor(api: FakeSlackApi, sqlText: string): Promise<{ message: StoredSlackMessage; requestId: string }> {
  const message = await api.waitFor(() => api.messagesIn(APPROVALS_CHANNEL).find((m) => blocksText(m.blocks).includes(sqlText)));
  const actions = message.blocks.find((b) => b.type === 'actions') as { elements: { action_id: string; value?: string }[] };
  return { message, requestId: actions.elements.find((e) => e.action_id === 'pgwarden_approve')!.value! };
}

/** Click on the message (in a channel or a DM) and submit the modal, both posted to `app` (signed as Slack signs them). */
async function decideInSlack(app: TestApp, user: SlackTestUser, message: StoredSlackMessage, action: 'pgwarden_approve' | 'pgwarden_deny', inputs: ModalInputs) {
  const api = slack!;
  const before = api.views.length;
  const click = await postSigned(app.api, signInteraction(blockActionsPayload(api, user, message, action), SLACK_SECRET));
  expect(click.status).toBe(200);
  const modal = await api.waitFor(() => api.views.slice(before).find((v) => v.user === user.id));
  const submitted = await postSigned(app.api, signInteraction(viewSubmissionPayload(api, user, modal, inputs), SLACK_SECRET));
  expect(submitted.status).toBe(200);
}

async function expectNoLeaks(a: TestApp) {
  await expect.poll(async () => (await a.metrics.clientConnectionsActive.get()).values[0]?.value ?? 0).toBe(0);
  await expect.poll(async () => (await a.metrics.approvalsPending.get()).values[0]?.value ?? 0).toBe(0);
}

describe('Slack approvals across two pgwarden instances on one Redis', () => {
  it("a held export shows up in the approvers' channel and DMs; one click in a DM, received by instance B, releases it on instance A; Slack, Teams and the console agree", async () => {
    const { a, b } = await twoInstances();
    const schema = await freshTable();
    await admin.query(`INSERT INTO ${schema}.t VALUES (4217)`);
    const run = psql(a.port, schema, 'COPY t TO STDOUT');
    const { message, requestId } = await messageFor(slack!, 'COPY t TO STDOUT');
    // The exports rule's approvers are the dba group: Alice and Bob get a DM; "postgres", the requester, does not.
    const dms = await Promise.all([S_ALICE, S_BOB].map((u) => slack!.waitFor(() => slack!.messagesIn(`D${u.id.slice(1)}`).find((m) => blocksText(m.blocks).includes(requestId)))));
    expect(slack!.messagesIn(`D${S_POSTGRES.id.slice(1)}`)).toHaveLength(0);
    expect(blocksText(message.blocks)).toContain('Approval needed: export on postgres');

    await decideInSlack(b, S_ALICE, dms[0]!, 'pgwarden_approve', { reason: 'finance needs it' });
    const result = await run;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trim()).toBe('4217');

    // Instance A (which holds the connection) updates every Slack copy in place, and the Teams card.
    for (const copy of [message, ...dms]) {
      await slack!.waitFor(() => blocksText(copy!.blocks).includes('Approved by alice@example.com'));
      expect(blocksText(copy!.blocks)).toContain('finance needs it');
      expect(buttonsOf(copy!.blocks)).toEqual(['pgwarden_console']);
    }
    // One message per conversation, posted by A only; B, which decided, posted nothing of its own.
    expect(slack!.callsOf('chat.postMessage')).toHaveLength(3);
    const card = await connector!.waitFor(() => connector!.messagesIn(TEST_CHANNEL_ID).find((m) => cardText(connector!.cardOf(m)).includes('Approved by alice@example.com')));
    expect(cardText(connector!.cardOf(card))).toContain('via slack');
    // The console's API, on either instance, shows the same.
    for (const app of [a, b]) {
      const res = await fetch(`${app.api}/api/approvals/${requestId}`, { headers: { authorization: `Bearer ${TOKENS['bob@example.com']}` } });
      expect(await res.json()).toMatchObject({ status: 'approved', decisions: [{ by: 'alice@example.com', decision: 'approve', reason: 'finance needs it', via: 'slack' }] });
    }
    await expectNoLeaks(a);
  });

  it('Deny with a reason from the modal: psql fails with 42501 carrying that reason and the table stays', async () => {
    const { a, b } = await twoInstances();
    const schema = await freshTable();
    const run = psql(a.port, schema, 'DROP TABLE t');
    const { message } = await messageFor(slack!, 'DROP TABLE t');
    await decideInSlack(b, S_BOB, message, 'pgwarden_deny', { reason: 'not during the release freeze' });
    const result = await run;
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/ERROR:\s+42501: pgwarden:/);
    expect(result.stderr).toContain('bob@example.com');
    expect(result.stderr).toContain('not during the release freeze');
    expect(await tableExists(schema)).toBe(true);
    await slack!.waitFor(() => blocksText(message.blocks).includes('Denied by bob@example.com'));
    await expectNoLeaks(a);
  });

  it('the requester clicking Approve gets an ephemeral refusal and the statement stays held; a forged submission is refused by the shared decide path too', async () => {
    const { a, b } = await twoInstances();
    const schema = await freshTable();
    const run = psql(a.port, schema, 'DROP TABLE t');
    const { message, requestId } = await messageFor(slack!, 'DROP TABLE t');
    // psql connects as "postgres", who is also in the dba group: the one approver who may not approve this.
    await postSigned(b.api, signInteraction(blockActionsPayload(slack!, S_POSTGRES, message, 'pgwarden_approve'), SLACK_SECRET));
    const refusal = await slack!.waitFor(() => slack!.ephemeralsFor(S_POSTGRES.id)[0]);
    expect(refusal.text).toContain('requester or the owner');
    expect(slack!.views).toHaveLength(0);

    // A modal submission for that request (as if one had been opened) reaches decide, which refuses it atomically.
    const forged = {
      id: 'VFORGED01',
      user: S_POSTGRES.id,
      triggerId: 'none',
      view: { type: 'modal', callback_id: 'pgwarden_decision', private_metadata: JSON.stringify({ r: requestId, d: 'approve', c: APPROVALS_CHANNEL }), blocks: [] },
    };
    expect((await postSigned(a.api, signInteraction(viewSubmissionPayload(slack!, S_POSTGRES, forged, {}), SLACK_SECRET))).status).toBe(200);
    await slack!.waitFor(() => slack!.ephemeralsFor(S_POSTGRES.id)[1]);
    expect(slack!.ephemeralsFor(S_POSTGRES.id)[1]!.text).toContain('requester or the owner');
    const state = await (await fetch(`${b.api}/api/approvals/${requestId}`, { headers: { authorization: `Bearer ${TOKENS['alice@example.com']}` } })).json();
    expect(state).toMatchObject({ status: 'pending', decisions: [] });
    expect(await tableExists(schema)).toBe(true);

    // Someone else may: the held statement then runs.
    expect((await decide(b.api, requestId, TOKENS['alice@example.com'], 'approve', 'ok')).status).toBe(200);
    expect((await run).code).toBe(0);
    await expectNoLeaks(a);
  });

  it('a decision in the console updates the Slack message and the Teams card; a late Slack click decides nothing', async () => {
    const { a, b } = await twoInstances();
    const schema = await freshTable();
    const run = psql(a.port, schema, 'DROP TABLE t');
    const { message, requestId } = await messageFor(slack!, 'DROP TABLE t');
    expect((await decide(b.api, requestId, TOKENS['bob@example.com'], 'approve', 'approved from the console')).status).toBe(200);
    expect((await run).code).toBe(0);
    await slack!.waitFor(() => blocksText(message.blocks).includes('Approved by bob@example.com'));
    expect(blocksText(message.blocks)).toContain('via api');
    expect(slack!.callsOf('chat.update').length).toBeGreaterThanOrEqual(1);
    await connector!.waitFor(() => connector!.messagesIn(TEST_CHANNEL_ID).some((m) => cardText(connector!.cardOf(m)).includes('Approved by bob@example.com')));

    // The late click (built from the first version of the message, which still had buttons) is told and changes nothing.
    const stale = { ...message, blocks: message.history[0]!.blocks };
    await postSigned(b.api, signInteraction(blockActionsPayload(slack!, S_ALICE, stale, 'pgwarden_deny'), SLACK_SECRET));
    const note = await slack!.waitFor(() => slack!.ephemeralsFor(S_ALICE.id)[0]);
    expect(note.text).toContain('is already approved');
    expect((await a.store.get(requestId))?.decisions).toHaveLength(1);
    await expectNoLeaks(a);
  });

  it('a decision in Teams, on instance B, updates the Slack message posted by instance A', async () => {
    const { a, b } = await twoInstances();
    const schema = await freshTable();
    const run = psql(a.port, schema, 'DROP TABLE t');
    const { message, requestId } = await messageFor(slack!, 'DROP TABLE t');
    const clicked = await postActivity(b.api, jwks!, cardActionActivity(BOB, 'pgwarden.deny', requestId, connector!.url, { reason: 'wrong schema' }));
    expect(clicked.status).toBe(200);
    const result = await run;
    expect(result.stderr).toContain('wrong schema');
    expect(await tableExists(schema)).toBe(true);
    await slack!.waitFor(() => blocksText(message.blocks).includes('Denied by bob@example.com'));
    expect(blocksText(message.blocks)).toContain('via teams');
    expect(blocksText(message.blocks)).toContain('wrong schema');
    await expectNoLeaks(a);
  });

  it('a signed request replayed to the other instance is refused there: the shared store remembers it', async () => {
    const { a, b } = await twoInstances();
    const schema = await freshTable();
    const run = psql(a.port, schema, 'DROP TABLE t');
    const { message, requestId } = await messageFor(slack!, 'DROP TABLE t');
    const signed = signInteraction(blockActionsPayload(slack!, S_ALICE, message, 'pgwarden_approve'), SLACK_SECRET);
    expect((await postSigned(a.api, signed)).status).toBe(200);
    expect(await postSigned(b.api, signed)).toMatchObject({ status: 401, body: { error: { code: 'replayed' } } });
    expect((await decide(a.api, requestId, TOKENS['alice@example.com'], 'approve', '')).status).toBe(200);
    expect((await run).code).toBe(0);
    await expectNoLeaks(a);
  });
});
