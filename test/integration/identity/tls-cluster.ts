// An extra PostgreSQL cluster that refuses plaintext, like RDS with rds.force_ssl: ssl = on and hostssl-only
// pg_hba (SCRAM for password roles, cert for certificate roles). Created once in the test state directory and reused
// (initdb is slow on a shared machine); administered over its Unix socket.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import type { Pki } from './pki.js';
import { IDENTITY_SECRETS } from '../../helpers/secrets.js';

export interface TlsCluster {
  readonly port: number;
  readonly socketDir: string;
  /** Runs SQL as the superuser over the Unix socket; returns psql's unaligned output. */
  sql(text: string): string;
}

/** Roles of the TLS-only upstream and their passwords (held by pgwarden in the tests, never by agents). */
export const UPSTREAM_ROLES = {
  app: { user: 'app_rw', password: IDENTITY_SECRETS.upstreamApp },
  agent: { user: 'agent_7_role', password: IDENTITY_SECRETS.upstreamAgent },
  md5: { user: 'app_md5', password: IDENTITY_SECRETS.upstreamMd5 },
} as const;

/** TLS only: no `host` line, so a plaintext TCP connection finds no entry (RDS rds.force_ssl, Azure, Cloud SQL). */
const HBA = ['local all all trust', 'hostssl all app_cert 127.0.0.0/8 cert', 'hostssl all app_md5 127.0.0.0/8 md5', 'hostssl all all 127.0.0.0/8 scram-sha-256', ''].join('\n');

const as = (args: string[]) => (process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--', ...args] : args);

function run(args: string[]): string {
  const [cmd, ...rest] = as(args);
  return execFileSync(cmd!, rest, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function chownPostgres(path: string): void {
  if (process.getuid?.() === 0) execFileSync('chown', ['-R', 'postgres:postgres', path]);
}

export async function tlsCluster(pki: Pki): Promise<TlsCluster> {
  const bin = process.env.TEST_PG_BIN;
  if (!bin) throw new Error('TEST_PG_BIN is not set: run scripts/test-services.sh first');
  const dir = join(process.env.PGWARDEN_TEST_STATE ?? '/tmp/pgwarden-test', 'pg-tls');
  const data = join(dir, 'data');
  const portFile = join(dir, 'port');
  mkdirSync(dir, { recursive: true });
  const server = pki.issue('upstream', { cn: 'localhost', san: ['DNS:localhost', 'DNS:db.test', 'IP:127.0.0.1'], usage: 'server' });
  let port: number;
  if (!existsSync(join(data, 'PG_VERSION'))) {
    port = await freePort();
    writeFileSync(portFile, String(port));
    chownPostgres(dir);
    run([`${bin}/initdb`, '-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8']);
    copyFileSync(server.cert, join(data, 'server.crt'));
    copyFileSync(server.key, join(data, 'server.key'));
    copyFileSync(pki.caCert, join(data, 'root.crt'));
    chmodSync(join(data, 'server.key'), 0o600);
    writeFileSync(
      join(data, 'postgresql.conf'),
      readFileSync(join(data, 'postgresql.conf'), 'utf8') +
        [
          `port = ${port}`,
          // 127.0.0.2 is not in the server certificate: verify-ca accepts it, verify-full must not.
          "listen_addresses = '127.0.0.1,127.0.0.2'",
          `unix_socket_directories = '${dir}'`,
          'ssl = on',
          "ssl_cert_file = 'server.crt'",
          "ssl_key_file = 'server.key'",
          "ssl_ca_file = 'root.crt'",
          "password_encryption = 'scram-sha-256'",
          'max_connections = 200',
          'fsync = off',
          'shared_buffers = 32MB',
          '',
        ].join('\n'),
    );
    chownPostgres(dir);
  } else {
    port = Number(readFileSync(portFile, 'utf8'));
  }
  // Rewritten on every start (and reloaded) so that a cluster made by an older version of this helper gets the current rules.
  writeFileSync(join(data, 'pg_hba.conf'), HBA);
  chownPostgres(join(data, 'pg_hba.conf'));
  const ready = () => {
    try {
      execFileSync(`${bin}/pg_isready`, ['-q', '-h', dir, '-p', String(port)]);
      return true;
    } catch {
      return false;
    }
  };
  if (!ready()) run([`${bin}/pg_ctl`, '-D', data, '-l', join(dir, 'pg.log'), '-w', 'start']);
  else run([`${bin}/pg_ctl`, '-D', data, 'reload']);
  const sql = (text: string) => execFileSync('psql', ['-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', dir, '-p', String(port), '-U', 'postgres', '-d', 'postgres', '-c', text], { encoding: 'utf8' }).trim();
  for (const [kind, role] of Object.entries(UPSTREAM_ROLES)) {
    if (sql(`SELECT count(*) FROM pg_roles WHERE rolname = '${role.user}'`) === '0') sql(`CREATE ROLE ${role.user} LOGIN`);
    sql(`SET password_encryption = '${kind === 'md5' ? 'md5' : 'scram-sha-256'}'; ALTER ROLE ${role.user} PASSWORD '${role.password}'`);
  }
  if (sql("SELECT count(*) FROM pg_roles WHERE rolname = 'app_cert'") === '0') sql('CREATE ROLE app_cert LOGIN');
  if (sql("SELECT count(*) FROM pg_database WHERE datname = 'app'") === '0') sql('CREATE DATABASE app');
  sql('GRANT ALL ON DATABASE app TO app_rw, agent_7_role, app_md5, app_cert');
  execFileSync('psql', ['-X', '-q', '-h', dir, '-p', String(port), '-U', 'postgres', '-d', 'app', '-c', 'GRANT ALL ON SCHEMA public TO app_rw, agent_7_role, app_md5, app_cert']);
  return { port, socketDir: dir, sql };
}
