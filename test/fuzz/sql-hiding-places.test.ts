// Property: a privileged call keeps its statement `privileged` wherever it hides — composed at random from SQL and PL/pgSQL
// contexts (assignment targets and values, conditions, loops, cursors, RAISE/ASSERT, nested DO and function bodies,
// sub-selects, CTEs, field-selection syntax, defaults and checks) and spelled in any of the ways a call can be written.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { createAnalyzer, loadSqlParser, type Analyzer } from '../../src/sql/analyze.js';

/** Expressions whose evaluation reads a server file, writes one, or signals a backend. */
const CALLS = [
  "pg_read_file('/etc/passwd')",
  'pg_catalog."pg_read_file"(\'/etc/passwd\')',
  "('/etc/passwd'::text).pg_read_file",
  "(SELECT pg_ls_dir('.') LIMIT 1)",
  "lo_export(1, '/tmp/x')::text",
  "(pg_stat_file('/etc/passwd')).size::text",
  'pg_terminate_backend(1)::text',
  "(SELECT string_agg(x, ',') FROM pg_read_file('/etc/passwd') x)",
];

/** SQL expression contexts: `%` is replaced by the call. */
const SQL_EXPRESSIONS = [
  '%', 'length(%)', 'coalesce(NULL, %)', 'CASE WHEN true THEN % END', '(SELECT % FROM (VALUES (1)) v)', 'ARRAY[%]',
  '% IS NOT NULL', 'EXISTS (SELECT %)', "format('%s', %)", '(%)::int', 'row(%)',
];

/** Whole SQL statements around an expression. */
const SQL_STATEMENTS = [
  'SELECT %e', 'SELECT 1 WHERE %e IS NOT NULL', 'WITH x AS (SELECT %e) SELECT 1', 'SELECT * FROM (SELECT %e) s',
  'VALUES (%e)', 'SELECT 1 ORDER BY %e', 'INSERT INTO t VALUES (%e)', 'UPDATE t SET a = %e', 'DELETE FROM t WHERE a = %e',
  'CREATE TABLE t2 (a text DEFAULT %e)', 'CREATE TABLE t3 AS SELECT %e', 'EXPLAIN ANALYZE SELECT %e', 'EXPLAIN SELECT %e',
  'PREPARE p AS SELECT %e', 'DECLARE c CURSOR WITH HOLD FOR SELECT %e', 'COPY (SELECT %e) TO STDOUT', 'CALL proc(%e)',
  'SELECT count(*) FILTER (WHERE %e IS NOT NULL) FROM t', 'CREATE VIEW v AS SELECT %e',
];

/** PL/pgSQL statements around an expression. */
const PL_STATEMENTS = [
  'x := %e;', 'a[length(%e)] := 1;', 'a[1:length(%e)] := a;', 'r.f[length(%e)] := 1;', 'PERFORM %e;',
  'IF %e IS NOT NULL THEN NULL; END IF;', 'WHILE %e IS NULL LOOP EXIT; END LOOP;', 'RAISE NOTICE \'%\', %e;',
  'ASSERT %e IS NOT NULL;', 'FOR i IN 1..length(%e) LOOP NULL; END LOOP;', 'RETURN;', 'CASE %e WHEN \'a\' THEN NULL; ELSE NULL; END CASE;',
  'x := (SELECT %e);', 'SELECT %e INTO x;', 'EXIT WHEN %e IS NULL;',
].filter((s) => s !== 'RETURN;');

function plBody(stmt: string, expr: string): string {
  return `DECLARE x text; a text[]; r record; BEGIN SELECT ARRAY['1'] AS f INTO r; LOOP ${stmt.replace('%e', expr)} EXIT; END LOOP; END`;
}

const wrappers = [
  (body: string) => `DO $pgw$ ${body} $pgw$`,
  (body: string) => `CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $pgw$ ${body} $pgw$`,
  (body: string) => `DO $outer$ BEGIN DO $pgw$ ${body} $pgw$; END $outer$`,
  (body: string) => `CREATE PROCEDURE p() LANGUAGE plpgsql AS $pgw$ ${body} $pgw$`,
];

let analyzer: Analyzer;
beforeAll(async () => {
  await loadSqlParser();
  analyzer = createAnalyzer({ maxRows: 1000, cacheEntries: 100 });
});

describe('a privileged call stays privileged wherever it hides', () => {
  it('in SQL contexts', () => {
    let checked = 0;
    fc.assert(
      fc.property(fc.constantFrom(...CALLS), fc.constantFrom(...SQL_EXPRESSIONS), fc.constantFrom(...SQL_EXPRESSIONS), fc.constantFrom(...SQL_STATEMENTS), (call, outer, inner, stmt) => {
        const expr = outer.replace('%', inner.replace('%', call));
        const sql = stmt.replace('%e', expr);
        const facts = analyzer.analyze(sql);
        if (facts.parseError !== null) return; // the server would reject it too (and pgwarden holds it as unknown)
        checked++;
        expect(facts.categories, sql).toContain('privileged');
      }),
      { numRuns: 600 },
    );
    expect(checked).toBeGreaterThan(350);
  }, 120_000);

  it('in PL/pgSQL contexts, nested in DO blocks, functions and procedures', () => {
    fc.assert(
      fc.property(fc.constantFrom(...CALLS), fc.constantFrom(...SQL_EXPRESSIONS), fc.constantFrom(...PL_STATEMENTS), fc.constantFrom(...wrappers), (call, outer, stmt, wrap) => {
        const sql = wrap(plBody(stmt, outer.replace('%', call)));
        const facts = analyzer.analyze(sql);
        expect(facts.parseError, sql).toBeNull();
        expect(facts.categories, sql).toContain('privileged');
      }),
      { numRuns: 600 },
    );
  }, 120_000);
});
