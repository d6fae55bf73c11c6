// Finding 1: PL/pgSQL assignment targets run code (`a[f(…)] := 1` evaluates f). Through pgwarden with the default rules
// none of the reproductions gets its server-side effect: no file read into a setting, no file written by lo_export, no
// role switch, no replication-role change; a function whose body does this is not created.
import { existsSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { run } from '../helpers/cli.js';
import { REFUSED, agent, direct, sqlstateOf, startSqlApp, type SqlTestApp } from './sql-harness.js';

let app: SqlTestApp;
let admin: pg.Client;
let loOid: number;
const loot = "set_config('zz.loot', pg_read_file('/etc/hostname'), false)";

beforeAll(async () => {
  app = await startSqlApp();
  admin = await direct();
  await admin.query("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pgw_victim') THEN CREATE ROLE pgw_victim; END IF; END $$");
  loOid = (await admin.query("SELECT lo_from_bytea(0, 'pgwarden large object') AS oid")).rows[0].oid as number;
  await admin.query('DROP FUNCTION IF EXISTS pgw_target_fn()');
});

afterAll(async () => {
  await admin.query('SELECT lo_unlink($1)', [loOid]);
  await admin.query('DROP FUNCTION IF EXISTS pgw_target_fn()');
  await admin.end();
  await app.close();
});

/** A setting's value (the name is a literal: pgwarden refuses current_setting of a name it cannot see). */
async function settingOf(c: pg.Client, name: 'zz.loot'): Promise<string | null> {
  return (await c.query(`SELECT current_setting('${name}', true) AS v`)).rows[0].v as string | null;
}

describe('PL/pgSQL assignment targets through the proxy', () => {
  it('the attack is real: run directly, a subscript reads a server file into a setting (control)', async () => {
    const c = await direct();
    await c.query(`DO $$ DECLARE a int[] := '{}'; BEGIN a[length(${loot})] := 1; END $$`);
    expect(await settingOf(c, 'zz.loot')).toMatch(/\S/);
    await c.end();
  });

  it.each([
    ['a[f()] := …', `DO $$ DECLARE a int[] := '{}'; BEGIN a[length(${loot})] := 1; END $$`],
    ['a[1:f()] := …', `DO $$ DECLARE a int[] := '{}'; BEGIN a[1:length(${loot})] := '{1}'; END $$`],
    ['a[f():2] = …', `DO $$ DECLARE a int[] := '{}'; BEGIN a[length(${loot}):2] = '{1}'; END $$`],
    ['rec.f[f()] := …', `DO $$ DECLARE r record; BEGIN SELECT ARRAY[1] AS f INTO r; r.f[length(${loot})] := 1; END $$`],
  ])('%s does not read the file into a setting', async (_name, sql) => {
    const c = await agent(app);
    expect(REFUSED).toContain(await sqlstateOf(c, sql));
    expect(await settingOf(c, 'zz.loot')).toBeFalsy();
    await c.end();
  });

  it('a subscript calling lo_export writes no server file', async () => {
    const path = `/tmp/pgw-sql-lo-${randomBytes(6).toString('hex')}`;
    const c = await agent(app);
    expect(REFUSED).toContain(await sqlstateOf(c, `DO $$ DECLARE a int[]; BEGIN a[lo_export(${loOid}, '${path}')] := 1; END $$`));
    await c.end();
    expect(existsSync(path)).toBe(false);
    // Control: the same block run directly does write the file, so the check above can fail.
    await admin.query(`DO $$ DECLARE a int[]; BEGIN a[lo_export(${loOid}, '${path}')] := 1; END $$`);
    expect(existsSync(path)).toBe(true);
    rmSync(path, { force: true });
  });

  it("a subscript calling set_config('role', …) leaves current_user unchanged", async () => {
    const c = await agent(app);
    expect(REFUSED).toContain(await sqlstateOf(c, "DO $$ DECLARE a int[]; BEGIN a[length(set_config('role', 'pgw_victim', false))] := 1; END $$"));
    expect((await c.query('SELECT current_user AS u')).rows[0].u).toBe('postgres');
    await c.end();
  });

  it("a subscript calling set_config('session_replication_role', 'replica', …) leaves it at origin", async () => {
    const c = await agent(app);
    expect(await sqlstateOf(c, "DO $$ DECLARE a int[]; BEGIN a[length(set_config('session_replication_role', 'replica', false))] := 1; END $$")).toBe('42501');
    expect((await c.query('SHOW session_replication_role')).rows[0].session_replication_role).toBe('origin');
    await c.end();
  });

  it('a CREATE FUNCTION whose body does this is refused (privileged), and the function does not exist', async () => {
    const c = await agent(app);
    const err = await c
      .query(`CREATE FUNCTION pgw_target_fn() RETURNS void LANGUAGE plpgsql AS $$ DECLARE a int[]; BEGIN a[length(${loot})] := 1; END $$`)
      .then(() => null, (e: unknown) => e as { code: string; message: string });
    expect(err?.code).toBe('42501');
    expect(err?.message).toMatch(/privileged/);
    expect((await admin.query("SELECT to_regproc('pgw_target_fn') AS f")).rows[0].f).toBeNull();
    await c.end();
  });

  it('pgwarden check --json shows the body\'s categories and functions on the CREATE FUNCTION', async () => {
    const r = await run('node', ['dist/cli.js', 'check', '--json', '--rules', 'rules'], {
      input: `CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$ DECLARE a int[]; BEGIN a[length(${loot})] := 1; END $$`,
    });
    const out = JSON.parse(r.stdout) as { categories: string[]; statements: { functions: string[]; categories: string[] }[]; verdict: { action: string; rule: string } };
    expect(out.categories).toEqual(['ddl', 'privileged']);
    expect(out.statements[0]!.functions).toEqual(expect.arrayContaining(['set_config', 'pg_read_file']));
    expect(out.verdict).toMatchObject({ action: 'deny', rule: 'privileged' });
  });
});
