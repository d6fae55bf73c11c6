// Facts from PL/pgSQL code (DO blocks, function bodies): a walk of the whole PL/pgSQL tree through an allow-list of node
// types and fields. Every SQL text in it is analyzed — statements, expressions, and assignments with their targets —
// dynamic EXECUTE is privileged, and anything the allow-list does not know makes the code opaque (the caller fails closed).
import { CategoryBit } from './categories.js';
import { parsePlpgsql, scanSql } from './parse.js';
import { DYNAMIC_PLPGSQL_FIELDS, DYNAMIC_PLPGSQL_NODES, PARSE_MODE, PLPGSQL_NODES, type PlFieldKind } from './plpgsql-schema.js';
import type { NestedFacts } from './collector.js';

type Json = Record<string, unknown>;

/** What the walk found: SQL texts to analyze, categories known from the tree itself, and why it gave up (if it did). */
interface PlWalk {
  readonly texts: string[];
  mask: number;
  opaque: string | null;
}

function isObject(v: unknown): v is Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function giveUp(w: PlWalk, why: string): void {
  w.opaque ??= why;
}

/** The single `{ Type: {…} }` wrapper libpg-query writes around every node, or null. */
function unwrap(v: unknown): [string, Json] | null {
  if (!isObject(v)) return null;
  const keys = Object.keys(v);
  if (keys.length !== 1) return null;
  const body = v[keys[0]!];
  return isObject(body) ? [keys[0]!, body] : null;
}

/**
 * The target of an assignment (`a[i] := …`, `rec.f[x] = …`) as PostgreSQL's grammar reads it (PLAssignStmt:
 * plassign_target opt_indirection plassign_equals PLpgSQL_Expr), split by the server's own scanner. The subscripts of
 * the target are evaluated when the assignment runs, so both sides are analyzed: `SELECT <target>` and
 * `SELECT <expression>`. Null when the text does not have that shape (the caller fails closed).
 */
export function assignmentTexts(query: string): string[] | null {
  const scanned = scanSql(query);
  if (scanned === null) return null;
  // Comments are tokens of libpg-query's scanner but not of the grammar.
  const tokens = scanned.filter((t) => t.tokenName !== 'SQL_COMMENT' && t.tokenName !== 'C_COMMENT');
  if (tokens.length < 2) return null;
  const first = tokens[0]!;
  // plassign_target: ColId (an identifier or a non-reserved keyword) or a parameter ($1).
  if (!(first.tokenName === 'IDENT' || first.tokenName === 'PARAM' || first.keywordKind === 1 || first.keywordKind === 2)) return null;
  let i = 1;
  while (i < tokens.length) {
    const t = tokens[i]!;
    if (t.text === '.') {
      // '.' attr_name (any identifier or keyword) or '.' '*'
      const next = tokens[i + 1];
      if (next === undefined || !(next.tokenName === 'IDENT' || next.keywordKind !== 0 || next.text === '*')) return null;
      i += 2;
      continue;
    }
    if (t.text === '[') {
      let depth = 0;
      for (; i < tokens.length; i++) {
        const x = tokens[i]!.text;
        if (x === '[') depth++;
        else if (x === ']' && --depth === 0) break;
      }
      if (depth !== 0) return null;
      i++;
      continue;
    }
    break;
  }
  const equals = tokens[i];
  if (equals === undefined || (equals.text !== ':=' && equals.text !== '=')) return null;
  const bytes = Buffer.from(query, 'utf8');
  const target = bytes.subarray(0, equals.start).toString('utf8');
  const value = bytes.subarray(equals.end).toString('utf8');
  return [`SELECT ${target}`, `SELECT ${value}`];
}

/** The SQL texts that stand for one PLpgSQL_expr, as the server will parse it; null when the mode is not known. */
function textsOfExpression(query: string, mode: number): string[] | null {
  switch (mode) {
    case PARSE_MODE.statement:
      return [query];
    case PARSE_MODE.expression:
      // PLpgSQL_Expr is a SELECT without the keyword (target list, FROM, WHERE, … all allowed).
      return [`SELECT ${query}`];
    case PARSE_MODE.assign1:
    case PARSE_MODE.assign2:
    case PARSE_MODE.assign3:
      return assignmentTexts(query);
    default:
      return null;
  }
}

function walkExpression(value: unknown, w: PlWalk, where: string): void {
  const node = unwrap(value);
  if (node === null || node[0] !== 'PLpgSQL_expr') return giveUp(w, `${where} is not an expression`);
  const e = node[1];
  for (const k of Object.keys(e)) if (k !== 'query' && k !== 'parseMode') return giveUp(w, `unknown field PLpgSQL_expr.${k}`);
  if (typeof e.query !== 'string' || typeof e.parseMode !== 'number') return giveUp(w, `${where} has no query text or parse mode`);
  const texts = textsOfExpression(e.query, e.parseMode);
  if (texts === null) return giveUp(w, `${where} has a text pgwarden cannot split (parse mode ${e.parseMode})`);
  w.texts.push(...texts);
}

function walkField(kind: PlFieldKind, value: unknown, w: PlWalk, where: string): void {
  switch (kind) {
    case 'int':
      if (typeof value !== 'number') giveUp(w, `${where} is not a number`);
      return;
    case 'bool':
      if (typeof value !== 'boolean') giveUp(w, `${where} is not a boolean`);
      return;
    case 'name':
      if (typeof value !== 'string') giveUp(w, `${where} is not a string`);
      return;
    case 'expr':
      return walkExpression(value, w, where);
    case 'exprs':
      if (!Array.isArray(value)) return giveUp(w, `${where} is not a list`);
      for (const v of value) walkExpression(v, w, where);
      return;
    case 'node':
      return walkNode(value, w, where);
    case 'nodes':
      if (!Array.isArray(value)) return giveUp(w, `${where} is not a list`);
      for (const v of value) walkNode(v, w, where);
      return;
    case 'rowFields':
      if (!Array.isArray(value)) return giveUp(w, `${where} is not a list`);
      for (const f of value) {
        if (f === null) continue;
        if (!isObject(f)) return giveUp(w, `${where} has an entry that is not an object`);
        for (const [k, v] of Object.entries(f)) {
          if (!((k === 'name' && typeof v === 'string') || (k === 'varno' && typeof v === 'number'))) return giveUp(w, `${where} has an unknown entry ${k}`);
        }
      }
      return;
  }
}

function walkNode(value: unknown, w: PlWalk, where: string): void {
  if (w.opaque !== null) return;
  const node = unwrap(value);
  if (node === null) return giveUp(w, `${where} is not a node`);
  const [type, body] = node;
  const fields = PLPGSQL_NODES[type];
  if (fields === undefined) return giveUp(w, `unknown PL/pgSQL node ${type}`);
  if (DYNAMIC_PLPGSQL_NODES.has(type)) w.mask |= CategoryBit.privileged;
  for (const [field, v] of Object.entries(body)) {
    const kind = fields[field];
    if (kind === undefined) return giveUp(w, `unknown field ${type}.${field}`);
    if (DYNAMIC_PLPGSQL_FIELDS.has(field)) w.mask |= CategoryBit.privileged;
    walkField(kind, v, w, `${type}.${field}`);
    if (w.opaque !== null) return;
  }
}

/** The SQL texts in the PL/pgSQL functions of a statement text and the categories the tree itself implies; a reason when opaque. */
export function plpgsqlTexts(statementText: string): { texts: string[]; mask: number } | { opaque: string } {
  const parsed = parsePlpgsql(statementText);
  // No function found means the body was not read as PL/pgSQL at all: opaque, so the caller fails closed.
  if (!parsed.ok) return { opaque: parsed.error };
  return plpgsqlTreeTexts(parsed.funcs);
}

/** The same for an already parsed tree (libpg-query's `plpgsql_funcs`). */
export function plpgsqlTreeTexts(funcs: readonly unknown[]): { texts: string[]; mask: number } | { opaque: string } {
  if (funcs.length === 0) return { opaque: 'no PL/pgSQL function found' };
  const w: PlWalk = { texts: [], mask: 0, opaque: null };
  for (const f of funcs) {
    const node = unwrap(f);
    // libpg-query returns a function without `action` when the language is not (exactly) plpgsql.
    if (node === null || node[0] !== 'PLpgSQL_function' || node[1].action === undefined) return { opaque: 'not a PL/pgSQL function' };
    walkNode(f, w, 'function');
    if (w.opaque !== null) return { opaque: w.opaque };
  }
  return { texts: w.texts, mask: w.mask };
}

/**
 * Facts of the PL/pgSQL functions in a statement text. `analyzeSql` reads each embedded statement or expression; null
 * means the code could not be read completely (the caller fails closed).
 */
export function plpgsqlFacts(
  statementText: string,
  depth: number,
  analyzeSql: (text: string, depth: number) => NestedFacts | null,
): NestedFacts | null {
  const found = plpgsqlTexts(statementText);
  if ('opaque' in found) return null;
  const tables = new Set<string>();
  const columns = new Set<string>();
  const columnsWritten = new Set<string>();
  const functions = new Set<string>();
  const shapeParts: string[] = [];
  let mask = found.mask;
  for (const q of found.texts) {
    const f = analyzeSql(q, depth);
    if (f === null) {
      // A text the parser rejects is code pgwarden cannot read: fail closed, but keep what the rest names.
      mask |= CategoryBit.privileged;
      continue;
    }
    mask |= f.mask;
    for (const t of f.tables) tables.add(t);
    for (const x of f.columns) columns.add(x);
    for (const x of f.columnsWritten) columnsWritten.add(x);
    for (const x of f.functions) functions.add(x);
    for (const x of f.shapeParts) shapeParts.push(x);
  }
  return { mask, tables, columns, columnsWritten, functions, shapeParts };
}
