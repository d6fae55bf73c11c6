// Issue 14's "Done when", end to end with real parts: an agent connects with
//   postgres://agent-7:<JWT>@pgwarden.test:PORT/app?sslmode=verify-full
// pgwarden reaches an upstream that accepts only TLS with a password the agent never saw, pg_stat_activity shows
// agent-7, a held statement's card says "agent-7, owned by alice@example.com", alice's approval is refused as
// self-approval and bob's is accepted.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { requestCard } from '../../../src/approvals/channels/teams/card.js';
import { run } from '../../helpers/cli.js';
import { APP_TOKENS } from '../../helpers/secrets.js';
import { decide, waitForPending } from '../../helpers/app.js';
import { cardText } from '../../fakes/card-inspect.js';
import { startFakeOidc, type FakeOidc } from '../../fakes/oidc.js';
import { startIdentityApp, type IdentityApp } from './harness.js';
import { testPki, type Pki } from './pki.js';
import { tlsCluster, UPSTREAM_ROLES, type TlsCluster } from './tls-cluster.js';

const RULES = `
version: 1
defaults: { action: allow, on_unknown: review, review: { timeout: 5m, approvers: [dba] } }
groups: { dba: [alice@example.com, bob@example.com] }
rules:
  - id: schema-changes
    match: { category: [ddl] }
    action: review
    approvers: [dba]
`;

let pki: Pki;
let cluster: TlsCluster;
let idp: FakeOidc;
let app: IdentityApp;

beforeAll(async () => {
  pki = testPki();
  cluster = await tlsCluster(pki);
  idp = await startFakeOidc({ audience: 'pgwarden' });
  // The upstream password lives only in pgwarden's environment (a Kubernetes secret in production).
  process.env.PGW_DONE_AGENT7_PASSWORD = UPSTREAM_ROLES.agent.password;
  app = await startIdentityApp({
    pki,
    rules: RULES,
    upstream: `postgres://localhost:${cluster.port}/?sslmode=verify-full&sslrootcert=${pki.caCert}`,
    config: {
      'tls.required': true,
      auth: { method: 'oidc', oidc: { issuer: idp.issuer, audience: 'pgwarden' } },
      identities: { 'agent-7': { upstream: { user: UPSTREAM_ROLES.agent.user, password_env: 'PGW_DONE_AGENT7_PASSWORD' } } },
    },
  });
  await run('psql', ['-X', '-q', '-h', cluster.socketDir, '-p', String(cluster.port), '-U', 'postgres', '-d', 'app', '-c', 'DROP TABLE IF EXISTS pgw_done_orders; CREATE TABLE pgw_done_orders (id int); ALTER TABLE pgw_done_orders OWNER TO agent_7_role']);
});
afterAll(async () => {
  await app?.close();
  await idp?.close();
});

it('an agent with a JWT reaches a TLS-only upstream as agent-7; alice (its owner) cannot approve its held statement, bob can', async () => {
  const jwt = await idp.sign({ sub: 'agent-7', act: { sub: 'alice@example.com' } });
  const url = `postgres://agent-7:${jwt}@pgwarden.test:${app.port}/app?sslmode=verify-full&sslrootcert=${encodeURIComponent(pki.caCert)}&hostaddr=127.0.0.1`;

  const agent = run('psql', ['-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', url, '-c', 'DROP TABLE pgw_done_orders', '-c', "SELECT 'dropped by ' || current_user"]);
  const request = await waitForPending(app.api, (r) => r.sql === 'DROP TABLE pgw_done_orders');

  // pg_stat_activity on the upstream names agent-7 while its statement is held.
  const activity = cluster.sql("SELECT usename || ' | ' || application_name || ' | ' || ssl FROM pg_stat_activity JOIN pg_stat_ssl USING (pid) WHERE application_name LIKE 'agent-7%'");
  expect(activity).toBe(`${UPSTREAM_ROLES.agent.user} | agent-7 via pgwarden: psql | true`);

  expect(request.actor).toMatchObject({ identity: 'agent-7', owner: 'alice@example.com', auth: 'oidc' });
  const card = cardText(requestCard((await app.store.get(request.id))!, { publicUrl: app.publicUrl, refreshUserIds: [], redactLiterals: false }, { forApprover: true } as never));
  expect(card).toContain('agent-7, owned by alice@example.com');

  const byAlice = await decide(app.api, request.id, APP_TOKENS['alice@example.com'], 'approve', 'looks fine');
  expect(byAlice.status).toBe(403);
  const byBob = await decide(app.api, request.id, APP_TOKENS['bob@example.com'], 'approve', 'ok');
  expect(byBob.status).toBe(200);

  const out = await agent;
  expect(out.code).toBe(0);
  expect(out.stdout.trim().split("\n")).toEqual(["DROP TABLE", `dropped by ${UPSTREAM_ROLES.agent.user}`]);
  expect(cluster.sql("SELECT count(*) FROM pg_class WHERE relname = 'pgw_done_orders'")).toBe('0');
  expect(out.stdout + out.stderr).not.toContain(UPSTREAM_ROLES.agent.password);
  expect(app.logs.text()).not.toContain(UPSTREAM_ROLES.agent.password);
});
