// The fingerprint fingerprint grants use: libpg-query's, plus the constants that are code or names (nested SQL, bodies,
// relation names in strings, settings), so a grant for one statement does not cover another that does something else.
import { beforeAll, describe, expect, it } from 'vitest';
import { createAnalyzer, loadSqlParser } from '../../../src/sql/analyze.js';
import { fingerprintSql } from '../../../src/sql/parse.js';
import type { SqlSession } from '../../../src/sql/types.js';

beforeAll(async () => {
  await loadSqlParser();
});

const fp = (sql: string, session?: SqlSession) => {
  const f = createAnalyzer({ maxRows: 1000, cacheEntries: 0 }).analyze(sql, session);
  return f.statements.map((s) => s.fingerprint).join(',');
};

describe('grant fingerprint', () => {
  it('is libpg-query\'s own for statements without code or names in constants', () => {
    for (const sql of ['SELECT * FROM t WHERE id = 1', 'UPDATE t SET a = 2', 'SELECT count(*) FROM orders']) expect(fp(sql)).toBe(fingerprintSql(sql));
    expect(fp('SELECT * FROM t WHERE id = 1')).toBe(fp('SELECT * FROM t WHERE id = 2'));
  });

  it.each([
    ["SELECT query_to_xml('SELECT count(*) FROM orders', true, false, '')", "SELECT query_to_xml('SELECT set_config(''role'',''x'',false)', true, false, '')"],
    ["SELECT query_to_xml('SELECT count(*) FROM orders', true, false, '')", "SELECT query_to_xml('SELECT * FROM customers', true, false, '')"],
    ["SELECT * FROM crosstab('SELECT a, b, c FROM t1') AS x(a int, b int)", "SELECT * FROM crosstab('SELECT a, b, c FROM t2') AS x(a int, b int)"],
    ['DO $$ BEGIN PERFORM 1; END $$', "DO $$ BEGIN PERFORM set_config('role', 'x', false); END $$"],
    ["CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'", "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT count(*) FROM pg_authid'"],
    ["SELECT table_to_xml('orders', true, false, '')", "SELECT table_to_xml('customers', true, false, '')"],
    ['SET ROLE analyst', 'SET ROLE admin'],
    ["SELECT set_config('app.tenant', 'a', false)", "SELECT set_config('role', 'a', false)"],
    ["SELECT 'orders'::regclass", "SELECT 'pg_authid'::regclass"],
  ])('differs when code or a name differs: %s / %s', (a, b) => {
    expect(fingerprintSql(a)).toBe(fingerprintSql(b)); // libpg-query alone cannot tell them apart
    expect(fp(a)).not.toBe(fp(b));
  });

  it('stays the same when only values differ, inside nested SQL too', () => {
    expect(fp("SELECT query_to_xml('SELECT count(*) FROM orders WHERE id = 1', true, false, '')")).toBe(fp("SELECT query_to_xml('SELECT count(*) FROM orders WHERE id = 2', false, false, '')"));
  });

  it('EXECUTE carries the fingerprint of what it executes', () => {
    const s1: SqlSession = { prepared: new Map() };
    const s2: SqlSession = { prepared: new Map() };
    fp('PREPARE p AS SELECT count(*) FROM orders', s1);
    fp('PREPARE p AS SELECT * FROM customers', s2);
    expect(fp('EXECUTE p', s1)).not.toBe(fp('EXECUTE p', s2));
    expect(fp('EXECUTE p', s1)).toMatch(/^[0-9a-f]{32}$/);
  });
});
