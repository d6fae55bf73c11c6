// Ways to make the server run something other than what the parser saw, through the whole app with real rules.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startTestApp, type TestApp } from '../../helpers/app.js';
import { pgUrl, urlFor } from '../../helpers/env.js';

const RULES = `
version: 1
defaults: { action: allow, on_unknown: deny }
rules:
  - id: no-ddl
    match: { category: [ddl, privileged, grant] }
    action: deny
    message: schema changes are not allowed
`;

let app: TestApp;
let admin: pg.Client;
beforeAll(async () => {
  app = await startTestApp({ rules: RULES });
  admin = new pg.Client(pgUrl());
  await admin.connect();
  await admin.query('DROP TABLE IF EXISTS bypass_victim; CREATE TABLE bypass_victim (id int)');
});
afterAll(async () => {
  await admin.end();
  await app.close();
});

const victimExists = async () => (await admin.query("SELECT to_regclass('bypass_victim') AS t")).rows[0].t !== null;

describe('parser/server disagreement', () => {
  it('standard_conforming_strings = off cannot smuggle a statement past the parser', async () => {
    const c = new pg.Client(urlFor(app.port));
    await c.connect();
    await c.query('SET standard_conforming_strings = off');
    // The parser (which assumes "on") sees two SELECTs; a server with "off" would see a DROP TABLE.
    const err = (await c.query("SELECT 'a\\'; SELECT '; DROP TABLE bypass_victim; --'").catch((e: unknown) => e)) as pg.DatabaseError;
    expect(err.code).toBe('42501');
    expect(err.message).toMatch(/^pgwarden:/);
    expect(await victimExists()).toBe(true);
    await c.query('SET standard_conforming_strings = on');
    expect((await c.query("SELECT 'back\\slash' AS s")).rows[0].s).toBe('back\\slash');
    await c.end();
  });

  it('the dangerous statement last in a multi-statement text decides the whole text', async () => {
    const c = new pg.Client(urlFor(app.port));
    await c.connect();
    const err = (await c.query('SELECT 1; SELECT 2; DROP TABLE bypass_victim').catch((e: unknown) => e)) as pg.DatabaseError;
    expect(err.code).toBe('42501');
    expect(err.message).toContain('schema changes are not allowed');
    expect(await victimExists()).toBe(true);
    await c.end();
  });

  it('a statement prepared by SQL PREPARE is judged when EXECUTEd', async () => {
    const c = new pg.Client(urlFor(app.port));
    await c.connect();
    const err = (await c.query("PREPARE p AS SELECT 1; EXECUTE p").then(() => null, (e: unknown) => e)) as pg.DatabaseError | null;
    expect(err).toBeNull();
    const denied = (await c.query("DO $$ BEGIN EXECUTE 'DROP TABLE bypass_victim'; END $$").catch((e: unknown) => e)) as pg.DatabaseError;
    expect(denied.code).toBe('42501');
    expect(await victimExists()).toBe(true);
    await c.end();
  });
});
