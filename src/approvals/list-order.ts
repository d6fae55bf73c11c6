// The order list() returns requests in, shared by both stores: pending first (oldest first, the queue approvers work), then final ones (newest decision first).
import type { ApprovalRequest } from './request.js';

export function compareForList(a: ApprovalRequest, b: ApprovalRequest): number {
  const ap = a.status === 'pending';
  const bp = b.status === 'pending';
  if (ap !== bp) return ap ? -1 : 1;
  if (ap) return Date.parse(a.createdAt) - Date.parse(b.createdAt) || a.id.localeCompare(b.id);
  return Date.parse(b.decidedAt ?? b.createdAt) - Date.parse(a.decidedAt ?? a.createdAt) || a.id.localeCompare(b.id);
}
