// Compiles a rule's `match` clause once at load into plain data + tests, and matches one statement against it.
import picomatch from 'picomatch';
import { CATEGORIES, type Category, type StatementFacts } from '../sql/types.js';
import { compileAddresses, type AddressMatcher } from './address.js';
import { resolveKind } from './kinds.js';
import { anyNameMatches, compileNameGlob, matchesName, type NameGlob } from './name-glob.js';
import type { MatchInput } from './schema.js';
import { compileTimeWindow, inWindow, type TimeWindow } from './time-window.js';
import type { Actor, SessionInfo } from './verdict.js';

type Test = (text: string) => boolean;

/** Bit per category, in CATEGORIES order. */
export const CATEGORY_BIT: Readonly<Record<Category, number>> = Object.fromEntries(CATEGORIES.map((c, i) => [c, 1 << i])) as Record<Category, number>;

export function categoryMask(categories: readonly Category[]): number {
  let mask = 0;
  for (let i = 0; i < categories.length; i++) mask |= CATEGORY_BIT[categories[i]!];
  return mask;
}

/** A qualified column pattern (`customers.email`) also needs a table matching its first part. */
interface ColumnGlob {
  readonly column: Test;
  readonly table: NameGlob | null;
}

export interface CompiledMatch {
  /** 0 = any category. */
  readonly categories: number;
  readonly kinds: ReadonlySet<string> | null;
  readonly tables: readonly NameGlob[] | null;
  /** Every table the statement names must match one of these (and it must name at least one). */
  readonly onlyTables: readonly NameGlob[] | null;
  readonly columns: readonly ColumnGlob[] | null;
  readonly functions: readonly NameGlob[] | null;
  readonly database: Test | null;
  readonly bounded: boolean | null;
  /** Statement fingerprints (lowercase hex): the statement's own fingerprint must be one of them. */
  readonly fingerprints: ReadonlySet<string> | null;
  readonly user: Test | null;
  readonly application: Test | null;
  readonly address: AddressMatcher | null;
  /** Authenticated identity (falls back to user in passthrough mode). */
  readonly identity: Test | null;
  /** Any of the actor's groups matches. */
  readonly groups: Test | null;
  readonly auth: ReadonlySet<string> | null;
  readonly time: readonly TimeWindow[] | null;
  readonly not: readonly CompiledMatch[] | null;
  /** True when this clause or an exception looks at the clock: verdicts that consulted it are not cached. */
  readonly isTimeDependent: boolean;
}

/** Outcome flags of one match test, reused across calls (evaluation allocates nothing per rule). */
export interface MatchProbe {
  consultedTime: boolean;
}

function globs(patterns: readonly string[] | undefined, nocase: boolean): Test | null {
  if (!patterns) return null;
  return picomatch(patterns as string[], { nocase, dot: true });
}

function compileColumn(pattern: string): ColumnGlob {
  const dot = pattern.lastIndexOf('.');
  if (dot < 0) return { column: picomatch(pattern, { nocase: true, dot: true }), table: null };
  return { column: picomatch(pattern.slice(dot + 1), { nocase: true, dot: true }), table: compileNameGlob(pattern.slice(0, dot)) };
}

export function compileMatch(input: MatchInput): CompiledMatch {
  const not = input.not?.map(compileMatch) ?? null;
  const kinds = input.kind ? new Set(input.kind.flatMap((k) => resolveKind(k) ?? [])) : null;
  return {
    categories: input.category ? categoryMask(input.category) : 0,
    kinds,
    tables: input.tables?.map(compileNameGlob) ?? null,
    onlyTables: input.only_tables?.map(compileNameGlob) ?? null,
    columns: input.columns?.map(compileColumn) ?? null,
    functions: input.functions?.map(compileNameGlob) ?? null,
    // Database and role names are case-sensitive in PostgreSQL when quoted; match them exactly.
    database: globs(input.database, false),
    bounded: input.bounded ?? null,
    fingerprints: input.fingerprint ? new Set(input.fingerprint.map((f) => f.toLowerCase())) : null,
    user: globs(input.actor?.user, false),
    application: globs(input.actor?.application, false),
    address: input.actor?.address ? compileAddresses(input.actor.address) : null,
    identity: globs(input.actor?.identity, false),
    groups: globs(input.actor?.groups, false),
    auth: input.actor?.auth ? new Set(input.actor.auth) : null,
    time: input.time?.map(compileTimeWindow) ?? null,
    not,
    isTimeDependent: input.time !== undefined || (not?.some((m) => m.isTimeDependent) ?? false),
  };
}

/**
 * Columns: the column part must match a column the statement reads or writes (`*` counts as every
 * column); a table part must match one of the statement's tables. pgwarden does not resolve
 * aliases or which table an unqualified column belongs to, so it errs towards matching.
 */
function columnsMatch(globsList: readonly ColumnGlob[], stmt: StatementFacts): boolean {
  for (let g = 0; g < globsList.length; g++) {
    const glob = globsList[g]!;
    if (glob.table !== null && !anyTableMatches(glob.table, stmt.tables)) continue;
    if (anyColumnMatches(glob.column, stmt.columns) || anyColumnMatches(glob.column, stmt.columnsWritten)) return true;
  }
  return false;
}

function everyNameMatches(globsList: readonly NameGlob[], names: readonly string[]): boolean {
  if (names.length === 0) return false;
  for (let i = 0; i < names.length; i++) {
    let hit = false;
    for (let j = 0; j < globsList.length && !hit; j++) hit = matchesName(globsList[j]!, names[i]!);
    if (!hit) return false;
  }
  return true;
}

function anyTableMatches(glob: NameGlob, tables: readonly string[]): boolean {
  for (let i = 0; i < tables.length; i++) if (matchesName(glob, tables[i]!)) return true;
  return false;
}

function anyColumnMatches(test: Test, columns: readonly string[]): boolean {
  for (let i = 0; i < columns.length; i++) {
    const c = columns[i]!;
    const dot = c.lastIndexOf('.');
    const name = dot < 0 ? c : c.slice(dot + 1);
    if (name === '*' || test(name)) return true;
  }
  return false;
}

function anyGroupMatches(test: Test, groups: readonly string[] | undefined): boolean {
  if (!groups) return false;
  for (let i = 0; i < groups.length; i++) if (test(groups[i]!)) return true;
  return false;
}

/** All present keys must match (lists: any value), and no `not` clause may match. Cheapest tests first. */
export function testMatch(m: CompiledMatch, stmt: StatementFacts, stmtCategories: number, actor: Actor, session: SessionInfo, probe: MatchProbe): boolean {
  if (m.categories !== 0 && (m.categories & stmtCategories) === 0) return false;
  if (m.kinds !== null && !m.kinds.has(stmt.kind)) return false;
  if (m.bounded !== null && m.bounded !== stmt.bounded) return false;
  if (m.user !== null && !m.user(actor.user)) return false;
  if (m.application !== null && !m.application(actor.application)) return false;
  if (m.database !== null && !m.database(session.database)) return false;
  if (m.address !== null && !m.address.matches(actor.address)) return false;
  if (m.identity !== null && !m.identity(actor.identity ?? actor.user)) return false;
  if (m.groups !== null && !anyGroupMatches(m.groups, actor.groups)) return false;
  if (m.auth !== null && !m.auth.has(actor.auth ?? 'passthrough')) return false;
  // After the actor tests: a statement's fingerprint is computed on first read (sql/statement-record.ts).
  if (m.fingerprints !== null && !m.fingerprints.has(stmt.fingerprint)) return false;
  if (m.tables !== null && !anyNameMatches(m.tables, stmt.tables)) return false;
  if (m.onlyTables !== null && !everyNameMatches(m.onlyTables, stmt.tables)) return false;
  if (m.functions !== null && !anyNameMatches(m.functions, stmt.functions)) return false;
  if (m.columns !== null && !columnsMatch(m.columns, stmt)) return false;
  if (m.time !== null) {
    probe.consultedTime = true;
    let inside = false;
    for (let i = 0; i < m.time.length && !inside; i++) inside = inWindow(m.time[i]!, session.now);
    if (!inside) return false;
  }
  if (m.not !== null) {
    for (let i = 0; i < m.not.length; i++) if (testMatch(m.not[i]!, stmt, stmtCategories, actor, session, probe)) return false;
  }
  return true;
}
