// TLS for clients: psql, node-postgres, postgres.js, psycopg2 and pgjdbc in verify-full against a certificate from the
// test CA; the wrong CA or name refused by the client; tls.required refusing plaintext; PostgreSQL 17 direct TLS with
// ALPN; and bytes sent before the handshake never read (CVE-2021-23214).
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { RawClient, errorFields, sslRequest, startupMessage, query as rawQuery } from '../../helpers/raw-client.js';
import { pgUrl } from '../../helpers/env.js';
import { AUTH_ROLES, ensureAuthRoles } from '../../helpers/pg-roles.js';
import { CLIENTS, query, type Target } from './clients.js';
import { startIdentityApp, type IdentityApp } from './harness.js';
import { pem, testPki, type Pki } from './pki.js';

let pki: Pki;
let app: IdentityApp;
let strict: IdentityApp;

const target = (port: number, over: Partial<Target> = {}): Target => ({ host: 'localhost', port, user: 'postgres', database: 'postgres', sslmode: 'verify-full', rootCert: pki.caCert, ...over });

async function upstreamSessions(application: string): Promise<number> {
  const c = new pg.Client(pgUrl());
  await c.connect();
  try {
    return Number((await c.query('SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1', [application])).rows[0].n);
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  pki = testPki();
  app = await startIdentityApp({ pki });
  strict = await startIdentityApp({ pki, config: { 'tls.required': true } });
});
afterAll(async () => {
  await app?.close();
  await strict?.close();
});

describe('TLS to clients', () => {
  for (const client of CLIENTS) {
    it(`${client} connects in verify-full and the statement runs upstream`, async () => {
      const r = await query(client, target(app.port, { application: `tls-${client}` }), "SELECT 'over tls'");
      expect(r).toEqual({ ok: true, value: 'over tls' });
    });

    it(`${client} refuses pgwarden when it trusts another CA`, async () => {
      const r = await query(client, target(app.port, { rootCert: pki.otherCaCert }), 'SELECT 1');
      expect(r.ok).toBe(false);
      expect(r.ok ? '' : r.message).toMatch(/certificate|PKIX|SSL|verify/i);
    });
  }

  it('psql reports an encrypted connection and the client refuses a name the certificate does not carry', async () => {
    const info = await query('psql', target(app.port), 'SELECT 1');
    expect(info.ok).toBe(true);
    const ssl = await import('../../helpers/cli.js').then(({ run }) => run('psql', ['-X', '-c', '\\conninfo', `host=localhost port=${app.port} user=postgres dbname=postgres sslmode=verify-full sslrootcert=${pki.caCert}`]));
    expect(ssl.stdout).toMatch(/SSL connection \(protocol: TLSv1\.[23]/);
    const wrong = await query('psql', target(app.port, { host: 'db.elsewhere.example', hostaddr: '127.0.0.1' }), 'SELECT 1');
    expect(wrong.ok).toBe(false);
    expect(wrong.ok ? '' : wrong.message).toMatch(/does not match host name|server certificate/);
  });

  it('still serves plaintext clients when tls.required is off', async () => {
    expect(await query('psql', target(app.port, { sslmode: 'disable' }), "SELECT 'plain'")).toEqual({ ok: true, value: 'plain' });
  });

  it('tls.required refuses a plaintext StartupMessage with FATAL 28000 before anything reaches the upstream', async () => {
    const r = await query('node-postgres', target(strict.port, { sslmode: 'disable', application: 'plain-refused' }), 'SELECT 1');
    expect(r).toMatchObject({ ok: false, sqlstate: '28000' });
    expect(r.ok ? '' : r.message).toMatch(/^pgwarden: this pgwarden accepts only TLS connections/);
    expect(await upstreamSessions('plain-refused')).toBe(0);
    expect(await query('psycopg2', target(strict.port), "SELECT 'tls ok'")).toEqual({ ok: true, value: 'tls ok' });
  });

  it('accepts PostgreSQL 17 direct TLS with ALPN "postgresql", and closes direct TLS without it', async () => {
    const socket = tls.connect({ host: '127.0.0.1', port: app.port, servername: 'localhost', ca: pem(pki.caCert), ALPNProtocols: ['postgresql'] });
    await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
    expect(socket.alpnProtocol).toBe('postgresql');
    const chunks: Buffer[] = [];
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.write(startupMessage({ user: 'postgres', database: 'postgres' }));
    socket.write(rawQuery("SELECT 'direct'"));
    await new Promise<void>((resolve) => {
      const check = () => (Buffer.concat(chunks).includes(Buffer.from('direct')) ? resolve() : setTimeout(check, 20));
      check();
    });
    socket.end();

    const noAlpn = tls.connect({ host: '127.0.0.1', port: app.port, servername: 'localhost', ca: pem(pki.caCert) });
    const outcome = await new Promise<string>((resolve) => {
      noAlpn.once('secureConnect', () => noAlpn.once('close', () => resolve('closed after handshake')));
      noAlpn.once('error', () => resolve('closed'));
      noAlpn.write(startupMessage({ user: 'postgres', database: 'postgres' }));
    });
    expect(outcome).toMatch(/closed/);
  });

  it('never reads plaintext sent after SSLRequest before the answer (CVE-2021-23214): FATAL 08P01, no upstream session', async () => {
    const c = await RawClient.connect(app.port);
    c.send(sslRequest(), startupMessage({ user: 'postgres', database: 'postgres', application_name: 'injected-early' }), rawQuery('SELECT 1'));
    expect(await c.readByte()).toBe('E');
    await c.closedByPeer();
    expect(await upstreamSessions('injected-early')).toBe(0);
  });

  it('answers SSLRequest with S and refuses a second SSLRequest inside TLS with FATAL 08P01', async () => {
    const c = await RawClient.connect(app.port);
    c.send(sslRequest());
    expect(await c.readByte()).toBe('S');
    c.socket.removeAllListeners('data');
    const secure = tls.connect({ socket: c.socket, servername: 'localhost', ca: pem(pki.caCert) });
    await new Promise<void>((resolve, reject) => secure.once('secureConnect', resolve).once('error', reject));
    const reply = new Promise<Buffer>((resolve) => {
      const chunks: Buffer[] = [];
      secure.on('data', (d: Buffer) => chunks.push(d));
      secure.on('close', () => resolve(Buffer.concat(chunks)));
    });
    secure.write(sslRequest());
    const bytes = await reply;
    expect(String.fromCharCode(bytes[0]!)).toBe('E');
    expect(errorFields(bytes.subarray(5))).toMatchObject({ S: 'FATAL', C: '08P01', M: expect.stringContaining('already uses TLS') });
  });

  it('answers SSLRequest with N when no certificate is configured, then serves plaintext', async () => {
    const plain = await startIdentityApp({ pki, tls: false });
    try {
      const c = await RawClient.connect(plain.port);
      c.send(sslRequest());
      expect(await c.readByte()).toBe('N');
      c.send(startupMessage({ user: 'postgres', database: 'postgres' }));
      const msgs = await c.readUntilReady();
      expect(msgs.at(-1)!.code).toBe('Z');
      c.end();
      expect(await query('psql', target(plain.port, { sslmode: 'require' }), 'SELECT 1')).toMatchObject({ ok: false });
    } finally {
      await plain.close();
    }
  });

  it('offers no SCRAM-SHA-256-PLUS on passthrough routes even over TLS (the binding would name pgwarden, not the server)', async () => {
    await ensureAuthRoles();
    const role = { user: AUTH_ROLES.scram.user, password: AUTH_ROLES.scram.password };
    expect(await query('psql', { ...target(app.port), ...role }, 'SELECT current_user')).toEqual({ ok: true, value: role.user });
    const r = await query('psql', { ...target(app.port), ...role, channelBinding: 'require' }, 'SELECT 1');
    expect(r.ok).toBe(false);
    expect(r.ok ? '' : r.message).toMatch(/channel binding/);
  });
});
