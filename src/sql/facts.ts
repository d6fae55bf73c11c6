// Pure analysis of one SQL text: parse, walk each statement, and return deep-frozen TextFacts.
import { AGGREGATE_FUNCTIONS, CategoryBit, STATEMENT_CATEGORY, categoriesFromMask } from './categories.js';
import { parseSql, type RawStatement } from './parse.js';
import { StatementRecord } from './statement-record.js';
import { plpgsqlFacts } from './plpgsql.js';
import type { StatementFacts, TextFacts } from './types.js';
import { Collector, type NestedAnalyzer, type NestedFacts } from './walk.js';

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

/** libpg-query's FETCH ALL count (INT_MAX in the JSON): not a bound. */
const FETCH_ALL = 2147483647;

/**
 * EXECUTE of a prepared statement pgwarden has not seen: a prepared statement is a SELECT, INSERT,
 * UPDATE, DELETE, MERGE or VALUES that was itself checked when prepared, so `write` (not `unknown`,
 * which means the text did not parse).
 */
export const UNRESOLVED_EXECUTE = CategoryBit.write;

/** Mask of a statement's own categories before an unresolved EXECUTE was assumed `write` (for session merges). */
export const executeOwnMask = new WeakMap<StatementFacts, number>();

const nested: NestedAnalyzer = {
  sql: nestedSqlFacts,
  plpgsql: (statementText, depth) => plpgsqlFacts(statementText, depth, nestedSqlFacts),
};

/** Facts of a nested SQL text (function body, query string); null when it does not parse. */
function nestedSqlFacts(text: string, depth: number): NestedFacts | null {
  const parsed = parseSql(text);
  if (!parsed.ok) return null;
  const slicer = makeSlicer(text);
  const merged = new Collector(text, depth, nested);
  for (const raw of parsed.stmts) {
    const c = new Collector(slicer(raw), depth, nested);
    const kind = topKind(raw);
    if (STATEMENT_CATEGORY[kind] === undefined) c.add(CategoryBit.unknown);
    c.walk(raw.stmt);
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

function intConst(node: unknown): number | null | 'all' {
  if (node === undefined || node === null || typeof node !== 'object') return null;
  const cast = (node as Json).TypeCast as Json | undefined;
  // LIMIT '100000'::int and LIMIT 100000::bigint are the same constant.
  if (cast !== undefined) return intConst(cast.arg);
  const k = (node as Json).A_Const as Json | undefined;
  if (k === undefined) return null;
  if (k.isnull === true) return 'all';
  const sv = k.sval as Json | undefined;
  if (sv !== undefined) {
    const n = Number(typeof sv.sval === 'string' ? sv.sval.trim() : NaN);
    return Number.isFinite(n) ? n : null;
  }
  const i = k.ival as Json | undefined;
  if (i !== undefined) return typeof i.ival === 'number' ? i.ival : 0;
  const f = k.fval as Json | undefined;
  if (f !== undefined && typeof f.fval === 'string') {
    const n = Number(f.fval);
    return Number.isFinite(n) ? n : null;
  }
  return null;
}

function isAggregateOrConstant(target: unknown): boolean {
  const r = (target as Json).ResTarget as Json | undefined;
  const val = r?.val as Json | undefined;
  if (val === undefined) return false;
  if (val.A_Const !== undefined) return true;
  const fc = val.FuncCall as Json | undefined;
  if (fc === undefined || fc.over !== undefined) return false;
  const names = fc.funcname as unknown[] | undefined;
  const last = names?.[names.length - 1] as Json | undefined;
  const name = ((last?.String as Json | undefined)?.sval as string | undefined)?.toLowerCase() ?? '';
  return AGGREGATE_FUNCTIONS.has(name);
}

function hasFuncCall(node: unknown): boolean {
  if (node === null || typeof node !== 'object') return false;
  if (Array.isArray(node)) return node.some(hasFuncCall);
  for (const k in node as Json) {
    if (k === 'FuncCall' || k === 'SubLink') return true;
    if (hasFuncCall((node as Json)[k])) return true;
  }
  return false;
}

/** Row bound of a SELECT: its LIMIT constant, VALUES, one aggregate row, or a FROM-less constant row. */
function selectShape(s: Json): { limit: number | null; bounded: boolean } {
  const lim = intConst(s.limitCount);
  const limit = typeof lim === 'number' ? lim : null;
  if (limit !== null) return { limit, bounded: true };
  if (s.op !== undefined && s.op !== 'SETOP_NONE') return { limit: null, bounded: false };
  if (Array.isArray(s.valuesLists)) return { limit: null, bounded: true };
  const targets = Array.isArray(s.targetList) ? s.targetList : [];
  const grouped = Array.isArray(s.groupClause) && s.groupClause.length > 0;
  if (!grouped && targets.length > 0 && targets.every(isAggregateOrConstant)) return { limit: null, bounded: true };
  if (s.fromClause === undefined && !hasFuncCall(targets)) return { limit: null, bounded: true };
  return { limit: null, bounded: false };
}

function unwrapSelect(node: unknown): Json | undefined {
  if (node === null || typeof node !== 'object') return undefined;
  return (node as Json).SelectStmt as Json | undefined;
}

function shapeOf(kind: string, node: Json): { limit: number | null; bounded: boolean } {
  switch (kind) {
    case 'SelectStmt':
      return selectShape(node);
    case 'DeclareCursorStmt':
    case 'PrepareStmt': {
      const s = unwrapSelect(node.query);
      return s === undefined ? { limit: null, bounded: false } : selectShape(s);
    }
    case 'InsertStmt': {
      const s = unwrapSelect(node.selectStmt);
      if (s === undefined) return { limit: null, bounded: true }; // INSERT … DEFAULT VALUES
      return { limit: null, bounded: selectShape(s).bounded };
    }
    case 'FetchStmt': {
      if (node.ismove === true) return { limit: null, bounded: true }; // MOVE returns no rows
      const n = typeof node.howMany === 'number' ? node.howMany : 1;
      return n >= FETCH_ALL ? { limit: null, bounded: false } : { limit: n, bounded: true };
    }
    case 'UpdateStmt':
    case 'DeleteStmt':
    case 'MergeStmt':
    case 'CopyStmt':
    case 'ExecuteStmt':
    case 'CallStmt':
    case 'ExplainStmt':
    case 'CreateTableAsStmt':
    case 'DoStmt':
      return { limit: null, bounded: false };
    default:
      // Utility statements return no row stream.
      return { limit: null, bounded: true };
  }
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
  const c = new Collector(text, 0, nested);
  if (STATEMENT_CATEGORY[kind] === undefined) c.add(CategoryBit.unknown);
  c.walk(raw.stmt);
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
