// Issue #6 "Done when", end to end: the real psql through a whole pgwarden (startApp) with Teams on, a card at the fake Bot Connector, a signed click, the statement's outcome and the card's result.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { decide, startTestApp, TOKENS, type TestApp } from '../../helpers/app.js';
import { pgUrl } from '../../helpers/env.js';
import { TeamsVerb } from '../../../src/approvals/channels/teams/card.js';
import { startBotJwks, type BotJwks } from '../../fakes/bot-jwks.js';
import { startFakeBotConnector, type FakeBotConnector, type StoredMessage } from '../../fakes/bot-connector.js';
import {
  ALICE,
  BOB,
  TEST_APP_ID,
  TEST_CHANNEL_ID,
  TEST_TENANT_ID,
  cardActionActivity,
  cardText,
  cardVerbs,
  invokeCard,
  postActivity,
  teamsSeams,
  type TestTeamsUser,
} from '../../fakes/teams-harness.js';

// Each test gets its own schema holding a table `t`, so the statement is literally `DROP TABLE t` and other suites' tables are untouched.
const schemaPrefix = `teams_e2e_${randomBytes(4).toString('hex')}`;
let admin: pg.Client;
let jwks: BotJwks | undefined;
let connector: FakeBotConnector | undefined;
let app: TestApp | undefined;
let schemaSeq = 0;

beforeAll(async () => {
  admin = new pg.Client(pgUrl());
  await admin.connect();
});
afterAll(async () => {
  for (let i = 1; i <= schemaSeq; i++) await admin.query(`DROP SCHEMA IF EXISTS ${schemaPrefix}_${i} CASCADE`);
  await admin.end();
});
afterEach(async () => {
  await app?.close();
  await connector?.close();
  await jwks?.close();
  app = undefined;
  connector = undefined;
  jwks = undefined;
});

/** A whole pgwarden with Teams on: auth against the fake JWKS, cards to the test channel at the fake connector. */
async function startTeamsApp(): Promise<TestApp> {
  jwks = await startBotJwks(TEST_APP_ID);
  connector = await startFakeBotConnector();
  return startTestApp({
    overrides: {
      'teams.enabled': true,
      'teams.auth': true,
      'teams.app_id': TEST_APP_ID,
      'teams.tenant_id': TEST_TENANT_ID,
      'teams.conversation_id': TEST_CHANNEL_ID,
      // Alice and Bob are in the rules' dba group (the ddl rule's approvers).
      'teams.identities': { [ALICE.aadObjectId]: 'alice@example.com', [BOB.aadObjectId]: 'bob@example.com' },
    },
    teams: teamsSeams(jwks, connector),
  });
}

async function freshTable(): Promise<string> {
  const schema = `${schemaPrefix}_${++schemaSeq}`;
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.query(`CREATE TABLE ${schema}.t (id int)`);
  return schema;
}

const tableExists = async (schema: string) => (await admin.query('SELECT to_regclass($1) AS t', [`${schema}.t`])).rows[0].t !== null;

interface PsqlResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The real psql binary through the proxy, `search_path` set to `schema` by a startup option. */
function psql(port: number, schema: string, sql: string, extraArgs: string[] = []): Promise<PsqlResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('psql', ['-X', '-v', 'ON_ERROR_STOP=1', ...extraArgs, `postgres://postgres@127.0.0.1:${port}/postgres`, '-c', sql], {
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

/** The card posted to the test channel for the statement, and the request id its refresh action carries. */
async function cardFor(c: FakeBotConnector, sqlText: string): Promise<{ message: StoredMessage; requestId: string }> {
  const message = await c.waitFor(() => c.messagesIn(TEST_CHANNEL_ID).find((m) => cardText(c.cardOf(m)).includes(sqlText)));
  const refresh = c.cardOf(message).refresh as { action: { data: { request_id: string } } };
  return { message, requestId: refresh.action.data.request_id };
}

function click(a: TestApp, user: TestTeamsUser, verb: string, requestId: string, inputs: Record<string, unknown> = {}) {
  return postActivity(a.api, jwks!, cardActionActivity(user, verb, requestId, connector!.url, inputs));
}

/** Nothing left behind: no open client connection, no pending request on this instance. */
async function expectNoLeaks(a: TestApp) {
  await expect.poll(async () => (await a.metrics.clientConnectionsActive.get()).values[0]?.value ?? 0).toBe(0);
  await expect.poll(async () => (await a.metrics.approvalsPending.get()).values[0]?.value ?? 0).toBe(0);
}

describe('Teams approvals through the proxy with the real psql', () => {
  it('psql runs DROP TABLE t, a card arrives, Approve lets it complete, and the card says who approved and when', async () => {
    app = await startTeamsApp();
    const schema = await freshTable();
    const run = psql(app.port, schema, 'DROP TABLE t');

    const { message, requestId } = await cardFor(connector!, 'DROP TABLE t');
    const shared = connector!.cardOf(message);
    expect(cardText(shared)).toContain('Rule: ');
    expect(cardText(shared)).toContain('ddl');
    expect(cardVerbs(shared)).toEqual([TeamsVerb.refresh]);
    // Held: the table is still there while the card waits.
    expect(await tableExists(schema)).toBe(true);

    // Alice's client refreshes into the approver view (buttons), then she clicks Approve.
    expect(cardVerbs(invokeCard((await click(app, ALICE, TeamsVerb.refresh, requestId)).body))).toContain(TeamsVerb.approve);
    const res = await click(app, ALICE, TeamsVerb.approve, requestId, { reason: 'staging cleanup', scope: 'once' });
    expect(res.status).toBe(200);
    expect(cardText(invokeCard(res.body))).toMatch(/Approved by alice@example\.com\n\{\{DATE\(\d{4}-\d\d-\d\dT/);

    const result = await run;
    expect(result.stderr).toContain(`pgwarden: waiting for approval of request ${requestId}`);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('DROP TABLE');
    expect(await tableExists(schema)).toBe(false);

    await connector!.waitFor(() => /Approved by alice@example\.com\n\{\{DATE\(\d{4}-\d\d-\d\dT/.test(cardText(connector!.cardOf(message))));
    const final = connector!.cardOf(message);
    expect(cardText(final)).toContain('staging cleanup');
    expect(cardVerbs(final)).toEqual([]);
    // The shared copy was updated in place (PUT), not re-posted.
    expect(connector!.calls.some((c) => c.method === 'PUT' && c.activityId === message.activityId)).toBe(true);
    await expectNoLeaks(app);
  });

  it('Deny with a reason: psql fails with 42501 carrying the reason, and the card shows the denial', async () => {
    app = await startTeamsApp();
    const schema = await freshTable();
    const run = psql(app.port, schema, 'DROP TABLE t', ['-v', 'VERBOSITY=verbose']);

    const { message, requestId } = await cardFor(connector!, 'DROP TABLE t');
    const res = await click(app, BOB, TeamsVerb.deny, requestId, { reason: 'not during the release freeze' });
    expect(res.status).toBe(200);
    expect(cardText(invokeCard(res.body))).toContain('Denied by bob@example.com\n{{DATE(');

    const result = await run;
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/ERROR:\s+42501: pgwarden:/);
    expect(result.stderr).toContain('bob@example.com');
    expect(result.stderr).toContain('not during the release freeze');
    expect(await tableExists(schema)).toBe(true);

    await connector!.waitFor(() => cardText(connector!.cardOf(message)).includes('Denied by bob@example.com\n{{DATE('));
    expect(cardText(connector!.cardOf(message))).toContain('not during the release freeze');
    expect(cardVerbs(connector!.cardOf(message))).toEqual([]);
    await expectNoLeaks(app);
  });

  it('a decision in the console (HTTP API) completes psql and updates the Teams card', async () => {
    app = await startTeamsApp();
    const schema = await freshTable();
    const run = psql(app.port, schema, 'DROP TABLE t');

    const { message, requestId } = await cardFor(connector!, 'DROP TABLE t');
    const res = await decide(app.api, requestId, TOKENS['bob@example.com'], 'approve', 'approved from the console');
    expect(res.status).toBe(200);

    const result = await run;
    expect(result.code, result.stderr).toBe(0);
    expect(await tableExists(schema)).toBe(false);

    await connector!.waitFor(() => cardText(connector!.cardOf(message)).includes('Approved by bob@example.com\n{{DATE('));
    const text = cardText(connector!.cardOf(message));
    // A bearer-token decision is recorded as made through the API (a console session would say "via console").
    expect(text).toContain('via api');
    expect(text).toContain('approved from the console');
    // A late click on the stale card decides nothing more.
    const late = await click(app, ALICE, TeamsVerb.deny, requestId, { reason: 'too late' });
    expect(late.status).toBe(200);
    expect((await app.store.get(requestId))?.status).toBe('approved');
    await expectNoLeaks(app);
  });
});
