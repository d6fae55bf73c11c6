// StatementFacts as a frozen class instance whose fingerprint and normalized text are computed on first read.
import { createHash } from 'node:crypto';
import { fingerprintSql, normalizeSql } from './parse.js';
import { redactSecrets } from './redact.js';
import type { Category, StatementFacts } from './types.js';

type Transaction = StatementFacts['transaction'];

/** The data fields of a statement; fingerprint and normalized come from `source` on demand. */
export type StatementData = Omit<StatementFacts, 'fingerprint' | 'normalized'>;

/** Shared lazily-filled cache of the two extra parses, so copies made by session merges reuse them. */
/** Prefix of a shape part that is a nested SQL text, fingerprinted when the fingerprint is first read. */
export const NESTED_SQL_PART = 'nested-sql:';

class Derived {
  fingerprint: string | undefined;
  normalized: string | undefined;
  constructor(
    readonly source: string,
    /** Constants that are part of the statement's shape (Collector.shapeParts): nested SQL, bodies, names, settings. */
    readonly shapeParts: readonly string[],
  ) {}
}

/**
 * libpg-query's fingerprint ignores every constant — also the ones that are code or names: the query given to
 * query_to_xml, a DO or function body, `table_to_xml('customers', …)`, `SET ROLE x`. A grant for one statement's
 * fingerprint must not cover another that does something else, so those constants are hashed into it (16 more hex
 * digits). Statements without such constants keep libpg-query's fingerprint unchanged.
 */
function combinedFingerprint(d: Derived): string {
  const base = fingerprintSql(d.source);
  if (base === '' || d.shapeParts.length === 0) return base;
  const h = createHash('sha256');
  for (const p of d.shapeParts) {
    // Nested SQL counts by its own fingerprint (its values may vary, its structure may not); a text that cannot be
    // fingerprinted counts verbatim.
    const part = p.startsWith(NESTED_SQL_PART) ? `sql:${fingerprintSql(p.slice(NESTED_SQL_PART.length)) || p}` : p;
    h.update(part).update('\u0000');
  }
  return base + h.digest('hex').slice(0, 16);
}

/**
 * Fingerprint and normalized text cost two more parses each (≈ as much as the parse itself) and most
 * statements never need them — only approvals, fingerprint grants and redacted audit do — so they
 * are prototype getters computed once. An object literal with getters costs ≈ 3.5 µs to build
 * (measured), a class instance ≈ 0.1 µs. `toJSON` writes every field, lazy ones included; read them
 * as properties (object spread does not copy prototype getters).
 */
export class StatementRecord implements StatementFacts {
  readonly kind: string;
  readonly categories: readonly Category[];
  readonly tables: readonly string[];
  readonly columns: readonly string[];
  readonly columnsWritten: readonly string[];
  readonly functions: readonly string[];
  readonly bounded: boolean;
  readonly limit: number | null;
  readonly transaction: Transaction;
  readonly text: string;
  readonly prepares?: string;
  readonly executes?: string;
  readonly setsReason?: string;
  readonly #derived: Derived;

  private constructor(data: StatementData, derived: Derived) {
    this.kind = data.kind;
    this.categories = data.categories;
    this.tables = data.tables;
    this.columns = data.columns;
    this.columnsWritten = data.columnsWritten;
    this.functions = data.functions;
    this.bounded = data.bounded;
    this.limit = data.limit;
    this.transaction = data.transaction;
    this.text = data.text;
    if (data.prepares !== undefined) this.prepares = data.prepares;
    if (data.executes !== undefined) this.executes = data.executes;
    if (data.setsReason !== undefined) this.setsReason = data.setsReason;
    this.#derived = derived;
    Object.freeze(this);
  }

  /** A frozen statement whose fingerprint/normalized text are derived from `source` when first read. */
  static create(data: StatementData, source: string, shapeParts: readonly string[] = []): StatementRecord {
    return new StatementRecord(data, new Derived(source, Object.freeze([...shapeParts])));
  }

  /** Whether constants of this statement are part of its shape (then facts of a look-alike text must not be reused). */
  get hasShapeParts(): boolean {
    return this.#derived.shapeParts.length > 0;
  }

  get fingerprint(): string {
    const d = this.#derived;
    return (d.fingerprint ??= combinedFingerprint(d));
  }

  get normalized(): string {
    const d = this.#derived;
    // Literals become $n; what normalize keeps as written (COPY file names, ALTER SYSTEM values) is stripped of secrets.
    return (d.normalized ??= redactSecrets(normalizeSql(d.source)));
  }

  /**
   * A copy with some fields replaced (session merges), sharing the derived fingerprint/normalized; with `extraShape`
   * (an EXECUTE resolved to its prepared statement) the fingerprint also covers what is executed.
   */
  with(changes: Partial<StatementData>, extraShape?: readonly string[]): StatementRecord {
    const d = this.#derived;
    const derived = extraShape === undefined || extraShape.length === 0 ? d : new Derived(d.source, Object.freeze([...d.shapeParts, ...extraShape]));
    return new StatementRecord({ ...this.data(), ...changes }, derived);
  }

  private data(): StatementData {
    return {
      kind: this.kind, categories: this.categories, tables: this.tables, columns: this.columns,
      columnsWritten: this.columnsWritten, functions: this.functions, bounded: this.bounded, limit: this.limit,
      transaction: this.transaction, text: this.text, prepares: this.prepares, executes: this.executes,
      setsReason: this.setsReason,
    };
  }

  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = {
      kind: this.kind, categories: this.categories, tables: this.tables, columns: this.columns,
      columnsWritten: this.columnsWritten, functions: this.functions, bounded: this.bounded, limit: this.limit,
      transaction: this.transaction, fingerprint: this.fingerprint, normalized: this.normalized, text: this.text,
    };
    if (this.prepares !== undefined) out.prepares = this.prepares;
    if (this.executes !== undefined) out.executes = this.executes;
    if (this.setsReason !== undefined) out.setsReason = this.setsReason;
    return out;
  }
}

/** `s` with some fields replaced, whatever kind of StatementFacts object it is. */
export function withChanges(s: StatementFacts, changes: Partial<StatementData>, extraShape?: readonly string[]): StatementFacts {
  if (s instanceof StatementRecord) return s.with(changes, extraShape);
  return Object.freeze({ ...s, ...changes });
}
