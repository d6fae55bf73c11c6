// libpg-query wrappers: load the WebAssembly parser once, then parse synchronously and never throw.
import * as pg from 'libpg-query';

let loaded: Promise<void> | null = null;
let ready = false;

/** Loads the parser's WebAssembly module once; later calls return the same promise. */
export async function loadSqlParser(): Promise<void> {
  loaded ??= pg.loadModule().then(() => {
    ready = true;
  });
  return loaded;
}

export function isParserLoaded(): boolean {
  return ready;
}

function requireLoaded(): void {
  if (!ready) throw new Error('pgwarden: the SQL parser is not loaded; call await loadSqlParser() before analyzing statements');
}

/** One raw statement from libpg-query: the node plus its byte range in the UTF-8 text. */
export interface RawStatement {
  readonly stmt: Record<string, unknown>;
  readonly stmt_location?: number;
  readonly stmt_len?: number;
}

export type ParseResult =
  | { readonly ok: true; readonly stmts: readonly RawStatement[] }
  | { readonly ok: false; readonly error: string };

function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Parses SQL text; a syntax error (or any parser failure) comes back as `{ ok: false }`. */
export function parseSql(text: string): ParseResult {
  requireLoaded();
  try {
    const result = pg.parseSync(text) as unknown as { stmts?: RawStatement[] };
    return { ok: true, stmts: result.stmts ?? [] };
  } catch (err) {
    return { ok: false, error: messageOf(err) };
  }
}

/** Parses the PL/pgSQL functions (DO blocks, CREATE FUNCTION … LANGUAGE plpgsql) in a SQL text. */
export function parsePlpgsql(text: string): { ok: true; funcs: unknown[] } | { ok: false; error: string } {
  requireLoaded();
  try {
    const result = pg.parsePlPgSQLSync(text) as unknown as { plpgsql_funcs?: unknown[] };
    return { ok: true, funcs: result.plpgsql_funcs ?? [] };
  } catch (err) {
    return { ok: false, error: messageOf(err) };
  }
}

/** One token of PostgreSQL's own SQL scanner: byte offsets into the UTF-8 text, the token's text and kind. */
export interface SqlToken {
  readonly start: number;
  readonly end: number;
  readonly text: string;
  readonly tokenName: string;
  /** 0 no keyword, 1 unreserved, 2 column name, 3 type/function name, 4 reserved (PostgreSQL's keyword categories). */
  readonly keywordKind: number;
}

/** The tokens of a text as PostgreSQL's scanner reads it; null when the scanner rejects the text (e.g. an unterminated string). */
export function scanSql(text: string): readonly SqlToken[] | null {
  requireLoaded();
  try {
    return (pg.scanSync(text) as unknown as { tokens?: SqlToken[] }).tokens ?? [];
  } catch {
    return null;
  }
}

/** libpg-query fingerprint (hex), or '' when the text cannot be fingerprinted. */
export function fingerprintSql(text: string): string {
  try {
    return pg.fingerprintSync(text);
  } catch {
    return '';
  }
}

/** Text with literals replaced by `$n`; '' when the text cannot be normalized (never the raw text: literals must not leak). */
export function normalizeSql(text: string): string {
  try {
    return pg.normalizeSync(text);
  } catch {
    return '';
  }
}
