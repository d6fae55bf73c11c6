// Facts for the fast-path FunctionCall protocol message: only large-object calls libpq makes are known; anything else is privileged.
import { CategoryBit, categoriesFromMask } from './categories.js';
import type { StatementFacts, TextFacts } from './types.js';

/**
 * Function OIDs libpq's client-side lo_* API calls through FunctionCall (fe-lobj.c), as in
 * PostgreSQL 15's pg_proc (verified with `SELECT oid, proname FROM pg_proc WHERE proname ~ '^lo'`).
 * Server-file ones (lo_import, lo_export) read or write files on the server: privileged.
 */
const FASTPATH_FUNCTIONS: ReadonlyMap<number, { name: string; bit: number }> = new Map([
  [952, { name: 'lo_open', bit: CategoryBit.read }],
  [953, { name: 'lo_close', bit: CategoryBit.read }],
  [954, { name: 'loread', bit: CategoryBit.read }],
  [955, { name: 'lowrite', bit: CategoryBit.write }],
  [956, { name: 'lo_lseek', bit: CategoryBit.read }],
  [3170, { name: 'lo_lseek64', bit: CategoryBit.read }],
  [957, { name: 'lo_creat', bit: CategoryBit.write }],
  [715, { name: 'lo_create', bit: CategoryBit.write }],
  [958, { name: 'lo_tell', bit: CategoryBit.read }],
  [3171, { name: 'lo_tell64', bit: CategoryBit.read }],
  [1004, { name: 'lo_truncate', bit: CategoryBit.write }],
  [3172, { name: 'lo_truncate64', bit: CategoryBit.write }],
  [964, { name: 'lo_unlink', bit: CategoryBit.write }],
  [3458, { name: 'lo_get', bit: CategoryBit.read }],
  [3459, { name: 'lo_get', bit: CategoryBit.read }],
  [3460, { name: 'lo_put', bit: CategoryBit.write }],
  [3457, { name: 'lo_from_bytea', bit: CategoryBit.write }],
  [764, { name: 'lo_import', bit: CategoryBit.privileged }],
  [767, { name: 'lo_import', bit: CategoryBit.privileged }],
  [765, { name: 'lo_export', bit: CategoryBit.privileged }],
]);

const cache = new Map<number, TextFacts>();

/** Facts for a FunctionCall message calling function `oid` (kind `FunctionCall`). Unknown OIDs are privileged. */
export function functionCallFacts(oid: number): TextFacts {
  const hit = cache.get(oid);
  if (hit !== undefined) return hit;
  const known = Number.isInteger(oid) ? FASTPATH_FUNCTIONS.get(oid) : undefined;
  const name = known?.name ?? String(oid);
  const text = `fastpath function call ${name}`;
  const categories = categoriesFromMask(known?.bit ?? CategoryBit.privileged);
  const stmt: StatementFacts = Object.freeze({
    kind: 'FunctionCall',
    categories,
    tables: Object.freeze([]),
    columns: Object.freeze([]),
    columnsWritten: Object.freeze([]),
    functions: Object.freeze(known !== undefined ? [`pg_catalog.${known.name}`] : [String(oid)]),
    bounded: true,
    limit: null,
    transaction: null,
    fingerprint: '',
    normalized: text,
    text,
  });
  const facts: TextFacts = Object.freeze({ text, statements: Object.freeze([stmt]), categories, parseError: null });
  // Bounded: only known OIDs are cached; unknown ones are rare and must not grow the map without limit.
  if (known !== undefined) cache.set(oid, facts);
  return facts;
}
