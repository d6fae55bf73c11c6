// Static row bounds: which SELECTs return (or aggregate over) at most a known number of rows, and the LIMIT constant.
import { AGGREGATE_FUNCTIONS } from './categories.js';
import type { Json } from './ast-names.js';

/** libpg-query's FETCH ALL count (INT_MAX in the JSON): not a bound. */
const FETCH_ALL = 2147483647;

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
export function selectShape(s: Json): { limit: number | null; bounded: boolean } {
  // Only a constant bounds: LIMIT 49999+1, LIMIT $1 or LIMIT (SELECT …) can be anything when it runs.
  const lim = intConst(s.limitCount);
  const limit = typeof lim === 'number' ? lim : null;
  // FETCH FIRST n ROWS WITH TIES returns at least n rows and every row that ties with the last one: no bound.
  if (s.limitOption === 'LIMIT_OPTION_WITH_TIES') return { limit, bounded: false };
  if (limit !== null) return { limit, bounded: true };
  if (s.op !== undefined && s.op !== 'SETOP_NONE') return { limit: null, bounded: false };
  if (Array.isArray(s.valuesLists)) return { limit: null, bounded: true };
  const targets = Array.isArray(s.targetList) ? s.targetList : [];
  const grouped = Array.isArray(s.groupClause) && s.groupClause.length > 0;
  if (!grouped && targets.length > 0 && targets.every(isAggregateOrConstant)) return { limit: null, bounded: true };
  if (s.fromClause === undefined && !hasFuncCall(targets)) return { limit: null, bounded: true };
  return { limit: null, bounded: false };
}

export function unwrapSelect(node: unknown): Json | undefined {
  if (node === null || typeof node !== 'object') return undefined;
  return (node as Json).SelectStmt as Json | undefined;
}

export function shapeOf(kind: string, node: Json): { limit: number | null; bounded: boolean } {
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


/** A row set (a SELECT node, wrapped) of at most `maxRows` rows: VALUES, one aggregate row, or a constant LIMIT ≤ maxRows. */
export function isRowSetBounded(node: unknown, maxRows: number): boolean {
  const s = unwrapSelect(node);
  if (s === undefined) return false;
  const shape = selectShape(s);
  return shape.bounded && (shape.limit === null || shape.limit <= maxRows);
}

/**
 * Whether the rows a SELECT reads (its FROM clause) are statically bounded, so an aggregate that collects them gathers
 * at most `maxRows` rows: no FROM, or only sub-selects and VALUES that are themselves bounded. Tables, functions and
 * joins are unbounded.
 */
export function isInputBounded(s: Json, maxRows: number): boolean {
  const from = s.fromClause;
  if (from === undefined) return true;
  if (!Array.isArray(from)) return false;
  for (const item of from) {
    const sub = (item as Json).RangeSubselect as Json | undefined;
    if (sub === undefined || !isRowSetBounded(sub.subquery, maxRows)) return false;
  }
  return true;
}
