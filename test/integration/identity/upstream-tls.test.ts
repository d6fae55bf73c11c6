// TLS to the upstream with libpq's sslmode semantics, against a PostgreSQL that refuses plaintext (ssl = on,
// hostssl-only pg_hba, like RDS with rds.force_ssl): what the server itself reports (pg_stat_ssl) is the evidence.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { query, type Target } from './clients.js';
import { startIdentityApp, type IdentityApp } from './harness.js';
import { testPki, type Pki } from './pki.js';
import { tlsCluster, UPSTREAM_ROLES, type TlsCluster } from './tls-cluster.js';

let pki: Pki;
let cluster: TlsCluster;
const apps: IdentityApp[] = [];

async function through(params: string, host = 'localhost', over: Partial<Target> = {}): Promise<{ app: IdentityApp; target: Target }> {
  const app = await startIdentityApp({ pki, upstream: `postgres://${host}:${cluster.port}/?${params}` });
  apps.push(app);
  // SCRAM through pgwarden over TLS on both legs needs channel_binding=disable in libpq clients (see the last test).
  return { app, target: { host: 'localhost', port: app.port, user: UPSTREAM_ROLES.app.user, password: UPSTREAM_ROLES.app.password, database: 'app', sslmode: 'verify-full', rootCert: pki.caCert, channelBinding: 'disable', ...over } };
}

const SSL_OF_BACKEND = 'SELECT ssl::text || coalesce(\' \' || client_dn, \'\') FROM pg_stat_ssl WHERE pid = pg_backend_pid()';

beforeAll(async () => {
  pki = testPki();
  cluster = await tlsCluster(pki);
});
afterAll(async () => {
  for (const a of apps) await a.close();
});

describe('TLS to the upstream (libpq sslmode semantics)', () => {
  it('verify-full reaches a TLS-only server; the server sees an encrypted backend', async () => {
    const { target } = await through(`sslmode=verify-full&sslrootcert=${pki.caCert}`);
    expect(await query('psql', target, SSL_OF_BACKEND)).toEqual({ ok: true, value: 'true' });
  });

  it('sslmode=disable is refused by the server, whose own FATAL 28000 the client gets', async () => {
    const { target } = await through('sslmode=disable');
    const r = await query('node-postgres', target, 'SELECT 1');
    expect(r).toMatchObject({ ok: false, sqlstate: '28000' });
    expect(r.ok ? '' : r.message).toMatch(/no pg_hba\.conf entry .* no encryption/);
  });

  it('the default (prefer) uses TLS when the server offers it', async () => {
    const { target } = await through('');
    expect(await query('psycopg2', target, SSL_OF_BACKEND)).toEqual({ ok: true, value: 'true' });
  });

  it('allow tries plaintext first and, refused, retries with TLS', async () => {
    const { target } = await through('sslmode=allow');
    expect(await query('postgres.js', target, SSL_OF_BACKEND)).toEqual({ ok: true, value: 'true' });
  });

  it('require encrypts without checking the certificate', async () => {
    const { target } = await through('sslmode=require');
    expect(await query('psql', target, SSL_OF_BACKEND)).toEqual({ ok: true, value: 'true' });
  });

  it('verify-full refuses a server whose certificate does not name the host; verify-ca accepts it', async () => {
    const full = await through(`sslmode=verify-full&sslrootcert=${pki.caCert}`, '127.0.0.2');
    const r = await query('node-postgres', full.target, 'SELECT 1');
    expect(r).toMatchObject({ ok: false, sqlstate: '08006' });
    expect(r.ok ? '' : r.message).toMatch(/^pgwarden: upstream PostgreSQL at 127\.0\.0\.2:\d+ is unavailable: TLS handshake failed: ERR_TLS_CERT_ALTNAME_INVALID/);
    const ca = await through(`sslmode=verify-ca&sslrootcert=${pki.caCert}`, '127.0.0.2');
    expect(await query('node-postgres', ca.target, SSL_OF_BACKEND)).toEqual({ ok: true, value: 'true' });
  });

  it('verify-full refuses a server signed by another CA, naming the verification failure', async () => {
    const { target } = await through(`sslmode=verify-full&sslrootcert=${pki.otherCaCert}`);
    const r = await query('node-postgres', target, 'SELECT 1');
    expect(r).toMatchObject({ ok: false, sqlstate: '08006' });
    expect(r.ok ? '' : r.message).toMatch(/TLS handshake failed/);
  });

  it('presents sslcert/sslkey to the upstream: a cert-authenticated role logs in with no password', async () => {
    const client = pki.issue('upstream-client-app_cert', { cn: 'app_cert', usage: 'client' });
    const { target } = await through(`sslmode=verify-full&sslrootcert=${pki.caCert}&sslcert=${client.cert}&sslkey=${client.key}`, 'localhost', { user: 'app_cert', password: undefined });
    expect(await query('psql', target, SSL_OF_BACKEND)).toEqual({ ok: true, value: 'true /CN=app_cert' });
  });

  it('negotiates direct TLS (sslnegotiation=direct, ALPN postgresql) with a server that speaks it: a second pgwarden', async () => {
    const front = await through(`sslmode=verify-full&sslrootcert=${pki.caCert}`);
    const chained = await startIdentityApp({ pki, upstream: `postgres://localhost:${front.app.port}/?sslmode=verify-full&sslnegotiation=direct&sslrootcert=${pki.caCert}` });
    apps.push(chained);
    expect(await query('psql', { ...front.target, port: chained.port }, SSL_OF_BACKEND)).toEqual({ ok: true, value: 'true' });
  });

  it('passthrough SCRAM with TLS on both legs: a client that would bind gets a FATAL saying what to change; md5 and channel_binding=disable work', async () => {
    const { target } = await through(`sslmode=verify-full&sslrootcert=${pki.caCert}`);
    const r = await query('psql', { ...target, channelBinding: 'prefer' }, 'SELECT 1');
    expect(r.ok).toBe(false);
    expect(r.ok ? '' : r.message).toMatch(/pgwarden: SCRAM channel binding cannot pass through pgwarden[\s\S]*HINT: {2}Set channel_binding=disable/);
    expect(await query('psycopg2', { ...target, user: UPSTREAM_ROLES.md5.user, password: UPSTREAM_ROLES.md5.password, channelBinding: 'prefer' }, 'SELECT current_user')).toEqual({ ok: true, value: UPSTREAM_ROLES.md5.user });
    expect(await query('psycopg2', target, 'SELECT current_user')).toEqual({ ok: true, value: UPSTREAM_ROLES.app.user });
  });

  it('refuses to start with verify-full and no sslrootcert, naming the parameter', async () => {
    await expect(startIdentityApp({ pki, upstream: `postgres://localhost:${cluster.port}/?sslmode=verify-full` })).rejects.toThrow(/--upstream: sslmode: sslmode=verify-full needs sslrootcert/);
    await expect(startIdentityApp({ pki, upstream: `postgres://localhost:${cluster.port}/?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem` })).rejects.toThrow(/sslrootcert \/nonexistent\/ca\.pem cannot be read \(ENOENT\)/);
  });
});
