// The decision rules as a pure function: memory-store.ts applies it directly and decide.lua mirrors it line for line.
import type { ApprovalScope } from '../policy/verdict.js';
import type { ApprovalDecision, ApprovalRequest } from './request.js';
import type { DecideError, DecideInput } from './store.js';
import { createHash } from 'node:crypto';
import { normalizeIdentity, requesterIdentities } from './identity.js';

/** How long final records (and idempotency keys) stay readable after they settle. */
export const DEFAULT_RETENTION_MS = 24 * 60 * 60 * 1000;

export type DecisionStep =
  | { readonly kind: 'ok'; readonly request: ApprovalRequest; readonly settled: boolean }
  /** `changed` is set when checking the decision moved the record (a pending request past its expiry becomes expired). */
  | { readonly kind: 'error'; readonly error: DecideError; readonly request: ApprovalRequest; readonly changed?: ApprovalRequest };

/**
 * A scope an approver may use: `fingerprint` only where the rule allows it, otherwise the vote counts as `once`
 * (a narrower approval than asked for is always safe; a wider one never is).
 */
export function effectiveScope(request: Pick<ApprovalRequest, 'scopes'>, scope: ApprovalScope | undefined): ApprovalScope {
  return scope === 'fingerprint' && request.scopes.includes('fingerprint') ? 'fingerprint' : 'once';
}

/** The scope a settled approval grants: `fingerprint` only when every approving vote chose it. */
export function grantedScope(request: ApprovalRequest): ApprovalScope {
  const approvals = request.decisions.filter((d) => d.decision === 'approve');
  return approvals.length > 0 && approvals.every((d) => d.scope === 'fingerprint') ? 'fingerprint' : 'once';
}

export function finalize(request: ApprovalRequest, status: 'expired' | 'withdrawn', nowIso: string, reason?: string): ApprovalRequest {
  return {
    ...request,
    status,
    decidedAt: nowIso,
    ...(status === 'withdrawn' ? { withdrawnReason: reason ?? 'withdrawn' } : {}),
  };
}

/** What an idempotency key promises to repeat: a key reused with another decision, reason or scope is refused. */
export function decisionBodyHash(input: Pick<DecideInput, 'decision' | 'reason' | 'scope'>): string {
  return createHash('sha256').update(JSON.stringify([input.decision, input.reason, input.scope ?? ''])).digest('hex').slice(0, 32);
}

/**
 * Applies one vote. Order of checks (identical in decide.lua, which first answers idempotent replays and, for a shared
 * store, withdraws a request whose holder is gone): final → already_decided (instance_lost for a request withdrawn
 * because its holder was lost); expired-by-clock → already_decided; requester (user or owner) → self_approval; not in
 * a non-empty approver list → not_approver; same approver again → duplicate_vote. A deny settles at once; approvals
 * settle at quorum.
 */
export function applyDecision(request: ApprovalRequest, input: DecideInput, nowMs: number): DecisionStep {
  const nowIso = new Date(nowMs).toISOString();
  if (request.status !== 'pending') {
    const lost = request.status === 'withdrawn' && request.withdrawnReason === 'instance_lost';
    return { kind: 'error', error: lost ? 'instance_lost' : 'already_decided', request };
  }
  if (nowMs >= Date.parse(request.expiresAt)) {
    const expired = finalize(request, 'expired', nowIso);
    return { kind: 'error', error: 'already_decided', request: expired, changed: expired };
  }
  const by = normalizeIdentity(input.by);
  if (by === '' || requesterIdentities(request.actor).includes(by)) return { kind: 'error', error: 'self_approval', request };
  if (request.approvers.length > 0 && !request.approvers.some((a) => normalizeIdentity(a) === by)) {
    return { kind: 'error', error: 'not_approver', request };
  }
  if (request.decisions.some((d) => normalizeIdentity(d.by) === by)) return { kind: 'error', error: 'duplicate_vote', request };

  const decision: ApprovalDecision = {
    by: input.by.trim(),
    decision: input.decision,
    reason: input.reason,
    at: nowIso,
    ...(input.decision === 'approve' ? { scope: effectiveScope(request, input.scope) } : {}),
    ...(input.via !== undefined ? { via: input.via } : {}),
  };
  const decisions = [...request.decisions, decision];
  const approvals = decisions.filter((d) => d.decision === 'approve').length;
  const status = input.decision === 'deny' ? 'denied' : approvals >= Math.max(1, request.quorum) ? 'approved' : 'pending';
  const settled = status !== 'pending';
  return {
    kind: 'ok',
    settled,
    request: { ...request, status, decisions, decidedAt: settled ? nowIso : null },
  };
}
