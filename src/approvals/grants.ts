// Scoped approvals: the grant an approved `fingerprint` request creates, and the key a later statement is looked up by.
import type { Actor } from '../policy/verdict.js';
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
  };
}
