// The state one statement's walk accumulates (categories, names, nested shapes) and how nested code is reached.
import { CategoryBit } from './categories.js';

/** What a nested text (function body, query string) contributed; merged into the enclosing statement. */
export interface NestedFacts {
  readonly mask: number;
  readonly tables: Iterable<string>;
  readonly columns: Iterable<string>;
  readonly columnsWritten: Iterable<string>;
  readonly functions: Iterable<string>;
  /** Constants of the nested text that are part of its shape (see Collector.shapeParts). */
  readonly shapeParts: Iterable<string>;
}

/** How the walker reaches nested code without importing facts.ts (which imports the walker). */
export interface NestedAnalyzer {
  /** Facts of a SQL text (a SQL function body, a query-string argument); null when it does not parse. */
  sql(text: string, depth: number): NestedFacts | null;
  /** Facts of the PL/pgSQL functions in a statement text (DO, CREATE FUNCTION … plpgsql); null when it cannot be read. */
  plpgsql(statementText: string, depth: number): NestedFacts | null;
}

/** Deepest nesting of bodies inside bodies that is analyzed; deeper code is treated as opaque (privileged). */
export const MAX_NESTING = 8;

/** Inside a statement that is planned but not run (plain EXPLAIN) only these categories stick. */
const NOT_RUN_MASK = CategoryBit.read | CategoryBit.privileged;

/** Accumulates one statement's facts while walking; reused fields, no per-node allocation beyond the sets. */
export class Collector {
  mask = 0;
  /** >0 while walking a statement that is planned but not run (plain EXPLAIN). */
  notRun = 0;
  readonly tables = new Set<string>();
  readonly columns = new Set<string>();
  readonly columnsWritten = new Set<string>();
  readonly functions = new Set<string>();
  /**
   * Constants that are not values but part of what the statement does: nested SQL (its fingerprint), function and DO
   * bodies, relation names given as strings, setting names and values. libpg-query's fingerprint ignores every
   * constant, so these are added to the statement's fingerprint (a grant for one must not cover another).
   */
  readonly shapeParts: string[] = [];
  /** CTE names visible at the current point of the walk (a RangeVar naming one is not a table). */
  readonly cteScope: string[] = [];
  /** Names a single-part column reference may mean as a whole row: relation names and aliases, CTE names (`SELECT c FROM customers c`). */
  readonly rangeNames = new Map<string, string>();
  /** For each enclosing SELECT: whether the rows it reads are statically bounded (an aggregate over them collects at most that many). */
  readonly boundedInputs: boolean[] = [];
  executes: string | undefined;
  prepares: string | undefined;
  setsReason: string | undefined;

  constructor(
    readonly statementText: string,
    readonly depth: number,
    readonly nested: NestedAnalyzer,
    /** A LIMIT or collected row set above this is an export. */
    readonly maxRows: number,
  ) {}

  add(bits: number): void {
    this.mask |= this.notRun > 0 ? bits & NOT_RUN_MASK : bits;
  }

  merge(f: NestedFacts | null): void {
    if (f === null) {
      // Code we cannot read is opaque server-side code: fail closed.
      this.add(CategoryBit.privileged);
      return;
    }
    this.add(f.mask);
    for (const t of f.tables) this.tables.add(t);
    for (const c of f.columns) this.columns.add(c);
    for (const c of f.columnsWritten) this.columnsWritten.add(c);
    for (const fn of f.functions) this.functions.add(fn);
    for (const p of f.shapeParts) this.shapeParts.push(p);
  }

  /**
   * A single-part column reference that names a relation in the statement is a whole-row reference (`SELECT c FROM
   * customers c`, `row_to_json(c)`): it reads every column, so it is recorded as `c.*` — column rules match `*`.
   * PostgreSQL prefers a column of that name when one exists; pgwarden cannot know, so it errs towards the whole row.
   */
  finish(): void {
    if (this.rangeNames.size === 0) return;
    for (const col of [...this.columns]) {
      if (col.includes('.')) continue;
      if (this.rangeNames.has(col)) this.columns.add(`${col}.*`);
    }
  }
}
