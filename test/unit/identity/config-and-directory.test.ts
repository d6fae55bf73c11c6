// Identity configuration: what stops startup (and says why), which upstream role an identity gets, where passwords
// come from (environment read once, files read at every login), and the upstream TLS options per sslmode.
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import { ConfigError } from '../../../src/errors.js';
import { IdentityDirectory } from '../../../src/proxy/auth/identities.js';
import { parseUpstreamUrl } from '../../../src/proxy/upstream-tls.js';
import { Secret } from '../../../src/units.js';

const VERIFIER = 'SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=';

describe('identity configuration', () => {
  it('accepts a full identity setup and keeps verifiers as secrets', () => {
    const c = loadConfig({ tlsCert: '/c.pem', tlsKey: '/k.pem' }, {}, {
      auth: { databases: { app: 'oidc', ops: 'scram' }, oidc: { issuer: 'https://idp.example', audience: ['pgwarden', 'other'] }, upstream: { user: 'app', password_file: '/run/secrets/app' } },
      identities: { 'agent-7': { owner: 'alice@example.com', groups: ['agents'], scram: VERIFIER, upstream: { user: 'agent_7', password_env: 'PG_A7' } } },
    });
    expect(c.tls).toMatchObject({ cert: '/c.pem', key: '/k.pem', required: false, client_identity_from: ['san_uri', 'san_email', 'san_dns', 'subject_cn'] });
    expect(c.auth.oidc).toMatchObject({ audience: ['pgwarden', 'other'], identity_claim: 'sub', clock_skew: 30_000 });
    expect(c.identities['agent-7']!.scram).toBeInstanceOf(Secret);
    expect(JSON.stringify(c)).not.toContain('WG5d8oPm3');
  });

  it('refuses a password written in config, naming where it belongs', () => {
    expect(() => loadConfig({}, {}, { auth: { upstream: { user: 'app', password: 'hunter2' } } })).toThrow(/auth\.upstream\.password: upstream passwords are never written in config: use password_env/);
    expect(() => loadConfig({}, {}, { auth: { upstream: { user: 'app', password: 'hunter2' } } })).not.toThrow(/hunter2/);
  });

  it('refuses routes whose needs are not configured', () => {
    expect(() => loadConfig({}, {}, { auth: { method: 'oidc' } })).toThrow(/auth\.oidc: a route uses auth oidc: set auth\.oidc\.issuer/);
    expect(() => loadConfig({}, {}, { auth: { method: 'oidc', oidc: { issuer: 'https://idp.example', audience: 'x' } } })).toThrow(/tls\.cert: .*tokens are accepted only over TLS/);
    expect(() => loadConfig({ tlsCert: '/c', tlsKey: '/k' }, {}, { auth: { databases: { app: 'cert' } } })).toThrow(/tls\.client_ca: a route uses auth cert/);
    expect(() => loadConfig({ tlsCert: '/c' }, {}, {})).toThrow(/tls\.cert and tls\.key go together/);
    expect(() => loadConfig({}, {}, { 'tls.required': true })).toThrow(/tls\.required needs tls\.cert/);
    expect(() => loadConfig({}, {}, { identities: { a: { scram: 'md5deadbeef' } } })).toThrow(/identities\.a\.scram: expected a verifier printed by `pgwarden passwd NAME`.*\[redacted\]/s);
    expect(() => loadConfig({ tlsCert: '/c', tlsKey: '/k' }, {}, { auth: { oidc: { issuer: 'https://i', audience: 'a', clock_skew: '1h' } } })).toThrow(/clock_skew is at most 5m/);
  });

  it('takes flags and PGWARDEN_TLS_* for the certificate and key', () => {
    expect(loadConfig({}, { PGWARDEN_TLS_CERT: '/e.crt', PGWARDEN_TLS_KEY: '/e.key' }).tls).toMatchObject({ cert: '/e.crt', key: '/e.key' });
  });
});

describe('identity directory', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pgw-dir-'));
  writeFileSync(join(dir, 'shared'), 'shared-pw\n');

  it('maps an identity to its own role, else its first mapped group in config order, else the default', async () => {
    const d = new IdentityDirectory({
      identities: { own: { upstream: { user: 'own_role', password_env: 'PW_OWN' } }, grouped: { groups: ['b', 'a'] } },
      groups: { a: { upstream: { user: 'role_a' } }, b: { upstream: { user: 'role_b', password_file: join(dir, 'shared') } } },
      defaultUpstream: { user: 'fallback' },
      maxConnectionsPerIdentity: 0,
      env: { PW_OWN: 'own-pw' },
    });
    expect(d.credential('own', [])?.user).toBe('own_role');
    expect((await d.credential('own', [])!.password())?.reveal()).toBe('own-pw');
    expect(d.credential('grouped', d.groups('grouped'))?.user).toBe('role_a');
    expect(d.credential('token-only', ['b'])?.user).toBe('role_b');
    expect((await d.credential('token-only', ['b'])!.password())?.reveal()).toBe('shared-pw');
    expect(d.credential('nobody', [])?.user).toBe('fallback');
    expect(await d.credential('nobody', [])!.password()).toBeNull();
  });

  it('re-reads a password file at every login (a rotated Kubernetes secret applies at once)', async () => {
    const file = join(dir, 'rotating');
    writeFileSync(file, 'first');
    const d = new IdentityDirectory({ identities: { a: { upstream: { user: 'r', password_file: file } } }, groups: {}, maxConnectionsPerIdentity: 0, env: {} });
    expect((await d.credential('a', [])!.password())?.reveal()).toBe('first');
    writeFileSync(file, 'second\r\n');
    expect((await d.credential('a', [])!.password())?.reveal()).toBe('second');
  });

  it('stops startup when a password variable is unset or a file unreadable, naming them', () => {
    expect(() => new IdentityDirectory({ identities: { a: { upstream: { user: 'r', password_env: 'NOPE' } } }, groups: {}, maxConnectionsPerIdentity: 0, env: {} })).toThrow(new ConfigError('identities.a.upstream.password_env: the environment variable NOPE is not set'));
    expect(() => new IdentityDirectory({ identities: {}, groups: { g: { upstream: { user: 'r', password_file: '/nonexistent/pw' } } }, maxConnectionsPerIdentity: 0, env: {} })).toThrow(/auth\.groups\.g\.upstream\.password_file: \/nonexistent\/pw cannot be read \(ENOENT\)/);
    expect(() => new IdentityDirectory({ identities: { a: { scram: new Secret('SCRAM-SHA-256$4096:AA==$AA==:AA==') } }, groups: {}, maxConnectionsPerIdentity: 0, env: {} })).toThrow(/pgwarden passwd a/);
  });

  it('finds owners exactly, then case-insensitively, and limits per identity', () => {
    const d = new IdentityDirectory({ identities: { Agent_Bob: { owner: ' carol@example.com ', max_connections: 3 } }, groups: {}, maxConnectionsPerIdentity: 10, env: {} });
    expect(d.owner('Agent_Bob')).toBe('carol@example.com');
    expect(d.owner('agent_bob')).toBe('carol@example.com');
    expect(d.owner('other')).toBeUndefined();
    expect(d.maxConnections('Agent_Bob')).toBe(3);
    expect(d.maxConnections('other')).toBe(10);
  });
});

describe('upstream TLS options per sslmode', () => {
  const socket = new net.Socket();
  const ca = join(mkdtempSync(join(tmpdir(), 'pgw-ca-')), 'none.pem');

  it('verifies nothing with require, the chain with verify-ca, chain and name with verify-full; SNI only for names', () => {
    const require = parseUpstreamUrl('postgres://db.internal/?sslmode=require').tls!.connectOptions(socket, false);
    expect(require).toMatchObject({ rejectUnauthorized: false, servername: 'db.internal' });
    expect(require.checkServerIdentity!('db.internal', {} as never)).toBeUndefined();
    expect(parseUpstreamUrl('postgres://10.0.0.5/?sslmode=require').tls!.connectOptions(socket, true)).toMatchObject({ ALPNProtocols: ['postgresql'] });
    expect(parseUpstreamUrl('postgres://10.0.0.5/?sslmode=require').tls!.connectOptions(socket, false).servername).toBeUndefined();
    expect(parseUpstreamUrl('postgres://db.internal/?sslmode=require&sslsni=0').tls!.connectOptions(socket, false).servername).toBeUndefined();
    expect(() => parseUpstreamUrl(`postgres://db/?sslmode=verify-full&sslrootcert=${ca}`).tls!.load()).toThrow(/sslrootcert .* cannot be read \(ENOENT\)/);
  });
});
