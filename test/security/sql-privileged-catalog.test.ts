// Finding 9: pg_hba_file_rules(), pg_show_all_file_settings() and pg_ident_file_mappings() were `read`. The class: every
// function and relation the server itself keeps from ordinary roles is `privileged`. The lists in
// src/sql/privileged-functions.ts are checked against the real server (core plus every contrib extension it offers) so
// they cannot drift, and the three reproductions are refused through the proxy with the default rules.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createAnalyzer, loadSqlParser } from '../../src/sql/analyze.js';
import { isPrivilegedFunction, isPrivilegedSetting } from '../../src/sql/categories.js';
import {
  INTERNALLY_RESTRICTED_FUNCTIONS, OTHER_VERSION_FUNCTIONS, PRIVILEGED_ROLES, PROTECTED_CATALOGS, PROTECTED_INFORMATION_SCHEMA,
  READ_PROTECTED_SETTINGS,
} from '../../src/sql/privileged-functions.js';
import { pgUrl } from '../helpers/env.js';
import { agent, direct, startSqlApp, type SqlTestApp } from './sql-harness.js';

const DB = 'pgw_sql_catalog_audit';
let audit: pg.Client;
let app: SqlTestApp;

function urlOf(database: string, user = 'postgres'): string {
  const u = new URL(pgUrl());
  u.pathname = `/${database}`;
  u.username = user;
  return u.toString();
}

beforeAll(async () => {
  await loadSqlParser();
  const admin = await direct();
  await admin.query(`DROP DATABASE IF EXISTS ${DB}`);
  await admin.query(`CREATE DATABASE ${DB}`);
  await admin.query("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pgw_plain') THEN CREATE ROLE pgw_plain LOGIN; END IF; END $$");
  await admin.end();
  audit = new pg.Client(urlOf(DB));
  await audit.connect();
  // Every extension the server offers, so their restricted functions are audited too.
  const available = (await audit.query("SELECT name FROM pg_available_extensions WHERE name <> 'plpgsql' ORDER BY name")).rows.map((r) => r.name as string);
  for (const name of available) await audit.query(`CREATE EXTENSION IF NOT EXISTS "${name}" CASCADE`);
  app = await startSqlApp();
}, 120_000);

afterAll(async () => {
  await audit.end();
  const admin = await direct();
  await admin.query(`DROP DATABASE IF EXISTS ${DB}`);
  await admin.end();
  await app.close();
});

describe('privileged lists agree with the server', () => {
  it('every function whose EXECUTE the server revokes from PUBLIC is privileged', async () => {
    const rows = (await audit.query("SELECT DISTINCT proname FROM pg_proc WHERE NOT has_function_privilege('public', oid, 'EXECUTE') ORDER BY 1")).rows;
    expect(rows.length).toBeGreaterThan(50);
    expect(rows.map((r) => r.proname as string).filter((n) => !isPrivilegedFunction(n))).toEqual([]);
  });

  it('no operator, cast, type I/O, aggregate or selectivity function of the server (or its extensions) is a restricted one: implicit calls cannot reach them', async () => {
    const restricted = "NOT has_function_privilege('public', p.oid, 'EXECUTE')";
    const counts = await Promise.all([
      `SELECT count(*)::int AS n FROM pg_operator o JOIN pg_proc p ON p.oid IN (o.oprcode, o.oprrest, o.oprjoin) WHERE ${restricted}`,
      `SELECT count(*)::int AS n FROM pg_cast c JOIN pg_proc p ON p.oid = c.castfunc WHERE ${restricted}`,
      `SELECT count(*)::int AS n FROM pg_type t JOIN pg_proc p ON p.oid IN (t.typinput, t.typoutput, t.typreceive, t.typsend, t.typmodin, t.typmodout, t.typanalyze, t.typsubscript) WHERE ${restricted}`,
      `SELECT count(*)::int AS n FROM pg_aggregate a JOIN pg_proc p ON p.oid IN (a.aggtransfn, a.aggfinalfn, a.aggcombinefn, a.aggserialfn, a.aggdeserialfn) WHERE ${restricted}`,
    ].map(async (q) => (await audit.query(q)).rows[0].n as number));
    expect(counts).toEqual([0, 0, 0, 0]);
  });

  it('every curated function (checked inside its C code, or building SQL from text) exists on the server', async () => {
    const names = (await audit.query('SELECT DISTINCT proname FROM pg_proc')).rows.map((r) => r.proname as string);
    const missing = INTERNALLY_RESTRICTED_FUNCTIONS.filter((n) => !names.includes(n));
    expect(missing).toEqual([]);
    // Names kept for other server versions are not PostgreSQL 15 functions (else they belong in the lists above).
    expect(OTHER_VERSION_FUNCTIONS.filter((n) => names.includes(n))).toEqual([]);
  });

  /** Relations of `schema` PUBLIC may not read, whole or any column. */
  async function restricted(schema: string): Promise<string[]> {
    return (
      await audit.query(
        `SELECT c.relname FROM pg_class c WHERE c.relnamespace = $1::regnamespace AND c.relkind IN ('r','v','m','p','f')
          AND (NOT has_table_privilege('public', c.oid, 'SELECT') OR EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0
          AND NOT a.attisdropped AND NOT has_column_privilege('public', c.oid, a.attnum, 'SELECT'))) ORDER BY 1`,
        [schema],
      )
    ).rows.map((r) => r.relname as string);
  }

  it('every pg_catalog and information_schema relation PUBLIC may not read (whole or any column) is protected, and reading it is privileged', async () => {
    const catalog = await restricted('pg_catalog');
    expect(catalog.length).toBeGreaterThan(10);
    expect(catalog.filter((r) => !PROTECTED_CATALOGS.has(r))).toEqual([]);
    const info = await restricted('information_schema');
    expect(info.filter((r) => !PROTECTED_INFORMATION_SCHEMA.has(r))).toEqual([]);
    const analyzer = createAnalyzer({ maxRows: 1000, cacheEntries: 0 });
    for (const rel of [...PROTECTED_CATALOGS]) {
      expect(analyzer.analyze(`SELECT * FROM ${rel}`).categories, rel).toEqual(['privileged']);
      expect(analyzer.analyze(`TABLE pg_catalog.${rel}`).categories, rel).toEqual(['privileged']);
    }
    for (const rel of [...PROTECTED_INFORMATION_SCHEMA]) expect(analyzer.analyze(`SELECT * FROM information_schema.${rel}`).categories, rel).toEqual(['privileged']);
  });

  it('every predefined role that can be granted is a privileged role (GRANT of it is privileged)', async () => {
    const roles = (await audit.query("SELECT rolname FROM pg_roles WHERE oid < 16384 AND rolname LIKE 'pg\\_%' AND rolname <> 'pg_database_owner' ORDER BY 1")).rows.map((r) => r.rolname as string);
    expect(roles.length).toBeGreaterThan(8);
    expect(roles.filter((r) => !PRIVILEGED_ROLES.has(r))).toEqual([]);
    const analyzer = createAnalyzer({ maxRows: 1000, cacheEntries: 0 });
    for (const role of roles) expect(analyzer.analyze(`GRANT ${role} TO CURRENT_USER`).categories, role).toEqual(['grant', 'privileged']);
  });

  it('every setting a plain role cannot see is read-protected (SHOW and current_setting of it are privileged)', async () => {
    // Two fresh sessions (extension libraries loaded by CREATE EXTENSION above add their own settings to that session).
    const names = async (user: string): Promise<string[]> => {
      const c = new pg.Client(urlOf(DB, user));
      await c.connect();
      const out = (await c.query('SELECT name FROM pg_settings')).rows.map((r) => r.name as string);
      await c.end();
      return out;
    };
    const all = await names('postgres');
    const visible = new Set(await names('pgw_plain'));
    const hidden = all.filter((n) => !visible.has(n)).sort();
    expect(hidden.length).toBeGreaterThan(5);
    expect(hidden).toEqual([...READ_PROTECTED_SETTINGS].filter((n) => all.includes(n)).sort());
  });
});

describe('settings', () => {
  it('every setting only a superuser may change is privileged to SET (and set_config)', async () => {
    const names = (await audit.query("SELECT name FROM pg_settings WHERE context IN ('superuser', 'superuser-backend')")).rows.map((r) => r.name as string);
    expect(names.length).toBeGreaterThan(30);
    expect(names.filter((n) => !isPrivilegedSetting(n))).toEqual([]);
    const analyzer = createAnalyzer({ maxRows: 1000, cacheEntries: 0 });
    for (const n of names) expect(analyzer.analyze(`SET ${n} = DEFAULT`).categories, n).toEqual(['privileged']);
  });

  it('SET track_activities = off through the proxy is refused and the setting stays on', async () => {
    const c = await agent(app);
    const code = await c.query('SET track_activities = off').then(() => null, (e: { code: string }) => e.code);
    expect(code).toBe('42501');
    expect((await c.query('SHOW track_activities')).rows[0].track_activities).toBe('on');
    await c.end();
  });
});

describe('the reproductions through the proxy', () => {
  it.each(['SELECT * FROM pg_hba_file_rules()', 'SELECT * FROM pg_show_all_file_settings()', 'SELECT * FROM pg_ident_file_mappings()', 'SELECT * FROM pg_hba_file_rules', "SELECT current_setting('hba_file')"])(
    '%s is refused and returns no rows',
    async (sql) => {
      const c = await agent(app);
      let rows: unknown[] | null = null;
      const code = await c.query(sql).then((r) => ((rows = r.rows), null), (e: { code: string }) => e.code);
      expect(code).toBe('42501');
      expect(rows).toBeNull();
      await c.end();
    },
  );

  it('the functions do return the files when called directly (control)', async () => {
    const c = await direct();
    expect((await c.query('SELECT count(*)::int AS n FROM pg_hba_file_rules()')).rows[0].n).toBeGreaterThan(0);
    await c.end();
  });
});
