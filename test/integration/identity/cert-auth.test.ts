// Client certificates as identities: a certificate the client CA signed names the identity (SAN URI, email, DNS or
// subject CN, first configured present), with no password; no certificate, another CA's, or another name is refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { query, type Target } from './clients.js';
import { startIdentityApp, type IdentityApp } from './harness.js';
import { testPki, type Pki } from './pki.js';

let pki: Pki;
let app: IdentityApp;
let spiffe: IdentityApp;
const base = (port: number, over: Partial<Target> = {}): Target => ({ host: 'localhost', port, user: 'agent-9', database: 'postgres', sslmode: 'verify-full', rootCert: pki.caCert, ...over });

beforeAll(async () => {
  pki = testPki();
  pki.issue('client-agent-9', { cn: 'agent-9', san: ['URI:spiffe://example.org/ns/agents/agent-9'], usage: 'client' });
  pki.issue('client-agent-9-other-ca', { cn: 'agent-9', usage: 'client', ca: 'other' });
  const config = (from: string[]) => ({
    'tls.client_ca': pki.caCert,
    'tls.client_identity_from': from,
    auth: { databases: { postgres: 'cert' }, upstream: { user: 'postgres' }, failure_delay: '1ms', failure_delay_max: '2ms' },
  });
  app = await startIdentityApp({ pki, config: config(['subject_cn']) });
  spiffe = await startIdentityApp({ pki, config: { ...config(['san_uri']), 'auth.match_user': false } });
});
afterAll(async () => {
  await app?.close();
  await spiffe?.close();
});

const cert = (name: string) => ({ sslcert: `${pki.dir}/${name}.crt`, sslkey: `${pki.dir}/${name}.key` });

describe('client certificate authentication', () => {
  it('psql, psycopg2 and node-postgres log in with a certificate naming the identity, with no password', async () => {
    for (const client of ['psql', 'psycopg2', 'node-postgres'] as const) {
      expect(await query(client, base(app.port, cert('client-agent-9')), "SELECT current_user || ' ' || application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()")).toMatchObject({ ok: true, value: expect.stringMatching(/^postgres agent-9 via pgwarden/) });
    }
  });

  it('reads a SPIFFE id from the SAN URI when configured (auth.match_user off: the user name is free)', async () => {
    expect(await query('psql', base(spiffe.port, { ...cert('client-agent-9'), user: 'whatever' }), "SELECT application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()")).toEqual({ ok: true, value: 'spiffe://example.org/ns/agents/agent-9 via pgwarden: psql' });
  });

  it('refuses a client without a certificate, or with one from another CA, with 28000', async () => {
    const none = await query('node-postgres', base(app.port), 'SELECT 1');
    expect(none).toMatchObject({ ok: false, sqlstate: '28000', message: expect.stringMatching(/^pgwarden: this database accepts only clients with a verified TLS client certificate/) });
    const other = await query('node-postgres', base(app.port, cert('client-agent-9-other-ca')), 'SELECT 1');
    expect(other).toMatchObject({ ok: false, sqlstate: '28000' });
  });

  it('refuses a certificate for another name than the user sent, with the generic 28P01', async () => {
    expect(await query('node-postgres', base(app.port, { ...cert('client-agent-9'), user: 'agent-1' }), 'SELECT 1')).toEqual({ ok: false, sqlstate: '28P01', message: 'pgwarden: authentication failed for user "agent-1"' });
  });
});
