// The authenticated identity, not the user name the client chose, is the requester everywhere: rules match
// actor.identity / actor.groups / actor.auth (judged by their effect on the server), audit records and the approval
// API carry identity, groups, auth and owner, cards say "agent-7, owned by alice@example.com", the owner cannot
// approve, and metrics count authentications by method only.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { makeVerifier, formatVerifier } from '../../../src/proxy/auth/scram.js';
import { requestCard } from '../../../src/approvals/channels/teams/card.js';
import { requestMessage } from '../../../src/approvals/channels/slack/message.js';
import { pgUrl } from '../../helpers/env.js';
import { APP_TOKENS, IDENTITY_SECRETS } from '../../helpers/secrets.js';
import { decide, waitForPending } from '../../helpers/app.js';
import { cardText } from '../../fakes/card-inspect.js';
import { blocksText } from '../../fakes/slack-interactions.js';
import { query, type Target } from './clients.js';
import { startIdentityApp, type IdentityApp } from './harness.js';
import { testPki, type Pki } from './pki.js';

const RULES = `
version: 1
defaults: { action: allow, on_unknown: review, review: { timeout: 5m, approvers: [dba] } }
groups: { dba: [alice@example.com, bob@example.com] }
rules:
  - id: agent-7-no-ddl
    match: { category: [ddl], actor: { identity: agent-7 }, tables: [pgw_ident_*] }
    action: deny
    message: agent-7 may not change the schema
  - id: readonly-group
    match: { category: [write], actor: { groups: [readonly] } }
    action: deny
    message: the readonly group cannot write
  - id: passthrough-no-writes
    match: { category: [write], actor: { auth: [passthrough] }, tables: [pgw_ident_*] }
    action: deny
    message: writes need an identity pgwarden authenticated
  - id: review-drop
    match: { kind: [DropStmt] }
    action: review
`;

let pki: Pki;
let app: IdentityApp;
const PW = IDENTITY_SECRETS.agentScram;
const who = (user: string, over: Partial<Target> = {}): Target => ({ host: 'localhost', port: app.port, user, password: PW, database: 'postgres', sslmode: 'verify-full', rootCert: pki.caCert, ...over });

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client(pgUrl());
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  pki = testPki();
  const scram = formatVerifier(await makeVerifier(PW));
  await admin(async (c) => {
    await c.query('DROP TABLE IF EXISTS pgw_ident_t, pgw_ident_a7, pgw_ident_a8');
    await c.query('CREATE TABLE pgw_ident_t (v int)');
    await c.query('DROP TABLE IF EXISTS pgw_held_t');
    await c.query('CREATE TABLE pgw_held_t (v int)');
  });
  app = await startIdentityApp({
    pki,
    rules: RULES,
    config: {
      auth: { method: 'scram', databases: { postgres_passthrough: 'passthrough' }, upstream: { user: 'postgres' }, failure_delay: '1ms', failure_delay_max: '2ms' },
      identities: {
        'agent-7': { owner: 'alice@example.com', groups: ['agents'], scram },
        'agent-8': { groups: ['agents', 'readonly'], scram },
      },
    },
  });
});
afterAll(async () => {
  await app?.close();
  await admin((c) => c.query('DROP TABLE IF EXISTS pgw_ident_t, pgw_ident_a7, pgw_ident_a8, pgw_held_t'));
});

describe('identity everywhere', () => {
  it('rules match actor.identity: agent-7 is refused DDL (no table created), agent-8 on the same upstream role is not', async () => {
    const denied = await query('node-postgres', who('agent-7'), 'CREATE TABLE pgw_ident_a7 (v int)');
    expect(denied).toMatchObject({ ok: false, sqlstate: '42501', message: expect.stringContaining('agent-7 may not change the schema') });
    expect(await query('node-postgres', who('agent-8'), 'CREATE TABLE pgw_ident_a8 (v int)')).toMatchObject({ ok: true });
    const tables = await admin(async (c) => (await c.query("SELECT relname FROM pg_class WHERE relname LIKE 'pgw_ident_a%' ORDER BY 1")).rows.map((r) => r.relname));
    expect(tables).toEqual(['pgw_ident_a8']);
  });

  it('rules match actor.groups: the readonly group cannot insert (no row written), agents can', async () => {
    expect(await query('node-postgres', who('agent-8'), 'INSERT INTO pgw_ident_t VALUES (8)')).toMatchObject({ ok: false, sqlstate: '42501', message: expect.stringContaining('readonly group') });
    expect(await query('node-postgres', who('agent-7'), 'INSERT INTO pgw_ident_t VALUES (7)')).toMatchObject({ ok: true });
    expect(await admin(async (c) => (await c.query('SELECT array_agg(v ORDER BY v) AS v FROM pgw_ident_t')).rows[0].v)).toEqual([7]);
  });

  it('a client-chosen user name does not make an identity: the passthrough route sees auth passthrough and is refused writes', async () => {
    await admin(async (c) => {
      await c.query('DROP DATABASE IF EXISTS postgres_passthrough');
      await c.query('CREATE DATABASE postgres_passthrough');
    });
    try {
      const c = new pg.Client({ host: 'localhost', port: app.port, user: 'postgres', database: 'postgres_passthrough', ssl: { ca: readFileSync(pki.caCert, 'utf8') } });
      await c.connect();
      await c.query('CREATE TABLE pgw_ident_p (v int)').catch(() => undefined);
      const err = await c.query('INSERT INTO pgw_ident_p VALUES (1)').catch((e: { code: string; message: string }) => e);
      expect(err).toMatchObject({ code: '42501', message: expect.stringContaining('writes need an identity') });
      await c.end();
    } finally {
      await admin((c) => c.query('DROP DATABASE IF EXISTS postgres_passthrough WITH (FORCE)'));
    }
  });

  it('audit records carry identity, groups, auth and owner', async () => {
    await new Promise((r) => setTimeout(r, 300));
    const records = readFileSync(app.auditFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { actor?: Record<string, unknown>; rule?: string });
    const denial = records.find((r) => r.rule === 'agent-7-no-ddl');
    expect(denial?.actor).toMatchObject({ user: 'agent-7', identity: 'agent-7', groups: ['agents'], auth: 'scram', owner: 'alice@example.com' });
  });

  it('a held statement names the identity and its owner in the API, the Teams card and the Slack message; the owner is refused as approver', async () => {
    const held = query('node-postgres', who('agent-7'), 'DROP TABLE pgw_held_t');
    const pending = await waitForPending(app.api, (r) => r.sql === 'DROP TABLE pgw_held_t');
    expect(pending.actor).toEqual({ user: 'agent-7', application: '', address: '127.0.0.1', owner: 'alice@example.com', identity: 'agent-7', groups: ['agents'], auth: 'scram' });
    const request = (await app.store.get(pending.id))!;
    const card = cardText(requestCard(request, { publicUrl: app.publicUrl, refreshUserIds: [], redactLiterals: false }, { forApprover: true } as never));
    expect(card).toContain('agent-7, owned by alice@example.com');
    expect(card).toContain('SCRAM-SHA-256 (held by pgwarden); groups agents');
    const slack = blocksText(requestMessage(request, { publicUrl: app.publicUrl, redactLiterals: false } as never).blocks as never);
    expect(slack).toContain('agent-7, owned by alice@example.com');
    expect((await decide(app.api, pending.id, APP_TOKENS['alice@example.com'], 'approve', 'mine')).status).toBe(403);
    expect((await decide(app.api, pending.id, APP_TOKENS['bob@example.com'], 'approve', 'ok')).status).toBe(200);
    expect(await held).toMatchObject({ ok: true });
    expect(await admin(async (c) => (await c.query("SELECT count(*)::int AS n FROM pg_class WHERE relname = 'pgw_held_t'")).rows[0].n)).toBe(0);
  });

  it('counts authentications by method and outcome, never by identity', async () => {
    await query('node-postgres', who('agent-7', { password: 'wrong' }), 'SELECT 1');
    const text = await (await fetch(`${app.api}/metrics`)).text();
    expect(text).toMatch(/pgwarden_authentications_total\{method="scram",outcome="success"\} [1-9]/);
    expect(text).toMatch(/pgwarden_authentications_total\{method="scram",outcome="failure"\} [1-9]/);
    expect(text).toMatch(/pgwarden_authentications_total\{method="passthrough",outcome="success"\} [1-9]/);
    expect(text).not.toMatch(/="agent-[78]"/);
  });
});
