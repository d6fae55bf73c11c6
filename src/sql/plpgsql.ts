// Facts from PL/pgSQL code (DO blocks, function bodies): every embedded statement counts, dynamic EXECUTE is privileged.
import { CategoryBit } from './categories.js';
import { parsePlpgsql } from './parse.js';
import type { NestedFacts } from './walk.js';

type Json = Record<string, unknown>;

/** PL/pgSQL statement types that run a query built at run time (EXECUTE, FOR … IN EXECUTE, OPEN … FOR EXECUTE). */
const DYNAMIC_STATEMENTS: ReadonlySet<string> = new Set(['PLpgSQL_stmt_dynexecute', 'PLpgSQL_stmt_dynfors']);

/**
 * PL/pgSQL expression parse modes (RawParseMode in PostgreSQL's parser.h): 0 is a whole statement,
 * 2 an expression, 3–5 an assignment `target := expr`.
 */
function sqlOfExpression(query: string, mode: number): string {
  if (mode === 0) return query;
  if (mode >= 3 && mode <= 5) {
    let at = query.indexOf(':=');
    let skip = 2;
    if (at < 0) {
      at = query.indexOf('=');
      skip = 1;
    }
    return `SELECT ${at < 0 ? query : query.slice(at + skip)}`;
  }
  return `SELECT ${query}`;
}

function collect(node: unknown, queries: string[], state: { mask: number }): void {
  if (node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const n of node) collect(n, queries, state);
    return;
  }
  const obj = node as Json;
  for (const key in obj) {
    const v = obj[key];
    if (DYNAMIC_STATEMENTS.has(key) || key === 'dynquery') state.mask |= CategoryBit.privileged;
    if (key === 'PLpgSQL_expr' && v !== null && typeof v === 'object') {
      const e = v as Json;
      if (typeof e.query === 'string') queries.push(sqlOfExpression(e.query, typeof e.parseMode === 'number' ? e.parseMode : 2));
      continue;
    }
    if (v !== null && typeof v === 'object') collect(v, queries, state);
  }
}

/**
 * Facts of the PL/pgSQL functions in a statement text. `analyzeSql` reads each embedded statement or
 * expression; null means the code could not be read (the caller fails closed).
 */
export function plpgsqlFacts(
  statementText: string,
  depth: number,
  analyzeSql: (text: string, depth: number) => NestedFacts | null,
): NestedFacts | null {
  const parsed = parsePlpgsql(statementText);
  // No function found means the body was not read as PL/pgSQL at all: opaque, so the caller fails closed.
  if (!parsed.ok || parsed.funcs.length === 0) return null;
  // libpg-query returns a function without `action` when the language is not (exactly) plpgsql.
  for (const f of parsed.funcs) if (((f as Json).PLpgSQL_function as Json | undefined)?.action === undefined) return null;
  const queries: string[] = [];
  const state = { mask: 0 };
  collect(parsed.funcs, queries, state);
  const tables = new Set<string>();
  const columns = new Set<string>();
  const columnsWritten = new Set<string>();
  const functions = new Set<string>();
  let mask = state.mask;
  for (const q of queries) {
    const f = analyzeSql(q, depth);
    if (f === null) {
      mask |= CategoryBit.privileged;
      continue;
    }
    mask |= f.mask;
    for (const t of f.tables) tables.add(t);
    for (const x of f.columns) columns.add(x);
    for (const x of f.columnsWritten) columnsWritten.add(x);
    for (const x of f.functions) functions.add(x);
  }
  return { mask, tables, columns, columnsWritten, functions };
}
