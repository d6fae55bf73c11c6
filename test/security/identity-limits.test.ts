// Abuse limits around authentication: connections per identity (terminated and passthrough, counted only once the
// identity is proven), failure backoff per client address and per name (answers slow down, the message never
// changes), and the pre-authentication size and time budgets — while other clients keep working.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { makeVerifier, formatVerifier } from '../../src/proxy/auth/scram.js';
import { IDENTITY_SECRETS } from '../helpers/secrets.js';
import { AUTH_ROLES, ensureAuthRoles } from '../helpers/pg-roles.js';
import { pgUrl } from '../helpers/env.js';
import { RawClient, errorFields, msg, startupMessage } from '../helpers/raw-client.js';
import { query, type Target } from '../integration/identity/clients.js';
import { startIdentityApp, type IdentityApp } from '../integration/identity/harness.js';
import { testPki, type Pki } from '../integration/identity/pki.js';

let pki: Pki;
let app: IdentityApp;
const PW = IDENTITY_SECRETS.agentScram;
const who = (user: string, over: Partial<Target> = {}): Target => ({ host: 'localhost', port: app.port, user, password: PW, database: 'postgres', sslmode: 'require', ...over });

async function open(user: string, database = 'postgres', password: string = PW): Promise<pg.Client | { code: string; message: string }> {
  const c = new pg.Client({ host: '127.0.0.1', port: app.port, user, password, database, application_name: 'limits' });
  c.on('error', () => undefined);
  return c.connect().then(
    () => c,
    (e: { code: string; message: string }) => e,
  );
}

async function upstreamCount(like: string): Promise<number> {
  const c = new pg.Client(pgUrl());
  await c.connect();
  try {
    return Number((await c.query('SELECT count(*) AS n FROM pg_stat_activity WHERE application_name LIKE $1', [like])).rows[0].n);
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  pki = testPki();
  await ensureAuthRoles();
  const scram = formatVerifier(await makeVerifier(PW));
  await (async () => {
    const c = new pg.Client(pgUrl());
    await c.connect();
    await c.query('DROP DATABASE IF EXISTS pgw_limits_passthrough');
    await c.query('CREATE DATABASE pgw_limits_passthrough');
    await c.end();
  })();
  app = await startIdentityApp({
    pki,
    tls: false,
    config: {
      auth: {
        method: 'scram',
        databases: { pgw_limits_passthrough: 'passthrough' },
        upstream: { user: 'postgres' },
        failure_delay: '20ms',
        failure_delay_max: '200ms',
        max_pre_auth_bytes: '16KiB',
        timeout: '700ms',
      },
      identities: {
        'agent-7': { scram, max_connections: 2 },
        'agent-8': { scram },
        'agent-9': { scram },
        [AUTH_ROLES.md5.user]: { max_connections: 1 },
      },
    },
  });
});
afterAll(async () => {
  await app?.close();
  const c = new pg.Client(pgUrl());
  await c.connect();
  await c.query('DROP DATABASE IF EXISTS pgw_limits_passthrough WITH (FORCE)');
  await c.end();
});

describe('connections per identity', () => {
  it('refuses the third connection of agent-7 with 53300 before any upstream session opens; other identities are unaffected', async () => {
    const a = (await open('agent-7')) as pg.Client;
    const b = (await open('agent-7')) as pg.Client;
    const c = await open('agent-7');
    expect(c).toMatchObject({ code: '53300', message: 'pgwarden: too many connections for identity "agent-7" (limit 2)' });
    expect(await upstreamCount('agent-7 via pgwarden%')).toBe(2);
    const other = (await open('agent-8')) as pg.Client;
    await other.end();
    await a.end();
    const d = (await open('agent-7')) as pg.Client;
    expect((await d.query('SELECT 1 AS one')).rows[0].one).toBe(1);
    await Promise.all([b.end(), d.end()]);
  });

  it('passthrough names count once the server accepted them: wrong passwords use no quota, a second session gets 53300', async () => {
    const wrong = await Promise.all([1, 2, 3].map(() => open(AUTH_ROLES.md5.user, 'pgw_limits_passthrough', 'wrong')));
    for (const w of wrong) expect(w).toMatchObject({ code: '28P01' });
    const first = (await open(AUTH_ROLES.md5.user, 'pgw_limits_passthrough', AUTH_ROLES.md5.password)) as pg.Client;
    expect((await first.query('SELECT current_user AS u')).rows[0].u).toBe(AUTH_ROLES.md5.user);
    const second = await open(AUTH_ROLES.md5.user, 'pgw_limits_passthrough', AUTH_ROLES.md5.password);
    expect(second).toMatchObject({ code: '53300', message: `pgwarden: too many connections for identity "${AUTH_ROLES.md5.user}" (limit 1)` });
    await first.end();
  });
});

describe('failure backoff', () => {
  it('slows answers per address and per name, doubling up to the max, with the same message every time', async () => {
    const since = app.logs.lines.length;
    const results = [];
    for (const user of ['agent-9', 'agent-9', 'agent-8', 'nobody', 'agent-9', 'agent-9']) results.push(await query('node-postgres', who(user, { password: 'wrong', sslmode: 'disable' }), 'SELECT 1'));
    for (const [i, r] of results.entries()) expect(r).toEqual({ ok: false, sqlstate: '28P01', message: `pgwarden: authentication failed for user "${['agent-9', 'agent-9', 'agent-8', 'nobody', 'agent-9', 'agent-9'][i]}"` });
    const delays = app.logs.records().slice(since).filter((l) => l.msg === 'authentication failed').map((l) => l.delay_ms);
    // The address had failed earlier in this file too, so the sequence starts higher; it only grows, to the max.
    expect(delays.length).toBe(6);
    for (let i = 1; i < delays.length; i++) expect(Number(delays[i])).toBeGreaterThanOrEqual(Number(delays[i - 1]));
    expect(delays.at(-1)).toBe(200);
  });
});

describe('pre-authentication budgets', () => {
  it('refuses a password message larger than the pre-authentication budget at its header, while another client works', async () => {
    const c = await RawClient.connect(app.port);
    c.send(startupMessage({ user: 'agent-8', database: 'postgres' }));
    expect((await c.read()).code).toBe('R');
    const header = Buffer.alloc(5);
    header.write('p');
    header.writeInt32BE(1 << 20, 1);
    c.send(header);
    const normal = query('node-postgres', who('agent-8', { sslmode: 'disable' }), "SELECT 'still serving'");
    const err = await c.read();
    expect(err.code).toBe('E');
    expect(errorFields(err.body)).toMatchObject({ S: 'FATAL', C: '08P01', M: expect.stringContaining('exceeds the limit of 16384 bytes') });
    await c.closedByPeer();
    expect(await normal).toEqual({ ok: true, value: 'still serving' });
  });

  it('closes a client that does not finish authenticating in auth.timeout', async () => {
    const c = await RawClient.connect(app.port);
    c.send(startupMessage({ user: 'agent-8', database: 'postgres' }));
    expect((await c.read()).code).toBe('R');
    const err = await c.read(3000);
    expect(errorFields(err.body)).toMatchObject({ C: '08P01', M: 'pgwarden: the connection did not complete its startup within 700 ms' });
    await c.closedByPeer();
  });

  it('counts every byte before authentication, framed or not: 20 KB pipelined after the StartupMessage is refused', async () => {
    const c = await RawClient.connect(app.port);
    c.send(startupMessage({ user: 'agent-8', database: 'postgres' }), msg('p', Buffer.alloc(9000, 0x61)), msg('p', Buffer.alloc(11000, 0x61)));
    // Depending on how TCP splits the write, the SASL request may come first; the refusal always does.
    let err = await c.read();
    if (err.code === 'R') err = await c.read();
    expect(errorFields(err.body)).toMatchObject({ C: '08P01', M: 'pgwarden: malformed frontend message: more than 16384 bytes before authentication completed (auth.max_pre_auth_bytes)' });
    await c.closedByPeer();
  });
});
