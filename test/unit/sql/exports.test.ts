// Exports that must not pass as bounded reads: collecting aggregates, whole-row references, non-constant LIMITs.
import { beforeAll, describe, expect, it } from 'vitest';
import { createAnalyzer, loadSqlParser } from '../../../src/sql/analyze.js';
import { categoryMask, compileMatch, testMatch } from '../../../src/policy/match.js';

beforeAll(async () => {
  await loadSqlParser();
});

const analyze = (sql: string) => createAnalyzer({ maxRows: 1000, cacheEntries: 0 }).analyze(sql).statements[0]!;

describe('collecting aggregates', () => {
  it('are exports of an unbounded input, and their one row is not a bound', () => {
    const s = analyze("SELECT string_agg(email || ' ' || ssn, ',') FROM customers");
    expect(s.categories).toEqual(['export']);
    expect(s.bounded).toBe(false);
    expect(s.columns).toEqual(['email', 'ssn']);
    expect(analyze('SELECT count(*) FROM customers')).toMatchObject({ categories: ['read'], bounded: true });
  });

  it('over a bounded input (LIMIT ≤ max_rows, VALUES) are reads; over LIMIT above max_rows they are exports', () => {
    expect(analyze('SELECT array_agg(x) FROM (SELECT id AS x FROM customers LIMIT 1000) s').categories).toEqual(['read']);
    expect(analyze('SELECT array_agg(x) FROM (SELECT id AS x FROM customers LIMIT 1001) s').categories).toEqual(['export']);
    expect(analyze('SELECT ARRAY(SELECT id FROM customers LIMIT 5000)').categories).toEqual(['export']);
  });
});

describe('whole-row references', () => {
  const ssnRule = compileMatch({ columns: ['customers.ssn'] });
  const matches = (sql: string) => {
    const s = analyze(sql);
    return testMatch(ssnRule, s, categoryMask(s.categories), { user: 'a', application: 'b', address: '127.0.0.1' }, { database: 'd', inTransactionBlock: false, now: new Date() }, { consultedTime: false });
  };

  it.each([
    'SELECT c FROM customers c',
    'SELECT customers FROM customers',
    'SELECT row_to_json(c) FROM customers c',
    'SELECT to_jsonb(c.*) FROM customers c',
    'SELECT (c).* FROM customers AS c',
    'SELECT c::text FROM customers c',
    'SELECT x FROM (SELECT * FROM customers) x',
    'SELECT * FROM customers',
    'SELECT c.row_to_json FROM customers c',
    'SELECT customers.to_jsonb FROM customers',
  ])('names every column, so a rule on customers.ssn matches: %s', (sql) => {
    expect(matches(sql)).toBe(true);
  });

  it('a plain column list does not', () => {
    expect(matches('SELECT id, email FROM customers c')).toBe(false);
  });
});

describe('LIMIT', () => {
  it.each(['SELECT * FROM customers LIMIT 49999+1', 'SELECT * FROM customers LIMIT $1', 'SELECT * FROM customers LIMIT (SELECT 10)', 'SELECT * FROM customers ORDER BY 1 FETCH FIRST 10 ROWS WITH TIES'])(
    'only a constant bounds: %s is unbounded',
    (sql) => {
      expect(analyze(sql).bounded).toBe(false);
    },
  );

  it('a constant, also cast or quoted, bounds and decides export', () => {
    expect(analyze("SELECT * FROM customers LIMIT '10'::int")).toMatchObject({ bounded: true, limit: 10 });
    expect(analyze('SELECT * FROM customers LIMIT 5000').categories).toEqual(['export']);
  });
});
