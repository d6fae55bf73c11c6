// The NoticeResponse texts a held client sees: the first "waiting for approval" notice and the short progress notices.
import type { ApprovalRequest } from './request.js';

/** 300000 → "5m", 90000 → "1m30s", 3600000 → "1h", 400 → "1s" (rounded up: never promise less time than there is). */
export function formatDuration(ms: number): string {
  let s = Math.max(0, Math.ceil(ms / 1000));
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const parts = [h ? `${h}h` : '', m ? `${m}m` : '', s ? `${s}s` : ''].join('');
  return parts === '' ? '0s' : parts;
}

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
