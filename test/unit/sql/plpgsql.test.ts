// The PL/pgSQL walk: every expression, statement and assignment (targets included) is analyzed; unknown node types,
// fields and parse modes make the code opaque (privileged); a body's facts reach the CREATE FUNCTION / DO statement.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { createAnalyzer, loadSqlParser } from '../../../src/sql/analyze.js';
import { parsePlpgsql, parseSql } from '../../../src/sql/parse.js';
import { assignmentTexts, plpgsqlTexts, plpgsqlTreeTexts } from '../../../src/sql/plpgsql.js';
import { PLPGSQL_NODES } from '../../../src/sql/plpgsql-schema.js';
import { regressCorpusPath } from './corpus-path.js';

beforeAll(async () => {
  await loadSqlParser();
});

const analyze = (sql: string) => createAnalyzer({ maxRows: 1000, cacheEntries: 0 }).analyze(sql);

describe('assignment targets', () => {
  it('splits an assignment where PostgreSQL does: after the target and its subscripts, at := or =', () => {
    expect(assignmentTexts("a[length(set_config('x', 'y', false))] := 1")).toEqual(["SELECT a[length(set_config('x', 'y', false))] ", 'SELECT  1']);
    expect(assignmentTexts('a[1:x] := 2')).toEqual(['SELECT a[1:x] ', 'SELECT  2']);
    expect(assignmentTexts('rec.f[g(k := 1)] = 3')).toEqual(['SELECT rec.f[g(k := 1)] ', 'SELECT  3']);
    expect(assignmentTexts('$1.x[2] := count(*) FROM t')).toEqual(['SELECT $1.x[2] ', 'SELECT  count(*) FROM t']);
    expect(assignmentTexts('é[1] := 2')).toEqual(['SELECT é[1] ', 'SELECT  2']);
    expect(assignmentTexts('a /* c */ [f(1)] -- c\n := 2')).toEqual(['SELECT a /* c */ [f(1)] -- c\n ', 'SELECT  2']);
  });

  it('refuses a text that is not target := expression (the caller fails closed)', () => {
    for (const t of ['select 1', 'a[1 := 2', "'x' := 1", 'a b := 1', '', 'a[1]']) expect(assignmentTexts(t), t).toBeNull();
  });

  const loot = "set_config('zz.loot', pg_read_file('/etc/passwd'), false)";
  it.each([
    [`DO $$ DECLARE a int[] := '{}'; BEGIN a[length(${loot})] := 1; END $$`, ['privileged']],
    [`DO $$ DECLARE a int[] := '{}'; BEGIN a[1:length(${loot})] := '{1}'; END $$`, ['privileged']],
    [`DO $$ DECLARE a int[] := '{}'; BEGIN a[length(${loot}):2] := '{1}'; END $$`, ['privileged']],
    ["DO $$ DECLARE r record; BEGIN SELECT ARRAY[1] AS f INTO r; r.f[lo_export(1, '/tmp/pgw')] := 1; END $$", ['privileged']],
    ["DO $$ DECLARE a int[]; BEGIN a[length(set_config('role', 'victim', false))] := 1; END $$", ['grant']],
    ["DO $$ DECLARE a int[]; BEGIN a[length(set_config('session_replication_role', 'replica', false))] := 1; END $$", ['privileged']],
    ["DO $$ DECLARE a int[]; BEGIN a[(SELECT count(*) FROM pg_authid)] = 1; END $$", ['privileged']],
    ["DO $$ DECLARE a int[]; BEGIN a[1] := pg_read_file('/etc/passwd') FROM pg_class LIMIT 1; END $$", ['privileged']],
    ["DO $$ DECLARE a int := 0; BEGIN a := a + 1; END $$", ['read']],
  ])('%s → %j', (sql, categories) => {
    expect(analyze(sql).categories).toEqual(categories);
  });
});

describe('a function body reaches the statement that creates it', () => {
  it('CREATE FUNCTION carries the categories, functions and tables of its body, not only ddl', () => {
    const f = analyze(
      "CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$ DECLARE a int[]; BEGIN a[length(set_config('role', 'x', false))] := 1; PERFORM lo_export(1, '/tmp/x'); INSERT INTO audit_log SELECT * FROM customers; END $$",
    );
    expect(f.categories).toEqual(['write', 'ddl', 'grant', 'privileged']);
    expect(f.statements[0]!.functions).toEqual(expect.arrayContaining(['set_config', 'lo_export']));
    expect(f.statements[0]!.tables).toEqual(expect.arrayContaining(['audit_log', 'customers']));
  });

  it('nested code is followed: EXECUTE of a DO inside a function is privileged (dynamic), a static DO inside a DO is read through', () => {
    expect(analyze("CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$ BEGIN EXECUTE 'DO $x$ BEGIN NULL; END $x$'; END $$").categories).toContain('privileged');
    expect(analyze("DO $a$ BEGIN DO $b$ BEGIN PERFORM pg_read_file('/etc/passwd'); END $b$; END $a$").categories).toEqual(['privileged']);
    expect(analyze("DO $a$ BEGIN CREATE FUNCTION g() RETURNS int LANGUAGE sql AS 'SELECT 1'; END $a$").categories).toEqual(['ddl']);
  });

  it('procedures: CALL, COMMIT and ROLLBACK in the body are walked', () => {
    expect(analyze("CREATE PROCEDURE p() LANGUAGE plpgsql AS $$ BEGIN CALL q(pg_read_file('/etc/passwd')); COMMIT; END $$").categories).toEqual(['write', 'ddl', 'privileged']);
  });
});

describe('the allow-list fails closed', () => {
  it('every PL/pgSQL body of PostgreSQL 15 regression suite is read without an unknown node, field or parse mode', () => {
    const rows = gunzipSync(readFileSync(regressCorpusPath())).toString('utf8').split('\n').filter(Boolean);
    let bodies = 0;
    for (const row of rows) {
      const { sql } = JSON.parse(row) as { sql: string };
      if (!/plpgsql|^\s*do\b/im.test(sql)) continue;
      const p = parsePlpgsql(sql);
      if (!p.ok || p.funcs.length === 0 || !JSON.stringify(p.funcs).includes('"action"')) continue;
      bodies++;
      const found = plpgsqlTexts(sql);
      expect('opaque' in found ? found.opaque : null, sql).toBeNull();
      if (!('opaque' in found)) for (const t of found.texts) expect(parseSql(t).ok, t).toBe(true);
    }
    expect(bodies).toBeGreaterThan(400);
  }, 60_000);

  it('knows every statement type libpg-query can emit (PostgreSQL 15–18 PL/pgSQL)', () => {
    const statements = Object.keys(PLPGSQL_NODES).filter((k) => k.startsWith('PLpgSQL_stmt_'));
    expect(statements.sort()).toEqual(
      [
        'assert', 'assign', 'block', 'call', 'case', 'close', 'commit', 'dynexecute', 'dynfors', 'execsql', 'exit', 'fetch',
        'foreach_a', 'fori', 'forc', 'fors', 'getdiag', 'if', 'loop', 'open', 'perform', 'raise', 'return', 'return_next',
        'return_query', 'rollback', 'while',
      ].map((s) => `PLpgSQL_stmt_${s}`).sort(),
    );
  });

  const fn = (...body: unknown[]) => [{ PLpgSQL_function: { datums: [], action: { PLpgSQL_stmt_block: { body } } } }];
  const expr = (query: string, parseMode: number, extra: object = {}) => ({ PLpgSQL_expr: { query, parseMode, ...extra } });
  it('a tree with an unknown node type, field, value type or parse mode is opaque; a known one is read', () => {
    expect(plpgsqlTreeTexts(fn({ PLpgSQL_stmt_perform: { lineno: 1, expr: expr('1', 2) } }))).toEqual({ texts: ['SELECT 1'], mask: 0 });
    expect(plpgsqlTreeTexts(fn({ PLpgSQL_stmt_teleport: { lineno: 1 } }))).toEqual({ opaque: 'unknown PL/pgSQL node PLpgSQL_stmt_teleport' });
    expect(plpgsqlTreeTexts(fn({ PLpgSQL_stmt_perform: { lineno: 1, expr: expr('1', 2), target_expr: expr('2', 2) } }))).toEqual({ opaque: 'unknown field PLpgSQL_stmt_perform.target_expr' });
    expect(plpgsqlTreeTexts(fn({ PLpgSQL_stmt_perform: { lineno: 1, expr: expr('1', 2, { subscripts: [] }) } }))).toEqual({ opaque: 'unknown field PLpgSQL_expr.subscripts' });
    expect(plpgsqlTreeTexts(fn({ PLpgSQL_stmt_perform: { lineno: 1, expr: expr('int', 1) } }))).toHaveProperty('opaque');
    expect(plpgsqlTreeTexts(fn({ PLpgSQL_stmt_perform: { lineno: '1', expr: expr('1', 2) } }))).toHaveProperty('opaque');
    expect(plpgsqlTreeTexts(fn({ PLpgSQL_stmt_raise: { lineno: 1, message: { PLpgSQL_expr: { query: 'x' } } } }))).toHaveProperty('opaque');
    expect(plpgsqlTreeTexts(fn({ PLpgSQL_stmt_dynexecute: { lineno: 1, query: expr("'SELECT 1'", 2) } }))).toEqual({ texts: ["SELECT 'SELECT 1'"], mask: 32 });
  });

  it('a body that does not parse as PL/pgSQL, or another language, is privileged', () => {
    expect(analyze('DO $$ BEGIN this is not plpgsql; END $$').categories).toEqual(['privileged']);
    expect(analyze("DO LANGUAGE plperlu $$ system('id') $$").categories).toEqual(['privileged']);
    expect(analyze("CREATE FUNCTION f() RETURNS int LANGUAGE c AS 'lib', 'sym'").categories).toEqual(['ddl', 'privileged']);
  });
});
