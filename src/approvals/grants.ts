// Scoped approvals: the grant an approved `fingerprint` request creates, and the key a later statement is looked up by.
import type { Actor } from '../policy/verdict.js';
import type { Category } from '../sql/types.js';
import type { ApprovalRequest } from './request.js';
import type { Grant } from './store.js';

/** user|application: the address is left out on purpose (agents move between hosts and pods). */
export function actorKey(actor: Pick<Actor, 'user' | 'application'>): string {
  return `${actor.user}|${actor.application}`;
}

export function grantFromRequest(request: ApprovalRequest, grantId: string, nowMs: number): Grant {
  return {
    id: grantId,
    requestId: request.id,
    fingerprint: request.fingerprint,
    actorKey: actorKey(request.actor),
    database: request.database,
    approvedBy: request.decisions.filter((d) => d.decision === 'approve').map((d) => d.by),
    expiresAt: new Date(nowMs + request.grantTtlMs).toISOString(),
    rule: request.rule,
    categories: [...request.categories],
  };
}

/**
 * Whether a stored grant may let this statement through: the statement must get the verdict the approved one got —
 * the same rule and exactly the same categories. A grant for an `export` cannot cover a statement that also switches
 * role (`grant`), even when the fingerprints agree; a grant stored without rule and categories covers nothing.
 */
export function grantCovers(grant: Grant, rule: string | null, categories: readonly Category[]): boolean {
  if (grant.rule === undefined || grant.categories === undefined) return false;
  if (grant.rule !== rule || grant.categories.length !== categories.length) return false;
  return grant.categories.every((c, i) => c === categories[i]);
}
