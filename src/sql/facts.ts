// Pure analysis of one SQL text: parse, walk each statement, and return deep-frozen TextFacts.
import { CategoryBit, STATEMENT_CATEGORY, categoriesFromMask } from './categories.js';
import { shapeOf } from './bounds.js';
import { parseSql, type RawStatement } from './parse.js';
import { NESTED_SQL_PART, StatementRecord } from './statement-record.js';
import { plpgsqlFacts } from './plpgsql.js';
import type { StatementFacts, TextFacts } from './types.js';
import { Collector, type NestedAnalyzer, type NestedFacts } from './collector.js';
import { walk } from './walk.js';

type Json = Record<string, unknown>;
type Transaction = StatementFacts['transaction'];

const EMPTY: readonly string[] = Object.freeze([]);

const TRANSACTION_KINDS: Readonly<Record<string, Transaction>> = Object.freeze({
  TRANS_STMT_BEGIN: 'begin',
  TRANS_STMT_START: 'begin',
  TRANS_STMT_COMMIT: 'commit',
  TRANS_STMT_ROLLBACK: 'rollback',
  TRANS_STMT_SAVEPOINT: 'savepoint',
  TRANS_STMT_RELEASE: 'release',
  TRANS_STMT_ROLLBACK_TO: 'rollback_to',
  TRANS_STMT_PREPARE: 'prepare',
});

/**
 * EXECUTE of a prepared statement pgwarden has not seen: a prepared statement is a SELECT, INSERT,
 * UPDATE, DELETE, MERGE or VALUES that was itself checked when prepared, so `write` (not `unknown`,
 * which means the text did not parse).
 */
export const UNRESOLVED_EXECUTE = CategoryBit.write;

/** Mask of a statement's own categories before an unresolved EXECUTE was assumed `write` (for session merges). */
export const executeOwnMask = new WeakMap<StatementFacts, number>();

/** One nested analyzer per max_rows value (in practice one or two per process). */
const nestedByMaxRows = new Map<number, NestedAnalyzer>();

function nestedAnalyzer(maxRows: number): NestedAnalyzer {
  let nested = nestedByMaxRows.get(maxRows);
  if (nested === undefined) {
    const sql = (text: string, depth: number): NestedFacts | null => nestedSqlFacts(text, depth, maxRows);
    nested = { sql, plpgsql: (statementText, depth) => plpgsqlFacts(statementText, depth, sql) };
    nestedByMaxRows.set(maxRows, nested);
  }
  return nested;
}

/** Facts of a nested SQL text (function body, query string); null when it does not parse. */
function nestedSqlFacts(text: string, depth: number, maxRows: number): NestedFacts | null {
  const parsed = parseSql(text);
  if (!parsed.ok) return null;
  const slicer = makeSlicer(text);
  const nested = nestedAnalyzer(maxRows);
  const merged = new Collector(text, depth, nested, maxRows);
  // The nested text's own shape (its literals do not matter, its structure does) is part of the enclosing statement's;
  // it is fingerprinted only when the enclosing statement's fingerprint is read (statement-record.ts).
  merged.shapeParts.push(`${NESTED_SQL_PART}${text}`);
  for (const raw of parsed.stmts) {
    const c = new Collector(slicer(raw), depth, nested, maxRows);
    const kind = topKind(raw);
    if (STATEMENT_CATEGORY[kind] === undefined) c.add(CategoryBit.unknown);
    walk(c, raw.stmt);
    c.finish();
    if (c.executes !== undefined) c.add(UNRESOLVED_EXECUTE);
    merged.merge(c);
  }
  return merged;
}

function topKind(raw: RawStatement): string {
  for (const k in raw.stmt) return k;
  return 'Unknown';
}

/** Slices a statement out of the text: libpg-query locations are UTF-8 byte offsets. */
function makeSlicer(text: string): (raw: RawStatement) => string {
  // eslint-disable-next-line no-control-regex
  const ascii = !/[^\x00-\x7f]/.test(text);
  const bytes = ascii ? null : Buffer.from(text, 'utf8');
  const total = ascii ? text.length : bytes!.length;
  return (raw) => {
    const start = raw.stmt_location ?? 0;
    const end = raw.stmt_len !== undefined && raw.stmt_len > 0 ? start + raw.stmt_len : total;
    const s = bytes === null ? text.slice(start, end) : bytes.subarray(start, end).toString('utf8');
    return s.trim();
  };
}

function frozenList(set: Set<string>): readonly string[] {
  if (set.size === 0) return EMPTY;
  set.delete('');
  return Object.freeze([...set]);
}

/** Final categories of one statement: `read` only when nothing stronger applies (a DELETE … RETURNING is a write, not also a read). */
export function finalMask(mask: number): number {
  const stronger = mask & ~CategoryBit.read;
  return stronger !== 0 ? stronger : CategoryBit.read;
}

function statementFacts(raw: RawStatement, text: string, maxRows: number, single: boolean, wholeText: string): StatementFacts {
  const kind = topKind(raw);
  const node = (raw.stmt[kind] ?? {}) as Json;
  const c = new Collector(text, 0, nestedAnalyzer(maxRows), maxRows);
  if (STATEMENT_CATEGORY[kind] === undefined) c.add(CategoryBit.unknown);
  walk(c, raw.stmt);
  c.finish();
  const { limit, bounded } = shapeOf(kind, node);
  if (limit !== null && limit > maxRows) c.add(CategoryBit.export);
  const transaction = kind === 'TransactionStmt' ? (TRANSACTION_KINDS[node.kind as string] ?? null) : null;
  const facts = StatementRecord.create(
    {
      kind,
      categories: categoriesFromMask(finalMask(c.executes !== undefined ? c.mask | UNRESOLVED_EXECUTE : c.mask)),
      tables: frozenList(c.tables),
      columns: frozenList(c.columns),
      columnsWritten: frozenList(c.columnsWritten),
      functions: frozenList(c.functions),
      bounded,
      limit,
      transaction,
      text,
      prepares: kind === 'PrepareStmt' ? c.prepares : undefined,
      executes: c.executes,
      setsReason: c.setsReason,
    },
    single ? wholeText : text,
    c.shapeParts,
  );
  if (c.executes !== undefined) executeOwnMask.set(facts, c.mask);
  return facts;
}

/** Facts for a text that did not parse: one `Unknown` statement, category `unknown` (never `read`). */
export function unknownFacts(text: string, error: string): TextFacts {
  const stmt: StatementFacts = Object.freeze({
    kind: 'Unknown',
    categories: categoriesFromMask(CategoryBit.unknown),
    tables: EMPTY,
    columns: EMPTY,
    columnsWritten: EMPTY,
    functions: EMPTY,
    bounded: false,
    limit: null,
    transaction: null,
    fingerprint: '',
    normalized: '',
    text,
  });
  return Object.freeze({
    text,
    statements: Object.freeze([stmt]),
    categories: stmt.categories,
    parseError: error,
  });
}

/** Union of statement categories, in order. */
export function unionCategories(statements: readonly StatementFacts[]): TextFacts['categories'] {
  let mask = 0;
  for (const s of statements) for (const cat of s.categories) mask |= CategoryBit[cat];
  return categoriesFromMask(mask === 0 ? CategoryBit.read : mask);
}

/** Parses and classifies a text. Never throws: any failure is an `unknown` fact. */
export function analyzeText(text: string, maxRows: number): TextFacts {
  try {
    if (text.includes('\u0000')) {
      // The server reads a Query string up to its NUL; pgwarden refuses to guess which part runs.
      return unknownFacts(text, 'text contains a NUL character; remove it and resend the statement');
    }
    const parsed = parseSql(text);
    if (!parsed.ok) {
      if (parsed.error === 'Query cannot be empty') return emptyFacts(text);
      return unknownFacts(text, parsed.error);
    }
    if (parsed.stmts.length === 0) return emptyFacts(text);
    const slicer = makeSlicer(text);
    const single = parsed.stmts.length === 1;
    const statements = parsed.stmts.map((raw) => statementFacts(raw, slicer(raw), maxRows, single, text));
    return Object.freeze({
      text,
      statements: Object.freeze(statements),
      categories: single ? statements[0]!.categories : unionCategories(statements),
      parseError: null,
    });
  } catch (err) {
    return unknownFacts(text, `pgwarden could not analyze this text: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** An empty query (whitespace or comments only): the server answers EmptyQueryResponse; nothing runs. */
function emptyFacts(text: string): TextFacts {
  return Object.freeze({
    text,
    statements: Object.freeze([]) as readonly StatementFacts[],
    categories: categoriesFromMask(CategoryBit.read),
    parseError: null,
  });
}
