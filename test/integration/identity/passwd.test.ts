// `pgwarden passwd NAME` (the built bin): its verifier is PostgreSQL's own format — the TLS-only test server (SCRAM
// for every role) accepts it as a role's password, and libpq then logs in with the password, ASCII or not (so both
// sides agree on SASLprep) — and the password is never printed.
import { beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../helpers/cli.js';
import { parseVerifier } from '../../../src/proxy/auth/scram.js';
import { testPki, type Pki } from './pki.js';
import { tlsCluster, type TlsCluster } from './tls-cluster.js';

const NODE = 'node_modules/.bin/node';
const ROLE = 'pgw_passwd_probe';
let pki: Pki;
let cluster: TlsCluster;

beforeAll(async () => {
  pki = testPki();
  cluster = await tlsCluster(pki);
});

describe('pgwarden passwd', () => {
  for (const password of ['plain-ascii-Pw1', 'pässwörd\u00a0mit Leerzeichen', '\ufb01le-ligature']) {
    it(`prints a verifier PostgreSQL stores as is and libpq logs in with (${JSON.stringify(password)})`, async () => {
      const out = await run(NODE, ['dist/cli.js', 'passwd', ROLE], { input: `${password}\n` });
      expect(out.code).toBe(0);
      const verifier = out.stdout.trim();
      expect(parseVerifier(verifier)).not.toBeNull();
      expect(out.stdout + out.stderr).not.toContain(password);
      cluster.sql(`DROP ROLE IF EXISTS ${ROLE}; CREATE ROLE ${ROLE} LOGIN PASSWORD '${verifier}'`);
      expect(cluster.sql(`SELECT rolpassword FROM pg_authid WHERE rolname = '${ROLE}'`)).toBe(verifier);
      const login = await run('psql', ['-X', '-A', '-t', '-c', 'SELECT current_user', `host=localhost port=${cluster.port} dbname=postgres user=${ROLE} sslmode=verify-full sslrootcert=${pki.caCert}`], { env: { PGPASSWORD: password } });
      expect(login.stderr).toBe('');
      expect(login.stdout.trim()).toBe(ROLE);
      const wrong = await run('psql', ['-X', '-c', 'SELECT 1', `host=localhost port=${cluster.port} dbname=postgres user=${ROLE} sslmode=require`], { env: { PGPASSWORD: `${password}x` } });
      expect(wrong.stderr).toContain('password authentication failed');
    });
  }

  it('prints a config snippet with --yaml and refuses an empty password or too few iterations', async () => {
    const yaml = await run(NODE, ['dist/cli.js', 'passwd', 'agent-7', '--yaml'], { input: 'secret-pw\n' });
    expect(yaml.stdout).toMatch(/^identities:\n {2}"agent-7":\n {4}scram: "SCRAM-SHA-256\$4096:[^"]+"\n$/);
    const empty = await run(NODE, ['dist/cli.js', 'passwd', 'agent-7'], { input: '\n' });
    expect(empty).toMatchObject({ code: 2, stdout: '' });
    expect(empty.stderr).toContain('empty password');
    const weak = await run(NODE, ['dist/cli.js', 'passwd', 'agent-7', '--iterations', '10'], { input: 'x\n' });
    expect(weak.code).toBe(2);
  });
});
