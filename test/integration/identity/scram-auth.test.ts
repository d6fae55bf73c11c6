// Proxy-terminated SCRAM: agents authenticate to pgwarden against stored verifiers (from `pgwarden passwd` and from
// PostgreSQL's own pg_authid), with -PLUS channel binding on TLS; pgwarden logs in upstream (SCRAM, MD5, TLS-only) with
// a role and password the agent never sees. Failures are one generic FATAL 28P01.
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { makeVerifier, formatVerifier } from '../../../src/proxy/auth/scram.js';
import { ScramClientExchange } from '../../../src/proxy/auth/scram-client.js';
import { serverEndPointHash } from '../../../src/proxy/auth/scram.js';
import { pgUrl } from '../../helpers/env.js';
import { IDENTITY_SECRETS } from '../../helpers/secrets.js';
import { msg, query as rawQuery, sslRequest, startupMessage } from '../../helpers/raw-client.js';
import { CLIENTS, query, type Target } from './clients.js';
import { startIdentityApp, type IdentityApp } from './harness.js';
import { pem, testPki, type Pki } from './pki.js';
import { tlsCluster, UPSTREAM_ROLES, type TlsCluster } from './tls-cluster.js';

let pki: Pki;
let cluster: TlsCluster;
let app: IdentityApp;
const AGENT_PASSWORD = IDENTITY_SECRETS.agentScram;
const OTHER_PASSWORD = 'agent-8-pw-from-postgres';

/** A SCRAM verifier made by PostgreSQL itself, read back from pg_authid. */
async function verifierFromPostgres(password: string): Promise<string> {
  const c = new pg.Client(pgUrl());
  await c.connect();
  try {
    await c.query("SET password_encryption = 'scram-sha-256'");
    await c.query('DROP ROLE IF EXISTS pgw_verifier_probe');
    await c.query(`CREATE ROLE pgw_verifier_probe PASSWORD '${password}'`);
    const v = (await c.query("SELECT rolpassword FROM pg_authid WHERE rolname = 'pgw_verifier_probe'")).rows[0].rolpassword as string;
    await c.query('DROP ROLE pgw_verifier_probe');
    return v;
  } finally {
    await c.end();
  }
}

const agent = (over: Partial<Target> = {}): Target => ({ host: 'localhost', port: app.port, user: 'agent-7', password: AGENT_PASSWORD, database: 'app', sslmode: 'verify-full', rootCert: pki.caCert, ...over });

beforeAll(async () => {
  pki = testPki();
  cluster = await tlsCluster(pki);
  const secrets = mkdtempSync(join(tmpdir(), 'pgw-secrets-'));
  writeFileSync(join(secrets, 'app_rw'), `${UPSTREAM_ROLES.app.password}\n`);
  process.env.PGW_TEST_AGENT7_UPSTREAM_PW = UPSTREAM_ROLES.agent.password;
  process.env.PGW_TEST_MD5_UPSTREAM_PW = UPSTREAM_ROLES.md5.password;
  process.env.PGW_TEST_WRONG_UPSTREAM_PW = 'not-the-password';
  app = await startIdentityApp({
    pki,
    upstream: `postgres://localhost:${cluster.port}/?sslmode=verify-full&sslrootcert=${pki.caCert}&channel_binding=require`,
    config: {
      auth: { method: 'passthrough', databases: { app: 'scram' }, groups: { agents: { upstream: { user: UPSTREAM_ROLES.app.user, password_file: join(secrets, 'app_rw') } } } },
      identities: {
        'agent-7': { owner: 'alice@example.com', groups: ['agents'], scram: formatVerifier(await makeVerifier(AGENT_PASSWORD)), upstream: { user: UPSTREAM_ROLES.agent.user, password_env: 'PGW_TEST_AGENT7_UPSTREAM_PW' } },
        'agent-8': { groups: ['agents'], scram: await verifierFromPostgres(OTHER_PASSWORD) },
        'agent-md5': { scram: formatVerifier(await makeVerifier(AGENT_PASSWORD)), upstream: { user: UPSTREAM_ROLES.md5.user, password_env: 'PGW_TEST_MD5_UPSTREAM_PW' } },
        'agent-lost': { scram: formatVerifier(await makeVerifier(AGENT_PASSWORD)), upstream: { user: UPSTREAM_ROLES.agent.user, password_env: 'PGW_TEST_WRONG_UPSTREAM_PW' } },
        'agent-unmapped': { scram: formatVerifier(await makeVerifier(AGENT_PASSWORD)) },
      },
    },
  });
});
afterAll(async () => {
  await app?.close();
});

describe('SCRAM terminated by pgwarden', () => {
  for (const client of CLIENTS) {
    it(`${client}: the agent's own password opens a session as the mapped upstream role, named in application_name`, async () => {
      const r = await query(client, agent({ application: 'probe' }), "SELECT current_user || ' ' || application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()");
      expect(r).toEqual({ ok: true, value: `${UPSTREAM_ROLES.agent.user} agent-7 via pgwarden: probe` });
    });
  }

  it('a client that SETs application_name later replaces the tag upstream (documented limit: map a login role per agent)', async () => {
    const c = new pg.Client({ host: 'localhost', port: app.port, user: 'agent-7', password: AGENT_PASSWORD, database: 'app', ssl: { ca: pem(pki.caCert) } });
    await c.connect();
    try {
      await c.query("SET application_name = 'renamed'");
      expect((await c.query('SELECT current_user AS u, application_name AS a FROM pg_stat_activity WHERE pid = pg_backend_pid()')).rows[0]).toEqual({ u: UPSTREAM_ROLES.agent.user, a: 'renamed' });
    } finally {
      await c.end();
    }
  });

  it('accepts a verifier PostgreSQL made (pg_authid format) and maps the identity through its group to a password file', async () => {
    expect(await query('psql', agent({ user: 'agent-8', password: OTHER_PASSWORD }), 'SELECT current_user')).toEqual({ ok: true, value: UPSTREAM_ROLES.app.user });
  });

  it('logs in to an MD5 upstream role too', async () => {
    expect(await query('psycopg2', agent({ user: 'agent-md5' }), 'SELECT current_user')).toEqual({ ok: true, value: UPSTREAM_ROLES.md5.user });
  });

  it('offers SCRAM-SHA-256-PLUS on TLS: libpq with channel_binding=require succeeds', async () => {
    expect(await query('psql', agent({ channelBinding: 'require' }), 'SELECT 1')).toEqual({ ok: true, value: '1' });
    expect(await query('psycopg2', agent({ channelBinding: 'require' }), 'SELECT 1')).toEqual({ ok: true, value: '1' });
  });

  it('works over plaintext too (SCRAM never sends the password), without -PLUS', async () => {
    expect(await query('psql', agent({ sslmode: 'disable' }), 'SELECT 1')).toEqual({ ok: true, value: '1' });
    const r = await query('psql', agent({ sslmode: 'disable', channelBinding: 'require' }), 'SELECT 1');
    expect(r.ok).toBe(false);
  });

  it('answers a wrong password and an unknown name with the same FATAL 28P01, and opens nothing upstream', async () => {
    const before = cluster.sql("SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'agent-7 via pgwarden%'");
    const wrong = await query('node-postgres', agent({ password: 'guess' }), 'SELECT 1');
    const unknown = await query('node-postgres', agent({ user: 'nobody' }), 'SELECT 1');
    expect(wrong).toEqual({ ok: false, sqlstate: '28P01', message: 'pgwarden: authentication failed for user "agent-7"' });
    expect(unknown).toEqual({ ok: false, sqlstate: '28P01', message: 'pgwarden: authentication failed for user "nobody"' });
    expect(cluster.sql("SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'agent-7 via pgwarden%'")).toBe(before);
    const reasons = app.logs.records().filter((r) => r.msg === 'authentication failed').map((r) => r.why);
    expect(reasons).toEqual(expect.arrayContaining(['wrong password', 'no SCRAM verifier for this name']));
  });

  it('an identity whose upstream credential is refused gets FATAL 28000; the reason (naming the role, not the password) is logged', async () => {
    const r = await query('node-postgres', agent({ user: 'agent-lost' }), 'SELECT 1');
    expect(r).toEqual({ ok: false, sqlstate: '28000', message: 'pgwarden: the upstream server refused the credential pgwarden holds for identity "agent-lost"' });
    const line = app.logs.records().find((l) => l.msg === 'upstream login with the mapped credential failed');
    expect(String(line?.why)).toMatch(/28P01 password authentication failed for user "agent_7_role"/);
    expect(app.logs.text()).not.toContain('not-the-password');
  });

  it('an authenticated identity with no upstream role mapped gets FATAL 28000', async () => {
    expect(await query('node-postgres', agent({ user: 'agent-unmapped' }), 'SELECT 1')).toEqual({ ok: false, sqlstate: '28000', message: 'pgwarden: identity "agent-unmapped" has no upstream database role mapped' });
  });

  it('the agent never receives the upstream password: every byte of a whole session, read raw', async () => {
    const received: Buffer[] = [];
    const raw = await new Promise<net.Socket>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port: app.port }, () => resolve(s));
    });
    raw.write(sslRequest());
    await new Promise((r) => raw.once('data', r));
    const secure = tls.connect({ socket: raw, servername: 'localhost', ca: pem(pki.caCert) });
    await new Promise((r) => secure.once('secureConnect', r));
    secure.on('data', (d: Buffer) => received.push(d));
    const next = async (): Promise<Buffer> => {
      for (;;) {
        const all = Buffer.concat(received);
        if (all.length >= 5 && all.length >= 1 + all.readInt32BE(1)) {
          const m = all.subarray(0, 1 + all.readInt32BE(1));
          received.splice(0, received.length, all.subarray(m.length));
          seen.push(m);
          return m;
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    const seen: Buffer[] = [];
    secure.write(startupMessage({ user: 'agent-7', database: 'app' }));
    const sasl = await next();
    const offered = sasl.subarray(9).toString().split('\0').filter(Boolean);
    expect(offered).toEqual(['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256']);
    const exchange = new ScramClientExchange(AGENT_PASSWORD, offered, serverEndPointHash(secure.getPeerCertificate().raw), 'require');
    const first = exchange.first();
    const name = Buffer.from(`${exchange.mechanism}\0`);
    const len = Buffer.alloc(4);
    len.writeInt32BE(first.length);
    secure.write(msg('p', Buffer.concat([name, len, first])));
    const cont = await next();
    secure.write(msg('p', await exchange.continue(cont.subarray(9))));
    const final = await next();
    exchange.final(final.subarray(9));
    for (let m = await next(); m[0] !== 0x5a; m = await next());
    secure.write(rawQuery('SELECT current_user'));
    for (let m = await next(); m[0] !== 0x5a; m = await next());
    secure.end();
    const everything = Buffer.concat(seen).toString('latin1');
    expect(everything).toContain(UPSTREAM_ROLES.agent.user);
    expect(everything).not.toContain(UPSTREAM_ROLES.agent.password);
  });
});
