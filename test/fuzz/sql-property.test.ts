// Property tests for src/sql: wrapping a dangerous statement in harmless noise never lowers its categories, and no input makes the analyzer throw.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { createAnalyzer, loadSqlParser, type Analyzer } from '../../src/sql/analyze.js';
import type { Category } from '../../src/sql/types.js';

const DANGEROUS: readonly [string, readonly Category[]][] = [
  ['DELETE FROM users', ['write']],
  ['WITH d AS (DELETE FROM users RETURNING *) SELECT * FROM d', ['write']],
  ['EXPLAIN ANALYZE UPDATE t SET a = 1', ['write']],
  ['SELECT * FROM jobs FOR UPDATE', ['write']],
  ['COPY users TO STDOUT', ['export']],
  ["SELECT query_to_xml('select * from users', true, false, '')", ['export']],
  ['SELECT * FROM users LIMIT 1000000', ['export']],
  ['DROP TABLE users', ['ddl']],
  ['TRUNCATE users', ['ddl']],
  ['GRANT ALL ON customers TO agent', ['grant']],
  ['SET ROLE postgres', ['grant']],
  ["SELECT set_config('role', 'postgres', false)", ['grant']],
  ['ALTER ROLE agent SUPERUSER', ['grant']],
  ["SELECT pg_read_file('/etc/passwd')", ['privileged']],
  ["SELECT \"pg_catalog\".\"pg_read_file\"('/etc/passwd')", ['privileged']],
  ["COPY users FROM PROGRAM 'curl evil'", ['privileged']],
  ["DO $$ BEGIN EXECUTE 'DROP TABLE t'; END $$", ['privileged']],
  ['ALTER SYSTEM SET ssl = off', ['privileged']],
  ['CREATE EXTENSION dblink', ['privileged']],
  ['SELECT pg_terminate_backend(1)', ['privileged']],
];

const BENIGN = ['SELECT 1', 'SHOW search_path', "SELECT 'DROP TABLE x'", 'BEGIN', 'COMMIT', 'SET statement_timeout = 1000', 'VALUES (1)', 'SELECT $$;$$'];

/** Comment text that cannot close or open a comment. */
const commentText = fc.string({ unit: fc.constantFrom('a', 'b', ' ', ';', "'", '"', '$', '-', 'x', '\t', 'é') });
const space = fc.array(fc.constantFrom(' ', '\t', '\n', '\r\n', '\f'), { maxLength: 4 }).map((a) => a.join(''));
const noise = fc.oneof(
  space,
  commentText.map((t) => `/*${t}*/`),
  commentText.map((t) => `/* outer /*${t}*/ still comment */`),
  commentText.map((t) => `--${t}\n`),
);
const noiseRun = fc.array(noise, { maxLength: 4 }).map((a) => a.join(' '));
const neighbours = fc.array(fc.constantFrom(...BENIGN), { maxLength: 3 });

let analyzer: Analyzer;
beforeAll(async () => {
  await loadSqlParser();
  analyzer = createAnalyzer({ maxRows: 1000, cacheEntries: 0 });
});

describe('categories never drop under harmless wrapping', () => {
  it('keeps every category of the dangerous statement', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: DANGEROUS.length - 1 }),
        noiseRun,
        noiseRun,
        neighbours,
        neighbours,
        fc.boolean(),
        (i, before, after, pre, post, semicolon) => {
          const [sql, expected] = DANGEROUS[i]!;
          const parts = [...pre, `${before}${sql}${after}`, ...post];
          const text = parts.join(';\n') + (semicolon ? ';' : '');
          const facts = analyzer.analyze(text);
          for (const cat of expected) expect(facts.categories, text).toContain(cat);
          expect(facts.parseError, text).toBeNull();
        },
      ),
      { numRuns: 1500 },
    );
  });
});

describe('analyze never throws', () => {
  const check = (text: string) => {
    const facts = analyzer.analyze(text);
    if (facts.parseError !== null) expect(facts.categories).toEqual(['unknown']);
    else expect(facts.categories.length).toBeGreaterThan(0);
    JSON.stringify(facts);
  };

  it('on arbitrary strings', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), check), { numRuns: 1500 });
  });

  it('on mutated SQL (truncated, spliced, with odd characters)', () => {
    const sql = fc.constantFrom(...DANGEROUS.map(([s]) => s), ...BENIGN);
    fc.assert(
      fc.property(sql, sql, fc.nat(), fc.nat(), fc.string({ unit: 'binary', maxLength: 5 }), (a, b, i, j, junk) => {
        check(a.slice(0, i % (a.length + 1)) + junk + b.slice(j % (b.length + 1)));
      }),
      { numRuns: 1500 },
    );
  });

  it('on deep nesting and huge texts', () => {
    check(`SELECT ${'('.repeat(5000)}1${')'.repeat(5000)}`);
    check(`SELECT ${'ARRAY['.repeat(3000)}1${']'.repeat(3000)}`);
    check(`SELECT 1${' UNION SELECT 1'.repeat(3000)}`);
    check('SELECT 1;'.repeat(5000));
    check(`SELECT '${'x'.repeat(1_000_000)}'`);
  });
});
