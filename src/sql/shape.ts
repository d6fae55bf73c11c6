// Literal-insensitive cache keys for the simple protocol, where agents and drivers inline a different literal in every
// statement (`… WHERE id = 42`) and each would otherwise be a parse-cache miss.
//
// A shape key is the text with plain string literals and plain numbers replaced by placeholders. It is computed only for
// texts whose lexing pgwarden can mirror exactly; anything else (comments, dollar quotes, backslashes, E''/B''/X''/N''/U&''
// strings, parameters, numbers touching letters or dots, NUL) gets no key and is parsed as usual. Two texts with the same
// key differ only in the contents of '…' strings (without backslashes) and the digits of integers or of decimals, which
// never change how PostgreSQL splits the text into tokens. test/unit/sql/shape.test.ts checks this differentially against
// the real parser on the adversarial and regression corpora.
// Facts are reused for a key only when they cannot depend on a literal's value (isShapeSafe). Where a literal is not a
// value — the UESCAPE character, a LIMIT count, a regclass/regproc name — the text gets no key or the facts are not
// reused. test/unit/sql/shape-cache.property.test.ts checks the promise with generated texts: facts through a cache
// primed with a sibling of the same shape equal a fresh parse's.
import { StatementRecord, withChanges } from './statement-record.js';
import type { StatementFacts, TextFacts } from './types.js';

const QUOTE = 0x27; // '
const DQUOTE = 0x22; // "
const PLACEHOLDER_STRING = "'?'";
const PLACEHOLDER_NUMBER = '0';
const PLACEHOLDER_DECIMAL = '0.0';

function isIdentChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x5f || c >= 0x80;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/**
 * Words that make a literal more than a value: `UESCAPE '!'` decides what a `U&"…"` identifier spells
 * (`U&"pg_!0061uthid" UESCAPE '!'` is pg_authid, with '#' it is not), and a LIMIT/OFFSET/FETCH count decides `limit`,
 * `bounded` and `export`. Texts that contain one anywhere (even inside a string) get no key.
 */
const MEANINGFUL_LITERAL_CONTEXT = /uescape|\b(?:limit|offset|fetch)\b/i;

/** The shape key of `text`, or null when pgwarden will not vouch for its lexing. */
export function shapeKey(text: string): string | null {
  if (MEANINGFUL_LITERAL_CONTEXT.test(text)) return null;
  const n = text.length;
  let out = '';
  let from = 0;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      // A quote right after an identifier character is a prefixed string (E'', B'', X'', N'', U&'' via &): bail out.
      if (i > 0 && (isIdentChar(text.charCodeAt(i - 1)) || text.charCodeAt(i - 1) === 0x26)) return null;
      let j = i + 1;
      for (;;) {
        if (j >= n) return null; // unterminated: let the parser report it
        const q = text.charCodeAt(j);
        if (q === 0x5c) return null; // a backslash inside a string: only standard_conforming_strings decides what it means
        if (q === QUOTE) {
          if (j + 1 < n && text.charCodeAt(j + 1) === QUOTE) {
            j += 2;
            continue;
          }
          break;
        }
        j++;
      }
      out += text.slice(from, i) + PLACEHOLDER_STRING;
      i = j + 1;
      from = i;
      continue;
    }
    if (c === DQUOTE) {
      // Quoted identifiers stay in the key verbatim; only skip over their contents.
      let j = i + 1;
      for (;;) {
        if (j >= n) return null;
        if (text.charCodeAt(j) === DQUOTE) {
          if (j + 1 < n && text.charCodeAt(j + 1) === DQUOTE) {
            j += 2;
            continue;
          }
          break;
        }
        j++;
      }
      i = j + 1;
      continue;
    }
    if (isDigit(c)) {
      const prev = i > 0 ? text.charCodeAt(i - 1) : 0x20;
      if (isIdentChar(prev)) {
        // Part of an identifier such as t1: keep it, with the rest of the identifier.
        while (i < n && isIdentChar(text.charCodeAt(i))) i++;
        continue;
      }
      if (prev === 0x2e) return null; // .5 or a.5: leave it to the parser
      let j = i;
      let isDecimal = false;
      while (j < n && isDigit(text.charCodeAt(j))) j++;
      if (j < n && text.charCodeAt(j) === 0x2e) {
        isDecimal = true;
        j++;
        if (j >= n || !isDigit(text.charCodeAt(j))) return null; // 1. or 1.e5: not a plain number
        while (j < n && isDigit(text.charCodeAt(j))) j++;
      }
      if (j < n) {
        const next = text.charCodeAt(j);
        if (isIdentChar(next) || next === 0x2e) return null; // 1e5, 123abc (PostgreSQL 15 lexes those oddly), 1.2.3
      }
      // Integers and decimals keep distinct placeholders: only integers are valid in places like varchar(3).
      out += text.slice(from, i) + (isDecimal ? PLACEHOLDER_DECIMAL : PLACEHOLDER_NUMBER);
      i = j;
      from = i;
      continue;
    }
    // Dollar quotes and parameters ($), backslashes, NUL and comments are lexed in ways this scanner does not mirror.
    if (c === 0x24 || c === 0x5c || c === 0) return null;
    if (c === 0x2d && text.charCodeAt(i + 1) === 0x2d) return null; // --
    if (c === 0x2f && text.charCodeAt(i + 1) === 0x2a) return null; // /*
    i++;
  }
  return from === 0 ? null : out + text.slice(from);
}

const SAFE_KINDS: ReadonlySet<string> = new Set(['SelectStmt', 'InsertStmt', 'UpdateStmt', 'DeleteStmt']);

/**
 * Whether facts parsed from one text may stand for every text of the same shape: one plain DML statement that calls no
 * function (function arguments such as set_config('role', …) or query_to_xml('…') change categories), has no LIMIT (its
 * value decides export), sets no stated reason, and reads or writes only.
 */
export function isShapeSafe(facts: TextFacts): boolean {
  if (facts.parseError !== null || facts.statements.length !== 1) return false;
  const s: StatementFacts = facts.statements[0]!;
  if (!SAFE_KINDS.has(s.kind) || s.functions.length > 0 || s.limit !== null || s.setsReason !== undefined) return false;
  if (s.prepares !== undefined || s.executes !== undefined) return false;
  // Constants that name objects or settings ('pg_authid'::regclass) are part of the statement, not values.
  if (!(s instanceof StatementRecord) || s.hasShapeParts) return false;
  for (const c of s.categories) if (c !== 'read' && c !== 'write') return false;
  return true;
}

/** The facts of `template` (same shape) for `text`: only the text differs. */
export function reshape(template: TextFacts, text: string): TextFacts {
  const statement = withChanges(template.statements[0]!, { text });
  return Object.freeze({ text, statements: Object.freeze([statement]), categories: template.categories, parseError: null });
}
