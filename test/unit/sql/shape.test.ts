// The shape cache may reuse facts only where literals cannot matter: checked directly, and differentially against the
// real parser on the adversarial and PostgreSQL regression corpora with random literal substitutions.
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { analyzeText } from '../../../src/sql/facts.js';
import { createAnalyzer, loadSqlParser } from '../../../src/sql/analyze.js';
import { isShapeSafe, shapeKey } from '../../../src/sql/shape.js';
import type { TextFacts } from '../../../src/sql/types.js';
import { regressCorpusPath } from './corpus-path.js';

beforeAll(async () => {
  await loadSqlParser();
});

const repo = resolve(import.meta.dirname, '../../..');
const corpusPath = regressCorpusPath();

function summary(f: TextFacts) {
  return f.statements.map((s) => ({ kind: s.kind, categories: s.categories, tables: s.tables, columns: s.columns, columnsWritten: s.columnsWritten, functions: s.functions, bounded: s.bounded, limit: s.limit }));
}

/** Rebuilds a text from its shape key with other literal values (placeholders: '?' strings and standalone 0 numbers). */
function substitute(key: string, strings: string[], numbers: string[]): string {
  let si = 0;
  let ni = 0;
  return key.replace(/'\?'|(?<![\w.$])0(\.0)?(?![\w.])/g, (m) => (m === "'?'" ? `'${(strings[si++ % strings.length] ?? '').replace(/'/g, "''")}'` : (numbers[ni++ % numbers.length] ?? '7')));
}

const literal = fc.stringMatching(/^[a-zA-Z0-9 ;'"$\-*/().,=<>_\n]{0,24}$/);
const number = fc.oneof(fc.nat().map(String), fc.tuple(fc.nat(), fc.nat()).map(([a, b]) => `${a}.${b}`));

describe('shapeKey', () => {
  it('gives statements that differ only in literals one key', () => {
    expect(shapeKey("SELECT * FROM t WHERE id = 42 AND name = 'x'")).toBe(shapeKey("SELECT * FROM t WHERE id = 7 AND name = 'it''s; DROP TABLE t; --'"));
    expect(shapeKey('SELECT abalance FROM pgbench_accounts WHERE aid = 1;')).toBe('SELECT abalance FROM pgbench_accounts WHERE aid = 0;');
  });

  it('keeps identifiers, quoted identifiers and keywords verbatim', () => {
    expect(shapeKey('SELECT c1 FROM t2 WHERE "x 5" = 5')).toBe('SELECT c1 FROM t2 WHERE "x 5" = 0');
    expect(shapeKey("SELECT 1 FROM t WHERE a = 'x'")).not.toBe(shapeKey("SELECT 1 FROM u WHERE a = 'x'"));
  });

  it('refuses texts whose lexing it does not mirror', () => {
    for (const text of [
      "SELECT E'\\\\x'",
      "SELECT B'101'",
      "SELECT U&'d\\0061t'",
      "SELECT n'x'",
      'SELECT $1',
      'SELECT $$x$$',
      'SELECT 1 -- c',
      'SELECT /* c */ 1',
      'SELECT 1e5',
      'SELECT .5',
      'SELECT 123abc',
      'SELECT 1.2.3',
      "SELECT 'unterminated",
      'SELECT "unterminated',
      "SELECT 'a\\' FROM t",
      'SELECT a FROM t',
    ]) {
      expect(shapeKey(text), text).toBeNull();
    }
  });
});

describe('isShapeSafe', () => {
  it('accepts plain DML only: no functions, no LIMIT, no reason, read or write', () => {
    const ok = (sql: string) => isShapeSafe(analyzeText(sql, 10_000));
    expect(ok('SELECT * FROM t WHERE id = 1')).toBe(true);
    expect(ok("UPDATE t SET a = 'x' WHERE id = 2")).toBe(true);
    expect(ok('SELECT * FROM t LIMIT 5')).toBe(false);
    expect(ok("SELECT set_config('role', 'x', false)")).toBe(false);
    expect(ok("SELECT query_to_xml('select 1', true, true, '')")).toBe(false);
    expect(ok('SELECT 1; SELECT 2')).toBe(false);
    expect(ok("COPY t TO '/tmp/x'")).toBe(false);
    expect(ok("SET pgwarden.reason = 'x'")).toBe(false);
  });

  it('the analyzer returns the same facts through the shape cache as a fresh parse, with the new text', () => {
    const analyzer = createAnalyzer({ maxRows: 10_000, cacheEntries: 100 });
    const first = analyzer.analyze("SELECT email FROM customers WHERE id = 1 AND note = 'a'");
    const second = analyzer.analyze("SELECT email FROM customers WHERE id = 2 AND note = 'b''; DROP TABLE customers; --'");
    expect(second.text).toBe("SELECT email FROM customers WHERE id = 2 AND note = 'b''; DROP TABLE customers; --'");
    expect(second.statements[0]!.text).toBe(second.text);
    expect(summary(second)).toEqual(summary(first));
    expect(second.statements[0]!.fingerprint).toBe(first.statements[0]!.fingerprint);
  });
});

describe('differential: same shape ⇒ same facts as the real parser', () => {
  function check(texts: string[], runsPerText: number): number {
    let checked = 0;
    for (const text of texts) {
      if (text.includes('"')) continue;
      const key = shapeKey(text);
      if (key === null) continue;
      const facts = analyzeText(text, 10_000);
      if (!isShapeSafe(facts)) continue;
      checked++;
      fc.assert(
        fc.property(fc.array(literal, { minLength: 1, maxLength: 4 }), fc.array(number, { minLength: 1, maxLength: 4 }), (strings, numbers) => {
          const variant = substitute(key, strings, numbers);
          if (shapeKey(variant) !== key) return; // a substitute the scanner refuses (e.g. a new token shape) is never cached
          expect(summary(analyzeText(variant, 10_000)), `${text}\n→ ${variant}`).toEqual(summary(facts));
        }),
        { numRuns: runsPerText },
      );
    }
    return checked;
  }

  it('on the adversarial corpus', () => {
    const texts = readFileSync(resolve(repo, 'test/fixtures/sql/adversarial.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as { sql: string }).sql);
    expect(check(texts, 25)).toBeGreaterThan(20);
  }, 60_000);

  it('on the PostgreSQL 15 regression corpus', () => {
    if (!existsSync(corpusPath)) throw new Error(`corpus missing: expected ${corpusPath}`);
    const texts = gunzipSync(readFileSync(corpusPath))
      .toString('utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as { sql: string }).sql);
    expect(check(texts, 3)).toBeGreaterThan(1000);
  }, 60_000);
});
