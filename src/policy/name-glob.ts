// Schema-aware glob matching of table and function names, compiled once at load.
//
// Semantics (docs/rules.md, "Names"):
// * A pattern without a dot (`users`, `pii_*`) names the object in any schema: it matches
//   `users`, `public.users` and `hr.users`.
// * A pattern with a dot (`public.users`, `public.*`, `*.users`) matches a qualified name when both
//   parts match, and an UNQUALIFIED name when its last part matches. pgwarden cannot see the
//   session's search_path (an agent may `SET search_path = hr`), so an unqualified `salaries` may
//   be `hr.salaries`: matching it keeps deny and review rules from being bypassed by leaving the
//   schema off. The cost is that `public.*` also matches unqualified names of other schemas.
// * Matching ignores case (unquoted identifiers are lowercased by PostgreSQL anyway) and a
//   database prefix (`db.schema.table` is compared as `schema.table`).
import picomatch from 'picomatch';

type Test = (text: string) => boolean;

export interface NameGlob {
  readonly pattern: string;
  /** Null when the pattern has no schema part. */
  readonly schema: Test | null;
  readonly name: Test;
}

const OPTIONS = { nocase: true, dot: true } as const;

export function compileNameGlob(pattern: string): NameGlob {
  const dot = pattern.lastIndexOf('.');
  if (dot < 0) return { pattern, schema: null, name: picomatch(pattern, OPTIONS) };
  const schemaPart = pattern.slice(0, dot);
  const schemaDot = schemaPart.lastIndexOf('.');
  return {
    pattern,
    schema: picomatch(schemaDot < 0 ? schemaPart : schemaPart.slice(schemaDot + 1), OPTIONS),
    name: picomatch(pattern.slice(dot + 1), OPTIONS),
  };
}

/** True when the (possibly qualified) name matches the glob. */
export function matchesName(glob: NameGlob, qualified: string): boolean {
  const dot = qualified.lastIndexOf('.');
  if (dot < 0) return glob.name(qualified);
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
