// OIDC tokens as passwords: a local identity provider (discovery + JWKS), tokens signed the way an IdP signs them,
// and every forgery or mistake refused with the same FATAL 28P01 — expired, not yet valid, wrong audience or issuer,
// tampered, unknown kid, alg none, HMAC with the public key, a token for someone else. Only ever over TLS.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient, errorFields, startupMessage } from '../../helpers/raw-client.js';
import { startFakeOidc, type FakeOidc } from '../../fakes/oidc.js';
import { CLIENTS, query, type Target } from './clients.js';
import { startIdentityApp, type IdentityApp } from './harness.js';
import { testPki, type Pki } from './pki.js';
import { tlsCluster, UPSTREAM_ROLES, type TlsCluster } from './tls-cluster.js';

const AUDIENCE = 'pgwarden-test';
let pki: Pki;
let cluster: TlsCluster;
let idp: FakeOidc;
let app: IdentityApp;

const agent = (token: string, over: Partial<Target> = {}): Target => ({ host: 'localhost', port: app.port, user: 'agent-7', password: token, database: 'app', sslmode: 'verify-full', rootCert: pki.caCert, ...over });
const GENERIC = { ok: false, sqlstate: '28P01', message: 'pgwarden: authentication failed for user "agent-7"' };

beforeAll(async () => {
  pki = testPki();
  cluster = await tlsCluster(pki);
  idp = await startFakeOidc({ audience: AUDIENCE });
  process.env.PGW_TEST_APP_UPSTREAM_PW = UPSTREAM_ROLES.app.password;
  app = await startIdentityApp({
    pki,
    upstream: `postgres://localhost:${cluster.port}/?sslmode=verify-full&sslrootcert=${pki.caCert}`,
    config: {
      auth: {
        databases: { app: 'oidc' },
        oidc: { issuer: idp.issuer, audience: AUDIENCE, jwks_cooldown: '1s' },
        groups: { agents: { upstream: { user: UPSTREAM_ROLES.app.user, password_env: 'PGW_TEST_APP_UPSTREAM_PW' } } },
        failure_delay: '1ms',
        failure_delay_max: '2ms',
      },
      identities: { 'agent-7': { owner: 'alice@example.com' } },
    },
  });
});
afterAll(async () => {
  await app?.close();
  await idp?.close();
});

describe('OIDC tokens as passwords', () => {
  for (const client of CLIENTS) {
    it(`${client}: a valid token opens a session as the role mapped to the token's group`, async () => {
      const token = await idp.sign({ sub: 'agent-7', groups: ['agents'] });
      expect(await query(client, agent(token), 'SELECT current_user')).toEqual({ ok: true, value: UPSTREAM_ROLES.app.user });
    });
  }

  it('discovers the keys once and reuses them', async () => {
    const before = { ...idp.requests };
    for (let i = 0; i < 3; i++) expect(await query('node-postgres', agent(await idp.sign({ sub: 'agent-7', groups: ['agents'] })), 'SELECT 1')).toMatchObject({ ok: true });
    expect(idp.requests).toEqual(before);
  });

  it('refuses an expired token, one not yet valid, one without exp, and one for another audience or issuer, with one message', async () => {
    const claims = { sub: 'agent-7', groups: ['agents'] };
    for (const token of [
      await idp.sign(claims, { expiresIn: -120 }),
      await idp.sign(claims, { notBefore: 120 }),
      await idp.sign(claims, { noExp: true }),
      await idp.sign(claims, { audience: 'some-other-service' }),
      await idp.sign(claims, { issuer: 'https://evil.example' }),
    ]) {
      expect(await query('node-postgres', agent(token), 'SELECT 1')).toEqual(GENERIC);
    }
    const reasons = app.logs.records().filter((r) => r.msg === 'authentication failed').map((r) => String(r.why));
    expect(reasons.join('\n')).toMatch(/ERR_JWT_EXPIRED/);
    expect(reasons.join('\n')).toMatch(/claim nbf|"nbf" claim/);
    expect(reasons.join('\n')).toMatch(/claim aud|"aud" claim/);
  });

  it('refuses a tampered signature, alg none and an HMAC signed with the public key', async () => {
    const good = await idp.sign({ sub: 'agent-7', groups: ['agents'] });
    const [h, p, s] = good.split('.');
    const payload = JSON.parse(Buffer.from(p!, 'base64url').toString());
    const tampered = `${h}.${Buffer.from(JSON.stringify({ ...payload, groups: ['admins', 'agents'] })).toString('base64url')}.${s}`;
    for (const token of [tampered, idp.unsigned({ sub: 'agent-7', groups: ['agents'] }), idp.hmacWithPublicKey({ sub: 'agent-7', groups: ['agents'] })]) {
      expect(await query('psql', agent(token), 'SELECT 1')).toMatchObject({ ok: false, message: expect.stringContaining('FATAL:  pgwarden: authentication failed for user "agent-7"') });
    }
  });

  it('an unknown kid refetches the keys (rate-limited): refused until the IdP publishes the key, accepted after', async () => {
    const token = await idp.signUnpublished({ sub: 'agent-7', groups: ['agents'] }, 'key-2');
    await new Promise((r) => setTimeout(r, 1100));
    const before = idp.requests.jwks;
    const started = Date.now();
    expect(await query('node-postgres', agent(token), 'SELECT 1')).toEqual(GENERIC);
    expect(idp.requests.jwks).toBe(before + 1);
    // A burst of unknown kids does not hammer the IdP: at most one fetch per cooldown (1s here) however many tokens.
    const burst = await Promise.all(Array.from({ length: 12 }, async (_, i) => query('node-postgres', agent(await idp.signUnpublished({ sub: 'agent-7' }, `burst-${i}`)), 'SELECT 1')));
    for (const r of burst) expect(r).toEqual(GENERIC);
    expect(idp.requests.jwks - before).toBeLessThanOrEqual(1 + Math.floor((Date.now() - started) / 1000));
    expect(idp.requests.jwks - before).toBeLessThan(13);
    idp.publish('key-2');
    await new Promise((r) => setTimeout(r, 1100));
    expect(await query('node-postgres', agent(token), 'SELECT current_user')).toEqual({ ok: true, value: UPSTREAM_ROLES.app.user });
  });

  it('refuses a valid token whose identity is not the user name sent (auth.match_user)', async () => {
    const token = await idp.sign({ sub: 'agent-8', groups: ['agents'] });
    expect(await query('node-postgres', agent(token), 'SELECT 1')).toEqual(GENERIC);
  });

  it('over plaintext, refuses with 28000 before asking for the token', async () => {
    const c = await RawClient.connect(app.port);
    c.send(startupMessage({ user: 'agent-7', database: 'app' }));
    const first = await c.read();
    expect(first.code).toBe('E');
    expect(errorFields(first.body)).toMatchObject({ S: 'FATAL', C: '28000', M: 'pgwarden: token authentication is accepted only over TLS: the token would cross the network in clear' });
    await c.closedByPeer();
  });

  it('never writes a token into the log', async () => {
    const token = await idp.sign({ sub: 'agent-7', groups: ['agents'] });
    await query('node-postgres', agent(token), 'SELECT 1');
    await query('node-postgres', agent(token.slice(0, -4) + 'AAAA'), 'SELECT 1');
    expect(app.logs.text()).not.toContain(token.split('.')[2]!);
    expect(app.logs.text()).not.toContain(token.split('.')[1]!);
  });
});
