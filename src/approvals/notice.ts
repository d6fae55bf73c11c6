// The NoticeResponse texts a held client sees: the first "waiting for approval" notice and the short progress notices.
import { formatDuration } from '../units.js';
import type { ApprovalRequest } from './request.js';

export function approvalUrl(publicUrl: string, id: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/#/approvals/${id}`;
}

export function waitingNotice(request: ApprovalRequest, publicUrl: string, nowMs: number): string {
  const left = formatDuration(Date.parse(request.expiresAt) - nowMs);
  const quorum = request.quorum > 1 ? ` (${request.quorum} approvals needed)` : '';
  return `pgwarden: waiting for approval of request ${request.id} (rule ${request.rule ?? 'default'})${quorum}; approve at ${approvalUrl(publicUrl, request.id)}; expires in ${left}`;
}

export function progressNotice(request: ApprovalRequest, nowMs: number, approvals: number): string {
  const left = formatDuration(Date.parse(request.expiresAt) - nowMs);
  const votes = request.quorum > 1 ? `, ${approvals} of ${request.quorum} approvals` : '';
  return `pgwarden: still waiting for approval of request ${request.id} (${left} left${votes})`;
}
