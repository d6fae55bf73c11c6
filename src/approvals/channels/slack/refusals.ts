// Why a Slack user may not decide a request, checked before the modal opens (the store checks again, atomically, when the decision is made), and the words each refusal is told in.
import { normalizeIdentity, requesterIdentities } from '../../identity.js';
import type { ApprovalRequest } from '../../request.js';
import type { DecideError } from '../../store.js';

/**
 * The refusal a decision by `identity` would meet, or null when it would count. Mirrors the store's rules
 * (decide.lua / memory-store) so a refused user is told at once instead of after filling in the modal.
 */
export function foreseeRefusal(identity: string, request: ApprovalRequest): DecideError | null {
  const me = normalizeIdentity(identity);
  if (request.status !== 'pending') return 'already_decided';
  if (requesterIdentities(request.actor).includes(me)) return 'self_approval';
  if (!request.approvers.some((a) => normalizeIdentity(a) === me)) return 'not_approver';
  if (request.decisions.some((d) => normalizeIdentity(d.by) === me)) return 'duplicate_vote';
  return null;
}

/** The ephemeral text for a refusal. (The wording follows the Teams card's refusals.) */
export function refusalText(error: DecideError, identity: string, request: ApprovalRequest | null): string {
  switch (error) {
    case 'self_approval':
      return `pgwarden: you cannot decide request ${request?.id ?? ''}: you (${identity}) are its requester or the owner of the agent that sent it. Another approver must decide.`;
    case 'not_approver': {
      const approvers = request ? (request.groups.length > 0 ? request.groups : request.approvers).join(', ') : '';
      return `pgwarden: ${identity} is not an approver for rule ${request?.rule ?? '(defaults)'}${approvers ? `; approvers: ${approvers}` : ''}. Nothing was recorded.`;
    }
    case 'duplicate_vote':
      return `pgwarden: ${identity} already voted on request ${request?.id ?? ''}; it is waiting for other approvers.`;
    case 'already_decided':
      return `pgwarden: request ${request?.id ?? ''} is already ${request?.status ?? 'decided'}; your click was not counted.`;
    case 'not_found':
      return 'pgwarden: this request no longer exists (it may be older than the store keeps).';
    case 'instance_lost':
      return `pgwarden: request ${request?.id ?? ''} was withdrawn: the pgwarden instance holding the agent's connection is gone, so nothing can run. Nothing was recorded.`;
    default:
      // A refusal added to the store later still gets an answer that names it.
      return `pgwarden: your decision was refused (${String(error)}).`;
  }
}
