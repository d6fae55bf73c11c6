// The analyzer's public behaviour: parse-once cache, frozen facts, session PREPARE/EXECUTE, statement slices, fast-path calls, stated reasons.
import { beforeAll, describe, expect, it } from 'vitest';
import { createAnalyzer, functionCallFacts, loadSqlParser, statedReason } from '../../../src/sql/analyze.js';
import { isAtLeast, sortCategories, strictestCategory } from '../../../src/sql/categories.js';
import type { SqlSession } from '../../../src/sql/types.js';

beforeAll(async () => {
  await loadSqlParser();
  await loadSqlParser(); // idempotent
});

const session = (): SqlSession => ({ prepared: new Map() });

describe('createAnalyzer', () => {
  it('parses a text once and shares the frozen facts', () => {
    let hits = 0;
    const misses: number[] = [];
    const a = createAnalyzer({ maxRows: 1000, cacheEntries: 10, onCacheHit: () => hits++, onCacheMiss: (s) => misses.push(s) });
    const first = a.analyze('SELECT * FROM users WHERE id = 1');
    const second = a.analyze('SELECT * FROM users WHERE id = 1');
    expect(second).toBe(first);
    expect(hits).toBe(1);
    expect(misses).toHaveLength(1);
    expect(misses[0]).toBeGreaterThanOrEqual(0);
    expect(a.cacheSize).toBe(1);
    expect(Object.isFrozen(first)).toBe(true);
    expect(Object.isFrozen(first.statements)).toBe(true);
    expect(Object.isFrozen(first.statements[0])).toBe(true);
    expect(Object.isFrozen(first.statements[0]!.tables)).toBe(true);
    expect(Object.isFrozen(first.categories)).toBe(true);
  });

  it('evicts least recently used texts beyond cacheEntries, and caches nothing with 0', () => {
    const a = createAnalyzer({ maxRows: 1000, cacheEntries: 2 });
    a.analyze('SELECT 1');
    a.analyze('SELECT 2');
    a.analyze('SELECT 3');
    expect(a.cacheSize).toBe(2);
    const none = createAnalyzer({ maxRows: 1000, cacheEntries: 0 });
    none.analyze('SELECT 1');
    expect(none.cacheSize).toBe(0);
  });

  it('bounds the caches in bytes: many large distinct texts stay under cacheBytes, and a text larger than the cache is not kept', () => {
    const budget = 1024 * 1024;
    const a = createAnalyzer({ maxRows: 1000, cacheEntries: 10_000, cacheBytes: budget });
    const pad = 'x'.repeat(16 * 1024);
    for (let i = 0; i < 300; i++) a.analyze(`SELECT '${pad}' AS v${i} FROM t WHERE id = ${i}`);
    expect(a.cacheBytes).toBeLessThanOrEqual(budget);
    expect(a.cacheBytes).toBeGreaterThan(budget / 4);
    expect(a.cacheSize).toBeLessThan(300);
    expect(a.cacheSize).toBeGreaterThan(0);
    const small = createAnalyzer({ maxRows: 1000, cacheEntries: 10, cacheBytes: 64 * 1024 });
    small.analyze(`SELECT '${'y'.repeat(60 * 1024)}'`);
    expect(small.cacheSize).toBe(0);
    expect(createAnalyzer({ maxRows: 1000, cacheEntries: 10, cacheBytes: 0 }).analyze('SELECT 1').categories).toEqual(['read']);
    expect(() => createAnalyzer({ maxRows: 1000, cacheEntries: 10, cacheBytes: -1 })).toThrow(/cacheBytes/);
  });

  it('binds LIMIT-as-export to its maxRows', () => {
    expect(createAnalyzer({ maxRows: 10, cacheEntries: 0 }).analyze('SELECT * FROM t LIMIT 50').categories).toEqual(['export']);
    expect(createAnalyzer({ maxRows: 100, cacheEntries: 0 }).analyze('SELECT * FROM t LIMIT 50').categories).toEqual(['read']);
    expect(() => createAnalyzer({ maxRows: -1, cacheEntries: 0 })).toThrow(/maxRows/);
  });

  it('rejects invalid SQL as unknown, never read, with the parser message', () => {
    const f = createAnalyzer({ maxRows: 1000, cacheEntries: 0 }).analyze('SELEC * FROM users');
    expect(f.categories).toEqual(['unknown']);
    expect(f.statements).toHaveLength(1);
    expect(f.statements[0]!.kind).toBe('Unknown');
    expect(f.parseError).toMatch(/syntax error/);
  });

  it('treats a text with only comments as an empty query', () => {
    const f = createAnalyzer({ maxRows: 1000, cacheEntries: 0 }).analyze(' -- nothing here\n/* at all */ ');
    expect(f.statements).toEqual([]);
    expect(f.categories).toEqual(['read']);
    expect(f.parseError).toBeNull();
  });
});

describe('session PREPARE / EXECUTE', () => {
  const a = createAnalyzer({ maxRows: 1000, cacheEntries: 100 });

  it('carries the prepared statement facts into EXECUTE, across texts and through the cache', () => {
    const s = session();
    expect(a.analyze('EXECUTE wipe', s).categories).toEqual(['write']); // unseen name: assumed write
    a.analyze('PREPARE wipe AS SELECT pg_read_file($1)', s);
    const exec = a.analyze('EXECUTE wipe', s);
    expect(exec.categories).toEqual(['privileged']);
    expect(exec.statements[0]!.functions).toContain('pg_read_file');
    expect(exec.statements[0]!.executes).toBe('wipe');
    // another session does not see it, and the cached pure facts were not changed
    expect(a.analyze('EXECUTE wipe', session()).categories).toEqual(['write']);
  });

  it('resolves a read-only prepared statement to read', () => {
    const s = session();
    a.analyze('PREPARE q(int) AS SELECT * FROM users WHERE id = $1', s);
    const f = a.analyze('EXECUTE q(1)', s);
    expect(f.categories).toEqual(['read']);
    expect(f.statements[0]!.tables).toEqual(['users']);
    expect(s.prepared.get('q')?.statements[0]?.prepares).toBe('q');
  });

  it('merges a re-PREPARE and never forgets on DEALLOCATE (the server may have refused either)', () => {
    const s = session();
    a.analyze('PREPARE p AS DELETE FROM t', s);
    a.analyze('DEALLOCATE p', s);
    a.analyze('PREPARE p AS SELECT 1', s);
    expect(a.analyze('EXECUTE p', s).categories).toEqual(['write']);
  });

  it('resolves EXECUTE nested in EXPLAIN ANALYZE and CREATE TABLE AS', () => {
    const s = session();
    a.analyze('PREPARE r AS SELECT * FROM users', s);
    expect(a.analyze('EXPLAIN ANALYZE EXECUTE r', s).categories).toEqual(['read']);
    expect(a.analyze('CREATE TABLE copy AS EXECUTE r', s).categories).toEqual(['ddl']);
  });
});

describe('statement facts', () => {
  const a = createAnalyzer({ maxRows: 1000, cacheEntries: 0 });

  it('slices each statement from the original text, also after multi-byte characters', () => {
    const f = a.analyze("SELECT 'żółw 🐢' AS x;\n  DELETE FROM t WHERE a = 'é'  ;  SELECT 2");
    expect(f.statements.map((s) => s.text)).toEqual(["SELECT 'żółw 🐢' AS x", "DELETE FROM t WHERE a = 'é'", 'SELECT 2']);
    expect(f.categories).toEqual(['read', 'write']);
  });

  it('reports transaction control', () => {
    const f = a.analyze('BEGIN; SAVEPOINT a; RELEASE a; ROLLBACK TO a; COMMIT; ROLLBACK; START TRANSACTION; PREPARE TRANSACTION \'x\'; END');
    expect(f.statements.map((s) => s.transaction)).toEqual(['begin', 'savepoint', 'release', 'rollback_to', 'commit', 'rollback', 'begin', 'prepare', 'commit']);
    expect(f.categories).toEqual(['read']);
  });

  it('collects tables, columns read and written, and functions', () => {
    const s = a.analyze('UPDATE app.users u SET email = lower(e.addr), "Name" = $1 FROM emails e WHERE u.id = e.user_id').statements[0]!;
    expect([...s.tables].sort()).toEqual(['app.users', 'emails']);
    expect([...s.columnsWritten].sort()).toEqual(['Name', 'email']);
    expect([...s.columns].sort()).toEqual(['e.addr', 'e.user_id', 'u.id']);
    expect(s.functions).toEqual(['lower']);
    expect(s.bounded).toBe(false);
  });

  it('computes bounded and limit', () => {
    const shape = (sql: string) => {
      const s = a.analyze(sql).statements[0]!;
      return [s.bounded, s.limit];
    };
    expect(shape('SELECT * FROM t LIMIT 5')).toEqual([true, 5]);
    expect(shape('SELECT * FROM t LIMIT 0')).toEqual([true, 0]);
    expect(shape('SELECT * FROM t')).toEqual([false, null]);
    expect(shape('SELECT count(*) FROM t')).toEqual([true, null]);
    expect(shape('SELECT status, count(*) FROM t GROUP BY status')).toEqual([false, null]);
    expect(shape('INSERT INTO t VALUES (1), (2)')).toEqual([true, null]);
    expect(shape('DELETE FROM t WHERE id = 1')).toEqual([false, null]);
    expect(shape('SELECT 1')).toEqual([true, null]);
  });

  it('carries SET pgwarden.reason as setsReason', () => {
    expect(a.analyze("SET pgwarden.reason = 'rotating keys, ticket 7'").statements[0]!.setsReason).toBe('rotating keys, ticket 7');
    expect(a.analyze("SELECT set_config('pgwarden.reason', 'why', false)").statements[0]!.setsReason).toBe('why');
    expect(a.analyze('SET search_path = public').statements[0]!.setsReason).toBeUndefined();
  });

  it('gives fingerprint and normalized text per statement, literals replaced', () => {
    const f = a.analyze("SELECT * FROM users WHERE email = 'alice@example.com'; SELECT * FROM users WHERE email = 'bob@example.com'");
    const [x, y] = f.statements;
    expect(x!.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(x!.fingerprint).toBe(y!.fingerprint);
    expect(x!.normalized).toBe('SELECT * FROM users WHERE email = $1');
    expect(JSON.stringify(f)).not.toMatch(/"normalized":"[^"]*alice/);
  });
});

describe('functionCallFacts', () => {
  it('maps libpq large-object calls to read or write', () => {
    expect(functionCallFacts(954).categories).toEqual(['read']);
    expect(functionCallFacts(955).categories).toEqual(['write']);
    expect(functionCallFacts(952).statements[0]!.text).toBe('fastpath function call lo_open');
    expect(functionCallFacts(964).categories).toEqual(['write']);
    expect(functionCallFacts(3172).categories).toEqual(['write']);
    expect(functionCallFacts(3170).categories).toEqual(['read']);
  });

  it('treats server-file and unknown functions as privileged', () => {
    expect(functionCallFacts(764).categories).toEqual(['privileged']);
    expect(functionCallFacts(765).categories).toEqual(['privileged']);
    const unknown = functionCallFacts(2622);
    expect(unknown.categories).toEqual(['privileged']);
    expect(unknown.statements[0]!.kind).toBe('FunctionCall');
    expect(unknown.text).toBe('fastpath function call 2622');
  });
});

describe('statedReason', () => {
  it('reads block and line comments, case-insensitively, trimmed', () => {
    expect(statedReason('/* reason: fix ticket 42 */ DELETE FROM t')).toBe('fix ticket 42');
    expect(statedReason('DELETE FROM t -- Reason:  cleanup of test rows  \n')).toBe('cleanup of test rows');
    expect(statedReason('/*REASON:multi\n line*/ SELECT 1')).toBe('multi line');
    expect(statedReason('SELECT 1')).toBeNull();
    expect(statedReason('/* reason: */ SELECT 1')).toBeNull();
    expect(statedReason(`/* reason: ${'x'.repeat(800)} */`)).toHaveLength(500);
  });
});

describe('category order', () => {
  it('orders read < write < export < ddl < grant < privileged, unknown strictest', () => {
    expect(strictestCategory(['read', 'ddl', 'write'])).toBe('ddl');
    expect(strictestCategory(['privileged', 'unknown'])).toBe('unknown');
    expect(strictestCategory([])).toBe('read');
    expect(sortCategories(['privileged', 'read', 'read', 'export'])).toEqual(['read', 'export', 'privileged']);
    expect(isAtLeast('grant', 'ddl')).toBe(true);
  });
});

