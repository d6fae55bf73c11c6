// The five real clients the identity tests drive, each with a libpq-style connection description: psql, node-postgres,
// postgres.js, psycopg2 (Debian's, under /usr/bin/python3) and pgjdbc (Debian's jar, single-file Java launch).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import postgres from 'postgres';
import { run } from '../../helpers/cli.js';

export interface Target {
  readonly host: string;
  /** libpq hostaddr: connect here, verify the certificate against `host` (psql, psycopg2). */
  readonly hostaddr?: string;
  readonly port: number;
  readonly user: string;
  readonly password?: string;
  readonly database: string;
  readonly sslmode: 'disable' | 'require' | 'verify-ca' | 'verify-full';
  readonly rootCert?: string;
  readonly application?: string;
  /** Client certificate and key (psql, psycopg2, node-postgres). */
  readonly sslcert?: string;
  readonly sslkey?: string;
  /** libpq channel_binding (psql, psycopg2 only). */
  readonly channelBinding?: 'require' | 'disable' | 'prefer';
}

export type ClientName = 'psql' | 'node-postgres' | 'postgres.js' | 'psycopg2' | 'pgjdbc';
export const CLIENTS: readonly ClientName[] = ['psql', 'node-postgres', 'postgres.js', 'psycopg2', 'pgjdbc'];

/** Outcome of one query: the first column of the first row, or the error the client reported. */
export type Result = { ok: true; value: string } | { ok: false; sqlstate: string | null; message: string };

function conninfo(t: Target): string {
  const kv: Record<string, string | undefined> = {
    host: t.host,
    hostaddr: t.hostaddr,
    port: String(t.port),
    user: t.user,
    password: t.password,
    dbname: t.database,
    sslmode: t.sslmode,
    sslrootcert: t.rootCert,
    application_name: t.application,
    channel_binding: t.channelBinding,
    sslcert: t.sslcert,
    sslkey: t.sslkey,
  };
  return Object.entries(kv)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}='${String(v).replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`)
    .join(' ');
}

export function url(t: Target): string {
  const q = new URLSearchParams({ sslmode: t.sslmode, ...(t.rootCert ? { sslrootcert: t.rootCert } : {}), ...(t.application ? { application_name: t.application } : {}) });
  return `postgres://${encodeURIComponent(t.user)}${t.password ? `:${encodeURIComponent(t.password)}` : ''}@${t.host}:${t.port}/${t.database}?${q}`;
}

export async function query(client: ClientName, t: Target, sql: string): Promise<Result> {
  switch (client) {
    case 'psql': {
      const r = await run('psql', ['-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-c', sql, conninfo(t)], { env: { PGCONNECT_TIMEOUT: '10', PGSSLCERT: t.sslcert ?? '/nonexistent', PGSSLKEY: t.sslkey ?? '/nonexistent' } });
      if (r.code === 0) return { ok: true, value: r.stdout.trim().split('\n')[0] ?? '' };
      return { ok: false, sqlstate: null, message: r.stderr.trim() };
    }
    case 'node-postgres': {
      const c = new pg.Client({
        host: t.host,
        port: t.port,
        user: t.user,
        password: t.password,
        database: t.database,
        application_name: t.application,
        ssl:
          t.sslmode === 'disable'
            ? false
            : {
                ca: t.rootCert ? readFileSync(t.rootCert, 'utf8') : undefined,
                rejectUnauthorized: t.sslmode !== 'require',
                ...(t.sslmode === 'verify-ca' ? { checkServerIdentity: () => undefined } : {}),
                ...(t.sslcert && t.sslkey ? { cert: readFileSync(t.sslcert, 'utf8'), key: readFileSync(t.sslkey, 'utf8') } : {}),
              },
      });
      c.on('error', () => undefined);
      try {
        await c.connect();
        const r = await c.query(sql);
        return { ok: true, value: String(Object.values(r.rows[0] ?? {})[0] ?? '') };
      } catch (err) {
        const e = err as { code?: string; message: string };
        return { ok: false, sqlstate: e.code && /^[0-9A-Z]{5}$/.test(e.code) ? e.code : null, message: e.message };
      } finally {
        await c.end().catch(() => undefined);
      }
    }
    case 'postgres.js': {
      const sqlc = postgres({
        host: t.host,
        port: t.port,
        user: t.user,
        password: t.password,
        database: t.database,
        max: 1,
        connect_timeout: 10,
        onnotice: () => undefined,
        ...(t.application ? { connection: { application_name: t.application } } : {}),
        ssl: t.sslmode === 'disable' ? false : { ca: t.rootCert ? readFileSync(t.rootCert, 'utf8') : undefined, rejectUnauthorized: t.sslmode !== 'require', servername: t.host },
      });
      try {
        const rows = await sqlc.unsafe(sql);
        return { ok: true, value: String(Object.values(rows[0] ?? {})[0] ?? '') };
      } catch (err) {
        const e = err as { code?: string; message: string };
        return { ok: false, sqlstate: e.code && /^[0-9A-Z]{5}$/.test(e.code) ? e.code : null, message: e.message };
      } finally {
        await sqlc.end({ timeout: 1 }).catch(() => undefined);
      }
    }
    case 'psycopg2': {
      const script = [
        'import sys, psycopg2',
        'try:',
        '    c = psycopg2.connect(sys.argv[1]); cur = c.cursor(); cur.execute(sys.argv[2]); print(cur.fetchone()[0])',
        'except psycopg2.Error as e:',
        '    print("ERROR", e.pgcode, str(e).strip().replace("\\n", " ")); sys.exit(1)',
      ].join('\n');
      const r = await run('/usr/bin/python3', ['-c', script, conninfo(t), sql], { env: { PGSSLCERT: t.sslcert ?? '/nonexistent', PGSSLKEY: t.sslkey ?? '/nonexistent' } });
      if (r.code === 0) return { ok: true, value: r.stdout.trim() };
      const m = /^ERROR (\S+) (.*)$/s.exec(r.stdout.trim());
      return { ok: false, sqlstate: m && m[1] !== 'None' ? m[1]! : null, message: m ? m[2]! : r.stderr.trim() };
    }
    case 'pgjdbc': {
      // assumeMinServerVersion=9.0: pgjdbc sends ApplicationName in the StartupMessage instead of a SET after connecting
      // (which would replace the identity pgwarden writes into application_name; docs/identity.md).
      const props = new URLSearchParams({ user: t.user, sslmode: t.sslmode, connectTimeout: '10', assumeMinServerVersion: '9.0', ...(t.password ? { password: t.password } : {}), ...(t.rootCert ? { sslrootcert: t.rootCert } : {}), ...(t.application ? { ApplicationName: t.application } : {}) });
      const probe = fileURLToPath(new URL('./JdbcProbe.java', import.meta.url));
      const r = await run('java', ['-cp', '/usr/share/java/postgresql.jar', probe, `jdbc:postgresql://${t.host}:${t.port}/${t.database}?${props}`, sql], { timeoutMs: 60_000 });
      if (r.code === 0) return { ok: true, value: r.stdout.trim().split('\n')[0] ?? '' };
      const m = /^ERROR (\S+) (.*)$/s.exec(r.stdout.trim());
      return { ok: false, sqlstate: m && m[1] !== 'null' ? m[1]! : null, message: m ? m[2]! : r.stderr.trim() };
    }
  }
}
