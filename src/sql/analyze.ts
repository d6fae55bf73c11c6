// Public entry of src/sql: load the parser, analyze texts through a parse-once LRU cache, apply per-session PREPARE/EXECUTE.
import { LRUCache } from 'lru-cache';
import { categoriesFromMask, maskFromCategories } from './categories.js';
import { analyzeText, executeOwnMask, finalMask, unionCategories } from './facts.js';
import { isParserLoaded } from './parse.js';
import { isShapeSafe, reshape, shapeKey } from './shape.js';
import { withChanges } from './statement-record.js';
import type { SqlSession, StatementFacts, TextFacts } from './types.js';

export { loadSqlParser } from './parse.js';
export { functionCallFacts } from './fastpath.js';
export { statedReason } from './reason.js';
export { redactSecrets } from './redact.js';
export { strictestCategory, sortCategories } from './categories.js';

/** Texts longer than this are analyzed but not cached, so one huge text cannot crowd out the cache. */
export const MAX_CACHED_TEXT_LENGTH = 64 * 1024;

export interface Analyzer {
  analyze(text: string, session?: SqlSession): TextFacts;
  readonly cacheSize: number;
  /** Estimated bytes held by the parse and shape caches. */
  readonly cacheBytes: number;
}

export interface AnalyzerOptions {
  /** A LIMIT (or FETCH count) above this makes a statement an `export`. */
  maxRows: number;
  /** Texts kept in the parse cache; 0 disables caching. */
  cacheEntries: number;
  /**
   * Memory the parse and shape caches may hold together, in bytes of UTF-16 text and facts (estimated); 0 disables
   * caching. Default 64 MiB. Three quarters go to the parse cache, one quarter to the shape cache.
   */
  cacheBytes?: number;
  onCacheHit?: () => void;
  /** Called with the seconds spent parsing and classifying an uncached text. */
  onCacheMiss?: (seconds: number) => void;
}

function union(a: readonly string[], b: readonly string[]): readonly string[] {
  if (b.length === 0) return a;
  if (a.length === 0) return b;
  return Object.freeze([...new Set([...a, ...b])]);
}

/** `into` with the categories and names of `from` added (fields other than lists and categories stay from `into`). */
function mergeStatement(into: StatementFacts, from: StatementFacts, ownMask?: number): StatementFacts {
  let mask = ownMask ?? maskFromCategories(into.categories);
  mask |= maskFromCategories(from.categories);
  return withChanges(into, {
    categories: categoriesFromMask(finalMask(mask)),
    tables: union(into.tables, from.tables),
    columns: union(into.columns, from.columns),
    columnsWritten: union(into.columnsWritten, from.columnsWritten),
    functions: union(into.functions, from.functions),
  });
}

function textFactsOf(stmt: StatementFacts): TextFacts {
  return Object.freeze({ text: stmt.text, statements: Object.freeze([stmt]), categories: stmt.categories, parseError: null });
}

/**
 * Records PREPAREs and resolves EXECUTEs against the session. A re-PREPARE of a known name merges
 * with (never replaces) what was known, and DEALLOCATE forgets nothing: pgwarden does not see whether
 * a statement succeeded upstream, so a failed re-PREPARE or DEALLOCATE must not launder a name.
 */
function applySession(facts: TextFacts, session: SqlSession): TextFacts {
  let out: StatementFacts[] | null = null;
  const stmts = facts.statements;
  for (let i = 0; i < stmts.length; i++) {
    const s = stmts[i]!;
    if (s.prepares !== undefined) {
      const prev = session.prepared.get(s.prepares)?.statements[0];
      session.prepared.set(s.prepares, textFactsOf(prev === undefined ? s : mergeStatement(prev, s)));
    }
    if (s.executes !== undefined) {
      const prepared = session.prepared.get(s.executes);
      if (prepared !== undefined) {
        out ??= stmts.slice(0, i);
        let merged = s;
        let own = executeOwnMask.get(s);
        for (const p of prepared.statements) {
          merged = mergeStatement(merged, p, own);
          own = undefined;
        }
        const p0 = prepared.statements[0];
        if (s.kind === 'ExecuteStmt' && p0 !== undefined) merged = withChanges(merged, { bounded: p0.bounded, limit: p0.limit });
        // `EXECUTE p` has one libpg-query fingerprint whatever p is: a grant for it must name what p runs.
        merged = withChanges(merged, {}, prepared.statements.map((p) => `execute:${p.fingerprint}`));
        out.push(merged);
        continue;
      }
    }
    out?.push(s);
  }
  if (out === null) return facts;
  return Object.freeze({ ...facts, statements: Object.freeze(out), categories: unionCategories(out) });
}

function hasSessionEffects(facts: TextFacts): boolean {
  for (const s of facts.statements) if (s.prepares !== undefined || s.executes !== undefined) return true;
  return false;
}

export const DEFAULT_CACHE_BYTES = 64 * 1024 * 1024;

/** Bytes an entry keeps alive, estimated from above: the key and every string of the facts at 2 bytes a character, plus object overhead. */
export function cachedBytes(key: string, facts: TextFacts): number {
  let bytes = 2 * key.length + 2 * facts.text.length + 256;
  for (const s of facts.statements) {
    bytes += 512 + 2 * s.text.length;
    for (const list of [s.tables, s.columns, s.columnsWritten, s.functions]) for (const x of list) bytes += 48 + 2 * x.length;
  }
  return bytes;
}

function boundedCache(entries: number, bytes: number): LRUCache<string, TextFacts> | null {
  if (entries <= 0 || bytes <= 0) return null;
  return new LRUCache<string, TextFacts>({ max: Math.max(1, Math.floor(entries)), maxSize: Math.max(1, Math.floor(bytes)), sizeCalculation: (facts, key) => cachedBytes(key, facts) });
}

/** An analyzer bound to one `maxRows`: parse once per distinct text, facts deep-frozen and shared. */
export function createAnalyzer(options: AnalyzerOptions): Analyzer {
  const { maxRows, cacheEntries, onCacheHit, onCacheMiss } = options;
  const cacheBytes = options.cacheBytes ?? DEFAULT_CACHE_BYTES;
  if (!Number.isFinite(maxRows) || maxRows < 0) {
    throw new Error(`pgwarden: createAnalyzer maxRows must be a non-negative number, got ${String(maxRows)}`);
  }
  if (!Number.isFinite(cacheBytes) || cacheBytes < 0) {
    throw new Error(`pgwarden: createAnalyzer cacheBytes must be a non-negative number, got ${String(cacheBytes)}`);
  }
  // Bounded in entries AND bytes: 5,000 distinct 64 KiB texts must not hold gigabytes (an entry larger than its cache is not kept).
  const cache = boundedCache(cacheEntries, (cacheBytes * 3) / 4);
  // Facts by literal-insensitive shape (shape.ts): `WHERE id = 41` and `WHERE id = 42` parse once between them.
  const shapes = boundedCache(cacheEntries / 4, cacheBytes / 4);
  const pure = (text: string): TextFacts => {
    const hit = cache?.get(text);
    if (hit !== undefined) {
      onCacheHit?.();
      return hit;
    }
    const key = shapes !== null && text.length <= MAX_CACHED_TEXT_LENGTH ? shapeKey(text) : null;
    const template = key === null || shapes === null ? undefined : shapes.get(key);
    let facts: TextFacts;
    if (template !== undefined) {
      onCacheHit?.();
      facts = reshape(template, text);
    } else {
      const start = performance.now();
      facts = analyzeText(text, maxRows);
      onCacheMiss?.((performance.now() - start) / 1000);
      if (key !== null && shapes !== null && isShapeSafe(facts)) shapes.set(key, facts);
    }
    if (cache !== null && text.length <= MAX_CACHED_TEXT_LENGTH) cache.set(text, facts);
    return facts;
  };
  return {
    analyze(text: string, session?: SqlSession): TextFacts {
      if (!isParserLoaded()) throw new Error('pgwarden: the SQL parser is not loaded; await loadSqlParser() at startup before analyzing statements');
      const facts = pure(typeof text === 'string' ? text : String(text));
      if (session === undefined || !hasSessionEffects(facts)) return facts;
      return applySession(facts, session);
    },
    get cacheSize(): number {
      return cache?.size ?? 0;
    },
    get cacheBytes(): number {
      return (cache?.calculatedSize ?? 0) + (shapes?.calculatedSize ?? 0);
    },
  };
}
