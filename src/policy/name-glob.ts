// Schema-aware glob matching of table and function names, compiled once at load.
//
// Semantics (docs/rules.md, "Names"):
// * A pattern without a dot (`users`, `pii_*`) names the object in any schema: it matches
//   `users`, `public.users` and `hr.users`.
// * A pattern with a dot (`public.users`, `public.*`, `*.users`) matches a qualified name when both
//   parts match. An UNQUALIFIED name matches when the last part matches and either
//   - the schema part matches a schema an unqualified name usually resolves to (`public`, or
//     `pg_catalog`, which PostgreSQL always searches first), so `public.*` matches `users`; or
//   - the last part is a literal name (no glob characters): pgwarden cannot see the session's
//     search_path (an agent may `SET search_path = hr`), so `hr.salaries` also matches an
//     unqualified `salaries` — leaving the schema off must not get around a deny rule.
//   `hr.*` therefore does NOT match unqualified names: list sensitive tables by name.
// * Matching ignores case (unquoted identifiers are lowercased by PostgreSQL anyway) and a
//   database prefix (`db.schema.table` is compared as `schema.table`).
import picomatch from 'picomatch';

type Test = (text: string) => boolean;

export interface NameGlob {
  readonly pattern: string;
  /** Null when the pattern has no schema part. */
  readonly schema: Test | null;
  readonly name: Test;
  /** Whether an unqualified name whose last part matches is taken to match (see above). */
  readonly matchesUnqualified: boolean;
}

const OPTIONS = { nocase: true, dot: true } as const;
/** Schemas an unqualified name resolves to on a default search_path. */
export const SEARCH_PATH_SCHEMAS = ['pg_catalog', 'public'] as const;

export function compileNameGlob(pattern: string): NameGlob {
  const dot = pattern.lastIndexOf('.');
  if (dot < 0) return { pattern, schema: null, name: picomatch(pattern, OPTIONS), matchesUnqualified: true };
  const schemaPart = pattern.slice(0, dot);
  const schemaDot = schemaPart.lastIndexOf('.');
  const schema = picomatch(schemaDot < 0 ? schemaPart : schemaPart.slice(schemaDot + 1), OPTIONS);
  const namePart = pattern.slice(dot + 1);
  return {
    pattern,
    schema,
    name: picomatch(namePart, OPTIONS),
    matchesUnqualified: SEARCH_PATH_SCHEMAS.some((s) => schema(s)) || !picomatch.scan(namePart).isGlob,
  };
}

/** True when the (possibly qualified) name matches the glob. */
export function matchesName(glob: NameGlob, qualified: string): boolean {
  const dot = qualified.lastIndexOf('.');
  if (dot < 0) return glob.matchesUnqualified && glob.name(qualified);
  if (!glob.name(qualified.slice(dot + 1))) return false;
  if (glob.schema === null) return true;
  const start = qualified.lastIndexOf('.', dot - 1) + 1;
  return glob.schema(qualified.slice(start, dot));
}

/** True when any name matches any glob. */
export function anyNameMatches(globs: readonly NameGlob[], names: readonly string[]): boolean {
  for (let i = 0; i < names.length; i++) {
    for (let j = 0; j < globs.length; j++) if (matchesName(globs[j]!, names[i]!)) return true;
  }
  return false;
}
