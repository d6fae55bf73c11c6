// Resolves a rule's review options against defaults.review and groups into a ReviewSpec (approvers expanded).
import type { ApprovalScope, ReviewSpec } from './verdict.js';
import type { ReviewOptionsInput } from './schema.js';
import { didYouMean } from './suggest.js';

export const DEFAULT_REVIEW_TIMEOUT_MS = 5 * 60_000;
/** How long a `fingerprint` approval lasts when the rule names no ttl. */
export const DEFAULT_GRANT_TTL_MS = 60 * 60_000;

export type Groups = ReadonlyMap<string, readonly string[]>;

/** Reports a problem at a key of the options being resolved (the caller knows the file position). */
export type Complain = (key: keyof ReviewOptionsInput | null, reason: string, isWarning: boolean) => void;

/** Group names are expanded to their members; any other name is an approver identity itself. */
export function expandApprovers(names: readonly string[], groups: Groups, complain: Complain): { approvers: string[]; groups: string[] } {
  const approvers = new Set<string>();
  const named: string[] = [];
  for (const name of names) {
    const members = groups.get(name);
    if (members) {
      named.push(name);
      for (const m of members) approvers.add(m);
    } else {
      approvers.add(name);
      const hint = didYouMean(name, groups.keys());
      if (hint) complain('approvers', `approver '${name}' is not a group, so it is taken as an identity${hint}`, true);
    }
  }
  return { approvers: [...approvers], groups: named };
}

/** Rule options over defaults.review over built-in defaults. */
export function resolveReview(options: ReviewOptionsInput, base: ReviewOptionsInput, groups: Groups, complain: Complain): ReviewSpec {
  const names = options.approvers ?? base.approvers ?? [];
  const expanded = expandApprovers(names, groups, complain);
  const quorum = options.quorum ?? base.quorum ?? 1;
  if (expanded.approvers.length === 0) {
    complain('approvers', 'review has no approvers (none on the rule and none in defaults.review.approvers): any approver identity may decide', true);
  } else if (quorum > expanded.approvers.length) {
    complain(options.quorum !== undefined ? 'quorum' : null, `quorum ${quorum} can never be reached: only ${expanded.approvers.length} approver(s) (${expanded.approvers.join(', ')})`, false);
  }
  const scope = options.scope ?? base.scope;
  // `once` is always available: an approver may always grant less than the rule allows.
  const scopes: ApprovalScope[] = scope?.allow.includes('fingerprint') ? ['once', 'fingerprint'] : ['once'];
  return Object.freeze({
    approvers: Object.freeze(expanded.approvers),
    groups: Object.freeze(expanded.groups),
    quorum,
    timeoutMs: options.timeout ?? base.timeout ?? DEFAULT_REVIEW_TIMEOUT_MS,
    scopes: Object.freeze(scopes),
    grantTtlMs: scopes.includes('fingerprint') ? (scope?.ttl ?? base.scope?.ttl ?? DEFAULT_GRANT_TTL_MS) : 0,
  });
}
