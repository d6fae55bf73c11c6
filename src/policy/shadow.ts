// Finds rules that can never match because an earlier rule matches every statement they would (a warning, not an error).
//
// Conservative: an earlier rule A covers a later rule B when every key A restricts is also
// restricted by B to a subset of A's values (compared as written; `*` covers any glob), and A has
// no `time` window or `not` exception. Anything cleverer (glob containment) is left alone: a missed
// warning costs nothing, a wrong one teaches people to ignore warnings.
import { resolveKind } from './kinds.js';
import type { CompiledRule } from './evaluate.js';
import type { MatchInput } from './schema.js';

function subset(b: readonly string[] | undefined, a: readonly string[] | undefined, star: boolean): boolean {
  if (a === undefined) return true;
  if (star && a.includes('*')) return true;
  if (b === undefined) return false;
  return b.every((v) => a.includes(v));
}

function kinds(list: readonly string[]): Set<string> {
  return new Set(list.flatMap((k) => resolveKind(k) ?? []));
}

/** True when every statement/actor/session that `b` matches is also matched by `a`. */
export function covers(a: MatchInput, b: MatchInput): boolean {
  if (a.time !== undefined || a.not !== undefined) return false;
  if (!subset(b.category, a.category, false)) return false;
  if (a.kind !== undefined) {
    if (b.kind === undefined) return false;
    const ak = kinds(a.kind);
    for (const k of kinds(b.kind)) if (!ak.has(k)) return false;
  }
  if (a.bounded !== undefined && a.bounded !== b.bounded) return false;
  return (
    subset(b.fingerprint, a.fingerprint, false) &&
    subset(b.tables, a.tables, true) &&
    subset(b.only_tables, a.only_tables, true) &&
    subset(b.columns, a.columns, true) &&
    subset(b.functions, a.functions, true) &&
    subset(b.database, a.database, true) &&
    subset(b.actor?.user, a.actor?.user, true) &&
    subset(b.actor?.application, a.actor?.application, true) &&
    subset(b.actor?.address, a.actor?.address, false) &&
    subset(b.actor?.identity, a.actor?.identity, true) &&
    subset(b.actor?.groups, a.actor?.groups, true) &&
    subset(b.actor?.auth, a.actor?.auth, false)
  );
}

/** Whether rule `a` takes every statement `b` could match, counting the fail-closed handling of `unknown`. */
function shadows(a: CompiledRule, b: CompiledRule): boolean {
  if (!covers(a.matchInput, b.matchInput)) return false;
  // An allow rule skips unparsed statements unless it names category unknown, so it cannot shadow a
  // later rule that may match them.
  if (a.action === 'allow' && !a.matchInput.category?.includes('unknown')) {
    const bMayMatchUnknown = b.matchInput.category === undefined || b.matchInput.category.includes('unknown');
    if (bMayMatchUnknown) return false;
  }
  return true;
}

export function shadowWarnings(rules: readonly CompiledRule[]): string[] {
  const warnings: string[] = [];
  for (let j = 1; j < rules.length; j++) {
    const b = rules[j]!;
    for (let i = 0; i < j; i++) {
      const a = rules[i]!;
      // Enforced verdicts are computed without shadow-mode rules, so a shadow-mode rule never hides an enforce rule.
      if (a.mode === 'shadow' && b.mode === 'enforce') continue;
      if (shadows(a, b)) {
        warnings.push(`${b.file}:${b.line}:${b.column}: rule '${b.id}' can never match: the earlier rule '${a.id}' (${a.file}:${a.line}:${a.column}) matches every statement it would; move it above '${a.id}' or narrow '${a.id}'`);
        break;
      }
    }
  }
  return warnings;
}
