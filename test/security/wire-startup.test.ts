// Issue 11, finding 8: settings in the StartupMessage (plain parameters and `options`) are judged like the equivalent
// SET statements before the upstream connection is opened; a refused one is FATAL 42501 naming the setting.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import pg from 'pg';
import postgres from 'postgres';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { errorFields, query, RawClient, startupMessage } from '../helpers/raw-client.js';
import { pgUrl, urlFor } from '../helpers/env.js';
import { run } from '../helpers/cli.js';
import { ALLOW, type Gate, type StatementContext } from '../../src/proxy/gate.js';
import { optionSettings } from '../../src/proxy/startup-settings.js';
import { defaultRulesForTests, directClient, readReadies } from '../helpers/wire-attack.js';

let app: TestApp;
let admin: pg.Client;
beforeAll(async () => {
  app = await startTestApp({ rules: defaultRulesForTests() });
  admin = new pg.Client(pgUrl());
  await admin.connect();
  await admin.query(`DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'wire_priv') THEN CREATE ROLE wire_priv NOLOGIN; END IF; END $$`);
});
afterAll(async () => {
  await admin.end();
  await app.close();
});

async function backends(application: string): Promise<number> {
  return (await admin.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [application])).rows[0].n;
}

/** Connects with `params`; returns the FATAL error's fields, or null when the connection became ready. */
async function startup(port: number, params: Record<string, string>): Promise<Record<string, string> | null> {
  const c = await RawClient.connect(port);
  c.send(startupMessage({ user: 'postgres', database: 'postgres', ...params }));
  for (;;) {
    const m = await c.read();
    if (m.code === 'E') {
      await c.closedByPeer();
      return errorFields(m.body);
    }
    if (m.code === 'Z') {
      c.end();
      return null;
    }
  }
}

describe('refused before the server sees them', () => {
  const cases: [string, Record<string, string>, string][] = [
    ['options -c role=…', { options: '-c role=wire_priv' }, 'role=wire_priv'],
    ['options -crole=… (attached)', { options: '-crole=wire_priv' }, 'role=wire_priv'],
    ['options --role=… (long form)', { options: '--role=wire_priv' }, 'role=wire_priv'],
    ['options -c ROLE=… (names are case-insensitive)', { options: '-c ROLE=wire_priv' }, 'role=wire_priv'],
    ['options with an escaped space in the value', { options: '-c application_name=x -c role=wire\\ priv' }, 'role=wire priv'],
    ['options -c session_replication_role=replica', { options: '-c session_replication_role=replica' }, 'session_replication_role=replica'],
    ['options --session-replication-role=replica (dashes read as underscores)', { options: '--session-replication-role=replica' }, 'session_replication_role=replica'],
    ['options -c session_authorization=…', { options: '-c session_authorization=wire_priv' }, 'session_authorization=wire_priv'],
    ['options -O (allow_system_table_mods)', { options: '-O' }, 'allow_system_table_mods=on'],
    ['options -d 5 (log levels)', { options: '-d 5' }, 'log_min_messages=debug5'],
    ['plain parameter role', { role: 'wire_priv' }, 'role=wire_priv'],
    ['plain parameter session_replication_role', { session_replication_role: 'replica' }, 'session_replication_role=replica'],
    ['plain parameter Session_Authorization', { Session_Authorization: 'wire_priv' }, 'session_authorization=wire_priv'],
  ];
  for (const [what, params, setting] of cases) {
    it(`${what}: FATAL 42501 naming ${setting}, and no upstream session was opened`, async () => {
      const application = `wire-startup-${Math.random().toString(36).slice(2, 8)}`;
      const f = await startup(app.port, { ...params, application_name: application });
      expect(f).not.toBeNull();
      expect(f!.S).toBe('FATAL');
      expect(f!.C).toBe('42501');
      expect(f!.M).toContain(setting);
      expect(await backends(application)).toBe(0);
    });
  }

  it('an options switch pgwarden cannot read the way the server does is refused (08P01), not passed on', async () => {
    for (const options of ['-D /tmp', 'stray-argument', '-c', '-c role', '-- -c role=wire_priv']) {
      const f = await startup(app.port, { options });
      expect(f?.C).toBe('08P01');
    }
  });

  it('psql (PGOPTIONS), node-postgres (options) and postgres.js (connection parameters) get the FATAL error', async () => {
    const out = await run('psql', ['-X', '-At', '-c', 'SELECT current_user', urlFor(app.port)], { env: { PGOPTIONS: '-c role=wire_priv' } });
    expect(out.code).not.toBe(0);
    expect(out.stderr).toContain('role=wire_priv');
    const client = new pg.Client({ connectionString: urlFor(app.port), options: '-c session_replication_role=replica' });
    const err = (await client.connect().catch((e: unknown) => e)) as pg.DatabaseError;
    expect(err.code).toBe('42501');
    const sql = postgres(urlFor(app.port), { max: 1, connection: { role: 'wire_priv' } as Record<string, string> });
    const pjs = (await sql`SELECT current_user`.catch((e: unknown) => e)) as { code: string };
    expect(pjs.code).toBe('42501');
    await sql.end();
  });

  it('harmless settings pass: the session runs as the login user with the settings asked for', async () => {
    const client = new pg.Client({ connectionString: urlFor(app.port, { application: 'wire-startup-ok' }), options: '-c search_path=pg_catalog,public -c work_mem=8MB' });
    await client.connect();
    const { rows } = await client.query("SELECT current_user AS u, current_setting('session_replication_role') AS r, current_setting('work_mem') AS w");
    expect(rows[0]).toEqual({ u: 'postgres', r: 'origin', w: '8MB' });
    await client.end();
  });
});

describe('every setting reaches the gate as the equivalent SET', () => {
  let proxy: TestProxy;
  const seen: StatementContext[] = [];
  const recording: Gate = { decide: (ctx) => (seen.push(ctx), ALLOW) };
  beforeAll(async () => {
    proxy = await startProxy({ gate: recording });
  });
  afterAll(async () => {
    await proxy.close();
  });

  it('options and plain parameters, in the order the server applies them', async () => {
    seen.length = 0;
    expect(await startup(proxy.port, { options: "-c search_path=a\\,b -e --work-mem=4MB", application_name: "it's", client_encoding: 'UTF8' })).toBeNull();
    expect(seen.filter((s) => s.source === 'startup').map((s) => s.text)).toEqual([
      `SET "search_path" TO 'a,b'`,
      `SET "datestyle" TO 'euro'`,
      `SET "work_mem" TO '4MB'`,
      `SET "application_name" TO 'it''s'`,
      `SET "client_encoding" TO 'UTF8'`,
    ]);
  });
});

describe('options are split exactly as PostgreSQL splits them (differential, real server)', () => {
  // Custom settings (pgw.*) keep any text verbatim, so the server's value shows how it split and unescaped.
  const valueChar = fc.constantFrom('a', 'b', ' ', '\\', '=', '-', "'", '"', 'x');
  const value = fc.array(valueChar, { maxLength: 8 }).map((cs) => cs.join(''));
  const escape = (v: string) => v.replace(/\\/g, '\\\\').replace(/ /g, '\\ ');

  it('every setting pgwarden reads from options has the value the server applied', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.constantFrom('pgw.a', 'pgw.b'), value, fc.constantFrom('-c ', '-c', '--')), { minLength: 1, maxLength: 3 }), async (parts) => {
        const options = parts.map(([name, v, form]) => `${form}${name}=${escape(v)}`).join('  ');
        const mine = optionSettings(options);
        expect(mine.ok).toBe(true);
        if (!mine.ok) return;
        const c = await directClient({ options });
        c.send(query("SELECT current_setting('pgw.a', true) AS a, current_setting('pgw.b', true) AS b"));
        const row = (await readReadies(c, 1)).find((m) => m.code === 'D')!.body;
        c.end();
        const server: Record<string, string | null> = {};
        let at = 2;
        for (const key of ['pgw.a', 'pgw.b']) {
          const len = row.readInt32BE(at);
          server[key] = len < 0 ? null : row.toString('utf8', at + 4, at + 4 + len);
          at += 4 + Math.max(len, 0);
        }
        const last = new Map(mine.settings.map((s) => [s.name, s.value]));
        for (const key of ['pgw.a', 'pgw.b']) expect(last.get(key) ?? null).toBe(server[key]);
      }),
      { numRuns: 60 },
    );
  });
});
