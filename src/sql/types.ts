// The facts pgwarden knows about a SQL text: what the policy matches on. Pure types, shared by proxy, policy and approvals.

/** Ordered from least to most sensitive; `unknown` (did not parse) is outside the order and fails closed. */
export const CATEGORIES = ['read', 'write', 'export', 'ddl', 'grant', 'privileged', 'unknown'] as const;
export type Category = (typeof CATEGORIES)[number];

/** Facts about one statement in a text. Immutable and shared through the parse cache. */
export interface StatementFacts {
  /** libpg-query top node name, e.g. `SelectStmt`, `CopyStmt`; `FunctionCall` for the fast-path protocol; `Unknown` when unparsed. */
  readonly kind: string;
  /** Every category that applies, deduplicated, in CATEGORIES order. */
  readonly categories: readonly Category[];
  /** Tables and views referenced, schema-qualified where written so (`public.users`, `users`). Lowercased unless quoted. */
  readonly tables: readonly string[];
  /** Columns read, qualified by the table or alias when written so (`users.email`, `email`). */
  readonly columns: readonly string[];
  /** Columns written (INSERT column lists, UPDATE SET targets). */
  readonly columnsWritten: readonly string[];
  /** Functions called, schema-qualified where written so (`pg_catalog.pg_read_file`). */
  readonly functions: readonly string[];
  /** True when a static row bound exists (LIMIT n, aggregate without GROUP BY, INSERT … VALUES). */
  readonly bounded: boolean;
  /** The LIMIT constant, when there is one. */
  readonly limit: number | null;
  /** Transaction control this statement performs, if any. */
  readonly transaction: 'begin' | 'commit' | 'rollback' | 'savepoint' | 'release' | 'rollback_to' | 'prepare' | null;
  /** libpg-query fingerprint (hex): identical for statements of the same shape. Empty when unparsed. */
  readonly fingerprint: string;
  /** Text with literals replaced by `$n` placeholders: safe to show when literals must not leak. */
  readonly normalized: string;
  /** This statement's own slice of the original text. */
  readonly text: string;
  /** For `PREPARE name AS …`: the name being prepared (the session remembers its facts). */
  readonly prepares?: string;
  /** For `EXECUTE name`: the name executed (facts merged from the session's prepared statement). */
  readonly executes?: string;
  /** For `SET pgwarden.reason = '…'`: the reason the agent states for what follows in this session. */
  readonly setsReason?: string;
}

/** Facts for a whole text as a client sent it (one Query or Parse message). */
export interface TextFacts {
  readonly text: string;
  readonly statements: readonly StatementFacts[];
  /** Union of all statements' categories, in CATEGORIES order. */
  readonly categories: readonly Category[];
  /** Parser message when the text did not parse (then categories is ['unknown']). */
  readonly parseError: string | null;
}

/** Options that change classification (so a cache is bound to one set of them). */
export interface AnalyzeOptions {
  /** A LIMIT above this makes a statement an `export`. */
  readonly maxRows: number;
}

/** Per-session SQL state the analyzer needs: SQL-level PREPARE names and their facts. */
export interface SqlSession {
  readonly prepared: Map<string, TextFacts>;
}
