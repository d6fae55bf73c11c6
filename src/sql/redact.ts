// Secrets out of SQL text before it is stored or shown (audit log, approval requests in Redis, the API, console, cards):
// found in the parse tree, cut out at the server scanner's token boundaries, and failing closed when unsure.
//
// What is a secret here: the literal of every password-bearing node (CREATE/ALTER ROLE … PASSWORD, generic OPTIONS such
// as a user mapping's password, SET/ALTER SYSTEM of conninfo/password settings), every connection string (dblink*,
// CREATE/ALTER SUBSCRIPTION … CONNECTION), key arguments of pgcrypto, and any string constant that looks like a
// credential (`password=…`, `user:pass@host`, the word password). Bodies and query strings are SQL inside a literal:
// they are redacted recursively. When the tree cannot be mapped onto the text, every string literal of the statement is
// redacted; when the text cannot even be scanned, the whole text is.
import type { Json } from './ast-names.js';
import { constString, lastName, stringOf } from './ast-names.js';
import { QUERY_STRING_FUNCTIONS } from './categories.js';
import { isParserLoaded, parseSql, scanSql, type SqlToken } from './parse.js';
import { plpgsqlTexts } from './plpgsql.js';

export const REDACTED_LITERAL = "'[redacted]'";
/** What a text becomes when pgwarden cannot tell where its literals are and it may hold a secret. */
export const REDACTED_TEXT = '[redacted: pgwarden could not parse this text and it may contain a secret]';

/** DefElem option names that carry credentials (role PASSWORD, generic OPTIONS of servers, mappings, subscriptions). */
const SECRET_OPTION = /pass|secret|key|token|cred|conninfo|auth/i;
/** Settings whose value is a credential or a connection string (primary_conninfo, ssl_passphrase_command, …). */
const SECRET_SETTING = /conninfo|pass|secret|key|token/i;
/** A constant that looks like a credential: `password=…`, `user:pass@host`, or one that names a password or secret. */
const SECRET_VALUE = /pass(word|wd)|pwd\s*=|secret|conninfo|token\s*=|:\/\/[^\s/@:]*:[^\s/@]*@/i;
/** A credential written as `key=value` or in a URL, left anywhere in a text (checked on redacted nested SQL, comments included). */
const CREDENTIAL_LEFT = /(?:pass(?:word|wd)?|pwd|secret|token)\s*=\s*[^\s'[\]]|:\/\/[^\s/@:]*:[^\s/@[\]]+@/i;
const CREDENTIAL_IN_COMMENT = /((?:pass(?:word|wd)?|pwd|secret|token)\s*=\s*|:\/\/[^\s/@:]*:)[^\s@*]+/gi;
/**
 * Text that may hold a secret. Every trigger below needs one of these words in the text (a keyword, an option,
 * function or setting name, or the secret-looking value itself) or hides it behind an escape (`U&`, a backslash), so a
 * text without any of them is returned as is without parsing — most statements. Also the test for texts that cannot
 * be parsed (their literals cannot be told apart).
 */
const SECRET_HINT = /pass|pwd|secret|key|token|cred|conn|auth|option|mapping|server|subscription|dblink|crypt|hmac|pgp_|u&|\\|:\/\//i;

/** pgcrypto functions and the arguments that are keys or passwords. */
const SECRET_ARGUMENTS: ReadonlyMap<string, readonly number[]> = new Map([
  ['pgp_sym_encrypt', [1]], ['pgp_sym_encrypt_bytea', [1]], ['pgp_sym_decrypt', [1]], ['pgp_sym_decrypt_bytea', [1]],
  ['pgp_pub_decrypt', [1, 2]], ['pgp_pub_decrypt_bytea', [1, 2]], ['encrypt', [1]], ['decrypt', [1]],
  ['encrypt_iv', [1, 2]], ['decrypt_iv', [1, 2]], ['hmac', [1]], ['crypt', [0]], ['set_config', [1]],
]);

const MAX_DEPTH = 8;

type Plan = {
  /** Byte offsets where a secret literal token starts (A_Const locations). */
  readonly exact: Set<number>;
  /** Byte offsets after which the next string literal is a secret (DefElem locations: `PASSWORD 'x'`, `password 'x'`). */
  readonly after: number[];
  /** Nested SQL inside a literal: replaced by its own redaction when that differs. */
  readonly nested: { at: { exact: number } | { after: number }; redacted: string }[];
  all: boolean;
};

function isStringToken(t: SqlToken): boolean {
  return /^(?:[eEbBxXnN]|[uU]&)?'/.test(t.text) || /^\$[^$0-9][^$]*\$|^\$\$/.test(t.text);
}

/** Every string constant (A_Const with a location) inside a subtree: all of them are secrets. */
function markAllConstants(node: unknown, plan: Plan): void {
  if (node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const n of node) markAllConstants(n, plan);
    return;
  }
  const k = (node as Json).A_Const as Json | undefined;
  if (k !== undefined && k.sval !== undefined) {
    if (typeof k.location === 'number') plan.exact.add(k.location);
    else plan.all = true;
  }
  for (const key in node as Json) markAllConstants((node as Json)[key], plan);
}

function dollarQuote(text: string): string {
  let tag = 'redacted';
  for (let i = 0; text.includes(`$${tag}$`); i++) tag = `redacted${i}`;
  return `$${tag}$${text}$${tag}$`;
}

/** The redacted form of a PL/pgSQL body: unchanged without secrets, else every string literal in it redacted. */
function redactPlpgsqlBody(statementText: string, body: string, depth: number): string {
  const found = plpgsqlTexts(statementText);
  const hasSecret = 'opaque' in found ? SECRET_HINT.test(body) : found.texts.some((t) => redactAt(t, depth + 1) !== t);
  if (!hasSecret) return redactComments(body);
  return redactComments(redactAllStrings(body) ?? '[redacted]');
}

/**
 * Credentials written into comments (`-- password=…`, `/* postgres://u:pw@h *\/`): the tree has no comments, so the
 * scanner's comment tokens are searched and `key=value` / URL credentials in them are cut.
 */
function redactComments(text: string): string {
  if (!CREDENTIAL_LEFT.test(text)) return text;
  const tokens = scanSql(text);
  if (tokens === null) return text.replace(CREDENTIAL_IN_COMMENT, '$1[redacted]');
  return rebuild(text, tokens, (t) =>
    t.tokenName === 'SQL_COMMENT' || t.tokenName === 'C_COMMENT' ? t.text.replace(CREDENTIAL_IN_COMMENT, '$1[redacted]') : null,
  );
}

function visitDefElem(d: Json, plan: Plan, forceSecret: boolean): void {
  const arg = d.arg as Json | undefined;
  // Function and DO bodies are SQL in a literal: visitBody redacts inside them instead of hiding them whole.
  if (arg === undefined || d.defname === 'as') return;
  const value = stringOf(arg) ?? constString(arg);
  const named = typeof d.defname === 'string' && SECRET_OPTION.test(d.defname);
  if (value === undefined && !(named || forceSecret)) return;
  if (named || forceSecret || (value !== undefined && SECRET_VALUE.test(value))) {
    if (typeof d.location === 'number') plan.after.push(d.location);
    else plan.all = true;
  }
}

function visitCall(n: Json, plan: Plan, depth: number): void {
  const name = lastName(n.funcname);
  const args = Array.isArray(n.args) ? n.args : [];
  // Connection strings: every constant of every dblink argument (connection name, conninfo or SQL — all hidden).
  if (name.startsWith('dblink')) markAllConstants(args, plan);
  const secretArgs = SECRET_ARGUMENTS.get(name);
  if (secretArgs !== undefined) {
    if (name !== 'set_config' || SECRET_SETTING.test(constString(args[0]) ?? 'x')) for (const i of secretArgs) markAllConstants(args[i], plan);
  }
  for (const i of QUERY_STRING_FUNCTIONS.get(name) ?? []) {
    const k = (args[i] as Json | undefined)?.A_Const as Json | undefined;
    const q = constString(args[i]);
    if (q === undefined || typeof k?.location !== 'number') continue;
    const redacted = depth >= MAX_DEPTH ? REDACTED_LITERAL : redactAt(q, depth + 1);
    if (redacted !== q) plan.nested.push({ at: { exact: k.location }, redacted });
  }
}

function bodyOf(options: unknown): { text: string; location: number | undefined } | undefined {
  if (!Array.isArray(options)) return undefined;
  for (const o of options) {
    const d = (o as Json).DefElem as Json | undefined;
    if (d?.defname !== 'as') continue;
    const items = ((d.arg as Json | undefined)?.List as Json | undefined)?.items;
    const text = Array.isArray(items) ? stringOf(items[0]) : stringOf(d.arg);
    if (text !== undefined) return { text, location: typeof d.location === 'number' ? d.location : undefined };
  }
  return undefined;
}

function languageOf(options: unknown, fallback: string): string {
  if (!Array.isArray(options)) return fallback;
  for (const o of options) {
    const d = (o as Json).DefElem as Json | undefined;
    if (d?.defname === 'language') return (stringOf(d.arg) ?? fallback).toLowerCase();
  }
  return fallback;
}

function visitBody(n: Json, optionsKey: string, statementText: string, plan: Plan, depth: number, fallbackLanguage: string): void {
  const body = bodyOf(n[optionsKey]);
  if (body === undefined) return;
  const language = languageOf(n[optionsKey], fallbackLanguage);
  let redacted: string;
  if (depth >= MAX_DEPTH) redacted = '[redacted]';
  else if (language === 'plpgsql') redacted = redactPlpgsqlBody(statementText, body.text, depth);
  else if (language === 'sql') redacted = redactAt(body.text, depth + 1);
  else redacted = SECRET_HINT.test(body.text) ? '[redacted]' : body.text;
  if (redacted === body.text) return;
  if (body.location === undefined) plan.all = true;
  else plan.nested.push({ at: { after: body.location }, redacted });
}

function visitTree(node: unknown, plan: Plan, statementText: string, depth: number, inUserMapping: boolean): void {
  if (node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const n of node) visitTree(n, plan, statementText, depth, inUserMapping);
    return;
  }
  const obj = node as Json;
  for (const key in obj) {
    const v = obj[key];
    if (v === null || typeof v !== 'object') continue;
    if (Array.isArray(v)) {
      visitTree(v, plan, statementText, depth, inUserMapping);
      continue;
    }
    const n = v as Json;
    let mapping = inUserMapping;
    switch (key) {
      case 'DefElem':
        visitDefElem(n, plan, inUserMapping);
        break;
      case 'A_Const': {
        const s = constString({ A_Const: n });
        if (s !== undefined && SECRET_VALUE.test(s)) {
          if (typeof n.location === 'number') plan.exact.add(n.location);
          else plan.all = true;
        }
        continue;
      }
      case 'FuncCall':
        visitCall(n, plan, depth);
        break;
      case 'CreateUserMappingStmt':
      case 'AlterUserMappingStmt':
        // Every option of a user mapping is a credential by purpose (user, password, keys).
        mapping = true;
        break;
      case 'CreateSubscriptionStmt':
      case 'AlterSubscriptionStmt':
        // The connection string is a plain field without a position: hide every literal of the statement.
        if (typeof n.conninfo === 'string') plan.all = true;
        break;
      case 'DoStmt':
        visitBody(n, 'args', statementText, plan, depth, 'plpgsql');
        continue;
      case 'CreateFunctionStmt':
        visitBody(n, 'options', statementText, plan, depth, n.sql_body !== undefined ? 'sql' : 'plpgsql');
        break;
      case 'VariableSetStmt':
        if (typeof n.name === 'string' && SECRET_SETTING.test(n.name)) markAllConstants(n.args, plan);
        break;
      default:
        // ALTER ROLE/DATABASE … SET carry their VariableSetStmt unwrapped.
        if (typeof n.kind === 'string' && n.kind.startsWith('VAR_') && typeof n.name === 'string' && SECRET_SETTING.test(n.name)) markAllConstants(n.args, plan);
        // A plain string field that looks like a credential (COMMENT … IS, a conninfo field): positions unknown.
        for (const f in n) {
          const s = n[f];
          if (typeof s === 'string' && f !== 'sval' && SECRET_VALUE.test(s) && /[=@:'\s]/.test(s)) plan.all = true;
        }
        break;
    }
    visitTree(n, plan, statementText, depth, mapping);
  }
}

/** Every string literal of a text replaced by '[redacted]'; null when the text cannot be scanned. */
function redactAllStrings(text: string): string | null {
  const tokens = scanSql(text);
  if (tokens === null) return null;
  return rebuild(text, tokens, (t) => (isStringToken(t) ? REDACTED_LITERAL : null));
}

function rebuild(text: string, tokens: readonly SqlToken[], replace: (t: SqlToken) => string | null): string {
  const bytes = Buffer.from(text, 'utf8');
  const out: Buffer[] = [];
  let at = 0;
  for (const t of tokens) {
    const r = replace(t);
    if (r === null) continue;
    out.push(bytes.subarray(at, t.start), Buffer.from(r, 'utf8'));
    at = t.end;
  }
  if (at === 0) return text;
  out.push(bytes.subarray(at));
  return Buffer.concat(out).toString('utf8');
}

function redactAt(text: string, depth: number): string {
  return redactComments(redactTokens(text, depth));
}

function redactTokens(text: string, depth: number): string {
  const parsed = parseSql(text);
  if (!parsed.ok) {
    if (!SECRET_HINT.test(text)) return text;
    return redactAllStrings(text) ?? REDACTED_TEXT;
  }
  const plan: Plan = { exact: new Set(), after: [], nested: [], all: false };
  for (const raw of parsed.stmts) {
    const stmtText = sliceStatement(text, raw.stmt_location, raw.stmt_len);
    visitTree(raw.stmt, plan, stmtText, depth, false);
  }
  if (!plan.all && plan.exact.size === 0 && plan.after.length === 0 && plan.nested.length === 0) return text;
  const tokens = scanSql(text);
  if (tokens === null) return REDACTED_TEXT;
  if (plan.all) return rebuild(text, tokens, (t) => (isStringToken(t) ? REDACTED_LITERAL : null));
  const strings = tokens.filter(isStringToken);
  const secret = new Map<number, string>();
  const resolve = (at: { exact: number } | { after: number }): SqlToken | undefined =>
    'exact' in at ? strings.find((t) => t.start === at.exact) : strings.find((t) => t.start >= at.after);
  for (const loc of plan.exact) {
    const t = resolve({ exact: loc });
    if (t === undefined) return rebuild(text, tokens, (x) => (isStringToken(x) ? REDACTED_LITERAL : null));
    secret.set(t.start, REDACTED_LITERAL);
  }
  for (const loc of plan.after) {
    const t = resolve({ after: loc });
    if (t === undefined) return rebuild(text, tokens, (x) => (isStringToken(x) ? REDACTED_LITERAL : null));
    secret.set(t.start, REDACTED_LITERAL);
  }
  for (const n of plan.nested) {
    const t = resolve(n.at);
    if (t === undefined) return rebuild(text, tokens, (x) => (isStringToken(x) ? REDACTED_LITERAL : null));
    // Nested SQL keeps its structure when its own redaction leaves nothing that looks like a credential; otherwise the
    // whole literal goes (a comment inside it, say, is not a constant the nested walk can see).
    secret.set(t.start, CREDENTIAL_LEFT.test(n.redacted) ? REDACTED_LITERAL : dollarQuote(n.redacted));
  }
  return rebuild(text, tokens, (t) => secret.get(t.start) ?? null);
}

/** A statement's own text (locations are UTF-8 byte offsets), for the PL/pgSQL parser. */
function sliceStatement(text: string, location: number | undefined, length: number | undefined): string {
  const bytes = Buffer.from(text, 'utf8');
  const start = location ?? 0;
  const end = length !== undefined && length > 0 ? start + length : bytes.length;
  return bytes.subarray(start, end).toString('utf8');
}

/**
 * `text` with every secret literal replaced by '[redacted]' (see the file comment). Texts without secrets come back
 * unchanged (the same string). Never throws; without the parser loaded it redacts every literal of a suspicious text.
 */
export function redactSecrets(text: string): string {
  try {
    if (!SECRET_HINT.test(text)) return text;
    if (!isParserLoaded()) return fallbackRedact(text);
    return redactAt(text, 0);
  } catch {
    return REDACTED_TEXT;
  }
}

/** Without a parser: every quoted or dollar-quoted string becomes '[redacted]' (a superset of what the tree would say). */
function fallbackRedact(text: string): string {
  return text.replace(/\$([A-Za-z_]*)\$[\s\S]*?\$\1\$|(?:[eEbBxXnN]|[uU]&)?'(?:[^'\\]|''|\\.)*'?/g, REDACTED_LITERAL);
}
