// Differential property: facts through the caching analyzer, primed with a sibling text of the same template, equal the
// facts of a fresh uncached analysis — over generated texts mixing identifiers, quoted and U& identifiers with UESCAPE,
// every literal kind, casts to object-name types, comments, dollar quotes, LIMITs and calls whose arguments are code.
// A cache key that misses something that changes meaning (the UESCAPE character did) fails here.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { createAnalyzer, loadSqlParser } from '../../../src/sql/analyze.js';
import { analyzeText } from '../../../src/sql/facts.js';
import { shapeKey } from '../../../src/sql/shape.js';
import type { TextFacts } from '../../../src/sql/types.js';

beforeAll(async () => {
  await loadSqlParser();
});

/** Everything a rule, an approval or a grant can look at. */
function summary(f: TextFacts) {
  return {
    categories: f.categories,
    unparsed: f.parseError !== null,
    statements: f.statements.map((s) => ({
      kind: s.kind, categories: s.categories, tables: s.tables, columns: s.columns, columnsWritten: s.columnsWritten,
      functions: s.functions, bounded: s.bounded, limit: s.limit, fingerprint: s.fingerprint, normalized: s.normalized,
      setsReason: s.setsReason,
    })),
  };
}

/** A slot is filled from one value list; two fillings of one template are siblings (same text outside the literals). */
type Slot = (v: Values) => string;
interface Values {
  readonly strings: readonly string[];
  readonly numbers: readonly string[];
}
let slotCounter = 0;
const str = (): Slot => {
  const i = slotCounter++;
  return (v) => `'${v.strings[i % v.strings.length]!.replace(/'/g, "''")}'`;
};
const num = (): Slot => {
  const i = slotCounter++;
  return (v) => v.numbers[i % v.numbers.length]!;
};
const lit = (text: string): Slot => () => text;
const seq = (...parts: Slot[]): Slot => (v) => parts.map((p) => p(v)).join('');

const relations: Slot[] = [
  lit('customers'), lit('pg_authid'), lit('"pg_authid"'), lit('pg_catalog.pg_authid'), lit('"Weird"" Table"'),
  seq(lit('U&"pg_!0061uthid" UESCAPE '), str()), seq(lit('U&"cust!006fmers" UESCAPE '), str()), lit('U&"pg_\\0061uthid"'),
  seq(lit('(SELECT '), str(), lit(' AS x) s')), seq(lit('(VALUES ('), num(), lit(')) v(x)')),
];
const targets: Slot[] = [
  lit('*'), lit('rolname, rolpassword'), str(), num(), seq(str(), lit('::regclass')), seq(lit('regproc '), str()),
  seq(str(), lit('::int')), seq(lit('interval '), str()), seq(lit('set_config('), str(), lit(', '), str(), lit(', false)')),
  seq(lit('query_to_xml('), str(), lit(', true, false, \'\')')), seq(lit('string_agg(email, '), str(), lit(')')),
  seq(lit('('), str(), lit('::text).pg_read_file')), seq(lit('E'), str()), seq(lit('U&'), str()), seq(lit('U&'), str(), lit(' UESCAPE '), str()),
  lit("B'101'"), lit("X'ff'"), lit('$$x$$'), lit('$q$ \'; DROP TABLE t; -- $q$'), seq(str(), lit(' COLLATE "C"')),
  seq(lit('now() AT TIME ZONE '), str()), seq(lit('table_to_xml('), str(), lit(', true, false, \'\')')), lit('c'), lit('c.*'),
];
const conditions: Slot[] = [
  lit(''), seq(lit(' WHERE id = '), num()), seq(lit(' WHERE name = '), str()), seq(lit(' WHERE name LIKE '), str(), lit(' ESCAPE '), str()),
  seq(lit(' WHERE id IN ('), num(), lit(', '), num(), lit(')')), seq(lit(' /* '), str(), lit(' */ WHERE a = '), str()),
];
const suffixes: Slot[] = [
  lit(''), seq(lit(' LIMIT '), num()), seq(lit(' LIMIT '), str()), seq(lit(' LIMIT '), num(), lit('+1')),
  seq(lit(' ORDER BY 1 FETCH FIRST '), num(), lit(' ROWS WITH TIES')), lit(' FOR UPDATE'), seq(lit(' -- '), str(), lit('\n')),
  seq(lit(' OFFSET '), num()),
];
const statements: Slot[] = [
  ...relations.flatMap((r) => [seq(lit('SELECT '), lit('*'), lit(' FROM '), r)]),
  lit('INSERT INTO customers (email) VALUES (\'a\')'),
  seq(lit('UPDATE customers SET email = '), str(), lit(' WHERE id = '), num()),
  seq(lit('DELETE FROM customers WHERE note = '), str()),
  seq(lit('SET ROLE '), str()), seq(lit('SET session_replication_role = '), str()), seq(lit('SET pgwarden.reason = '), str()),
];

const contents = fc.stringMatching(/^[a-zA-Z0-9 ;'"$\\!#*/().,=<>_:-]{0,16}$/);
const specials = fc.constantFrom('!', '#', '\\', '+', 'pg_authid', 'customers', 'role', 'replica', 'x', '100000', '5', 'SELECT 1', "SELECT set_config('role','x',false)", '\\0061', '!0061');
const values = fc.record({
  strings: fc.array(fc.oneof(contents, specials), { minLength: 1, maxLength: 6 }),
  numbers: fc.array(fc.oneof(fc.nat({ max: 200_000 }).map(String), fc.tuple(fc.nat(99), fc.nat(99)).map(([a, b]) => `${a}.${b}`)), { minLength: 1, maxLength: 6 }),
});
const template = fc.oneof(
  fc.tuple(fc.constantFrom(...targets), fc.constantFrom(...relations), fc.constantFrom(...conditions), fc.constantFrom(...suffixes)).map(
    ([t, r, w, s]) => seq(lit('SELECT '), t, lit(' FROM '), r, lit(' c'), w, s),
  ),
  fc.constantFrom(...statements),
);

describe('shape cache: cached facts equal fresh facts for sibling texts', () => {
  it('over generated SELECT/DML/SET texts, with the cache primed by a sibling of the same template', () => {
    let reused = 0;
    fc.assert(
      fc.property(template, values, values, (t, a, b) => {
        const prime = t(a);
        const text = t(b);
        const analyzer = createAnalyzer({ maxRows: 1000, cacheEntries: 100 });
        analyzer.analyze(prime);
        const cached = analyzer.analyze(text);
        const key = shapeKey(text);
        if (key !== null && key === shapeKey(prime) && prime !== text) reused++;
        expect(summary(cached), `primed with: ${prime}\nthen: ${text}`).toEqual(summary(analyzeText(text, 1000)));
      }),
      { numRuns: 2000 },
    );
    // The property must exercise the shape cache, not only texts it refuses.
    expect(reused).toBeGreaterThan(200);
  }, 120_000);

  it('the issue reproduction: a UESCAPE character that spells pg_authid is never served from a sibling\'s facts', () => {
    const analyzer = createAnalyzer({ maxRows: 1000, cacheEntries: 100 });
    const miss = analyzer.analyze('SELECT rolname, rolpassword FROM U&"pg_!0061uthid" UESCAPE \'#\' WHERE rolname=\'x\'');
    expect(miss.categories).toEqual(['read']);
    const hit = analyzer.analyze('SELECT rolname, rolpassword FROM U&"pg_!0061uthid" UESCAPE \'!\' WHERE rolname=\'x\'');
    expect(hit.categories).toEqual(['privileged']);
    expect(hit.statements[0]!.tables).toEqual(['pg_authid']);
  });
});
