// Function calls in the walk: explicit calls, calls written as field selection, nested code (query strings, bodies, DO),
// relation names given as strings, and aggregates that collect whole row sets.
import {
  CategoryBit, COLLECTING_AGGREGATES, EXPORT_FUNCTIONS, GRANT_SETTINGS, PROTECTED_CATALOGS, QUERY_STRING_FUNCTIONS,
  READABLE_LANGUAGES, READ_PROTECTED_SETTINGS, RELATION_ARGUMENT_FUNCTIONS, SCHEMA_ARGUMENT_FUNCTIONS, WHOLE_DATABASE_FUNCTIONS, WRITE_FUNCTIONS,
  isPrivilegedFunction, isPrivilegedSetting,
} from './categories.js';
import { MAX_NESTING, type Collector } from './collector.js';
import { constString, defElems, defTrue, lastName, nameList, stringOf, type Json } from './ast-names.js';
import { splitQualifiedName } from './qualified-name.js';

const P = CategoryBit.privileged;

/** A string constant, also under casts (`'customers'::regclass`, `CAST('x' AS text)`); undefined for anything else. */
export function constStringThroughCasts(node: unknown): string | undefined {
  let n = node;
  for (let i = 0; i < 8 && n !== null && typeof n === 'object'; i++) {
    const cast = (n as Json).TypeCast as Json | undefined;
    if (cast === undefined) break;
    n = cast.arg;
  }
  return constString(n);
}

/** What calling `name` does by its name alone: privileged, export, write (the same test for every way a call is written). */
function classifyByName(c: Collector, name: string): void {
  if (isPrivilegedFunction(name)) c.add(P);
  if (EXPORT_FUNCTIONS.has(name)) c.add(CategoryBit.export);
  if (WRITE_FUNCTIONS.has(name)) c.add(CategoryBit.write);
}

/**
 * A field selection `(expr).name` or `t.name` is a call of `name(expr)` when no such field exists (PostgreSQL's
 * functional notation: `SELECT ('/etc/passwd'::text).pg_read_file` reads the file). Only the name is known, so it is
 * judged by name, and the functions whose argument decides what they do are privileged.
 */
export function visitFieldSelection(c: Collector, field: string): void {
  const name = field.toLowerCase();
  const before = c.mask;
  classifyByName(c, name);
  // A query-string function runs a text pgwarden cannot see; current_setting reads a setting it cannot name.
  if (QUERY_STRING_FUNCTIONS.has(name) || name === 'current_setting' || name === 'set_config') c.add(P);
  if (COLLECTING_AGGREGATES.has(name)) c.add(CategoryBit.export);
  if (c.mask !== before) c.functions.add(field);
}

/** A relation named by a string (`table_to_xml('customers', …)`): a table it reads; a protected catalog is privileged. */
function relationArgument(c: Collector, arg: unknown): void {
  const text = constStringThroughCasts(arg);
  // A relation chosen at run time (a column, an expression) could be any table, pg_authid included: fail closed.
  if (text === undefined) return c.add(P);
  const parts = splitQualifiedName(text);
  if (parts === null) return c.add(P);
  const rel = parts[parts.length - 1]!;
  const schema = parts.length > 1 ? parts[parts.length - 2] : undefined;
  const name = parts.join('.');
  c.tables.add(name);
  c.columns.add(`${name}.*`);
  c.shapeParts.push(`relation:${name}`);
  if (PROTECTED_CATALOGS.has(rel) && (schema === undefined || schema === 'pg_catalog')) c.add(P);
}

function schemaArgument(c: Collector, arg: unknown): void {
  const text = constStringThroughCasts(arg);
  if (text === undefined) return c.add(P);
  const parts = splitQualifiedName(text);
  if (parts === null || parts.length !== 1) return c.add(P);
  const schema = parts[0]!;
  // pg_catalog holds pg_authid and the other protected catalogs.
  if (schema === 'pg_catalog' || schema.startsWith('pg_toast')) c.add(P);
  c.tables.add(`${schema}.*`);
  c.columns.add('*');
  c.shapeParts.push(`schema:${schema}`);
}

function visitSetConfig(c: Collector, args: unknown[]): void {
  const setting = constString(args[0]);
  if (setting === undefined) return c.add(P);
  const s = setting.trim().toLowerCase();
  c.shapeParts.push(`set_config:${s}=${constString(args[1]) ?? '?'}`);
  if (GRANT_SETTINGS.has(s)) c.add(CategoryBit.grant);
  else if (isPrivilegedSetting(s)) c.add(P);
  else if (s === 'pgwarden.reason') {
    const v = constString(args[1]);
    if (v !== undefined) c.setsReason = v;
  }
}

/** An aggregate that gathers its whole input into one value is an export of that input unless the input is bounded. */
function visitCollectingAggregate(c: Collector): void {
  const bounded = c.boundedInputs.length > 0 && c.boundedInputs[c.boundedInputs.length - 1] === true;
  if (!bounded) c.add(CategoryBit.export);
}

export function visitFunction(c: Collector, n: Json): void {
  c.functions.add(nameList(n.funcname));
  const name = lastName(n.funcname);
  classifyByName(c, name);
  if (COLLECTING_AGGREGATES.has(name)) visitCollectingAggregate(c);
  const args = Array.isArray(n.args) ? n.args : [];
  const queryArgs = QUERY_STRING_FUNCTIONS.get(name);
  if (queryArgs !== undefined) {
    // These run the query text they are given: a literal is read like any statement, anything else is dynamic SQL.
    for (const i of queryArgs) {
      if (i >= args.length) continue;
      const q = constString(args[i]);
      if (q === undefined || c.depth >= MAX_NESTING) c.add(P);
      else c.merge(c.nested.sql(q, c.depth + 1));
    }
  }
  const relationArg = RELATION_ARGUMENT_FUNCTIONS.get(name);
  if (relationArg !== undefined && relationArg < args.length) relationArgument(c, args[relationArg]);
  if (SCHEMA_ARGUMENT_FUNCTIONS.has(name) && args.length > 0) schemaArgument(c, args[0]);
  if (WHOLE_DATABASE_FUNCTIONS.has(name)) {
    c.tables.add('*');
    c.columns.add('*');
  }
  if (name === 'set_config') visitSetConfig(c, args);
  if (name === 'current_setting') {
    // Reading a superuser-only setting (primary_conninfo holds a password; data_directory, hba_file are paths).
    const setting = constString(args[0]);
    if (setting === undefined || READ_PROTECTED_SETTINGS.has(setting.trim().toLowerCase())) c.add(P);
  }
}

function bodyLanguage(options: Json[], fallback: string): string {
  for (const d of options) {
    if (d.defname === 'language') return (stringOf(d.arg) ?? fallback).toLowerCase();
  }
  return fallback;
}

/** The text of a function's `AS` body: one string, or the first of `AS 'obj', 'symbol'` (C functions). */
function bodyText(body: unknown): string | undefined {
  const items = ((body as Json).List as Json | undefined)?.items;
  if (Array.isArray(items)) return items.length === 1 ? stringOf(items[0]) : undefined;
  return stringOf(body);
}

export function visitFunctionDefinition(c: Collector, n: Json): void {
  const options = defElems(n.options);
  let body: unknown;
  for (const d of options) {
    if (d.defname === 'security' && defTrue(d)) c.add(CategoryBit.grant);
    if (d.defname === 'as') body = d.arg;
  }
  const language = bodyLanguage(options, n.sql_body !== undefined ? 'sql' : 'plpgsql');
  if (!READABLE_LANGUAGES.has(language)) {
    c.add(P);
    return;
  }
  if (body === undefined) return;
  const text = bodyText(body);
  if (text === undefined) {
    c.add(P);
    return;
  }
  // The body is what the function does: a different body is a different statement for grants.
  c.shapeParts.push(`body:${language}:${text}`);
  if (c.depth >= MAX_NESTING) {
    c.add(P);
    return;
  }
  if (language === 'plpgsql') c.merge(c.nested.plpgsql(c.statementText, c.depth + 1));
  else c.merge(c.nested.sql(text, c.depth + 1));
}

export function visitDo(c: Collector, n: Json): void {
  const args = defElems(n.args);
  const language = bodyLanguage(args, 'plpgsql');
  for (const d of args) if (d.defname === 'as') c.shapeParts.push(`body:${language}:${stringOf(d.arg) ?? ''}`);
  if (language !== 'plpgsql' || c.depth >= MAX_NESTING) {
    c.add(P);
    return;
  }
  c.merge(c.nested.plpgsql(c.statementText, c.depth + 1));
}
