// Finding 10: exports that dodged the shape checks. With the default rules plus the two rules a data owner writes (no
// ssn column leaves; no unbounded read of the table), none of these returns the rows: an aggregate that gathers the
// whole table into one value (an export), a whole-row reference (names every column), a non-constant LIMIT (no bound).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { ROW_ARGUMENT_FUNCTIONS } from '../../src/sql/categories.js';
import { REFUSED, agent, defaultRules, direct, startSqlApp, type SqlTestApp } from './sql-harness.js';

const OWNER_RULES = `  - id: pii
    match: { columns: [pgw_sec_people.ssn] }
    action: deny
    message: ssn may not leave the database
  - id: people-bounded
    match: { tables: [pgw_sec_people], bounded: false }
    action: deny
    message: read pgw_sec_people with a constant LIMIT
`;

let app: SqlTestApp;
let admin: pg.Client;

beforeAll(async () => {
  app = await startSqlApp({ rules: defaultRules({ prepend: OWNER_RULES }) });
  admin = await direct();
  await admin.query(`DROP TABLE IF EXISTS pgw_sec_people;
    CREATE TABLE pgw_sec_people (id int, email text, ssn text);
    INSERT INTO pgw_sec_people SELECT i, 'p' || i || '@example.com', '078-05-' || lpad(i::text, 4, '0') FROM generate_series(1, 60) i`);
});

afterAll(async () => {
  await admin.query('DROP TABLE IF EXISTS pgw_sec_people');
  await admin.end();
  await app.close();
});

/** Runs `sql` through the proxy; returns the SQLSTATE and whether any row came back. */
async function attempt(sql: string, values?: unknown[]): Promise<{ code: string | null; rows: number }> {
  const c = await agent(app);
  try {
    const r = await c.query(sql, values);
    return { code: null, rows: r.rows.length };
  } catch (err) {
    return { code: (err as { code: string }).code, rows: 0 };
  } finally {
    await c.end();
  }
}

describe('exports that dodged the shape checks, through the proxy', () => {
  it('a bounded read of allowed columns passes (control)', async () => {
    expect(await attempt('SELECT id, email FROM pgw_sec_people ORDER BY id LIMIT 5')).toEqual({ code: null, rows: 5 });
  });

  it.each([
    "SELECT string_agg(email, ',') FROM pgw_sec_people WHERE id < 100 LIMIT 1",
    'SELECT array_agg(email) FROM (SELECT email FROM pgw_sec_people) s LIMIT 1',
    'SELECT json_agg(email) FROM pgw_sec_people LIMIT 1',
    'SELECT ARRAY(SELECT email FROM pgw_sec_people) LIMIT 1',
  ])('a collecting aggregate over the table is held as an export and returns nothing: %s', async (sql) => {
    const r = await attempt(sql);
    expect(REFUSED).toContain(r.code);
    expect(r.rows).toBe(0);
  });

  it("string_agg(email || ' ' || ssn) is refused by the column rule", async () => {
    expect(await attempt("SELECT string_agg(email || ' ' || ssn, ',') FROM pgw_sec_people LIMIT 1")).toEqual({ code: '42501', rows: 0 });
  });

  it.each([
    'SELECT c FROM pgw_sec_people c LIMIT 5',
    'SELECT pgw_sec_people FROM pgw_sec_people LIMIT 5',
    'SELECT row_to_json(c) FROM pgw_sec_people c LIMIT 5',
    'SELECT to_jsonb(c.*) FROM pgw_sec_people c LIMIT 5',
    'SELECT (c).* FROM pgw_sec_people c LIMIT 5',
    'SELECT c::text FROM pgw_sec_people AS c LIMIT 5',
    'SELECT c.row_to_json FROM pgw_sec_people c LIMIT 5',
    'SELECT c.json_build_array FROM pgw_sec_people c LIMIT 5',
  ])('a whole-row reference names every column, so the ssn rule refuses it: %s', async (sql) => {
    expect(await attempt(sql)).toEqual({ code: '42501', rows: 0 });
  });

  it('every function a whole row can be passed to by field notation is known (so c.f counts as reading c.*)', async () => {
    const names = (
      await admin.query(`SELECT DISTINCT p.proname FROM pg_proc p WHERE p.pronargs >= 1
        AND p.proargtypes[0] IN ('record'::regtype, 'anyelement'::regtype, 'anycompatible'::regtype, '"any"'::regtype, 'anynonarray'::regtype, 'anycompatiblenonarray'::regtype)
        AND (p.pronargs - p.pronargdefaults <= 1 OR p.provariadic <> 0) AND p.prokind IN ('f', 'a', 'w')`)
    ).rows.map((r) => r.proname as string);
    expect(names.length).toBeGreaterThan(20);
    expect(names.filter((n) => !ROW_ARGUMENT_FUNCTIONS.has(n))).toEqual([]);
  });

  it('only a constant LIMIT bounds: LIMIT 49999+1, LIMIT $1 = 50000, LIMIT (SELECT …) and WITH TIES are unbounded', async () => {
    expect(await attempt('SELECT id FROM pgw_sec_people LIMIT 49999+1')).toEqual({ code: '42501', rows: 0 });
    expect(await attempt('SELECT id FROM pgw_sec_people LIMIT $1', [50000])).toEqual({ code: '42501', rows: 0 });
    expect(await attempt('SELECT id FROM pgw_sec_people LIMIT (SELECT 50000)')).toEqual({ code: '42501', rows: 0 });
    expect(await attempt('SELECT id FROM pgw_sec_people ORDER BY 1 FETCH FIRST 1 ROWS WITH TIES')).toEqual({ code: '42501', rows: 0 });
    expect(await attempt('SELECT id FROM pgw_sec_people LIMIT 10')).toEqual({ code: null, rows: 10 });
  });
});
